//! `perch.v1` enums as the audit log writes them: the proto name without
//! its prefix, in lowercase (`ACTION_KIND_KILL_TREE` is `kill_tree`), the
//! same spelling `perch ... --json` uses.  Used as `#[serde(with = "names")]`.
use perch_proto::v1::{
    ActionKind, ActionMode, ActionResult, AuditStage, IntentState, ProcessOutcome, Role, Signal,
};
use serde::{Deserialize as _, Deserializer, Serializer, de::Error as _};

/// A prost enum with a name prefix.
pub trait Named: Sized + Copy + 'static {
    /// `ACTION_KIND_`, stripped from every name.
    const PREFIX: &'static str;
    /// Every value, for listing the allowed names.
    const ALL: &'static [Self];
    fn full_name(self) -> &'static str;
    fn from_full_name(name: &str) -> Option<Self>;
    fn from_value(value: i32) -> Option<Self>;
}

macro_rules! named {
    ($t:ty, $prefix:literal, [$($v:ident),* $(,)?]) => {
        impl Named for $t {
            const PREFIX: &'static str = $prefix;
            const ALL: &'static [Self] = &[$(<$t>::$v),*];
            fn full_name(self) -> &'static str {
                self.as_str_name()
            }
            fn from_full_name(name: &str) -> Option<Self> {
                Self::from_str_name(name)
            }
            fn from_value(value: i32) -> Option<Self> {
                Self::try_from(value).ok()
            }
        }
    };
}

named!(Role, "ROLE_", [Unspecified, Viewer, Operator, Admin]);
named!(
    ActionKind,
    "ACTION_KIND_",
    [
        Unspecified,
        Kill,
        KillTree,
        KillGroup,
        Renice,
        KillPod,
        FreezeTree,
        ThawTree,
        FreezePod,
        ThawPod
    ]
);
named!(
    Signal,
    "SIGNAL_",
    [
        Unspecified,
        Hup,
        Int,
        Quit,
        Kill,
        Usr1,
        Usr2,
        Term,
        Cont,
        Stop
    ]
);
named!(ActionMode, "ACTION_MODE_", [Unspecified, DryRun, Live]);
named!(
    ActionResult,
    "ACTION_RESULT_",
    [Unspecified, Success, Partial, NotSuccessful]
);
named!(
    ProcessOutcome,
    "PROCESS_OUTCOME_",
    [Unspecified, WouldAct, Done, Gone, Failed]
);

named!(AuditStage, "AUDIT_STAGE_", [Unspecified, Intent, Result]);
named!(
    IntentState,
    "INTENT_STATE_",
    [Unspecified, InProgress, OutcomeUnknown]
);

/// `kill_tree` for `ActionKind::KillTree`.
#[must_use]
pub fn short<T: Named>(value: T) -> String {
    let full = value.full_name();
    full.strip_prefix(T::PREFIX)
        .unwrap_or(full)
        .to_ascii_lowercase()
}

/// The value named `name` (lowercase, no prefix), if any.
#[must_use]
pub fn parse<T: Named>(name: &str) -> Option<T> {
    if name.is_empty() || name.bytes().any(|b| b.is_ascii_uppercase()) {
        return None;
    }
    T::from_full_name(&format!("{}{}", T::PREFIX, name.to_ascii_uppercase()))
}

/// Every short name of `T`, for error messages and CLI choices.
#[must_use]
pub fn all<T: Named>() -> Vec<String> {
    T::ALL.iter().map(|&v| short(v)).collect()
}

pub fn serialize<T: Named, S: Serializer>(value: &T, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&short(*value))
}

pub fn deserialize<'de, T: Named, D: Deserializer<'de>>(d: D) -> Result<T, D::Error> {
    let name = std::borrow::Cow::<'de, str>::deserialize(d)?;
    parse(&name).ok_or_else(|| {
        D::Error::custom(format!(
            "unknown value {name:?} (expected one of {})",
            all::<T>().join(", ")
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip<T: Named + PartialEq + std::fmt::Debug>(count: usize) {
        assert_eq!(T::ALL.len(), count, "{} list is complete", T::PREFIX);
        for &v in T::ALL {
            let name = short(v);
            assert_eq!(parse::<T>(&name), Some(v), "{name}");
            assert_eq!(name, name.to_ascii_lowercase());
        }
    }

    #[test]
    fn every_value_has_a_name_that_parses_back() {
        // The counts are the proto enums' sizes; a new value must be listed.
        round_trip::<Role>(4);
        round_trip::<ActionKind>(10);
        round_trip::<Signal>(10);
        round_trip::<ActionMode>(3);
        round_trip::<ActionResult>(4);
        round_trip::<ProcessOutcome>(5);
        round_trip::<AuditStage>(3);
        round_trip::<IntentState>(3);
        assert_eq!(short(ActionKind::KillTree), "kill_tree");
        assert_eq!(short(ActionResult::NotSuccessful), "not_successful");
        assert_eq!(short(Signal::Term), "term");
    }

    #[test]
    fn lists_are_complete() {
        // Every i32 the proto knows is in ALL (so `all()` names every value).
        for v in 0..64 {
            if let Some(k) = ActionKind::from_value(v) {
                assert!(ActionKind::ALL.contains(&k), "{k:?}");
            }
            if let Some(s) = Signal::from_value(v) {
                assert!(Signal::ALL.contains(&s), "{s:?}");
            }
            if let Some(o) = ProcessOutcome::from_value(v) {
                assert!(ProcessOutcome::ALL.contains(&o), "{o:?}");
            }
        }
    }

    #[test]
    fn wrong_spellings_are_refused() {
        assert_eq!(parse::<ActionKind>("KILL"), None);
        assert_eq!(parse::<ActionKind>("action_kind_kill"), None);
        assert_eq!(parse::<ActionKind>(""), None);
        assert_eq!(parse::<ActionKind>("kil"), None);
    }
}
