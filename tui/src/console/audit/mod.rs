//! The action log view's state: each collector's audit records (from
//! `ListAudit`), the filtered list newest first, the cursor, the chosen
//! columns and the filter.
pub mod columns;
pub mod filter;

use perch_proto::v1::{AuditLogStatus, AuditRecord};

pub use self::{
    columns::LogColumn,
    filter::{Clock, LogFilter},
};
use super::{filter::FilterError, model::HostId};

/// The newest records asked for (a long log is cut, and the footer says so).
pub const FETCH_LIMIT: u32 = 5_000;

/// One collector's answer to `ListAudit`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AuditPage {
    /// Newest first, as perchd sends them.
    pub records: Vec<AuditRecord>,
    pub status: AuditLogStatus,
    pub status_detail: String,
    pub path: String,
}

/// What one collector's log looks like to the console.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HostLog {
    pub loading: bool,
    pub page: Option<AuditPage>,
    /// Why the last fetch failed.
    pub error: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ActionLog {
    pub hosts: Vec<HostLog>,
    /// The records the list shows, newest first: (host, index in its page).
    shown: Vec<(HostId, usize)>,
    pub cursor: usize,
    /// Visible columns, by [`LogColumn::ALL`] position.
    pub columns: [bool; 7],
    pub filter_text: String,
    pub filter: Option<LogFilter>,
    pub filter_error: Option<FilterError>,
}

impl Default for ActionLog {
    fn default() -> Self {
        ActionLog {
            hosts: Vec::new(),
            shown: Vec::new(),
            cursor: 0,
            columns: [true; 7],
            filter_text: String::new(),
            filter: None,
            filter_error: None,
        }
    }
}

impl ActionLog {
    fn host_mut(&mut self, host: HostId) -> &mut HostLog {
        let i = usize::from(host.0);
        if self.hosts.len() <= i {
            self.hosts.resize_with(i + 1, HostLog::default);
        }
        &mut self.hosts[i]
    }

    pub fn set_loading(&mut self, host: HostId) {
        self.host_mut(host).loading = true;
    }

    /// A fetch finished; call [`ActionLog::rebuild`] after.
    pub fn ingest(&mut self, host: HostId, page: Result<AuditPage, String>) {
        let h = self.host_mut(host);
        h.loading = false;
        match page {
            Ok(p) => {
                h.page = Some(p);
                h.error = None;
            }
            Err(e) => h.error = Some(e),
        }
    }

    /// Re-applies the filter and the order (newest first across hosts),
    /// keeping the cursor on the same record when it is still shown.
    pub fn rebuild(&mut self, host_names: &[String]) {
        let keep = self.selected().map(|(h, r)| (h, r.id.clone(), r.line));
        let mut shown: Vec<(HostId, usize)> = Vec::new();
        for (i, h) in self.hosts.iter().enumerate() {
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
            let (ra, rb) = (self.record(*a), self.record(*b));
            let k = |r: Option<&AuditRecord>| r.map(|r| (r.time_unix_ns, r.line));
            k(rb).cmp(&k(ra)).then(a.cmp(b))
        });
        self.shown = shown;
        if let Some((host, id, line)) = keep
            && let Some(pos) = self.shown.iter().position(|&at| {
                at.0 == host
                    && self
                        .record(at)
                        .is_some_and(|r| r.id == id && r.line == line)
            })
        {
            self.cursor = pos;
        }
        self.cursor = self.cursor.min(self.shown.len().saturating_sub(1));
    }

    fn record(&self, (host, i): (HostId, usize)) -> Option<&AuditRecord> {
        self.hosts
            .get(usize::from(host.0))?
            .page
            .as_ref()?
            .records
            .get(i)
    }

    /// The shown records, newest first.
    pub fn shown(&self) -> impl Iterator<Item = (HostId, &AuditRecord)> {
        self.shown
            .iter()
            .filter_map(|&at| self.record(at).map(|r| (at.0, r)))
    }

    #[must_use]
    pub fn shown_len(&self) -> usize {
        self.shown.len()
    }

    /// Records fetched, before filtering.
    #[must_use]
    pub fn total(&self) -> usize {
        self.hosts
            .iter()
            .filter_map(|h| h.page.as_ref())
            .map(|p| p.records.len())
            .sum()
    }

    #[must_use]
    pub fn loading(&self) -> bool {
        self.hosts.iter().any(|h| h.loading)
    }

    /// The record under the cursor.
    #[must_use]
    pub fn selected(&self) -> Option<(HostId, &AuditRecord)> {
        let at = *self.shown.get(self.cursor)?;
        self.record(at).map(|r| (at.0, r))
    }

    pub fn move_by(&mut self, delta: isize) {
        let last = self.shown.len().saturating_sub(1);
        self.cursor = self.cursor.saturating_add_signed(delta).min(last);
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
}

#[cfg(test)]
mod tests;
