//! The action log's drawing: the audit records, newest first, in the
//! chosen columns; and its footer (the filter prompt, how many records and
//! from where, its keys on htop's bar).
use crossterm::event::KeyCode;
use perch_proto::v1::{ActionMode, ActionResult, AuditLogStatus, AuditRecord};
use ratatui::{
    buffer::Buffer,
    layout::Rect,
    text::{Line, Span},
};

use super::ActionLog;
use crate::{
    act,
    console::{
        App,
        audit::{FETCH_LIMIT, LogColumn, columns},
        format,
        input::{Key, Msg, code},
        theme::Theme,
        ui::{Part, ellipsize, put, widget_for_ref},
    },
    text::clean,
};

/// `not_successful` -> `not successful`; `in progress` or `outcome
/// unknown` for an action whose result is not recorded.
fn result_text(r: &AuditRecord) -> String {
    act::status_title(r).to_ascii_lowercase()
}

/// Who asked: the user's name, else the uid.
#[must_use]
pub fn actor(r: &AuditRecord) -> String {
    if r.actor_user.is_empty() {
        format!("uid {}", r.actor_uid)
    } else {
        clean(&r.actor_user).into_owned()
    }
}

/// When, in local time.
#[must_use]
pub fn when(app: &App, r: &AuditRecord) -> String {
    let secs = i64::try_from(r.time_unix_ns / perch_proto::NS_PER_SEC).unwrap_or(i64::MAX);
    format::date_time(secs, app.config().utc_offset_secs)
}

pub struct ActionLogView<'a> {
    app: &'a App,
    state: &'a ActionLog,
    theme: &'a Theme,
}

widget_for_ref!(ActionLogView);

impl<'a> ActionLogView<'a> {
    #[must_use]
    pub fn new(app: &'a App, state: &'a ActionLog, theme: &'a Theme) -> ActionLogView<'a> {
        ActionLogView { app, state, theme }
    }

    fn cell(&self, col: LogColumn, r: &AuditRecord) -> String {
        match col {
            LogColumn::Type => {
                let dry = if r.mode() == ActionMode::DryRun {
                    " (dry)"
                } else {
                    ""
                };
                format!("{}{dry}", act::kind_title(r.action()))
            }
            LogColumn::Status => result_text(r),
            LogColumn::Created => when(self.app, r),
            LogColumn::Code => clean(&r.code).into_owned(),
            LogColumn::Who => actor(r),
            LogColumn::Target => r.target.as_ref().map_or_else(String::new, |t| {
                let pid = t.key.map_or(0, |k| k.pid);
                let cmd = if t.argv.is_empty() {
                    clean(&t.exe).into_owned()
                } else {
                    t.argv.iter().map(|a| clean(a)).collect::<Vec<_>>().join(" ")
                };
                format!("{pid} {cmd}")
            }),
            LogColumn::Reason => clean(&r.reason).into_owned(),
        }
    }

    /// Why the list is empty.
    fn empty_message(&self) -> String {
        let log = self.state.rows(self.app.data().audit());
        let errors: Vec<String> = log
            .hosts
            .iter()
            .enumerate()
            .filter_map(|(i, h)| {
                let name = self.app.hosts().get(i).map_or("", |h| h.name.as_str());
                h.error.as_ref().map(|e| format!("{name}: {e}"))
            })
            .collect();
        if !errors.is_empty() {
            format!("cannot read the audit log: {}", errors.join("; "))
        } else if log.loading() {
            "fetching the audit log…".to_owned()
        } else if log.total() > 0 {
            "no record matches the filter (Esc clears it)".to_owned()
        } else {
            "no actions recorded yet".to_owned()
        }
    }
}

impl Part for ActionLogView<'_> {
    fn draw(&self, area: Rect, buf: &mut Buffer) {
        let (app, t) = (self.app, self.theme);
        let log = self.state.rows(app.data().audit());
        let cols = columns::fit(area.width, log.columns);
        buf.set_style(Rect { height: 1, ..area }, t.table_title);
        let mut x = 0u16;
        for &(col, w) in &cols {
            put(buf, area, x, 0, col.title(), w, t.table_title);
            x = x.saturating_add(w + 1);
        }
        if log.shown_len() == 0 {
            let msg = self.empty_message();
            put(buf, area, 1, 1, &msg, area.width.saturating_sub(1), t.label);
            return;
        }
        let body_h = usize::from(area.height.saturating_sub(1));
        let off = self.state.list.offset_for(body_h);
        for (i, (_, r)) in log.shown().skip(off).take(body_h).enumerate() {
            let dy = u16::try_from(i + 1).unwrap_or(u16::MAX);
            let mut x = 0u16;
            for &(col, w) in &cols {
                let style = match (col, r.result()) {
                    (LogColumn::Status, ActionResult::Success) => t.good,
                    (LogColumn::Status, ActionResult::Partial) => t.prompt,
                    (LogColumn::Status, _) => t.error,
                    _ => t.text,
                };
                let text = ellipsize(&self.cell(col, r), usize::from(w));
                put(buf, area, x, dy, &text, w, style);
                x = x.saturating_add(w + 1);
            }
            if off + i == log.cursor && dy < area.height {
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


/// The filter line while typing one (or one is set).
pub(super) fn prompt_line(log: &ActionLog, t: &Theme) -> Option<Line<'static>> {
    if !log.typing && log.filter_text.is_empty() {
        return None;
    }
    let mut spans = vec![Span::styled("Filter: ", t.prompt)];
    spans.extend(
        log.filter_text
            .spans(usize::MAX, log.typing, t.text, t.field_focus),
    );
    spans.push(Span::raw("  "));
    spans.push(match &log.filter_error {
        Some(e) => Span::styled(e.to_string(), t.error),
        None if log.filter_text.is_empty() => Span::styled(
            "action:kill_tree result:partial who:root since:15:04 text",
            t.label,
        ),
        None => Span::styled(format!("{} shown, Esc clears", log.shown.len()), t.label),
    });
    Some(Line::from(spans))
}

/// `1 record`, `7 records`.
fn records(n: usize) -> String {
    format!("{n} {}", if n == 1 { "record" } else { "records" })
}

/// How many records, from where, and any collector's warning about its log.
pub(super) fn status_line(state: &ActionLog, app: &App, t: &Theme) -> Line<'static> {
    let log = state.rows(app.data().audit());
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
            records(log.total())
        } else {
            format!("{} of {}", log.shown_len(), records(log.total()))
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

/// Its keys on htop's bar, between Help and Tab.
pub(super) fn footer_keys() -> Vec<(Msg, Key, &'static str)> {
    let f = |n| code(KeyCode::F(n));
    vec![
        (Msg::Columns, f(2), "Columns"),
        (Msg::Filter, f(4), "Filter"),
        (Msg::Refresh, f(5), "Refresh"),
        (Msg::Confirm, code(KeyCode::Enter), "Record"),
    ]
}
