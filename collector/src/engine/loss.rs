//! Kernel record loss: the per-kind counters are read every
//! [`CHECK_INTERVAL`]; when records were lost since the last read, perchd
//! re-reads /proc so the process tree heals, and tells every client with
//! an `EVENTS_LOST` notice naming the window and what was lost in it.
use std::{
    sync::atomic::Ordering,
    time::{Duration, Instant},
};

use perch_proto::v1 as pb;

use super::Shared;
use crate::{
    clock::now_boot_ns,
    convert,
    ebpf::{EbpfSource, KindCount, LossWindow},
    model::{Scanned, Source},
    proc::ProcReader,
};

/// How often the kernel's counters (a map read per kind) are checked.
pub(super) const CHECK_INTERVAL: Duration = Duration::from_millis(250);

/// The counters as last read.
pub(super) struct LossTracker {
    checked: Instant,
    checked_ns: u64,
    counts: Vec<KindCount>,
}

impl LossTracker {
    pub(super) fn new(src: &EbpfSource) -> Self {
        Self {
            checked: Instant::now(),
            checked_ns: now_boot_ns(),
            counts: src.counts(),
        }
    }

    pub(super) fn due(&self) -> bool {
        self.checked.elapsed() >= CHECK_INTERVAL
    }

    /// Reads the counters, publishes them for `GetInfo`, and returns the
    /// window if records were lost since the last read.
    pub(super) fn check(&mut self, shared: &Shared, src: &EbpfSource) -> Option<LossWindow> {
        let now_ns = now_boot_ns();
        let counts = src.counts();
        let by_kind: Vec<(&'static str, u64)> = counts
            .iter()
            .map(|c| {
                let before = self
                    .counts
                    .iter()
                    .find(|p| p.kind == c.kind)
                    .map_or(0, |p| p.lost);
                (c.name, c.lost.saturating_sub(before))
            })
            .filter(|&(_, n)| n > 0)
            .collect();
        let total = counts.iter().map(|c| c.lost).sum();
        shared.events_lost.store(total, Ordering::Relaxed);
        shared
            .kind_counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone_from(&counts);
        let window = LossWindow {
            from_ns: self.checked_ns,
            until_ns: now_ns,
            by_kind,
            total,
        };
        self.counts = counts;
        self.checked = Instant::now();
        self.checked_ns = now_ns;
        (!window.by_kind.is_empty()).then_some(window)
    }
}

/// Re-reads /proc (on the blocking pool), applies the differences with the
/// model as events, and publishes the notice after them.  Returns the
/// reader for reuse.
pub(super) async fn heal(shared: &Shared, reader: ProcReader, window: &LossWindow) -> ProcReader {
    let env = reader.env_filter().clone();
    let scanned = tokio::task::spawn_blocking(move || {
        let mut reader = reader;
        let scan: Vec<Scanned> = reader
            .scan(Source::Procfs)
            .into_iter()
            .map(|process| Scanned {
                zombie_status: reader.zombie_exit_status(process.key.pid),
                process,
            })
            .collect();
        (reader, scan)
    })
    .await;
    let Ok((reader, scan)) = scanned else {
        tracing::error!("the /proc re-read after a loss panicked");
        let mut reader = ProcReader::system();
        reader.set_env_filter(env);
        return reader;
    };
    let now = now_boot_ns();
    let events = shared.model().reconcile(&scan, now);
    let healed = u32::try_from(events.len()).unwrap_or(u32::MAX);
    shared.loss_windows.fetch_add(1, Ordering::Relaxed);
    let notice: pb::Event = convert::lost_notice(now, window, healed);
    if let Some(pb::event::Kind::Notice(n)) = &notice.kind {
        tracing::warn!("{}", n.message);
    }
    shared.commit(events, vec![notice]);
    reader
}
