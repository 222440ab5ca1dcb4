//! The process model: every live process keyed by pid (at most one live
//! process holds a pid at a time), and exited ones kept for a retention
//! window so that a process that lived for a millisecond can still be shown
//! and inspected — and past it while processes descend from them, so that
//! lineage survives (see `lineage`).  Events are applied in ring-buffer
//! order; the sampler adds each process's state, freeze and reaper.
//!
//! Exited processes are also bounded in bytes: an exec storm of long
//! command lines would otherwise keep a retention window's worth of them
//! (30 s at thousands a second).  Past the bound the oldest exits go first
//! (still kept as ancestors while a descendant lives); clients still have
//! their events (the hub's ring).
mod argv;
mod facts;
mod heal;
mod lineage;
mod sampled;
mod types;

use std::collections::{HashMap, HashSet, VecDeque};

use crate::net::{NetModel, Owner};

pub use facts::*;
pub use heal::Scanned;
pub use types::*;

/// Default bound on the bytes exited processes may hold.
pub const DEFAULT_EXITED_BYTES: usize = 8 << 20;

#[derive(Debug, Default)]
pub struct ProcessModel {
    live: HashMap<u32, ProcessInfo>,
    /// Connections and listening sockets, under the same lock so that a
    /// snapshot of either agrees with the event sequence.
    net: NetModel,
    /// Exited processes, oldest exit first.
    exited: VecDeque<ProcessInfo>,
    /// Exited processes past their retention, kept as ancestors of
    /// processes still in the model; by parent link (`lineage::link`).
    retained: HashMap<(u32, u64), ProcessInfo>,
    /// The links of `retained` in the order they were kept (oldest exit
    /// first; entries already released are skipped when met), and the
    /// bytes they hold: bounded by `max_exited_bytes` too, so a chain of
    /// a million exited ancestors cannot grow perchd without end.
    retained_order: VecDeque<(u32, u64)>,
    retained_bytes: usize,
    /// Retained ancestors dropped to stay within that bound (the top of a
    /// chain goes first: its descendants then start at a gone parent).
    ancestors_dropped: u64,
    /// How many processes in the model (live, exited, retained) name each
    /// parent link: an exited process with children is kept.
    children: HashMap<(u32, u64), u32>,
    retention_ns: u64,
    /// Bytes `exited` holds ([`ProcessInfo::heap_bytes`]) and may hold.
    exited_bytes: usize,
    max_exited_bytes: usize,
    /// Exited processes dropped before their retention ended.
    dropped_early: u64,
    /// Pids whose cwd may be stale: new processes (they inherited their
    /// parent's last known cwd) and parents that forked (a shell that ran
    /// `cd` shows it in its next child).  Re-read once per sample pass
    /// instead of on every exec: a /proc lookup costs more than the event.
    cwd_stale: HashSet<u32>,
}

impl ProcessModel {
    #[must_use]
    pub fn new(retention_ns: u64) -> Self {
        Self::with_bounds(retention_ns, DEFAULT_EXITED_BYTES)
    }

    /// Exited processes stay `retention_ns`, as long as they hold no more
    /// than `max_exited_bytes` (the newest one always stays).
    #[must_use]
    pub fn with_bounds(retention_ns: u64, max_exited_bytes: usize) -> Self {
        Self {
            retention_ns,
            max_exited_bytes,
            ..Self::default()
        }
    }

    /// This model with `net` as its network part (its bounds).
    #[must_use]
    pub fn with_net(mut self, net: NetModel) -> Self {
        self.net = net;
        self
    }

    /// The network model.
    #[must_use]
    pub fn net(&self) -> &NetModel {
        &self.net
    }

    pub fn net_mut(&mut self) -> &mut NetModel {
        &mut self.net
    }

    /// The network model with the live processes it names owners from.
    pub fn net_with_owners(&mut self) -> (&mut NetModel, impl Fn(u32) -> Option<Owner> + '_) {
        let live = &self.live;
        let owner = move |pid: u32| {
            live.get(&pid).map(|p| Owner {
                key: p.key,
                comm: p.comm.clone(),
            })
        };
        (&mut self.net, owner)
    }

    /// Bytes the exited processes hold now.
    #[must_use]
    pub fn exited_bytes(&self) -> usize {
        self.exited_bytes
    }

    /// Exited processes dropped before their retention ended, to stay
    /// within the byte bound.
    #[must_use]
    pub fn dropped_early(&self) -> u64 {
        self.dropped_early
    }

    /// Adds processes read from /proc at start-up.  A process the kernel
    /// already reported (it raced the scan) keeps the kernel's version.
    pub fn seed(&mut self, processes: impl IntoIterator<Item = ProcessInfo>) {
        for p in processes {
            if !self.live.contains_key(&p.key.pid) {
                self.link(&p);
                self.live.insert(p.key.pid, p);
            }
        }
    }

    #[must_use]
    pub fn get(&self, pid: u32) -> Option<&ProcessInfo> {
        self.live.get(&pid)
    }

    /// The live process with this key (pid and start time).
    #[must_use]
    pub fn get_key(&self, key: &ProcKey) -> Option<&ProcessInfo> {
        self.live.get(&key.pid).filter(|p| p.key.same_as(key))
    }

    pub fn get_key_mut(&mut self, key: &ProcKey) -> Option<&mut ProcessInfo> {
        self.live.get_mut(&key.pid).filter(|p| p.key.same_as(key))
    }

    #[must_use]
    pub fn live_count(&self) -> usize {
        self.live.len()
    }

    pub fn live(&self) -> impl Iterator<Item = &ProcessInfo> {
        self.live.values()
    }

    /// Exited processes: within their retention, then the ancestors kept
    /// past it.
    pub fn exited(&self) -> impl Iterator<Item = &ProcessInfo> {
        self.exited.iter().chain(self.retained.values())
    }

    /// A kernel network record, attributed to its owner while it lives.
    fn apply_net(&mut self, time_ns: u64, record: &crate::net::NetRecord) -> Option<ModelEvent> {
        let live = &self.live;
        let owner = |key: ProcKey| Owner {
            key,
            comm: live
                .get(&key.pid)
                .filter(|p| p.key.same_as(&key))
                .map(|p| p.comm.clone())
                .unwrap_or_default(),
        };
        let change = self.net.apply(record, time_ns, &owner)?;
        Some(ModelEvent::Net { time_ns, change })
    }

    /// Applies one event.  Returns the event as the model now sees it
    /// (a fork completed with what the child inherits, an exec keeping what
    /// exec does not change), or `None` when it changed nothing.
    pub fn apply(&mut self, event: ModelEvent) -> Option<ModelEvent> {
        match event {
            ModelEvent::Fork { time_ns, mut child } => {
                // A child inherits exe, argv and cwd until it execs (argv
                // is shared, not copied).
                if let Some(parent) = self.live.get(&child.ppid) {
                    child.exe.clone_from(&parent.exe);
                    child.argv.clone_from(&parent.argv);
                    child.argv_truncated = parent.argv_truncated;
                    child.cwd.clone_from(&parent.cwd);
                    child.facts.clone_from(&parent.facts);
                    if child.cgroup.is_none() && child.cgroup_id == parent.cgroup_id {
                        child.cgroup.clone_from(&parent.cgroup);
                    }
                    if child.tty.is_empty() {
                        child.tty.clone_from(&parent.tty);
                    }
                    // Frozen with its parent (same cgroup) until sampled.
                    child.frozen = parent.frozen && child.cgroup_id == parent.cgroup_id;
                }
                self.cwd_stale.insert(child.ppid);
                self.cwd_stale.insert(child.key.pid);
                self.replace_live(child.clone(), time_ns);
                Some(ModelEvent::Fork { time_ns, child })
            }
            ModelEvent::Exec {
                time_ns,
                mut process,
                old_pid,
            } => {
                if let Some(prev) = self.get_key(&process.key) {
                    // exec keeps cwd, cgroup and usage; everything else is new.
                    if process.cwd.is_empty() {
                        process.cwd.clone_from(&prev.cwd);
                    }
                    if process.cgroup.is_none() && process.cgroup_id == prev.cgroup_id {
                        process.cgroup.clone_from(&prev.cgroup);
                    }
                    process.usage = prev.usage;
                    process.nice = prev.nice;
                    process.state = prev.state;
                    process.frozen = prev.frozen;
                    // exec changes no parent: who forked it, and where it
                    // went since, stay (the kernel's ppid is today's).
                    process.ppid = prev.ppid;
                    process.parent_start_ns = prev.parent_start_ns;
                    process.reaper = prev.reaper;
                    process.parent_unknown = prev.parent_unknown;
                    if process.source == Source::Ebpf && prev.source == Source::Seeded {
                        // Precise start time from the kernel replaces /proc's ticks.
                        process.source = Source::Ebpf;
                    }
                }
                self.cwd_stale.insert(process.key.pid);
                self.replace_live(process.clone(), time_ns);
                Some(ModelEvent::Exec {
                    time_ns,
                    process,
                    old_pid,
                })
            }
            ModelEvent::Exit { time_ns, key, exit } => {
                let p = self.live.get(&key.pid).filter(|p| p.key.same_as(&key))?;
                let key = p.key;
                let mut p = self.live.remove(&key.pid)?;
                p.exit = Some(exit);
                p.usage.cpu_percent = 0.0;
                self.retire(p);
                Some(ModelEvent::Exit { time_ns, key, exit })
            }
            ModelEvent::Update { time_ns, process } => {
                let slot = self.get_key_mut(&process.key)?;
                let old = std::mem::replace(slot, process.clone());
                self.unlink(&old);
                self.link(&process);
                Some(ModelEvent::Update { time_ns, process })
            }
            ModelEvent::NetRecord { time_ns, record } => self.apply_net(time_ns, &record),
            ModelEvent::Net { .. } => Some(event),
            ModelEvent::Security(mut ev) => {
                // The process acted on, while it is alive: ptrace and
                // process_vm_writev succeed only on a live target.
                if let Some(t) = ev.detail.target_mut()
                    && !t.caller_in_child_ns
                {
                    t.key = self.live.get(&t.pid).map(|p| p.key);
                }
                Some(ModelEvent::Security(ev))
            }
            ModelEvent::Rename { time_ns, key, comm } => {
                let slot = self.get_key_mut(&key)?;
                if slot.comm == comm {
                    return None;
                }
                slot.comm = comm;
                Some(ModelEvent::Update {
                    time_ns,
                    process: slot.clone(),
                })
            }
        }
    }

    /// Puts `p` in the live set; a different process still holding the pid
    /// (its exit was missed) is retired as exited with an unknown status.
    fn replace_live(&mut self, p: ProcessInfo, time_ns: u64) {
        let key = p.key;
        self.link(&p);
        match self.live.insert(key.pid, p) {
            Some(mut old) if !old.key.same_as(&key) => {
                old.exit = Some(ExitInfo {
                    time_ns,
                    ..ExitInfo::default()
                });
                self.retire(old);
            }
            // The same process (an exec): it was counted once already.
            Some(old) => {
                self.unlink(&old);
            }
            None => {}
        }
    }

    /// Keeps an exited process, dropping the oldest ones past the bound
    /// (those with descendants in the model stay as ancestors).
    fn retire(&mut self, p: ProcessInfo) {
        self.exited_bytes += p.heap_bytes();
        self.exited.push_back(p);
        let mut dropped = Vec::new();
        while self.exited_bytes > self.max_exited_bytes && self.exited.len() > 1 {
            let Some(old) = self.exited.pop_front() else {
                break;
            };
            self.exited_bytes = self.exited_bytes.saturating_sub(old.heap_bytes());
            self.dropped_early += 1;
            dropped.push(old);
        }
        self.settle(dropped);
    }

    /// Drops exited processes older than the retention window, except the
    /// ancestors of processes still in the model (see `lineage`).
    pub fn expire(&mut self, now_ns: u64) {
        let mut expired = Vec::new();
        while let Some(front) = self.exited.front() {
            let exited_at = front.exit.map_or(0, |e| e.time_ns);
            if now_ns.saturating_sub(exited_at) <= self.retention_ns {
                break;
            }
            if let Some(old) = self.exited.pop_front() {
                self.exited_bytes = self.exited_bytes.saturating_sub(old.heap_bytes());
                expired.push(old);
            }
        }
        self.settle(expired);
    }
}

#[cfg(test)]
mod tests;
