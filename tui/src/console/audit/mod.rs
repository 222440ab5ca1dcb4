//! The audit records the console holds, per collector: what `ListAudit`
//! returned, plus the records streamed since (`Event.action`), newest
//! first.  What the action log shows of them (filter, order across hosts,
//! cursor, columns) is the screen's ([`crate::console::screens::log`]).
pub mod columns;
pub mod filter;

use perch_proto::v1::{AuditLogStatus, AuditRecord, ListAuditRequest};

pub use self::{
    columns::LogColumn,
    filter::{Clock, LogFilter},
};
use super::model::HostId;

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
    /// The last answer, with the records streamed since inserted.
    pub page: Option<AuditPage>,
    /// Why the last fetch failed.
    pub error: Option<String>,
    /// The page is complete: fetched, and nothing missed since.
    fresh: bool,
    /// Records streamed while a fetch was under way: its answer may have
    /// been read before they were written.
    in_flight: Vec<AuditRecord>,
}

/// Newest first: by time, then by line in the log.
fn newer(a: &AuditRecord, b: &AuditRecord) -> bool {
    (a.time_unix_ns, a.line) > (b.time_unix_ns, b.line)
}

impl HostLog {
    /// Inserts `r` in time order unless a record with its id is there.
    fn insert(page: &mut AuditPage, r: AuditRecord) -> bool {
        if !r.id.is_empty() && page.records.iter().any(|x| x.id == r.id) {
            return false;
        }
        let at = page
            .records
            .iter()
            .position(|x| newer(&r, x))
            .unwrap_or(page.records.len());
        page.records.insert(at, r);
        true
    }
}

/// Every collector's audit records.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AuditLog {
    pub hosts: Vec<HostLog>,
    /// Bumped on every change (the action log rebuilds when it moves).
    generation: u64,
}

impl AuditLog {
    fn host_mut(&mut self, host: HostId) -> &mut HostLog {
        let i = usize::from(host.0);
        if self.hosts.len() <= i {
            self.hosts.resize_with(i + 1, HostLog::default);
        }
        self.generation = self.generation.wrapping_add(1);
        &mut self.hosts[i]
    }

    #[must_use]
    pub fn generation(&self) -> u64 {
        self.generation
    }

    pub fn set_loading(&mut self, host: HostId) {
        self.host_mut(host).loading = true;
    }

    /// Marks a fetch of `host`'s log under way; returns the request.
    pub fn fetch(&mut self, host: HostId) -> ListAuditRequest {
        self.set_loading(host);
        ListAuditRequest { limit: FETCH_LIMIT }
    }

    /// True when `host`'s log was never fetched whole, or may have missed
    /// records since (a reconnect), and no fetch is under way.
    #[must_use]
    pub fn needs_fetch(&self, host: HostId) -> bool {
        self.hosts
            .get(usize::from(host.0))
            .is_none_or(|h| !h.fresh && !h.loading)
    }

    /// `host`'s stream broke: records may have been missed.
    pub fn mark_stale(&mut self, host: HostId) {
        self.host_mut(host).fresh = false;
    }

    /// A fetch finished: its answer replaces the page (keeping records
    /// streamed while it was under way), or says why there is none.
    pub fn ingest(&mut self, host: HostId, page: Result<AuditPage, String>) {
        let h = self.host_mut(host);
        h.loading = false;
        let streamed = std::mem::take(&mut h.in_flight);
        match page {
            Ok(mut p) => {
                for r in streamed {
                    HostLog::insert(&mut p, r);
                }
                h.page = Some(p);
                h.error = None;
                h.fresh = true;
            }
            Err(e) => h.error = Some(e),
        }
    }

    /// A record from the event stream (or an action's answer): inserted in
    /// time order, once per id.
    pub fn insert(&mut self, host: HostId, r: AuditRecord) {
        let h = self.host_mut(host);
        if h.loading {
            h.in_flight.push(r.clone());
        }
        HostLog::insert(h.page.get_or_insert_default(), r);
    }

    /// The `i`th record of `host`'s page.
    #[must_use]
    pub fn record(&self, (host, i): (HostId, usize)) -> Option<&AuditRecord> {
        self.hosts
            .get(usize::from(host.0))?
            .page
            .as_ref()?
            .records
            .get(i)
    }

    /// Records held, before filtering.
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
}

#[cfg(test)]
pub(crate) mod tests;
