//! The network screens' drawing: the table (closed rows dimmed, the sort
//! column's title marked) and the footer (prompt, counts, keys).
use crossterm::event::KeyCode;
use ratatui::{
    buffer::Buffer,
    layout::Rect,
    text::{Line, Span},
};

use super::{Kind, NetCol, NetTable};
use crate::console::{
    App,
    input::{Key, Msg, code},
    theme::Theme,
    ui::{Part, ellipsize, put, widget_for_ref},
};

pub(in crate::console::screens) struct NetTableView<'a> {
    app: &'a App,
    state: &'a NetTable,
    theme: &'a Theme,
}

widget_for_ref!(NetTableView);

impl<'a> NetTableView<'a> {
    pub(in crate::console::screens) fn new(
        app: &'a App,
        state: &'a NetTable,
        theme: &'a Theme,
    ) -> NetTableView<'a> {
        NetTableView { app, state, theme }
    }
}

/// The columns shown in `width` and their widths (HOST only with more
/// than one collector; what is left goes to the wide columns by share).
pub(in crate::console::screens) fn fit(
    state: &NetTable,
    app: &App,
    width: u16,
) -> Vec<(usize, NetCol, u16)> {
    let many = app.hosts().len() > 1;
    let cols: Vec<(usize, NetCol)> = state
        .columns()
        .iter()
        .copied()
        .enumerate()
        .filter(|(_, c)| many || *c != NetCol::Host)
        .collect();
    let fixed: u16 = cols.iter().map(|(_, c)| c.width().0 + 1).sum();
    let shares: u16 = cols.iter().map(|(_, c)| c.width().1).sum();
    let spare = width.saturating_sub(fixed);
    let mut out: Vec<(usize, NetCol, u16)> = Vec::new();
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

impl Part for NetTableView<'_> {
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
            put(buf, area, x, 0, col.title_in(w), w, style);
            x = x.saturating_add(w + 1);
        }
        if s.shown_len() == 0 {
            let msg = match (s.total(data), s.kind) {
                (0, Kind::Connections) => "no connections seen yet",
                (0, Kind::Listening) => "no listening sockets seen yet",
                _ => "nothing matches the filter (Esc clears it)",
            };
            put(buf, area, 1, 1, msg, area.width.saturating_sub(1), t.label);
            return;
        }
        let body_h = usize::from(area.height.saturating_sub(1));
        let off = s.list.offset_for(body_h);
        for (i, r) in s.shown(data).skip(off).take(body_h).enumerate() {
            let dy = u16::try_from(i + 1).unwrap_or(u16::MAX);
            let now = data.host_now_ns(r.host()).unwrap_or(0);
            let style = if r.closed() { t.exited } else { t.text };
            let mut x = 0u16;
            for &(_, col, w) in &cols {
                let text = ellipsize(&col.cell(r, data, now), usize::from(w));
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
    state: &NetTable,
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
pub(in crate::console::screens) fn prompt_line(s: &NetTable, t: &Theme) -> Option<Line<'static>> {
    if s.typing_search() {
        let mut spans = vec![Span::styled("Search: ", t.prompt)];
        spans.extend(s.query.spans(usize::MAX, true, t.text, t.field_focus));
        spans.push(Span::raw("  "));
        spans.push(Span::styled(
            "process, addresses, peer; n/N next/previous",
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
        None if s.filter_text.is_empty() => {
            Span::styled("port:9000 dir:out proto:tcp pid:42 is:open text", t.label)
        }
        None => Span::styled(format!("{} shown, Esc clears", s.shown_len()), t.label),
    });
    Some(Line::from(spans))
}

/// How many rows, how many open, and any dropped to stay bounded.
pub(in crate::console::screens) fn status_line(
    s: &NetTable,
    app: &App,
    t: &Theme,
) -> Line<'static> {
    let data = app.data();
    let (what, open) = match s.kind {
        Kind::Connections => (
            "connections",
            data.net().conns().filter(|c| !c.is_closed()).count(),
        ),
        Kind::Listening => (
            "listening sockets",
            data.net().listening().filter(|l| !l.is_closed()).count(),
        ),
    };
    let total = s.total(data);
    let mut parts = vec![if s.shown_len() == total {
        format!("{total} {what}")
    } else {
        format!("{} of {total} {what}", s.shown_len())
    }];
    parts.push(format!("{open} open"));
    let col = s.columns().get(s.sort).map_or("", |c| c.title());
    parts.push(format!(
        "by {col} {}",
        if s.descending {
            "descending"
        } else {
            "ascending"
        }
    ));
    if data.net().dropped() > 0 {
        parts.push(format!("{} dropped to stay bounded", data.net().dropped()));
    }
    Line::styled(parts.join(" · "), t.label)
}

/// Its keys on htop's bar, between Help and Tab.
pub(in crate::console::screens) fn footer_keys() -> Vec<(Msg, Key, &'static str)> {
    let f = |n| code(KeyCode::F(n));
    vec![
        (Msg::Search, f(3), "Search"),
        (Msg::Filter, f(4), "Filter"),
        (Msg::Confirm, code(KeyCode::Enter), "Process"),
    ]
}
