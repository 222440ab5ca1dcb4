//! Response actions as the console and the `perch kill …` commands both ask
//! for them: the action kinds and their names, the signals a client may
//! choose, the checks on what a user types (pid, signal, priority, reason)
//! with errors that name the allowed values, and one line describing a
//! result.  One copy, so the dialog and the command line accept and refuse
//! exactly the same input; the limits themselves are perchd's own
//! (`perch_proto::limits`).
use std::fmt::Write as _;

pub use perch_client::ClientIdentity;
pub use perch_proto::limits::{
    PRIORITY_RANGE, REASON_MAX_BYTES, SIGNAL_NUMBERS, SIGNALS, takes_signal,
};
use perch_proto::{
    names::{self, Named as _},
    v1::{ActResponse, ActionKind, ActionMode, ActionResult, AuditRecord, IntentState, Signal},
};

use crate::text::clean;

/// What is wrong with a value the user typed.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub enum InputError {
    #[error(
        "priority `{0}` is not a number: give a nice value in {lo}..{hi}",
        lo = PRIORITY_RANGE.start(),
        hi = PRIORITY_RANGE.end()
    )]
    PriorityNotANumber(String),
    #[error(
        "priority {0} is outside {lo}..{hi}",
        lo = PRIORITY_RANGE.start(),
        hi = PRIORITY_RANGE.end()
    )]
    PriorityOutOfRange(i64),
    #[error("unknown signal `{0}`: one of {names}", names = signal_names())]
    UnknownSignal(String),
    #[error(
        "signal {0} is not a signal number: give {lo}..{hi}",
        lo = SIGNAL_NUMBERS.start(),
        hi = SIGNAL_NUMBERS.end()
    )]
    SignalOutOfRange(String),
    #[error("pid `{0}` is not a number: give a process id of 1 or more")]
    PidNotANumber(String),
    #[error("pid {0} is not a process id: give 1 or more")]
    PidOutOfRange(i64),
    #[error("the reason is empty: say why (it goes into the audit log)")]
    EmptyReason,
    #[error("the reason is {0} bytes long: at most {REASON_MAX_BYTES}")]
    ReasonTooLong(usize),
}

/// `KILL` for [`Signal::Kill`]; empty for unspecified.
#[must_use]
pub fn signal_name(s: Signal) -> &'static str {
    if s == Signal::Unspecified {
        ""
    } else {
        s.bare_name()
    }
}

/// `TERM KILL INT …`: the signals a user may type, in the offered order.
fn signal_names() -> String {
    SIGNALS.map(signal_name).join(" ")
}

/// A signal by name (`kill`, `SIGKILL`, `Term`) or number (`9`); only the
/// ones in [`SIGNALS`].
pub fn parse_signal(text: &str) -> Result<Signal, InputError> {
    let t = text.trim();
    let unknown = || InputError::UnknownSignal(clean(text).into_owned());
    if let Ok(n) = t.parse::<i32>() {
        return SIGNALS
            .into_iter()
            .find(|s| i32::from(*s) == n)
            .ok_or_else(unknown);
    }
    let upper = t.to_ascii_uppercase();
    let bare = upper.strip_prefix("SIG").unwrap_or(&upper);
    SIGNALS
        .into_iter()
        .find(|s| signal_name(*s) == bare)
        .ok_or_else(unknown)
}

/// A signal number as typed in the dialog's numeric entry: 1..64.
pub fn parse_signal_number(text: &str) -> Result<i32, InputError> {
    let out = || InputError::SignalOutOfRange(clean(text).into_owned());
    text.trim()
        .parse::<i32>()
        .ok()
        .filter(|n| SIGNAL_NUMBERS.contains(n))
        .ok_or_else(out)
}

/// A nice value in -20..19.
pub fn parse_priority(text: &str) -> Result<i32, InputError> {
    let t = text.trim();
    let n: i64 = t
        .parse()
        .map_err(|_| InputError::PriorityNotANumber(clean(text).into_owned()))?;
    i32::try_from(n)
        .ok()
        .filter(|n| PRIORITY_RANGE.contains(n))
        .ok_or(InputError::PriorityOutOfRange(n))
}

/// A process id: 1 or more.
pub fn parse_pid(text: &str) -> Result<u32, InputError> {
    let t = text.trim();
    let n: i64 = t
        .parse()
        .map_err(|_| InputError::PidNotANumber(clean(text).into_owned()))?;
    u32::try_from(n)
        .ok()
        .filter(|n| *n >= 1)
        .ok_or(InputError::PidOutOfRange(n))
}

/// The reason as sent: trimmed, not blank (nothing but control,
/// zero-width or escape characters is blank too, as perchd judges it), at
/// most [`REASON_MAX_BYTES`].
pub fn check_reason(text: &str) -> Result<String, InputError> {
    let t = text.trim();
    if perch_proto::text::is_blank(t) {
        return Err(InputError::EmptyReason);
    }
    if t.len() > REASON_MAX_BYTES {
        return Err(InputError::ReasonTooLong(t.len()));
    }
    Ok(t.to_owned())
}

/// `kill_tree`: the name the audit log and `--json` use.
#[must_use]
pub fn kind_name(k: ActionKind) -> String {
    names::short(k)
}

/// `Kill tree`: how menus and messages say it.
#[must_use]
pub fn kind_title(k: ActionKind) -> &'static str {
    match k {
        ActionKind::Unspecified => "Action",
        ActionKind::Kill => "Kill process",
        ActionKind::KillTree => "Kill tree",
        ActionKind::KillGroup => "Kill group",
        ActionKind::Renice => "Renice process",
        ActionKind::KillPod => "Kill pod",
        ActionKind::FreezeTree => "Freeze tree",
        ActionKind::ThawTree => "Thaw tree",
        ActionKind::FreezePod => "Freeze pod",
        ActionKind::ThawPod => "Thaw pod",
        ActionKind::SuppressTrace => "Suppress trace",
        ActionKind::PolicyChange => "Policy change",
    }
}

/// The kinds that act on more than the target itself (counted in dialogs).
#[must_use]
pub fn acts_on_many(k: ActionKind) -> bool {
    !matches!(
        k,
        ActionKind::Kill | ActionKind::Renice | ActionKind::Unspecified | ActionKind::SuppressTrace
    )
}

/// True when a live action of this kind with this signal ends its targets
/// (so the console can mark them before their exit events arrive).
#[must_use]
pub fn ends_processes(k: ActionKind, signal: Signal) -> bool {
    match k {
        ActionKind::KillPod => true,
        k if takes_signal(k) => !matches!(signal, Signal::Stop | Signal::Cont),
        _ => false,
    }
}

/// The signal number a live action of `kind` sends: `signal` (a request's
/// or a record's raw value), or the action's default (KILL) when unset.
#[must_use]
pub fn signal_number(kind: ActionKind, signal: i32) -> i32 {
    if signal != 0 {
        signal
    } else if takes_signal(kind) || kind == ActionKind::KillPod {
        i32::from(Signal::Kill)
    } else {
        0
    }
}

/// `SUCCESS`, `PARTIAL`, `NOT SUCCESSFUL`.
#[must_use]
pub fn result_title(r: ActionResult) -> &'static str {
    match r {
        ActionResult::Success => "SUCCESS",
        ActionResult::Partial => "PARTIAL",
        ActionResult::NotSuccessful => "NOT SUCCESSFUL",
        ActionResult::Unspecified => "UNKNOWN",
    }
}

/// A listed record's state: its result, or for an action whose result is
/// not in the log (only its intent), `IN PROGRESS` or `OUTCOME UNKNOWN`.
#[must_use]
pub fn status_title(r: &AuditRecord) -> &'static str {
    match r.intent_state() {
        IntentState::InProgress => "IN PROGRESS",
        IntentState::OutcomeUnknown => "OUTCOME UNKNOWN",
        IntentState::Unspecified => result_title(r.result()),
    }
}

/// A listed record's state as a filter and table word: the result's name
/// (`success`, `not_successful`, …), `in_progress` or `outcome_unknown`.
#[must_use]
pub fn status_name(r: &AuditRecord) -> String {
    match r.intent_state() {
        IntentState::InProgress => "in_progress".to_owned(),
        IntentState::OutcomeUnknown => "outcome_unknown".to_owned(),
        IntentState::Unspecified => {
            names::short_of::<ActionResult>(r.result).unwrap_or_else(|| r.result.to_string())
        }
    }
}

/// What was done, in words: `1 process signalled`, `3 processes frozen, 1
/// already gone`, `would act on 7 processes`; the record's detail when it
/// acted on nothing.
#[must_use]
pub fn summary(resp: &ActResponse) -> String {
    let Some(r) = &resp.record else {
        return "no audit record in the answer".to_owned();
    };
    let dry = r.mode == i32::from(ActionMode::DryRun);
    let n = if dry {
        u32::try_from(r.processes.len()).unwrap_or(u32::MAX)
    } else {
        resp.done
    };
    let plural = |n: u32| if n == 1 { "process" } else { "processes" };
    if n == 0 || r.result == i32::from(ActionResult::NotSuccessful) {
        return clean(&r.detail).into_owned();
    }
    let mut s = if dry {
        format!("would act on {n} {}", plural(n))
    } else {
        format!("{n} {} {}", plural(n), verb(r))
    };
    if resp.already_gone > 0 {
        let _ = write!(s, ", {} already gone", resp.already_gone);
    }
    if !r.detail.is_empty() {
        s.push_str(" (");
        s.push_str(&clean(&r.detail));
        s.push(')');
    }
    s
}

fn verb(r: &AuditRecord) -> &'static str {
    match r.action() {
        ActionKind::Renice => "reniced",
        ActionKind::FreezeTree | ActionKind::FreezePod => "frozen",
        ActionKind::ThawTree | ActionKind::ThawPod => "thawed",
        ActionKind::KillPod => "killed",
        _ => "signalled",
    }
}

#[cfg(test)]
mod tests;
