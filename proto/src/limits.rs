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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::every;

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
