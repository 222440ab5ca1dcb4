//! The detail view's identity lines: the path given to execve and the file
//! actually mapped, marked when deleted or run from memory, and — when
//! comm, argv[0] and the executable's name disagree — all three side by
//! side, so a disguise (`/tmp/x/sshd` -> `/usr/bin/sleep`) shows plainly.
use ratatui::text::Line;

use super::widget::DetailView;
use crate::console::model::Proc;

/// The lines, wrapped to `width`.
pub(super) fn lines(view: &DetailView<'_>, p: &Proc, width: usize) -> Vec<Line<'static>> {
    let mut out = view.kv_wrapped("Exe", &p.exe, width);
    if p.exe_shown() != &*p.exe {
        out.extend(view.kv_wrapped("Binary", p.exe_shown(), width));
    }
    out
}
