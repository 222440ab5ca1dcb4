//! The processes screen's footer: the search or filter prompt (with match
//! counts or the filter's error), what the list shows, and its keys on
//! htop's bar.
use crossterm::event::KeyCode;
use ratatui::text::{Line, Span};

use super::Processes;
use crate::console::{
    App,
    input::{Key, Msg, code},
    theme::Theme,
};

/// The search line while searching (or a search is active), else the
/// filter line while typing one (or one is set).
pub(super) fn prompt_line(p: &Processes, t: &Theme) -> Option<Line<'static>> {
    let search = p.search();
    if p.typing_search() || search.is_active() {
        // Count what the list shows: matches hidden by the filter or a
        // collapsed node are out of n/N's reach.
        let shown = p.shown_match_count();
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
        let mut spans = vec![Span::styled("Search: ", t.prompt)];
        spans.extend(p.query.spans(usize::MAX, p.typing_search(), t.text, t.field_focus));
        spans.push(Span::raw("  "));
        spans.push(Span::styled(found, t.label));
        return Some(Line::from(spans));
    }
    if !p.typing_filter() && p.filter_text.is_empty() {
        return None;
    }
    let mut spans = vec![Span::styled("Filter: ", t.prompt)];
    spans.extend(
        p.filter_text
            .spans(usize::MAX, p.typing_filter(), t.text, t.field_focus),
    );
    spans.push(Span::raw("  "));
    spans.push(match &p.filter_error {
        Some(e) => Span::styled(e.to_string(), t.error),
        None if p.filter_text.is_empty() => {
            Span::styled("user:root cpu>5 rss>100M !is:kernel text", t.label)
        }
        None => Span::styled(format!("{} shown, Esc clears", p.rows().len()), t.label),
    });
    Some(Line::from(spans))
}

/// Tree or table, the sort, how many processes, what is hidden.
pub(super) fn status_line(p: &Processes, app: &App, t: &Theme) -> Line<'static> {
    let sort = p.sort();
    let mut parts = vec![
        if p.is_tree() { "Tree" } else { "Table" }.to_owned(),
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
    let store = app.store();
    let exited = store.iter().filter(|(_, p)| p.is_exited()).count();
    let live = store.len() - exited;
    parts.push(format!("{live} live"));
    if exited > 0 {
        parts.push(if p.hides_exited() {
            format!("{exited} exited hidden (E)")
        } else {
            format!("{exited} exited")
        });
    }
    if store.dropped_early() > 0 {
        // Never silently: exited rows left early to bound memory.  No
        // count: a resync's snapshot may leave out processes dropped (and
        // counted) before.
        parts.push("exited processes dropped early (process_memory_mib)".to_owned());
    }
    if p.hides_kernel_threads() {
        parts.push("kernel threads hidden (K)".to_owned());
    }
    if p.shows_threads() {
        parts.push("threads shown (H)".to_owned());
    }
    if app.read_only() {
        parts.push("read-only".to_owned());
    }
    let mut spans = vec![Span::styled(parts.join(" · "), t.label)];
    if app.paused() {
        spans.insert(0, Span::styled("PAUSED (Z resumes) ".to_owned(), t.warn));
    }
    if p.follows()
        && let Some(sel) = p.selected(store)
    {
        spans.insert(
            0,
            Span::styled(format!("Following {} ", sel.key.pid), t.prompt),
        );
    }
    Line::from(spans)
}

/// htop's keys, between Help and Tab.
pub(super) fn footer_keys(p: &Processes, app: &App) -> Vec<(Msg, Key, &'static str)> {
    let f = |n| code(KeyCode::F(n));
    let mut keys = vec![
        (Msg::ColumnSetup, f(2), "Setup"),
        (Msg::Search, f(3), "Search"),
        (Msg::Filter, f(4), "Filter"),
        (
            Msg::ToggleTree,
            f(5),
            if p.is_tree() { "Table" } else { "Tree" },
        ),
        (Msg::SortMenu, f(6), "SortBy"),
    ];
    if !app.read_only() {
        keys.push((Msg::Renice(-1), f(7), "Nice-"));
        keys.push((Msg::Renice(1), f(8), "Nice+"));
        keys.push((Msg::ActMenu, f(9), "Act"));
    }
    keys.push((Msg::Confirm, code(KeyCode::Enter), "Details"));
    keys
}
