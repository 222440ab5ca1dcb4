//! Lineage: every chain of parents in the model stays whole.  An exited
//! process that is an ancestor of a process still in the model (live, or
//! exited within its retention window) is kept past its own retention — a
//! double-forked daemon's chain still reaches whoever started it, however
//! long ago its intermediate parent exited — and released once nothing in
//! the model descends from it.  A process keeps its original parent (ppid
//! is who forked it); where it was reparented to is `reaper`, learnt from
//! /proc by the sampler.  Retained ancestors are bounded in bytes like the
//! exited processes: past the bound the oldest go first (the top of a
//! chain), so a fork-and-exit chain of any length costs bounded memory.
use perch_proto::NS_PER_TICK;

use super::{ProcKey, ProcessInfo, ProcessModel};

/// A key as parent links name it: start times compare at clock-tick
/// granularity (see `ProcKey::same_as`), so index by the tick.
pub(super) fn link(pid: u32, start_ns: u64) -> (u32, u64) {
    (pid, start_ns / NS_PER_TICK)
}

impl ProcessModel {
    /// Counts `p` as a child of its parent (it entered the model).
    pub(super) fn link(&mut self, p: &ProcessInfo) {
        if p.ppid != 0 {
            *self
                .children
                .entry(link(p.ppid, p.parent_start_ns))
                .or_insert(0) += 1;
        }
    }

    /// Uncounts `p` (it left the model); its parent's count, after.
    pub(super) fn unlink(&mut self, p: &ProcessInfo) -> u32 {
        if p.ppid == 0 {
            return 0;
        }
        let up = link(p.ppid, p.parent_start_ns);
        let Some(n) = self.children.get_mut(&up) else {
            return 0;
        };
        *n = n.saturating_sub(1);
        let left = *n;
        if left == 0 {
            self.children.remove(&up);
        }
        left
    }

    /// Settles exited processes whose retention ended (oldest first): one
    /// that processes in the model still name as parent is kept
    /// (`retained_ancestor`), the others leave — and an ancestor kept for
    /// them leaves with its last child, and so on up the chain.  Costs a
    /// few map operations per process settled, whatever the host's size.
    pub(super) fn settle(&mut self, expired: Vec<ProcessInfo>) {
        for mut p in expired {
            let own = link(p.key.pid, p.key.start_ns);
            if self.children.contains_key(&own) {
                p.retained_ancestor = true;
                self.retained_bytes += p.heap_bytes();
                self.retained_order.push_back(own);
                self.retained.insert(own, p);
            } else {
                self.release(p);
            }
        }
        self.bound_retained();
    }

    /// Drops the oldest retained ancestors while they hold more than the
    /// exited processes' byte bound.  A dropped one leaves its parent's
    /// count (which may release the parent in turn); its children keep
    /// naming it, as children of any process that left the model do.
    fn bound_retained(&mut self) {
        while self.retained_bytes > self.max_exited_bytes {
            let Some(oldest) = self.retained_order.pop_front() else {
                break;
            };
            let Some(p) = self.retained.remove(&oldest) else {
                continue;
            };
            self.retained_bytes = self.retained_bytes.saturating_sub(p.heap_bytes());
            self.ancestors_dropped += 1;
            self.release(p);
        }
        // Released entries stay in the order until met: compact it when
        // they are most of it.
        if self.retained_order.len() > 2 * self.retained.len() + 64 {
            let retained = &self.retained;
            self.retained_order.retain(|l| retained.contains_key(l));
        }
    }

    /// Retained ancestors dropped to stay within the byte bound.
    #[must_use]
    pub fn ancestors_dropped(&self) -> u64 {
        self.ancestors_dropped
    }

    /// Bytes the retained ancestors hold now.
    #[must_use]
    pub fn retained_bytes(&self) -> usize {
        self.retained_bytes
    }

    /// `p` leaves the model, and with it every retained ancestor it was
    /// the last child of.
    fn release(&mut self, mut p: ProcessInfo) {
        // Bounded: each step removes a retained process.
        while self.unlink(&p) == 0 {
            let Some(parent) = self.retained.remove(&link(p.ppid, p.parent_start_ns)) else {
                return;
            };
            self.retained_bytes = self.retained_bytes.saturating_sub(parent.heap_bytes());
            p = parent;
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
        let p = p.clone();
        self.link(&p);
        Some(p)
    }
}
