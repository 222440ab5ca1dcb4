//! The detail view's parents and children: each one line with its user,
//! marker and command, exited ancestors dimmed, and how the chain ends
//! (a root, an unknown original parent, a parent that left the model).
use ratatui::text::Line;

use super::widget::DetailView;
use crate::console::{
    model::{Proc, ProcessKey},
    screens::processes::{Above, Links, table},
    ui::ellipsize,
};

impl DetailView<'_> {
    fn link_line(&self, key: ProcessKey, index: usize, width: usize) -> Line<'static> {
        let t = self.theme;
        let text = self.app.store().by_key(&key).map_or_else(
            || format!("{} (gone)", key.pid),
            |p| {
                let status = table::marker(self.app, p)
                    .map(|m| format!(" [{m}]"))
                    .unwrap_or_default();
                format!("{:>7} {}{status} {}", p.key.pid, p.user, p.command)
            },
        );
        let selected = index == self.cursor;
        let marker = if selected { "▸ " } else { "  " };
        // Exited ancestors are dimmed like exited rows.
        let exited = self.app.store().by_key(&key).is_none_or(Proc::is_exited);
        let style = if selected {
            t.menu_cursor
        } else if exited {
            t.exited
        } else {
            t.text
        };
        Line::styled(ellipsize(&format!("{marker}{text}"), width), style)
    }

    /// Parents and children as lines, and the line index of the cursor.
    pub(super) fn relatives(&self, links: &Links, width: usize) -> (Vec<Line<'static>>, usize) {
        let t = self.theme;
        let mut out = vec![Line::styled("Parents (Enter jumps)", t.label)];
        let mut cursor_line = 0;
        if links.parents.is_empty() && links.above == Above::Root {
            out.push(Line::raw("  none"));
        }
        for (i, &k) in links.parents.iter().enumerate() {
            if i == self.cursor {
                cursor_line = out.len();
            }
            out.push(self.link_line(k, i, width));
        }
        let end = match links.above {
            Above::Root => None,
            Above::Unknown {
                found_under: Some(pid),
            } => Some(format!("original parent unknown (reparented to {pid})")),
            Above::Unknown { found_under: None } => Some("original parent unknown".to_owned()),
            Above::Gone { pid } => Some(format!("{pid:>7} (gone: not in the model any more)")),
        };
        if let Some(end) = end {
            out.push(Line::styled(ellipsize(&format!("  {end}"), width), t.warn));
        }
        out.push(Line::styled(
            format!("Children ({})", links.children.len()),
            t.label,
        ));
        if links.children.is_empty() {
            out.push(Line::raw("  none"));
        }
        for (i, &k) in links.children.iter().enumerate() {
            let index = links.parents.len() + i;
            if index == self.cursor {
                cursor_line = out.len();
            }
            out.push(self.link_line(k, index, width));
        }
        (out, cursor_line)
    }
}
