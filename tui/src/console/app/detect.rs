//! Flags and traces in the state: the `ListFlags` / `ListTraces` snapshot
//! at connect, the `FlagRaised` / `TraceUpdated` events after it (a trace
//! that newly reaches the notable score shows the notice), the bound, and
//! the FLAGS marks on the process rows.
use perch_proto::v1::{Event, Flag, Trace};

use super::App;
use crate::console::{model::HostId, overlays::notice::Notice};

impl App {
    /// A `ListFlags` / `ListTraces` snapshot of one host: it replaces that
    /// host's flags and traces.
    pub fn ingest_detections(
        &mut self,
        host: HostId,
        flags: Vec<Flag>,
        traces: Vec<Trace>,
        notable: u32,
    ) {
        let d = &mut self.data.detect;
        d.snapshot(host, flags, traces, notable);
        d.bound(self.config.flag_limit, self.config.trace_limit);
        self.data.mark_flags();
    }

    /// One event, if it is a flag or a trace; true when it was.
    pub(super) fn ingest_detection(&mut self, host: HostId, e: &Event) -> bool {
        let Some(kind) = &e.kind else { return false };
        match self.data.detect.apply(host, kind) {
            None => false,
            Some(news) => {
                if let Some(t) = news {
                    self.view.notice = Some(Notice::notable(t, self.data.now));
                }
                true
            }
        }
    }

    /// After a batch: bound the store and mark the rows again when flags
    /// (generation moved from `before`) or rows (`rows_changed`: an exec
    /// replaces a row, unmarked) changed.
    pub(super) fn after_detections(&mut self, before: u64, rows_changed: bool) {
        if self.data.detect.generation() != before {
            let d = &mut self.data.detect;
            d.bound(self.config.flag_limit, self.config.trace_limit);
            self.data.mark_flags();
        } else if rows_changed && !self.data.marked.is_empty() {
            self.data.mark_flags();
        }
    }
}
