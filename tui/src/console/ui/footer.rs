//! The footer: a status line (the search or filter prompt, a filter's parse
//! error, following, collector notices, or what the list shows) above
//! htop's function-key bar.
use crossterm::event::KeyCode;
use ratatui::{
    buffer::Buffer,
    layout::Rect,
    text::{Line, Span},
};

use super::{Part, put_line};
use crate::console::{
    App,
    input::{Action, Key},
    theme::Theme,
};

pub struct Footer<'a> {
    app: &'a App,
    theme: &'a Theme,
}

impl<'a> Footer<'a> {
    #[must_use]
    pub fn new(app: &'a App, theme: &'a Theme) -> Footer<'a> {
        Footer { app, theme }
    }

    fn status(&self) -> Line<'static> {
        let (app, t) = (self.app, self.theme);
        let search = app.search();
        let (filter_text, filter_error) = app.filter();
        if app.typing_search() || search.is_active() {
            let cursor = if app.typing_search() { "_" } else { "" };
            // Count what the list shows: matches hidden by the filter or a
            // collapsed node are out of n/N's reach.
            let shown = app.shown_match_count();
            let hidden = match search.match_count().saturating_sub(shown) {
                0 => String::new(),
                h => format!(" ({h} more hidden)"),
            };
            let found = match shown {
                0 if search.is_active() => format!("no match{hidden}"),
                0 => "type to search command, exe, user, pid, container".to_owned(),
                1 => format!("1 match{hidden}"),
                n => format!("{n} matches{hidden}, n/N next/previous"),
            };
            return Line::from(vec![
                Span::styled("Search: ", t.prompt),
                Span::raw(format!("{}{cursor}  ", search.query)),
                Span::styled(found, t.label),
            ]);
        }
        if app.typing_filter() || !filter_text.is_empty() {
            let cursor = if app.typing_filter() { "_" } else { "" };
            let mut spans = vec![
                Span::styled("Filter: ", t.prompt),
                Span::raw(format!("{filter_text}{cursor}  ")),
            ];
            match filter_error {
                Some(e) => spans.push(Span::styled(e.to_string(), t.error)),
                None if filter_text.is_empty() => {
                    spans.push(Span::styled(
                        "user:root cpu>5 rss>100M !is:kernel text",
                        t.label,
                    ));
                }
                None => spans.push(Span::styled(
                    format!("{} shown, Esc clears", app.view().len()),
                    t.label,
                )),
            }
            return Line::from(spans);
        }
        if let Some(notice) = app.hosts().iter().find_map(|h| h.notice.as_deref()) {
            return Line::styled(format!("collector: {notice}"), t.warn);
        }
        let sort = app.sort();
        let mut parts = vec![
            if app.is_tree() { "Tree" } else { "Table" }.to_owned(),
            format!(
                "sorted by {} {}",
                sort.column.title(),
                if sort.descending {
                    "descending"
                } else {
                    "ascending"
                }
            ),
        ];
        let exited = app.store().iter().filter(|(_, p)| p.is_exited()).count();
        parts.push(if exited > 0 {
            format!("{} processes ({exited} exited)", app.store().len())
        } else {
            format!("{} processes", app.store().len())
        });
        if app.hides_kernel_threads() {
            parts.push("kernel threads hidden".to_owned());
        }
        let mut spans = vec![Span::styled(parts.join(" · "), t.label)];
        if app.follows()
            && let Some(p) = app.selected()
        {
            spans.insert(
                0,
                Span::styled(format!("Following {} ", p.key.pid), t.prompt),
            );
        }
        Line::from(spans)
    }

    /// htop's bar; a key the configuration took away from its action is
    /// replaced by the action's first key.
    fn keys(&self) -> Line<'static> {
        let t = self.theme;
        let f = |n| Key {
            code: KeyCode::F(n),
            ctrl: false,
        };
        let enter = Key {
            code: KeyCode::Enter,
            ctrl: false,
        };
        let keys = [
            (Action::Help, f(1), "Help"),
            (Action::Search, f(3), "Search"),
            (Action::Filter, f(4), "Filter"),
            (
                Action::ToggleTree,
                f(5),
                if self.app.is_tree() { "Table" } else { "Tree" },
            ),
            (Action::SortMenu, f(6), "SortBy"),
            (Action::Confirm, enter, "Details"),
            (Action::Quit, f(10), "Quit"),
        ];
        let keymap = &self.app.config().keys;
        let mut spans = Vec::new();
        for (action, preferred, label) in keys {
            let Some(k) = keymap.footer_key(action, preferred) else {
                continue;
            };
            spans.push(Span::styled(k.to_string(), t.footer_key));
            spans.push(Span::styled(format!("{label} "), t.footer_label));
        }
        Line::from(spans)
    }
}

impl Part for Footer<'_> {
    fn draw(&self, area: Rect, buf: &mut Buffer) {
        if area.height >= 2 {
            put_line(buf, area, 0, 0, &self.status());
            put_line(buf, area, 0, 1, &self.keys());
        } else if self.app.typing_search() || self.app.typing_filter() {
            put_line(buf, area, 0, 0, &self.status());
        } else {
            put_line(buf, area, 0, 0, &self.keys());
        }
    }
}
