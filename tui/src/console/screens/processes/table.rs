//! The process list: column titles (the sort column marked) and one row per
//! visible process, tree guides and search highlights in COMMAND, exited
//! processes dimmed with their exit status.  A process a response action
//! signalled says `[signalled]` while it runs — it is not contained yet —
//! then `[killed]` (ended by that signal) or `[exited]`; a frozen one says
//! `[frozen]`.  Only the rows on screen are formatted, so a frame costs
//! the same at 100 or 100k processes.
use ratatui::{
    buffer::Buffer,
    layout::Rect,
    style::Style,
    text::{Line, Span},
};

use super::{Processes, cells};
use crate::console::{
    App,
    columns::{self, Column},
    format,
    input::Msg,
    model::Proc,
    rows::{Row, RowList},
    theme::Theme,
    ui::{Part, ellipsize, put, put_line, widget_for_ref},
};

pub struct ProcessTable<'a> {
    app: &'a App,
    state: &'a Processes,
    theme: &'a Theme,
}

widget_for_ref!(ProcessTable);

/// The columns at `width`, the title row and the body rows of `area`.
fn parts(app: &App, area: Rect) -> (Vec<(Column, u16)>, u16) {
    let cols = columns::fit(
        area.width,
        app.optional_columns(),
        app.processes().columns(),
    );
    (cols, area.height.saturating_sub(1))
}

/// The message for a click in the table drawn in `area`: a column title
/// sorts by it, a row selects its process.
pub(super) fn hit(state: &Processes, app: &App, area: Rect, x: u16, y: u16) -> Option<Msg> {
    let (cols, body_h) = parts(app, area);
    if y == area.y {
        return columns::at(&cols, x.checked_sub(area.x)?).map(Msg::SortBy);
    }
    let dy = y.checked_sub(area.y + 1)?;
    if dy >= body_h {
        return None;
    }
    let pos = state.offset_for(usize::from(body_h)) + usize::from(dy);
    let row = state.rows().rows.get(pos)?;
    app.store().get(row.id).map(|p| Msg::Select(p.key))
}

/// What COMMAND says before the command line, if anything: the exit of an
/// exited process (what a signal sent here did), `[signalled]` while a
/// process signalled to end runs on, `[frozen]`.
#[must_use]
pub fn marker(app: &App, p: &Proc) -> Option<String> {
    let sent = app.signalled(&p.key);
    if let Some(x) = &p.exit {
        return Some(match sent {
            Some(sig) if x.signal == Some(sig) => "killed".to_owned(),
            Some(_) => "exited".to_owned(),
            None => format::exit_status(x),
        });
    }
    if sent.is_some() {
        Some("signalled".to_owned())
    } else if p.frozen {
        Some("frozen".to_owned())
    } else {
        None
    }
}

impl<'a> ProcessTable<'a> {
    #[must_use]
    pub fn new(app: &'a App, state: &'a Processes, theme: &'a Theme) -> ProcessTable<'a> {
        ProcessTable { app, state, theme }
    }

    /// Tree guides for a row: `│ ` or `  ` per ancestor level below the
    /// root, then `├─`/`└─` (`├+`/`└+` when collapsed).
    fn guides(view: &RowList, r: &Row) -> String {
        let mut lasts = Vec::new();
        let mut cur = r.parent;
        while let Some(pi) = cur {
            let Some(parent) = view.rows.get(pi as usize) else {
                break;
            };
            lasts.push(parent.last);
            cur = parent.parent;
        }
        if r.parent.is_none() {
            return if r.collapsed {
                "+ ".to_owned()
            } else {
                String::new()
            };
        }
        // The root's own flag draws nothing.
        lasts.pop();
        let mut s = String::with_capacity(lasts.len() * 2 + 3);
        for &last in lasts.iter().rev() {
            s.push_str(if last { "  " } else { "│ " });
        }
        s.push(if r.last { '└' } else { '├' });
        s.push(if r.collapsed { '+' } else { '─' });
        s.push(' ');
        s
    }

    fn command_line(&self, r: &Row, p: &Proc, width: usize, base: Style) -> Line<'static> {
        let t = self.theme;
        let mut spans = Vec::new();
        if self.state.is_tree() {
            let mut g = Self::guides(self.state.rows(), r);
            let chars = g.chars().count();
            // Deep trees keep the innermost levels and at least half the width for the command.
            if chars > width / 2 {
                g = std::iter::once('…')
                    .chain(g.chars().skip(chars - width / 2 + 1))
                    .collect();
            }
            spans.push(Span::styled(g, t.tree.patch(base)));
        }
        if let Some(marker) = marker(self.app, p) {
            let style = if p.is_exited() { base } else { base.patch(t.warn) };
            spans.push(Span::styled(format!("[{marker}] "), style));
        }
        // A disguise, stated plainly: the detail view shows all three names.
        if p.names_disagree {
            spans.push(Span::styled("[names differ] ".to_owned(), base.patch(t.warn)));
        }
        if p.binary_deleted || p.binary_memfd {
            let what = if p.binary_memfd { "memfd" } else { "deleted exe" };
            spans.push(Span::styled(format!("[{what}] "), base.patch(t.warn)));
        }
        let search = self.state.search();
        let cmd: &str = &p.command;
        if search.is_active() && search.is_match(r.id) {
            let pos = search.positions(p.haystack(), cmd.chars().count());
            let mut next = pos.iter().copied().peekable();
            let mut run = String::new();
            let mut run_hit = false;
            for (i, c) in cmd.chars().enumerate() {
                let hit = next.peek() == Some(&i);
                if hit {
                    next.next();
                }
                if hit != run_hit && !run.is_empty() {
                    let style = if run_hit { base.patch(t.matched) } else { base };
                    spans.push(Span::styled(std::mem::take(&mut run), style));
                }
                run_hit = hit;
                run.push(c);
            }
            let style = if run_hit { base.patch(t.matched) } else { base };
            spans.push(Span::styled(run, style));
        } else {
            spans.push(Span::styled(cmd.to_owned(), base));
        }
        Line::from(spans)
    }

    /// One thread row at line `dy`: its own tid, name, state and CPU;
    /// the rest is its process's (htop does the same: memory is shared).
    fn draw_thread(&self, row: &Row, cols: &[(Column, u16)], area: Rect, dy: u16, buf: &mut Buffer) {
        let Some((process, tid)) = self.app.store().get(row.id).zip(row.thread) else {
            return;
        };
        let Some(thread) = self.app.data().threads().get(&process.key, tid) else {
            return;
        };
        let style = self.theme.thread;
        let mut x = 0u16;
        for &(col, w) in cols {
            let text = if col == Column::Command {
                let mut line = if self.state.is_tree() {
                    Self::guides(self.state.rows(), row)
                } else {
                    String::new()
                };
                line.push_str(&thread.comm);
                line
            } else {
                cells::thread_cell(self.app, col, process, thread)
            };
            let text = ellipsize(&text, usize::from(w));
            let text = if col.right_aligned() {
                format!("{text:>w$}", w = usize::from(w))
            } else {
                text
            };
            put(buf, area, x, dy, &text, w, style);
            x = x.saturating_add(w + 1);
        }
    }

    /// One process row at line `dy` of `area`.
    fn draw_row(&self, r: &Row, cols: &[(Column, u16)], area: Rect, dy: u16, buf: &mut Buffer) {
        let t = self.theme;
        let Some(p) = self.app.store().get(r.id) else {
            return;
        };
        if r.thread.is_some() {
            self.draw_thread(r, cols, area, dy, buf);
            return;
        }
        let usage = r.subtree.as_deref().unwrap_or(&p.usage);
        let gone = p.is_exited();
        let base = if gone {
            t.exited
        } else if p.kernel_thread {
            t.kernel
        } else {
            t.text
        };
        let mut x = 0u16;
        for &(col, w) in cols {
            if col == Column::Command {
                let line = self.command_line(r, p, usize::from(w), base);
                put_line(
                    buf,
                    Rect {
                        width: x.saturating_add(w).min(area.width),
                        ..area
                    },
                    x,
                    dy,
                    &line,
                );
            } else {
                let text = ellipsize(&cells::cell(self.app, col, p, usage), usize::from(w));
                let text = if col.right_aligned() {
                    format!("{text:>w$}", w = usize::from(w))
                } else {
                    text
                };
                let style = match col {
                    Column::Container => base.patch(t.container),
                    // No flag: dim, as Spydertop greys a 0.
                    Column::Flags if p.flags.count == 0 => base.patch(t.exited),
                    Column::Flags => base.patch(t.severity(p.flags.severity())),
                    _ => base,
                };
                let style = if gone { t.exited } else { style };
                put(buf, area, x, dy, &text, w, style);
            }
            x = x.saturating_add(w + 1);
        }
    }
}

impl Part for ProcessTable<'_> {
    fn draw(&self, area: Rect, buf: &mut Buffer) {
        let (app, state, t) = (self.app, self.state, self.theme);
        let (cols, body_h) = parts(app, area);
        // Titles.
        buf.set_style(Rect { height: 1, ..area }, t.table_title);
        let sort = state.sort();
        let mut x = 0u16;
        for &(col, w) in &cols {
            let mut title = col.title().to_owned();
            let style = if col == sort.column {
                title.push(if sort.descending { '▼' } else { '▲' });
                t.sort_title
            } else {
                t.table_title
            };
            if col == Column::Cpu && w >= 18 {
                "CPU% (100%=1 core)".clone_into(&mut title);
            }
            let text = if col.right_aligned() {
                format!("{title:>w$}", w = usize::from(w))
            } else {
                title
            };
            put(buf, area, x, 0, &text, w, style);
            x = x.saturating_add(w + 1);
        }
        let view = state.rows();
        if view.is_empty() {
            let msg = if state.filter_active() {
                "no process matches the filter (Esc clears it)"
            } else if app.hosts().is_empty() {
                "waiting for the collector…"
            } else {
                "no processes"
            };
            put(buf, area, 1, 1, msg, area.width, t.label);
            return;
        }
        let off = state.offset_for(usize::from(body_h));
        for (i, r) in view
            .rows
            .iter()
            .skip(off)
            .take(usize::from(body_h))
            .enumerate()
        {
            let dy = u16::try_from(i + 1).unwrap_or(u16::MAX);
            self.draw_row(r, &cols, area, dy, buf);
            if off + i == state.cursor() && dy < area.height {
                buf.set_style(
                    Rect {
                        y: area.y + dy,
                        height: 1,
                        ..area
                    },
                    t.selected,
                );
            }
        }
    }
}
