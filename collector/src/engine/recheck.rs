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
/// file has no links left, asking `links` for the first process of each
/// group that still answers (the others may have exited).  A 0 is
/// confirmed by the next process that answers, when there is one: the
/// first may have exec'd a deleted file (a memfd, say) a moment ago,
/// before its exec event reached the model, and its answer would then
/// mark every process of its old file.
fn deleted_in(
    groups: Vec<Vec<ProcKey>>,
    mut links: impl FnMut(ProcKey) -> Option<u32>,
) -> Vec<ProcKey> {
    let mut deleted = Vec::new();
    for group in groups {
        let mut answers = group.iter().filter_map(|&k| links(k));
        let gone = answers.next() == Some(0) && answers.next().is_none_or(|n| n == 0);
        if gone {
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

    /// One answer per file, from its first process still there (and a
    /// second to confirm a 0); every process of a deleted file is named,
    /// none of a present one, nor of one whose first answer was not
    /// confirmed.
    #[test]
    fn one_look_per_file_from_the_first_process_that_answers() {
        let groups = vec![
            vec![key(1), key(2), key(3), key(4)],
            vec![key(5), key(6)],
            vec![key(7)],
            vec![key(8), key(9)],
            vec![key(10), key(11), key(12)],
        ];
        let mut asked = Vec::new();
        let deleted = deleted_in(groups, |k| {
            asked.push(k.pid);
            match k.pid {
                // Gone: the next process of its file is asked.
                1 | 8 | 9 => None,
                2 | 3 | 7 | 10 => Some(0),
                _ => Some(1),
            }
        });
        assert_eq!(asked, [1, 2, 3, 5, 7, 8, 9, 10, 11]);
        assert_eq!(
            deleted,
            [key(1), key(2), key(3), key(4), key(7)],
            "10 alone says 0: not confirmed by 11"
        );
    }
}
