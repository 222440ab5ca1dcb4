//! The dialog's fields as keys change them: the focus, typing into the
//! reason, priority and signal number, and Left/Right (the signal from any
//! field, the priority, the reason's cursor).
use super::{Dialog, Field};
use crate::{
    act::{self, InputError, SIGNALS},
    console::{
        editor::{Edit, LineEditor, Limit},
        input::Msg,
    },
};

use super::PRIORITY_CHARS;

impl Dialog {
    /// Moves the focus by `delta` fields, wrapping around.
    pub fn move_focus(&mut self, delta: isize) {
        let fields = self.fields();
        let n = fields.len();
        let at = fields.iter().position(|f| *f == self.focus).unwrap_or(0);
        let step = delta.rem_euclid(isize::try_from(n).unwrap_or(1));
        let next = (at + usize::try_from(step).unwrap_or(0)) % n;
        self.focus = fields[next];
    }

    /// A typed character or an editing key, into the focused field.
    pub fn edit(&mut self, msg: Msg) {
        match self.focus {
            Field::Signal => {
                let digit = matches!(msg, Msg::Input(c) if c.is_ascii_digit());
                if digit || !matches!(msg, Msg::Input(_)) {
                    self.number.apply(msg);
                }
            }
            Field::Reason => match self.reason.apply(msg) {
                Edit::Changed => self.reason_error = None,
                Edit::Full => {
                    let typed = self.reason.text().len() + 1;
                    self.reason_error = Some(InputError::ReasonTooLong(typed));
                }
                Edit::Ignored => {}
            },
            Field::Priority => {
                self.priority.apply(msg);
            }
            Field::DryRun if msg == Msg::Input(' ') => self.dry_run = !self.dry_run,
            _ => {}
        }
    }

    /// The signal as sent: the number typed, else the named one.
    pub fn signal_number(&self) -> Result<i32, InputError> {
        if self.number.is_empty() {
            return Ok(i32::from(self.signal));
        }
        act::parse_signal_number(self.number.text())
    }

    fn next_signal(&mut self, delta: i32) {
        let n = SIGNALS.len();
        let at = SIGNALS.iter().position(|s| *s == self.signal).unwrap_or(0);
        let next = (if delta < 0 { at + n - 1 } else { at + 1 }) % n;
        self.signal = SIGNALS[next];
        self.number.clear();
    }

    /// Left/Right: the previous/next signal from any field of a signal's
    /// dialog (in the reason once it holds text, they move its cursor),
    /// or priority -1/+1.
    pub fn step(&mut self, delta: i32) {
        let signals = act::takes_signal(self.kind);
        match self.focus {
            Field::Reason if !self.reason.is_empty() || !signals => {
                let motion = if delta < 0 {
                    Msg::CursorLeft
                } else {
                    Msg::CursorRight
                };
                self.reason.apply(motion);
            }
            Field::Signal | Field::Reason | Field::DryRun | Field::Confirm if signals => {
                self.next_signal(delta);
            }
            Field::Priority => {
                // From what was typed, brought into the range first (so
                // Right on "20" gives 19), else from the current nice.
                let (lo, hi) = (*act::PRIORITY_RANGE.start(), *act::PRIORITY_RANGE.end());
                let now = self
                    .priority
                    .text()
                    .trim()
                    .parse::<i64>()
                    .map_or(self.nice_now, |n| {
                        i32::try_from(n.clamp(i64::from(lo), i64::from(hi)))
                            .unwrap_or(self.nice_now)
                    });
                let next = now.saturating_add(delta).clamp(lo, hi);
                self.priority = LineEditor::with_text(next.to_string(), Limit::Chars(PRIORITY_CHARS));
            }
            Field::Signal | Field::Reason | Field::DryRun | Field::Confirm => {}
        }
    }

}
