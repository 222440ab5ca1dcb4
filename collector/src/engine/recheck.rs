//! Facts that change without an event: a binary deleted while its process
//! runs (no tracepoint sees the unlink).  Every [`INTERVAL`] the link count
//! of each executable that live processes run is read again from /proc,
//! through one of those processes, and the processes of files that dropped
//! to 0 links are published as updates (`executable.deleted`).
use std::{path::PathBuf, sync::Arc, time::Duration};

use super::Shared;
use crate::{
    clock::now_boot_ns,
    model::{ModelEvent, ProcKey},
    proc::exe_links,
};

/// One stat of `/proc/PID/exe` per executable file this often (three
/// system calls each): cheap next to the per-second sampling.
pub(super) const INTERVAL: Duration = Duration::from_secs(5);

pub(super) async fn exe_deletions(shared: Arc<Shared>, proc_root: PathBuf) {
    let mut tick = tokio::time::interval(INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let groups = shared.model().exe_present_groups();
        let root = proc_root.clone();
        let Ok(deleted) = tokio::task::spawn_blocking(move || {
            super::background::lowered(|| deleted_in(groups, |k| exe_links(&root, k)))
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

/// The processes of `groups` (each the processes running one file) whose
/// file has no links left, asking `links` for one process per group: the
/// first that still answers (the others may have exited or exec'd).
fn deleted_in(
    groups: Vec<Vec<ProcKey>>,
    mut links: impl FnMut(ProcKey) -> Option<u32>,
) -> Vec<ProcKey> {
    let mut deleted = Vec::new();
    for group in groups {
        if group.iter().find_map(|&k| links(k)) == Some(0) {
            deleted.extend(group);
        }
    }
    deleted
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(pid: u32) -> ProcKey {
        ProcKey {
            pid,
            start_ns: u64::from(pid) * 1000,
        }
    }

    /// One answer per file, from its first process still there; every
    /// process of a deleted file is named, none of a present one.
    #[test]
    fn one_look_per_file_from_the_first_process_that_answers() {
        let groups = vec![
            vec![key(1), key(2), key(3)],
            vec![key(4), key(5)],
            vec![key(6)],
            vec![key(7), key(8)],
        ];
        let mut asked = Vec::new();
        let deleted = deleted_in(groups, |k| {
            asked.push(k.pid);
            match k.pid {
                // Gone: the next process of its file is asked.
                1 | 7 | 8 => None,
                2 | 6 => Some(0),
                _ => Some(1),
            }
        });
        assert_eq!(asked, [1, 2, 4, 6, 7, 8]);
        assert_eq!(deleted, [key(1), key(2), key(3), key(6)]);
    }
}
