//! `perch.v1` enums by name: the proto name without its prefix, in
//! lowercase (`ACTION_KIND_KILL_TREE` is `kill_tree`).  The one spelling
//! the audit log, `--json`, the command line and the console all use.
//! [`Named`] is implemented for every enum by the build script, from the
//! same descriptors as the messages, so no list of values is kept by hand.

/// A prost enum with a name prefix.
pub trait Named: Copy + TryFrom<i32> + 'static {
    /// `ACTION_KIND_`, stripped from every name.
    const PREFIX: &'static str;
    /// Every value the proto defines, in the order it lists them.
    const VALUES: &'static [i32];
    /// `ACTION_KIND_KILL_TREE`.
    fn full_name(self) -> &'static str;
    /// The value whose full name is `name`.
    fn from_full_name(name: &str) -> Option<Self>;

    /// The value numbered `value`, if the proto has one.
    #[must_use]
    fn from_value(value: i32) -> Option<Self> {
        Self::try_from(value).ok()
    }

    /// `KILL_TREE`: the full name without the prefix.
    #[must_use]
    fn bare_name(self) -> &'static str {
        let full = self.full_name();
        full.strip_prefix(Self::PREFIX).unwrap_or(full)
    }
}

include!(concat!(env!("OUT_DIR"), "/perch_v1_names.rs"));

/// Every value of `T`, in the proto's order.
pub fn every<T: Named>() -> impl Iterator<Item = T> {
    T::VALUES.iter().filter_map(|&v| T::from_value(v))
}

/// `kill_tree` for `ActionKind::KillTree`.
#[must_use]
pub fn short<T: Named>(value: T) -> String {
    value.bare_name().to_ascii_lowercase()
}

/// The short name of the raw value `value`; `None` when this build does
/// not know it (a newer peer), so the caller can show the number instead
/// of guessing.
#[must_use]
pub fn short_of<T: Named>(value: i32) -> Option<String> {
    T::from_value(value).map(short)
}

/// The value named `name` (lowercase, no prefix), if any.
#[must_use]
pub fn parse<T: Named>(name: &str) -> Option<T> {
    if name.is_empty() || name.bytes().any(|b| b.is_ascii_uppercase()) {
        return None;
    }
    T::from_full_name(&format!("{}{}", T::PREFIX, name.to_ascii_uppercase()))
}

/// Every short name of `T`, for error messages and command-line choices.
#[must_use]
pub fn all<T: Named>() -> Vec<String> {
    every::<T>().map(short).collect()
}

/// `PermissionDenied` -> `permission_denied`: a gRPC status as an audit
/// record's `code` spells it (perchd's refusals, a console's failed call).
#[must_use]
pub fn status_code_name(code: tonic::Code) -> String {
    let mut out = String::new();
    for (i, c) in format!("{code:?}").chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v1::{
        ActionKind, ActionMode, ActionOutcome, ActionResult, AuditLogStatus, CollectorMode,
        EventKind, NoticeKind, PathOrigin, ProcessOutcome, ProcessSource, Role, Signal,
    };

    fn round_trip<T: Named + PartialEq + std::fmt::Debug>(count: usize) {
        assert_eq!(
            every::<T>().count(),
            count,
            "{} list is complete",
            T::PREFIX
        );
        for v in every::<T>() {
            let name = short(v);
            assert_eq!(parse::<T>(&name), Some(v), "{name}");
            assert_eq!(name, name.to_ascii_lowercase());
        }
    }

    #[test]
    fn every_value_has_a_name_that_parses_back() {
        // The counts are the proto enums' sizes.
        round_trip::<Role>(4);
        round_trip::<ActionKind>(12);
        round_trip::<Signal>(11);
        round_trip::<ActionMode>(3);
        round_trip::<ActionResult>(4);
        // EXITED, STILL_RUNNING and STOPPED: what the watch after a signal saw.
        round_trip::<ProcessOutcome>(8);
        round_trip::<ActionOutcome>(5);
        round_trip::<AuditLogStatus>(4);
        round_trip::<CollectorMode>(3);
        round_trip::<EventKind>(18);
        round_trip::<PathOrigin>(6);
        round_trip::<NoticeKind>(4);
        round_trip::<ProcessSource>(4);
        assert_eq!(short(ActionKind::KillTree), "kill_tree");
        assert_eq!(short(ActionResult::NotSuccessful), "not_successful");
        assert_eq!(short(Signal::Term), "term");
        assert_eq!(Signal::Usr1.bare_name(), "USR1");
        assert_eq!(
            short_of::<NoticeKind>(2).as_deref(),
            Some("resync_required")
        );
        assert_eq!(short_of::<NoticeKind>(99), None);
    }

    #[test]
    fn lists_are_complete() {
        // Every i32 the proto knows is listed (so `all()` names every value).
        for v in 0..64 {
            if let Some(k) = ActionKind::from_value(v) {
                assert!(every::<ActionKind>().any(|x| x == k), "{k:?}");
            }
            if let Some(s) = Signal::from_value(v) {
                assert!(every::<Signal>().any(|x| x == s), "{s:?}");
            }
            if let Some(o) = ProcessOutcome::from_value(v) {
                assert!(every::<ProcessOutcome>().any(|x| x == o), "{o:?}");
            }
        }
    }

    #[test]
    fn status_codes_are_spelled_like_perchds_result_codes() {
        assert_eq!(
            status_code_name(tonic::Code::PermissionDenied),
            "permission_denied"
        );
        assert_eq!(
            status_code_name(tonic::Code::InvalidArgument),
            "invalid_argument"
        );
        assert_eq!(status_code_name(tonic::Code::Unavailable), "unavailable");
    }

    #[test]
    fn wrong_spellings_are_refused() {
        assert_eq!(parse::<ActionKind>("KILL"), None);
        assert_eq!(parse::<ActionKind>("action_kind_kill"), None);
        assert_eq!(parse::<ActionKind>(""), None);
        assert_eq!(parse::<ActionKind>("kil"), None);
    }
}
