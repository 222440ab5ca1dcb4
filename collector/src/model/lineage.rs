//! Lineage: every chain of parents in the model stays whole.  An exited
//! process that is an ancestor of a process still in the model (live, or
//! exited within its retention window) is kept past its own retention — a
//! double-forked daemon's chain still reaches whoever started it, however
//! long ago its intermediate parent exited — and released once nothing in
//! the model descends from it.  A process keeps its original parent (ppid
//! is who forked it); where it was reparented to is `reaper`, learnt from
//! /proc by the sampler.
use std::collections::HashMap;

use perch_proto::NS_PER_TICK;

use super::{ProcKey, ProcessInfo, ProcessModel};

/// A key as parent links name it: start times compare at clock-tick
/// granularity (see `ProcKey::same_as`), so index by the tick.
fn link(pid: u32, start_ns: u64) -> (u32, u64) {
    (pid, start_ns / NS_PER_TICK)
}

impl ProcessModel {
    /// Settles exited processes whose retention ended: those an ancestor
    /// of anything still in the model are kept (`retained_ancestor`), the
    /// others dropped.  Retained ancestors no longer needed go too.
    pub(super) fn settle(&mut self, expired: Vec<ProcessInfo>) {
        if expired.is_empty() && self.retained.is_empty() {
            return;
        }
        let mut candidates: Vec<ProcessInfo> = expired;
        candidates.extend(self.retained.drain().map(|(_, p)| p));
        let index: HashMap<(u32, u64), usize> = candidates
            .iter()
            .enumerate()
            .map(|(i, p)| (link(p.key.pid, p.key.start_ns), i))
            .collect();
        let mut needed = vec![false; candidates.len()];
        let sources = self.live.values().chain(self.exited.iter());
        for p in sources {
            // Up the chain while it runs through candidates; a marked one's
            // ancestors are marked already.
            let mut up = link(p.ppid, p.parent_start_ns);
            while let Some(&i) = index.get(&up) {
                if needed[i] {
                    break;
                }
                needed[i] = true;
                up = link(candidates[i].ppid, candidates[i].parent_start_ns);
            }
        }
        for (mut p, keep) in candidates.into_iter().zip(needed) {
            if keep {
                p.retained_ancestor = true;
                self.retained.insert(p.key, p);
            }
        }
    }

    /// Exited processes kept as ancestors past their retention.
    pub fn retained(&self) -> impl Iterator<Item = &ProcessInfo> {
        self.retained.values()
    }

    /// Records the parents /proc shows now (`(key, ppid)` from a sample
    /// pass): a live process whose parent is no longer its original one
    /// was reparented, and its reaper is that parent.  Returns the
    /// processes whose reaper changed.
    pub fn set_parents(&mut self, parents: &[(ProcKey, u32)]) -> Vec<ProcessInfo> {
        let mut changed = Vec::new();
        for &(key, now) in parents {
            let Some(p) = self.get_key(&key) else {
                continue;
            };
            let moved = if p.parent_unknown {
                p.reaper.is_none_or(|r| r.pid != now)
            } else {
                // The original parent (0: none, as for kernel threads'
                // kthreadd and init) stays the parent; a different one now
                // is where it went.
                p.ppid != 0 && now != p.ppid && p.reaper.is_none_or(|r| r.pid != now)
            };
            if !moved || now == 0 {
                continue;
            }
            let reaper = ProcKey {
                pid: now,
                start_ns: self.get(now).map_or(0, |r| r.key.start_ns),
            };
            if let Some(p) = self.get_key_mut(&key) {
                p.reaper = Some(reaper);
                changed.push(p.clone());
            }
        }
        changed
    }

    /// Names the original parent of a live process whose parent was not
    /// known (perchd found it running under a reaper): for a history store
    /// that saw it start.  Returns the updated process.
    pub fn recover_parent(&mut self, key: &ProcKey, parent: ProcKey) -> Option<ProcessInfo> {
        let p = self.get_key_mut(key)?;
        if !p.parent_unknown {
            return None;
        }
        p.ppid = parent.pid;
        p.parent_start_ns = parent.start_ns;
        p.parent_unknown = false;
        Some(p.clone())
    }
}
