//! Facts that change without an event: a binary deleted while its process
//! runs (no tracepoint sees the unlink).  Every [`INTERVAL`] the link count
//! of each live process's executable is read again from /proc, and those
//! that dropped to 0 are published as updates (`executable.deleted`).
use std::{path::PathBuf, sync::Arc, time::Duration};

use super::Shared;
use crate::{clock::now_boot_ns, model::ModelEvent, proc::exe_links};

/// One stat of `/proc/PID/exe` per process this often (three system calls
/// each): cheap next to the per-second sampling.
pub(super) const INTERVAL: Duration = Duration::from_secs(5);

pub(super) async fn exe_deletions(shared: Arc<Shared>, proc_root: PathBuf) {
    let mut tick = tokio::time::interval(INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let keys = shared.model().exe_present_keys();
        let root = proc_root.clone();
        let Ok(deleted) = tokio::task::spawn_blocking(move || {
            super::background::lowered(|| {
                keys.into_iter()
                    .filter(|k| exe_links(&root, *k) == Some(0))
                    .collect::<Vec<_>>()
            })
        })
        .await
        else {
            tracing::error!("the executable re-check panicked; it stops");
            return;
        };
        if deleted.is_empty() {
            continue;
        }
        let now = now_boot_ns();
        let updates = {
            let mut model = shared.model();
            deleted
                .iter()
                .filter_map(|k| model.set_exe_deleted(k))
                .map(|process| ModelEvent::Update {
                    time_ns: now,
                    process,
                })
                .collect()
        };
        shared.commit(updates, Vec::new());
    }
}
