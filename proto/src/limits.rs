//! What perchd accepts in an `ActRequest`, in one place: perchd refuses
//! anything outside these, and clients (the console's dialog, `perch
//! kill …`) check the same values before sending, so both give the same
//! answer with the same numbers in it.
use std::ops::RangeInclusive;

use crate::v1::{ActionKind, Signal};

/// Nice values Linux accepts (`setpriority`'s range).
pub const PRIORITY_RANGE: RangeInclusive<i32> = -20..=19;

/// The longest reason accepted, in bytes: a sentence or two, not a document.
pub const REASON_MAX_BYTES: usize = 1024;

/// The largest pid Linux can assign (`PID_MAX_LIMIT` on 64-bit).
pub const MAX_PID: u32 = 4_194_304;

/// The signals a client may choose by name, in the order consoles offer
/// them: every `Signal` but `SIGNAL_UNSPECIFIED` (which means the action's
/// default).  TERM first and KILL next to it: the polite request, and the
/// one that cannot be ignored one step away.
pub const SIGNALS: [Signal; 10] = [
    Signal::Term,
    Signal::Kill,
    Signal::Int,
    Signal::Hup,
    Signal::Quit,
    Signal::Abrt,
    Signal::Stop,
    Signal::Cont,
    Signal::Usr1,
    Signal::Usr2,
];

/// Every signal number a client may send, named in `Signal` or not (Linux's
/// 1..=SIGRTMAX): a console's numeric entry offers these, perchd accepts
/// them.
pub const SIGNAL_NUMBERS: RangeInclusive<i32> = 1..=64;

/// True when `raw` (an `ActRequest.signal`) is a signal a client may send:
/// a named one or a number in [`SIGNAL_NUMBERS`].
#[must_use]
pub fn signal_allowed(raw: i32) -> bool {
    SIGNAL_NUMBERS.contains(&raw)
}

/// The actions that send a signal the client chooses.
#[must_use]
pub fn takes_signal(kind: ActionKind) -> bool {
    matches!(
        kind,
        ActionKind::Kill | ActionKind::KillTree | ActionKind::KillGroup
    )
}

/// An affected process's command line in an action's result
/// (`AffectedProcess.argv`), counted as `/proc/PID/cmdline` counts it:
/// enough to tell a web server from the curl loop beside it, small enough
/// that a record can list hundreds of processes.
pub const AFFECTED_ARGV_BYTES: usize = 1024;

/// Cuts `argv` to at most `max` bytes counted as `/proc/PID/cmdline`
/// counts them (each argument plus its NUL): whole arguments while they
/// fit, then what fits of the next (on a character boundary); true if
/// anything was cut.
pub fn clip_argv_to(argv: &mut Vec<String>, max: usize) -> bool {
    let mut used = 0;
    for i in 0..argv.len() {
        let room = max.saturating_sub(used);
        if argv[i].len() < room {
            used += argv[i].len() + 1;
            continue;
        }
        // This argument and its NUL do not fit: keep what does, if anything.
        let mut end = room.saturating_sub(1).min(argv[i].len());
        while !argv[i].is_char_boundary(end) {
            end -= 1;
        }
        argv[i].truncate(end);
        let keep = if end > 0 { i + 1 } else { i };
        argv.truncate(keep);
        return true;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::every;

    #[test]
    fn argv_is_clipped_as_cmdline_counts_it() {
        let v = |a: &[&str]| a.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let mut a = v(&["sleep", "10"]);
        assert!(!clip_argv_to(&mut a, 9));
        assert_eq!(a, v(&["sleep", "10"]));
        let mut a = v(&["sleep", "1000"]);
        assert!(clip_argv_to(&mut a, 9));
        assert_eq!(a, v(&["sleep", "10"]));
        let mut a = v(&["sleep", "1000"]);
        assert!(clip_argv_to(&mut a, 6));
        assert_eq!(a, v(&["sleep"]));
        let mut a = v(&["é", "x"]);
        assert!(clip_argv_to(&mut a, 2));
        assert!(a.is_empty(), "{a:?}");
    }

    #[test]
    fn every_signal_but_unspecified_may_be_chosen() {
        let mut chosen: Vec<Signal> = SIGNALS.to_vec();
        let mut defined: Vec<Signal> = every::<Signal>()
            .filter(|s| *s != Signal::Unspecified)
            .collect();
        chosen.sort_unstable();
        defined.sort_unstable();
        assert_eq!(chosen, defined);
    }

    #[test]
    fn named_signals_are_numbers_a_client_may_send() {
        assert!(SIGNALS.iter().all(|s| signal_allowed(i32::from(*s))));
        assert!(signal_allowed(34) && signal_allowed(64));
        assert!(!signal_allowed(0) && !signal_allowed(65) && !signal_allowed(-9));
    }
}
