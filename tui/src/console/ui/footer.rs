//! The footer: a status line (the search or filter prompt, a filter's parse
//! error, a one-off message, following, collector notices, or what the
//! list shows) above htop's function-key bar.
use crossterm::event::KeyCode;
use ratatui::{
    buffer::Buffer,
    layout::Rect,
    text::{Line, Span},
};

use perch_proto::v1::AuditLogStatus;

use super::{Part, put_line};
use crate::{
    console::{
        App, Screen,
        audit::FETCH_LIMIT,
        input::{Action, Key},
        theme::Theme,
    },
    text::clean,
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
        // The process search does not apply to the action log.
        let processes = app.screen() == Screen::Processes;
        if app.typing_search() || (processes && search.is_active()) {
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
            let (hint, shown) = match app.screen() {
                Screen::Processes => ("user:root cpu>5 rss>100M !is:kernel text", app.view().len()),
                Screen::ActionLog => (
                    "action:kill_tree result:partial who:root since:15:04 text",
                    app.action_log().shown_len(),
                ),
            };
            match filter_error {
                Some(e) => spans.push(Span::styled(e.to_string(), t.error)),
                None if filter_text.is_empty() => spans.push(Span::styled(hint, t.label)),
                None => spans.push(Span::styled(format!("{shown} shown, Esc clears"), t.label)),
            }
            return Line::from(spans);
        }
        if let Some(flash) = app.flash() {
            return Line::styled(flash.to_owned(), t.prompt);
        }
        if let Some(notice) = app.hosts().iter().find_map(|h| h.notice.as_deref()) {
            return Line::styled(format!("collector: {notice}"), t.warn);
        }
        if app.screen() == Screen::ActionLog {
            return self.log_status();
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
        if app.store().dropped_early() > 0 {
            // Never silently: exited rows left early to bound memory.  No
            // count: a resync's snapshot may leave out processes dropped
            // (and counted) before.
            parts.push("exited processes dropped early (process_memory_mib)".to_owned());
        }
        if app.hides_kernel_threads() {
            parts.push("kernel threads hidden".to_owned());
        }
        if app.read_only() {
            parts.push("read-only".to_owned());
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

    /// The action log's status: how many records, from where, and any
    /// collector's warning about its log.
    fn log_status(&self) -> Line<'static> {
        let (app, t) = (self.app, self.theme);
        let log = app.action_log();
        let names = |i: usize| {
            app.hosts()
                .get(i)
                .map_or("", |h| h.name.as_str())
                .to_owned()
        };
        let warning = log.hosts.iter().enumerate().find_map(|(i, h)| {
            let page = h.page.as_ref()?;
            let what = match page.status {
                AuditLogStatus::Broken => "BROKEN",
                AuditLogStatus::RecoveredTornTail => "recovered a torn last line",
                _ => return None,
            };
            Some(format!(
                "{}: audit log {what}: {}",
                names(i),
                clean(&page.status_detail)
            ))
        });
        if let Some(w) = warning {
            return Line::styled(w, t.warn);
        }
        let mut parts = vec![
            "Action log".to_owned(),
            "newest first".to_owned(),
            if log.shown_len() == log.total() {
                format!("{} records", log.total())
            } else {
                format!("{} of {} records", log.shown_len(), log.total())
            },
        ];
        let limit = usize::try_from(FETCH_LIMIT).unwrap_or(usize::MAX);
        if log
            .hosts
            .iter()
            .filter_map(|h| h.page.as_ref())
            .any(|p| p.records.len() >= limit)
        {
            parts.push(format!("only the newest {FETCH_LIMIT} per host"));
        }
        if log.loading() {
            parts.push("fetching…".to_owned());
        }
        if app.read_only() {
            parts.push("read-only".to_owned());
        }
        Line::styled(parts.join(" · "), t.label)
    }

    /// htop's bar; a key the configuration took away from its action is
    /// replaced by the action's first key.
    fn keys(&self) -> Line<'static> {
        let (t, app) = (self.theme, self.app);
        let key = |code| Key { code, ctrl: false };
        let keys: Vec<(String, &str)> = match app.screen() {
            Screen::Processes => {
                let mut keys = vec![
                    (Action::Help, key(KeyCode::F(1)), "Help"),
                    (Action::Search, key(KeyCode::F(3)), "Search"),
                    (Action::Filter, key(KeyCode::F(4)), "Filter"),
                    (
                        Action::ToggleTree,
                        key(KeyCode::F(5)),
                        if app.is_tree() { "Table" } else { "Tree" },
                    ),
                    (Action::SortMenu, key(KeyCode::F(6)), "SortBy"),
                ];
                if !app.read_only() {
                    keys.push((Action::ActMenu, key(KeyCode::F(9)), "Act"));
                }
                keys.extend([
                    (Action::Confirm, key(KeyCode::Enter), "Details"),
                    (Action::SwitchView, key(KeyCode::Tab), "Log"),
                    (Action::Quit, key(KeyCode::F(10)), "Quit"),
                ]);
                let keymap = &app.config().keys;
                keys.into_iter()
                    .filter_map(|(action, preferred, label)| {
                        keymap
                            .footer_key(action, preferred)
                            .map(|k| (k.to_string(), label))
                    })
                    .collect()
            }
            // The action log's keys are not rebindable.
            Screen::ActionLog => [
                ("F1", "Help"),
                ("F2", "Columns"),
                ("F4", "Filter"),
                ("F5", "Refresh"),
                ("Enter", "Record"),
                ("Tab", "Processes"),
                ("F10", "Quit"),
            ]
            .into_iter()
            .map(|(k, label)| (k.to_owned(), label))
            .collect(),
        };
        let mut spans = Vec::new();
        for (k, label) in keys {
            spans.push(Span::styled(k, t.footer_key));
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
