//! The detection screens' drawing: the table (closed traces and excepted
//! flags dimmed, severity coloured, the sort column's title marked) and
//! the footer (prompt, counts, keys).
use crossterm::event::KeyCode;
use ratatui::{
    buffer::Buffer,
    layout::Rect,
    text::{Line, Span},
};

use super::{DetCol, DetTable, Kind};
use crate::console::{
    App,
    input::{Key, Msg, code},
    theme::Theme,
    ui::{Part, ellipsize, put, widget_for_ref},
};

pub(in crate::console::screens) struct DetTableView<'a> {
    app: &'a App,
    state: &'a DetTable,
    theme: &'a Theme,
}

widget_for_ref!(DetTableView);

impl<'a> DetTableView<'a> {
    pub(in crate::console::screens) fn new(
        app: &'a App,
        state: &'a DetTable,
        theme: &'a Theme,
    ) -> DetTableView<'a> {
        DetTableView { app, state, theme }
    }
}

/// The columns shown in `width` and their widths (HOST only with more
/// than one collector; what is left goes to the wide columns by share).
pub(in crate::console::screens) fn fit(
    state: &DetTable,
    app: &App,
    width: u16,
) -> Vec<(usize, DetCol, u16)> {
    let many = app.hosts().len() > 1;
    let cols: Vec<(usize, DetCol)> = state
        .columns()
        .iter()
        .copied()
        .enumerate()
        .filter(|(_, c)| many || *c != DetCol::Host)
        .collect();
    let fixed: u16 = cols.iter().map(|(_, c)| c.width().0 + 1).sum();
    let shares: u16 = cols.iter().map(|(_, c)| c.width().1).sum();
    let spare = width.saturating_sub(fixed);
    let mut out: Vec<(usize, DetCol, u16)> = Vec::new();
    let mut given = 0u16;
    for (i, c) in cols {
        let (min, part) = c.width();
        let extra = (spare * part).checked_div(shares).unwrap_or(0);
        given += extra;
        out.push((i, c, min + extra));
    }
    // What integer division left goes to the last wide column.
    if let Some(last) = out.iter_mut().rev().find(|(_, c, _)| c.width().1 > 0) {
        last.2 += spare.saturating_sub(given);
    }
    out
}

impl Part for DetTableView<'_> {
    fn draw(&self, area: Rect, buf: &mut Buffer) {
        let (app, t, s) = (self.app, self.theme, self.state);
        let data = app.data();
        let cols = fit(s, app, area.width);
        buf.set_style(Rect { height: 1, ..area }, t.table_title);
        let mut x = 0u16;
        for &(i, col, w) in &cols {
            let style = if i == s.sort {
                t.sort_title
            } else {
                t.table_title
            };
            put(buf, area, x, 0, col.title(), w, style);
            x = x.saturating_add(w + 1);
        }
        if s.shown_len() == 0 {
            let msg = match (s.total(data), s.kind) {
                (0, Kind::Traces) => "no traces yet: flags roll up into traces as rules match",
                (0, Kind::Flags) => "no flags yet: the detection rules have not matched",
                _ => "nothing matches the filter (Esc clears it)",
            };
            put(buf, area, 1, 1, msg, area.width.saturating_sub(1), t.label);
            return;
        }
        let body_h = usize::from(area.height.saturating_sub(1));
        let off = s.list.offset_for(body_h);
        let utc = app.config().utc_offset_secs;
        for (i, r) in s.shown(data).skip(off).take(body_h).enumerate() {
            let dy = u16::try_from(i + 1).unwrap_or(u16::MAX);
            let plain = if r.quiet() { t.exited } else { t.text };
            let sev = if r.quiet() {
                t.exited
            } else {
                t.severity(r.severity())
            };
            let mut x = 0u16;
            for &(_, col, w) in &cols {
                let text = ellipsize(&col.cell(r, data, utc), usize::from(w));
                let style = if matches!(col, DetCol::Score | DetCol::Sev) {
                    sev
                } else {
                    plain
                };
                put(buf, area, x, dy, &text, w, style);
                x = x.saturating_add(w + 1);
            }
            if off + i == s.list.cursor() && dy < area.height {
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

/// A click: a title sorts by its column, a row selects it.
pub(in crate::console::screens) fn hit(
    state: &DetTable,
    app: &App,
    area: Rect,
    x: u16,
    y: u16,
) -> Option<Msg> {
    if y == area.y {
        let dx = x.checked_sub(area.x)?;
        let mut at = 0u16;
        for (i, _, w) in fit(state, app, area.width) {
            if dx >= at && dx < at + w + 1 {
                return u8::try_from(i).ok().map(Msg::SortAt);
            }
            at += w + 1;
        }
        return None;
    }
    let body_h = usize::from(area.height.saturating_sub(1));
    let dy = usize::from(y.checked_sub(area.y + 1)?);
    (dy < body_h).then(|| Msg::SelectRow(state.list.offset_for(body_h) + dy))
}

/// The search or filter line while typing one (or one is set).
pub(in crate::console::screens) fn prompt_line(s: &DetTable, t: &Theme) -> Option<Line<'static>> {
    if s.typing_search() {
        let mut spans = vec![Span::styled("Search: ", t.prompt)];
        spans.extend(s.query.spans(usize::MAX, true, t.text, t.field_focus));
        spans.push(Span::raw("  "));
        spans.push(Span::styled(
            "names, process, description; n/N next/previous",
            t.label,
        ));
        return Some(Line::from(spans));
    }
    if !s.typing_filter() && s.filter_text.is_empty() {
        return None;
    }
    let mut spans = vec![Span::styled("Filter: ", t.prompt)];
    spans.extend(
        s.filter_text
            .spans(usize::MAX, s.typing_filter(), t.text, t.field_focus),
    );
    spans.push(Span::raw("  "));
    spans.push(match &s.filter_error {
        Some(e) => Span::styled(e.to_string(), t.error),
        None if s.filter_text.is_empty() => Span::styled(
            "sev:high score:50 pid:42 rule: mitre: user: is:excepted text",
            t.label,
        ),
        None => Span::styled(format!("{} shown, Esc clears", s.shown_len()), t.label),
    });
    Some(Line::from(spans))
}

/// How many rows, how many active, the sort, and any dropped.
pub(in crate::console::screens) fn status_line(
    s: &DetTable,
    app: &App,
    t: &Theme,
) -> Line<'static> {
    let data = app.data();
    let det = data.detect();
    let (what, open) = match s.kind {
        Kind::Traces => ("traces", det.traces().filter(|t| t.is_active()).count()),
        Kind::Flags => ("flags", det.flags().filter(|f| !f.f.excepted).count()),
    };
    let total = s.total(data);
    let mut parts = vec![if s.shown_len() == total {
        format!("{total} {what}")
    } else {
        format!("{} of {total} {what}", s.shown_len())
    }];
    parts.push(match s.kind {
        Kind::Traces => format!("{open} active"),
        Kind::Flags => format!("{open} not excepted"),
    });
    if s.kind == Kind::Traces {
        let hidden = det.traces().filter(|t| t.t.suppressed).count();
        if hidden > 0 && !s.show_suppressed {
            parts.push(format!("{hidden} suppressed hidden (S)"));
        }
    }
    let col = s.columns().get(s.sort).map_or("", |c| c.title());
    parts.push(format!(
        "by {col} {}",
        if s.descending {
            "descending"
        } else {
            "ascending"
        }
    ));
    if det.dropped() > 0 {
        parts.push(format!("{} dropped to stay bounded", det.dropped()));
    }
    Line::styled(parts.join(" · "), t.label)
}

/// Its keys on htop's bar, between Help and Tab.
pub(in crate::console::screens) fn footer_keys(kind: Kind) -> Vec<(Msg, Key, &'static str)> {
    let f = |n| code(KeyCode::F(n));
    let enter = match kind {
        Kind::Traces => "Tree",
        Kind::Flags => "Process",
    };
    vec![
        (Msg::Search, f(3), "Search"),
        (Msg::Filter, f(4), "Filter"),
        (Msg::Confirm, code(KeyCode::Enter), enter),
        (Msg::ActMenu, f(9), "Act"),
    ]
}
