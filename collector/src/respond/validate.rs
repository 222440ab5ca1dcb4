//! `ActRequest` validation.  Every malformed request is refused before
//! anything is looked up or signalled; the message names the field, the
//! allowed values and what was received.  (The handler audits the refusal.)
use perch_proto::{
    limits::{
        MAX_PID, PRIORITY_RANGE, REASON_MAX_BYTES, SIGNAL_NUMBERS, signal_allowed, takes_signal,
    },
    names::{Named, every},
    v1::{ActRequest, ActionKind, ActionMode, ProcessKey, Signal},
};
use tonic::Status;

/// `KILL, KILL_TREE, …, THAW_POD (1..=9)`: the actions, for messages.
fn actions() -> String {
    let kinds: Vec<ActionKind> = every::<ActionKind>()
        .filter(|k| {
            !matches!(
                k,
                ActionKind::Unspecified | ActionKind::SuppressTrace | ActionKind::PolicyChange
            )
        })
        .collect();
    let names: Vec<&str> = kinds.iter().map(|k| k.bare_name()).collect();
    let (first, last) = (
        kinds.first().map_or(0, |k| i32::from(*k)),
        kinds.last().map_or(0, |k| i32::from(*k)),
    );
    format!("{} ({first}..={last})", names.join(", "))
}

/// `HUP(1), INT(2), …, STOP(19), or a number in 1..=64`: the signals, for
/// messages.
fn signals() -> String {
    let named: Vec<String> = every::<Signal>()
        .filter(|s| *s != Signal::Unspecified)
        .map(|s| format!("{}({})", s.bare_name(), i32::from(s)))
        .collect();
    format!(
        "{}, or any signal number in {}..={}",
        named.join(", "),
        SIGNAL_NUMBERS.start(),
        SIGNAL_NUMBERS.end()
    )
}

/// `-20..19`, as the messages say it.
fn priorities() -> String {
    format!("{}..{}", PRIORITY_RANGE.start(), PRIORITY_RANGE.end())
}

/// A checked request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActArgs {
    pub kind: ActionKind,
    pub target: ProcessKey,
    /// Trimmed.
    pub reason: String,
    pub dry_run: bool,
    /// Linux signal number; 0 for actions that send none of the client's choice.
    pub signal: i32,
    pub priority: Option<i32>,
}

/// What was wrong, for the audit record and the status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invalid(pub String);

impl From<Invalid> for Status {
    fn from(e: Invalid) -> Status {
        Status::invalid_argument(e.0)
    }
}

pub fn act(req: &ActRequest) -> Result<ActArgs, Invalid> {
    let kind = match ActionKind::try_from(req.action) {
        Ok(ActionKind::Unspecified) => {
            return Err(Invalid(format!(
                "action: ACTION_KIND_UNSPECIFIED (0) is not an action (allowed {})",
                actions()
            )));
        }
        Ok(ActionKind::SuppressTrace) => {
            return Err(Invalid(format!(
                "action: SUPPRESS_TRACE (10) is recorded by SuppressTrace, not an Act action \
                 (allowed {})",
                actions()
            )));
        }
        Ok(ActionKind::PolicyChange) => {
            return Err(Invalid(format!(
                "action: POLICY_CHANGE (11) is recorded by the Policies service, not an Act \
                 action (allowed {})",
                actions()
            )));
        }
        Ok(k) => k,
        Err(_) => {
            return Err(Invalid(format!(
                "action: unknown action {} (allowed {})",
                req.action,
                actions()
            )));
        }
    };
    let Some(target) = req.target else {
        return Err(Invalid(
            "target: required (the process's pid and start_time_ns)".to_owned(),
        ));
    };
    if target.pid == 0 || target.pid > MAX_PID {
        return Err(Invalid(format!(
            "target.pid: must be 1..={MAX_PID} (got {})",
            target.pid
        )));
    }
    if target.start_time_ns == 0 {
        return Err(Invalid(
            "target.start_time_ns: required (> 0): it tells this process apart from a \
             later one with the same pid"
                .to_owned(),
        ));
    }
    let reason = reason(&req.reason)?;
    let dry_run = match ActionMode::try_from(req.mode) {
        Ok(ActionMode::DryRun) => true,
        Ok(ActionMode::Live) => false,
        _ => {
            return Err(Invalid(format!(
                "mode: must be DRY_RUN (1) or LIVE (2) (got {})",
                req.mode
            )));
        }
    };
    let signal = signal(kind, req.signal)?;
    let priority = priority(kind, req.priority)?;
    Ok(ActArgs {
        kind,
        target,
        reason,
        dry_run,
        signal,
        priority,
    })
}

/// A request's reason, trimmed: required, at most [`REASON_MAX_BYTES`]
/// (an action's, and a trace suppression's).
pub fn reason(raw: &str) -> Result<String, Invalid> {
    let reason = raw.trim();
    // NULs, escape sequences or zero-width characters alone say nothing.
    if perch_proto::text::is_blank(reason) {
        return Err(Invalid(
            "reason: required, say why (an empty or blank reason is not accepted, nor one of \
             only control, zero-width or escape characters)"
                .to_owned(),
        ));
    }
    if reason.len() > REASON_MAX_BYTES {
        return Err(Invalid(format!(
            "reason: at most {REASON_MAX_BYTES} bytes (got {})",
            reason.len()
        )));
    }
    Ok(reason.to_owned())
}

/// The signal number for the kill actions (0: their default, KILL): a
/// named one, or any number in `SIGNAL_NUMBERS`.
fn signal(kind: ActionKind, raw: i32) -> Result<i32, Invalid> {
    if raw == i32::from(Signal::Unspecified) {
        return Ok(0);
    }
    if !signal_allowed(raw) {
        return Err(Invalid(format!(
            "signal: unknown signal {raw} (allowed {})",
            signals()
        )));
    }
    if !takes_signal(kind) {
        return Err(Invalid(format!(
            "signal: only for KILL, KILL_TREE and KILL_GROUP (got {raw} for {})",
            kind.as_str_name()
        )));
    }
    Ok(raw)
}

/// The nice value: required for RENICE, refused for everything else.
fn priority(kind: ActionKind, raw: Option<i32>) -> Result<Option<i32>, Invalid> {
    match (kind, raw) {
        (ActionKind::Renice, Some(p)) if PRIORITY_RANGE.contains(&p) => Ok(Some(p)),
        (ActionKind::Renice, Some(p)) => Err(Invalid(format!(
            "priority: must be in {} (got {p})",
            priorities()
        ))),
        (ActionKind::Renice, None) => Err(Invalid(format!(
            "priority: required for RENICE, in {}",
            priorities()
        ))),
        (_, Some(p)) => Err(Invalid(format!(
            "priority: only for RENICE (got {p} for {})",
            kind.as_str_name()
        ))),
        (_, None) => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok() -> ActRequest {
        ActRequest {
            action: ActionKind::Kill.into(),
            target: Some(ProcessKey {
                pid: 42,
                start_time_ns: 7_000_000_000,
            }),
            reason: "  miner  ".to_owned(),
            mode: ActionMode::Live.into(),
            ..ActRequest::default()
        }
    }

    fn err(req: &ActRequest) -> String {
        act(req).unwrap_err().0
    }

    #[test]
    fn a_good_request_is_trimmed_and_defaults_the_signal() {
        let a = act(&ok()).unwrap();
        assert_eq!(a.reason, "miner");
        assert_eq!(a.signal, 0);
        assert!(!a.dry_run);
        let mut r = ok();
        r.signal = Signal::Term.into();
        r.mode = ActionMode::DryRun.into();
        let a = act(&r).unwrap();
        assert_eq!((a.signal, a.dry_run), (15, true));
        // ABRT by name, and a real-time signal by number (the console's
        // numeric entry): both accepted as the numbers they are.
        r.signal = Signal::Abrt.into();
        assert_eq!(act(&r).unwrap().signal, 6);
        r.signal = 34;
        assert_eq!(act(&r).unwrap().signal, 34);
    }

    #[test]
    fn every_bad_field_is_named() {
        type Change = Box<dyn Fn(&mut ActRequest)>;
        let cases: Vec<(Change, &str)> = vec![
            (
                Box::new(|r| r.action = 0),
                "action: ACTION_KIND_UNSPECIFIED",
            ),
            (Box::new(|r| r.action = 99), "action: unknown action 99"),
            (Box::new(|r| r.target = None), "target: required"),
            (
                Box::new(|r| r.target.as_mut().unwrap().pid = 0),
                "target.pid: must be 1..=4194304 (got 0)",
            ),
            (
                Box::new(|r| r.target.as_mut().unwrap().start_time_ns = 0),
                "target.start_time_ns: required",
            ),
            (
                Box::new(|r| r.reason = " \t\n".to_owned()),
                "reason: required",
            ),
            (
                Box::new(|r| r.reason = "\0\u{200b}\u{202e}\u{1b}[31m\u{1b}[0m".to_owned()),
                "reason: required",
            ),
            (
                Box::new(|r| r.reason = "x".repeat(1025)),
                "reason: at most 1024 bytes (got 1025)",
            ),
            (
                Box::new(|r| r.mode = 0),
                "mode: must be DRY_RUN (1) or LIVE (2) (got 0)",
            ),
            (Box::new(|r| r.signal = 65), "signal: unknown signal 65"),
            (Box::new(|r| r.signal = -9), "signal: unknown signal -9"),
            (
                Box::new(|r| r.priority = Some(3)),
                "priority: only for RENICE",
            ),
            (
                Box::new(|r| {
                    r.action = ActionKind::KillPod.into();
                    r.signal = Signal::Term.into();
                }),
                "signal: only for KILL, KILL_TREE and KILL_GROUP",
            ),
            (
                Box::new(|r| {
                    r.action = ActionKind::Renice.into();
                    r.priority = Some(20);
                }),
                "priority: must be in -20..19 (got 20)",
            ),
            (
                Box::new(|r| {
                    r.action = ActionKind::Renice.into();
                    r.priority = Some(-21);
                }),
                "priority: must be in -20..19 (got -21)",
            ),
            (
                Box::new(|r| r.action = ActionKind::Renice.into()),
                "priority: required for RENICE",
            ),
        ];
        for (change, want) in cases {
            let mut r = ok();
            change(&mut r);
            let got = err(&r);
            assert!(got.starts_with(want), "want {want:?}, got {got:?}");
        }
    }

    #[test]
    fn messages_list_what_is_allowed() {
        assert_eq!(
            actions(),
            "KILL, KILL_TREE, KILL_GROUP, RENICE, KILL_POD, FREEZE_TREE, THAW_TREE, FREEZE_POD, \
             THAW_POD (1..=9)"
        );
        assert_eq!(
            signals(),
            "HUP(1), INT(2), QUIT(3), ABRT(6), KILL(9), USR1(10), USR2(12), TERM(15), CONT(18), \
             STOP(19), or any signal number in 1..=64"
        );
        assert_eq!(priorities(), "-20..19");
    }

    #[test]
    fn renice_bounds_are_inclusive() {
        for p in [-20, 0, 19] {
            let mut r = ok();
            r.action = ActionKind::Renice.into();
            r.priority = Some(p);
            assert_eq!(act(&r).unwrap().priority, Some(p));
        }
    }
}
