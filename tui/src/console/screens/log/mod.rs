//! The action log screen: every collector's audit records (fetched with
//! `ListAudit` on first showing it, then kept current from the event
//! stream), newest first across hosts, with its own filter, chosen columns
//! and, on Enter, one record in full.
mod keys;
mod widget;

pub use widget::{actor, when};

use ratatui::{buffer::Buffer, layout::Rect, text::Line};

use super::{Cx, ScreenInfo, ScreenState};
use crate::console::{
    App, Config,
    app::Data,
    audit::{AuditLog, Clock, HostLog, LogFilter},
    editor::{Edit, LineEditor},
    filter::FilterError,
    input::{Key, Msg, PlaceInfo, k},
    list::ScrollList,
    model::HostId,
    overlays::{Overlay, columns::Chooser, record::Record},
    theme::Theme,
    ui::Part as _,
};
use perch_proto::v1::AuditRecord;

static INFO: ScreenInfo = ScreenInfo {
    place: PlaceInfo::new("the action log", "Action log", None, keys::KEYS),
    title: "Action log",
    short: "Log",
    show: "show-action-log",
    key: k('a'),
};

#[derive(Debug)]
pub struct ActionLog {
    /// The records shown, newest first: (host, index in its page).
    shown: Vec<(HostId, usize)>,
    list: ScrollList,
    /// Visible columns, by [`crate::console::audit::LogColumn::ALL`] position.
    pub columns: [bool; 7],
    filter_text: LineEditor,
    filter: Option<LogFilter>,
    filter_error: Option<FilterError>,
    typing: bool,
    /// The audit log's generation `shown` was built at.
    built: Option<u64>,
    dirty: bool,
    /// The record under the cursor, by identity (host, id, line): `shown`
    /// points into the records by index, which a change to them moves.
    under_cursor: Option<(HostId, String, u64)>,
}

impl Default for ActionLog {
    fn default() -> Self {
        ActionLog {
            shown: Vec::new(),
            list: ScrollList::default(),
            columns: [true; 7],
            filter_text: LineEditor::default(),
            filter: None,
            filter_error: None,
            typing: false,
            built: None,
            dirty: false,
            under_cursor: None,
        }
    }
}

/// What the action log shows, read from the records and the screen.
#[derive(Clone, Copy, Debug)]
pub struct LogRows<'a> {
    /// Each host's fetch state and records.
    pub hosts: &'a [HostLog],
    audit: &'a AuditLog,
    shown: &'a [(HostId, usize)],
    /// The cursor's position among the shown records.
    pub cursor: usize,
    pub columns: &'a [bool; 7],
}

impl<'a> LogRows<'a> {
    /// The shown records, newest first.
    pub fn shown(self) -> impl Iterator<Item = (HostId, &'a AuditRecord)> {
        self.shown
            .iter()
            .filter_map(move |&at| self.audit.record(at).map(|r| (at.0, r)))
    }

    #[must_use]
    pub fn shown_len(self) -> usize {
        self.shown.len()
    }

    /// Records held, before filtering.
    #[must_use]
    pub fn total(self) -> usize {
        self.audit.total()
    }

    #[must_use]
    pub fn loading(self) -> bool {
        self.audit.loading()
    }

    /// The record under the cursor.
    #[must_use]
    pub fn selected(self) -> Option<(HostId, &'a AuditRecord)> {
        let at = *self.shown.get(self.cursor)?;
        self.audit.record(at).map(|r| (at.0, r))
    }
}

impl ActionLog {
    #[must_use]
    pub fn rows<'a>(&'a self, audit: &'a AuditLog) -> LogRows<'a> {
        LogRows {
            hosts: &audit.hosts,
            audit,
            shown: &self.shown,
            cursor: self.list.cursor(),
            columns: &self.columns,
        }
    }

    /// Re-applies the filter and the order (newest first across hosts),
    /// keeping the cursor on the same record when it is still shown.
    pub fn rebuild(&mut self, audit: &AuditLog, host_names: &[String]) {
        let keep = self.under_cursor.take();
        let mut shown: Vec<(HostId, usize)> = Vec::new();
        for (i, h) in audit.hosts.iter().enumerate() {
            let host = HostId(u16::try_from(i).unwrap_or(u16::MAX));
            let name = host_names.get(i).map_or("", String::as_str);
            let Some(page) = &h.page else { continue };
            for (j, r) in page.records.iter().enumerate() {
                if self.filter.as_ref().is_none_or(|f| f.matches(r, name)) {
                    shown.push((host, j));
                }
            }
        }
        shown.sort_by(|a, b| {
            let k = |r: Option<&AuditRecord>| r.map(|r| (r.time_unix_ns, r.line));
            k(audit.record(*b))
                .cmp(&k(audit.record(*a)))
                .then(a.cmp(b))
        });
        self.shown = shown;
        self.list.set_len(self.shown.len());
        if let Some((host, id, line)) = keep
            && let Some(pos) = self.shown.iter().position(|&at| {
                at.0 == host && audit.record(at).is_some_and(|r| r.id == id && r.line == line)
            })
        {
            self.list.select(pos);
        }
        self.built = Some(audit.generation());
        self.note_cursor(audit);
    }

    /// Remembers which record the cursor is on (after it moved).
    fn note_cursor(&mut self, audit: &AuditLog) {
        self.under_cursor = self
            .rows(audit)
            .selected()
            .map(|(h, r)| (h, r.id.clone(), r.line));
    }

    /// Shows or hides a column; the last visible one stays.
    pub fn toggle_column(&mut self, i: usize) {
        let visible = self.columns.iter().filter(|c| **c).count();
        if let Some(c) = self.columns.get_mut(i)
            && !(*c && visible == 1)
        {
            *c = !*c;
        }
    }

    /// What `15:04` means in a filter: local time, on `host`'s clock (else
    /// the newest record's time).
    #[must_use]
    pub fn clock(&self, data: &Data, config: &Config, host: HostId) -> Clock {
        let now = data
            .host_now_ns(host)
            .and_then(|ns| data.unix_secs(host, ns))
            .or_else(|| {
                self.rows(data.audit())
                    .shown()
                    .map(|(_, r)| i64::try_from(r.time_unix_ns / perch_proto::NS_PER_SEC).unwrap_or(0))
                    .max()
            })
            .unwrap_or(0);
        Clock {
            utc_offset_secs: config.utc_offset_secs,
            now_unix_secs: now,
        }
    }

    /// Like the process filter: a valid filter applies at once, an invalid
    /// one keeps the last valid one and shows why.
    fn apply_filter(&mut self, cx: &Cx<'_>) {
        let clock = self.clock(cx.data, cx.config, cx.focus_host);
        match LogFilter::parse(self.filter_text.text(), clock) {
            Ok(f) => {
                self.filter_error = None;
                self.filter = (!f.is_empty()).then_some(f);
                self.dirty = true;
            }
            Err(e) => self.filter_error = Some(e),
        }
    }

    fn fetch_all(data: &mut Data, only_missing: bool) {
        for i in 0..data.hosts().len() {
            let host = HostId(u16::try_from(i).unwrap_or(u16::MAX));
            if !only_missing || data.audit().needs_fetch(host) {
                data.fetch_audit(host);
            }
        }
    }

    fn on_edit(&mut self, edit: Edit, cx: &Cx<'_>) {
        if edit == Edit::Changed {
            self.apply_filter(cx);
        }
    }

    fn typing_keys(&mut self, msg: Msg, cx: &Cx<'_>) {
        match msg {
            m if m.edits() => {
                let edit = self.filter_text.apply(msg);
                self.on_edit(edit, cx);
            }
            Msg::Confirm => self.typing = false,
            Msg::Cancel => {
                self.filter_text.clear();
                self.apply_filter(cx);
                self.typing = false;
            }
            _ => {}
        }
    }
}

impl ScreenState for ActionLog {
    fn info() -> &'static ScreenInfo {
        &INFO
    }

    fn update(&mut self, msg: Msg, cx: &mut Cx<'_>) {
        if self.typing {
            self.typing_keys(msg, cx);
            return;
        }
        if self.list.apply(msg, cx.page) {
            self.note_cursor(cx.data.audit());
            return;
        }
        match msg {
            Msg::Confirm if self.rows(cx.data.audit()).selected().is_some() => {
                *cx.overlay = Some(Overlay::Record(Record::default()));
            }
            Msg::Filter => self.typing = true,
            Msg::Columns => *cx.overlay = Some(Overlay::Columns(Chooser::default())),
            Msg::Refresh => Self::fetch_all(cx.data, false),
            Msg::Cancel => {
                self.filter_text.clear();
                self.apply_filter(cx);
            }
            _ => {}
        }
    }

    fn typing(&self) -> bool {
        self.typing
    }

    /// Showing the log fetches what is not held whole yet; after that the
    /// event stream keeps it current.
    fn enter(&mut self, cx: &mut Cx<'_>) {
        Self::fetch_all(cx.data, true);
    }

    fn refresh(&mut self, data: &Data, _front: Option<&Overlay>) {
        if self.dirty || self.built != Some(data.audit().generation()) {
            self.dirty = false;
            self.rebuild(data.audit(), &data.host_names());
        }
    }

    fn data_replaced(&mut self) {
        self.dirty = true;
    }

    fn fit(&mut self, rows: usize) {
        self.list.fit(rows, false);
    }

    fn filter(&self) -> Option<(&str, Option<&FilterError>)> {
        Some((self.filter_text.text(), self.filter_error.as_ref()))
    }

    fn draw(&self, app: &App, theme: &Theme, area: Rect, buf: &mut Buffer) {
        widget::ActionLogView::new(app, self, theme).render_into(area, buf);
    }

    fn prompt_line(&self, _app: &App, theme: &Theme) -> Option<Line<'static>> {
        widget::prompt_line(self, theme)
    }

    fn status_line(&self, app: &App, theme: &Theme) -> Line<'static> {
        widget::status_line(self, app, theme)
    }

    fn footer_keys(&self, _app: &App) -> Vec<(Msg, Key, &'static str)> {
        widget::footer_keys()
    }
}

#[cfg(test)]
mod tests;
