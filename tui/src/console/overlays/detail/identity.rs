//! The detail view's identity lines: the path given to execve and the file
//! actually mapped, marked when deleted or run from memory, and — when
//! comm, argv[0] and the executable's name disagree — all three side by
//! side, so a disguise (`/tmp/x/sshd` -> `/usr/bin/sleep`) shows plainly.
use ratatui::text::{Line, Span};

use super::widget::DetailView;
use crate::console::model::Proc;

/// The last path component.
fn base(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// The lines, wrapped to `width`.
pub(super) fn lines(view: &DetailView<'_>, p: &Proc, width: usize) -> Vec<Line<'static>> {
    let t = view.theme();
    let mut out = view.kv_wrapped("Exe", &p.exe, width);
    if !p.binary.is_empty() {
        let mut binary = format!("{}{}", p.binary, p.binary_mark());
        if p.binary_setid {
            binary.push_str(" (setuid/setgid)");
        }
        let mut lines = view.kv_wrapped("Binary", &binary, width);
        if p.binary_deleted || p.binary_memfd {
            for l in &mut lines {
                l.spans.iter_mut().skip(1).for_each(|s| s.style = t.warn);
            }
        }
        out.extend(lines);
    }
    if p.names_disagree {
        let argv0 = p.argv.first().map_or("", |a| base(a));
        let binary = base(p.exe_shown());
        out.push(Line::from(vec![
            Span::styled(format!("{:<10}", "Names"), t.label),
            Span::styled(
                format!("comm {} · argv[0] {argv0} · binary {binary}", p.comm),
                t.warn,
            ),
            Span::styled("  (they disagree)", t.label),
        ]));
    }
    out
}
