//! The console's copy of each collector's process model: one [`Proc`] per
//! process in a slab, indexed by [`ProcessKey`] (host, pid, start time).
//! Strings are cleaned of control characters once, here, so nothing a
//! process chose can reach the terminal; the lowercase search haystack is
//! built here too, so a search keystroke does no allocation per row.
use std::{collections::HashMap, time::Instant};

use perch_proto::{
    NS_PER_TICK,
    v1::{self, Exit},
};

use super::history::History;
use crate::text::clean;

/// Which collector a row came from; the loop numbers its connections.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HostId(pub u16);

/// A process's identity: pids are reused, so the start time is part of it,
/// compared at clock-tick granularity like [`perch_proto::same_start_time`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProcessKey {
    pub host: HostId,
    pub pid: u32,
    pub start_tick: u64,
}

impl ProcessKey {
    #[must_use]
    pub fn new(host: HostId, pid: u32, start_time_ns: u64) -> ProcessKey {
        ProcessKey {
            host,
            pid,
            start_tick: start_time_ns / NS_PER_TICK,
        }
    }

    fn of(host: HostId, k: Option<&v1::ProcessKey>) -> ProcessKey {
        k.map_or(ProcessKey::new(host, 0, 0), |k| {
            ProcessKey::new(host, k.pid, k.start_time_ns)
        })
    }
}

/// Latest resource usage (see `perch.v1.ResourceUsage`).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Usage {
    /// Percent of one core.
    pub cpu_percent: f64,
    pub cpu_time_ns: u64,
    pub rss_bytes: u64,
    pub mem_percent: f64,
    pub read_per_sec: f64,
    pub write_per_sec: f64,
}

impl Usage {
    #[must_use]
    pub fn from_proto(u: &v1::ResourceUsage) -> Usage {
        Usage {
            cpu_percent: u.cpu_percent,
            cpu_time_ns: u.cpu_time_ns,
            rss_bytes: u.rss_bytes,
            mem_percent: u.mem_percent,
            read_per_sec: u.read_bytes_per_sec,
            write_per_sec: u.write_bytes_per_sec,
        }
    }

    /// Adds another's usage (a collapsed node shows its subtree's sum).
    pub fn add(&mut self, o: &Usage) {
        self.cpu_percent += o.cpu_percent;
        self.cpu_time_ns = self.cpu_time_ns.saturating_add(o.cpu_time_ns);
        self.rss_bytes = self.rss_bytes.saturating_add(o.rss_bytes);
        self.mem_percent += o.mem_percent;
        self.read_per_sec += o.read_per_sec;
        self.write_per_sec += o.write_per_sec;
    }
}

/// One process as the console keeps it.
#[derive(Clone, Debug, Default)]
pub struct Proc {
    pub key: ProcessKey,
    pub start_time_ns: u64,
    pub ppid: u32,
    /// The parent's start time, 0 when unknown (then the live process with
    /// pid `ppid` is the parent).
    pub parent_start_ns: u64,
    pub uid: u32,
    pub euid: u32,
    pub gid: u32,
    /// User name, or the uid when it has none.
    pub user: Box<str>,
    pub comm: Box<str>,
    pub exe: Box<str>,
    pub argv: Box<[Box<str>]>,
    pub argv_truncated: bool,
    /// What the COMMAND column shows (see [`crate::text::command`]).
    pub command: Box<str>,
    pub cwd: Box<str>,
    pub tty: Box<str>,
    pub cgroup_path: Box<str>,
    pub container_id: Box<str>,
    pub container_runtime: Box<str>,
    pub pod_uid: Box<str>,
    pub pod_namespace: Box<str>,
    pub pod_name: Box<str>,
    pub kernel_thread: bool,
    pub threads: u32,
    pub nice: i32,
    pub usage: Usage,
    pub exit: Option<Exit>,
    /// When the console learnt of the exit (retention counts from here).
    pub exited_at: Option<Instant>,
    /// Lowercase `command exe user pid container pod`, one char per char of
    /// the original so match positions in the command part map back.
    pub haystack: Box<str>,
    pub history: History,
}

fn boxed(s: &str) -> Box<str> {
    clean(s).into()
}

/// Lowercases char by char, keeping only the first char of multi-char
/// lowercase forms so char offsets stay aligned with the source.
fn lower_aligned(out: &mut String, s: &str) {
    out.extend(s.chars().map(|c| c.to_lowercase().next().unwrap_or(c)));
}

impl Proc {
    /// Builds a row from a perch.v1 process of `host`.
    #[must_use]
    pub fn from_proto(host: HostId, p: &v1::Process) -> Proc {
        let key = ProcessKey::of(host, p.key.as_ref());
        let user = if p.user.is_empty() {
            p.uid.to_string().into()
        } else {
            boxed(&p.user)
        };
        let mut row = Proc {
            key,
            start_time_ns: p.key.map_or(0, |k| k.start_time_ns),
            ppid: p.ppid,
            parent_start_ns: p.parent_start_time_ns,
            uid: p.uid,
            euid: p.euid,
            gid: p.gid,
            user,
            comm: boxed(&p.comm),
            exe: boxed(&p.exe),
            argv: p.argv.iter().map(|a| boxed(a)).collect(),
            argv_truncated: p.argv_truncated,
            command: crate::text::command(p).into(),
            cwd: boxed(&p.cwd),
            tty: boxed(&p.tty),
            cgroup_path: boxed(&p.cgroup_path),
            container_id: boxed(&p.container_id),
            container_runtime: boxed(&p.container_runtime),
            pod_uid: boxed(&p.pod_uid),
            pod_namespace: boxed(&p.pod_namespace),
            pod_name: boxed(&p.pod_name),
            kernel_thread: p.kernel_thread,
            threads: p.threads,
            nice: p.nice,
            usage: p.usage.as_ref().map(Usage::from_proto).unwrap_or_default(),
            exit: p.exit,
            exited_at: None,
            haystack: Box::default(),
            history: History::default(),
        };
        row.haystack = row.make_haystack();
        row
    }

    fn make_haystack(&self) -> Box<str> {
        let mut h = String::with_capacity(self.command.len() + self.exe.len() + 48);
        lower_aligned(&mut h, &self.command);
        for part in [
            &*self.exe,
            &*self.user,
            &*self.container_id,
            &*self.pod_name,
        ] {
            if !part.is_empty() {
                h.push(' ');
                lower_aligned(&mut h, part);
            }
        }
        h.push(' ');
        h.push_str(&self.key.pid.to_string());
        h.into()
    }

    /// Takes a newer description of the same process, keeping what the
    /// console accumulated (history, exit).
    pub fn update_from(&mut self, newer: Proc) {
        let history = std::mem::take(&mut self.history);
        let (exit, exited_at) = (self.exit.take(), self.exited_at);
        *self = newer;
        self.history = history;
        if self.exit.is_none() {
            self.exit = exit;
            self.exited_at = exited_at;
        }
    }

    /// Container, else pod name, else empty: the CONTAINER/POD column.
    #[must_use]
    pub fn container_label(&self) -> &str {
        if !self.pod_name.is_empty() {
            &self.pod_name
        } else if self.container_id.len() > 12 {
            self.container_id.get(..12).unwrap_or(&self.container_id)
        } else {
            &self.container_id
        }
    }

    #[must_use]
    pub fn is_exited(&self) -> bool {
        self.exit.is_some()
    }

    /// Bytes this row holds on the heap (for the memory budget).
    #[must_use]
    pub fn heap_bytes(&self) -> usize {
        let strs = [
            &self.user,
            &self.comm,
            &self.exe,
            &self.command,
            &self.cwd,
            &self.tty,
            &self.cgroup_path,
            &self.container_id,
            &self.container_runtime,
            &self.pod_uid,
            &self.pod_namespace,
            &self.pod_name,
            &self.haystack,
        ];
        strs.iter().map(|s| s.len()).sum::<usize>()
            + self.argv.iter().map(|a| a.len() + 16).sum::<usize>()
            + self.history.heap_bytes()
    }
}

/// A fast hasher for keys made of a few integers (the Fx hash of rustc):
/// the default `SipHash` is several times slower, and the keys (pids and
/// start times) are not chosen by an attacker who could exploit collisions.
#[derive(Clone, Copy, Debug, Default)]
pub struct FxHasher(u64);

impl FxHasher {
    fn add(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl std::hash::Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut buf = [0u8; 8];
            buf[..chunk.len()].copy_from_slice(chunk);
            self.add(u64::from_le_bytes(buf));
        }
    }

    fn write_u8(&mut self, v: u8) {
        self.add(u64::from(v));
    }

    fn write_u16(&mut self, v: u16) {
        self.add(u64::from(v));
    }

    fn write_u32(&mut self, v: u32) {
        self.add(u64::from(v));
    }

    fn write_u64(&mut self, v: u64) {
        self.add(v);
    }

    fn write_usize(&mut self, v: usize) {
        self.add(v as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// A `HashMap`/`HashSet` hasher builder using [`FxHasher`].
pub type FxBuild = std::hash::BuildHasherDefault<FxHasher>;

/// Index of a row in the [`Store`] slab.
pub type RowId = u32;

/// Live rows by (host, pid).
pub type LiveByPid = HashMap<(HostId, u32), RowId, FxBuild>;

/// All rows of all hosts.  Removal leaves a hole that a later insert reuses,
/// so row ids held by the view stay valid until the next rebuild.
#[derive(Debug, Default)]
pub struct Store {
    rows: Vec<Option<Proc>>,
    free: Vec<RowId>,
    index: HashMap<ProcessKey, RowId, FxBuild>,
}

impl Store {
    #[must_use]
    pub fn get(&self, id: RowId) -> Option<&Proc> {
        self.rows.get(id as usize).and_then(Option::as_ref)
    }

    pub fn get_mut(&mut self, id: RowId) -> Option<&mut Proc> {
        self.rows.get_mut(id as usize).and_then(Option::as_mut)
    }

    #[must_use]
    pub fn id_of(&self, key: &ProcessKey) -> Option<RowId> {
        self.index.get(key).copied()
    }

    #[must_use]
    pub fn by_key(&self, key: &ProcessKey) -> Option<&Proc> {
        self.id_of(key).and_then(|id| self.get(id))
    }

    pub fn by_key_mut(&mut self, key: &ProcessKey) -> Option<&mut Proc> {
        self.id_of(key).and_then(|id| self.get_mut(id))
    }

    /// Inserts or updates; returns the row id.
    pub fn upsert(&mut self, p: Proc) -> RowId {
        if let Some(id) = self.id_of(&p.key)
            && let Some(row) = self.get_mut(id)
        {
            row.update_from(p);
            return id;
        }
        let key = p.key;
        let id = if let Some(id) = self.free.pop() {
            if let Some(slot) = self.rows.get_mut(id as usize) {
                *slot = Some(p);
            }
            id
        } else {
            self.rows.push(Some(p));
            RowId::try_from(self.rows.len() - 1).unwrap_or(RowId::MAX)
        };
        self.index.insert(key, id);
        id
    }

    pub fn remove(&mut self, id: RowId) -> Option<Proc> {
        let p = self.rows.get_mut(id as usize)?.take()?;
        self.index.remove(&p.key);
        self.free.push(id);
        Some(p)
    }

    /// Rows in slab order with their ids.
    pub fn iter(&self) -> impl Iterator<Item = (RowId, &Proc)> {
        self.rows.iter().enumerate().filter_map(|(i, p)| {
            p.as_ref()
                .map(|p| (RowId::try_from(i).unwrap_or(RowId::MAX), p))
        })
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut Proc> {
        self.rows.iter_mut().filter_map(Option::as_mut)
    }

    /// Slab length (ids are below it).
    #[must_use]
    pub fn capacity(&self) -> usize {
        self.rows.len()
    }

    #[must_use]
    pub fn len(&self) -> usize {
        self.index.len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Removes every row matching `pred`.
    pub fn remove_where(&mut self, mut pred: impl FnMut(&Proc) -> bool) -> usize {
        let ids: Vec<RowId> = self
            .iter()
            .filter(|(_, p)| pred(p))
            .map(|(id, _)| id)
            .collect();
        for &id in &ids {
            self.remove(id);
        }
        ids.len()
    }

    /// The parent row of `p`: by its key when the parent's start time is
    /// known, else the live process with that pid.
    #[must_use]
    pub fn parent_of(&self, p: &Proc, live_by_pid: &LiveByPid) -> Option<RowId> {
        if p.ppid == 0 || p.ppid == p.key.pid {
            return None;
        }
        if p.parent_start_ns != 0 {
            let key = ProcessKey::new(p.key.host, p.ppid, p.parent_start_ns);
            if let Some(id) = self.id_of(&key) {
                return Some(id);
            }
        }
        live_by_pid.get(&(p.key.host, p.ppid)).copied()
    }

    /// Live (not exited) rows by (host, pid), for parents of unknown start.
    #[must_use]
    pub fn live_by_pid(&self) -> LiveByPid {
        self.iter()
            .filter(|(_, p)| !p.is_exited())
            .map(|(id, p)| ((p.key.host, p.key.pid), id))
            .collect()
    }
}

#[cfg(test)]
#[allow(
    clippy::many_single_char_names,
    clippy::similar_names,
    reason = "short names in tests"
)]
mod tests {
    use super::*;

    pub fn proto(pid: u32, ppid: u32, argv: &[&str]) -> v1::Process {
        v1::Process {
            key: Some(v1::ProcessKey {
                pid,
                start_time_ns: u64::from(pid) * 1_000_000_000,
            }),
            ppid,
            parent_start_time_ns: u64::from(ppid) * 1_000_000_000,
            user: "root".to_owned(),
            argv: argv.iter().map(ToString::to_string).collect(),
            ..v1::Process::default()
        }
    }

    #[test]
    fn keys_compare_at_tick_granularity() {
        let a = ProcessKey::new(HostId(0), 5, 1_234_567_890);
        let b = ProcessKey::new(HostId(0), 5, 1_230_000_000);
        assert_eq!(a, b);
        assert_ne!(a, ProcessKey::new(HostId(1), 5, 1_234_567_890));
    }

    #[test]
    fn haystack_is_lowercase_and_aligned() {
        let mut p = proto(42, 1, &["/usr/bin/Python3", "-c", "İx\x1b"]);
        p.exe = "/usr/bin/python3".to_owned();
        let row = Proc::from_proto(HostId(0), &p);
        assert_eq!(&*row.command, "/usr/bin/Python3 -c İx\\u{1b}");
        assert!(
            row.haystack
                .starts_with("/usr/bin/python3 -c ix\\u{1b} /usr/bin/python3 root")
        );
        assert!(row.haystack.ends_with(" 42"));
        assert_eq!(
            row.command.chars().count(),
            row.haystack.chars().take_while(|_| true).count()
                - row
                    .haystack
                    .chars()
                    .skip(row.command.chars().count())
                    .count()
        );
    }

    #[test]
    fn store_reuses_slots_and_resolves_parents() {
        let mut s = Store::default();
        let a = s.upsert(Proc::from_proto(HostId(0), &proto(1, 0, &["init"])));
        let b = s.upsert(Proc::from_proto(HostId(0), &proto(2, 1, &["sh"])));
        let mut orphan = proto(3, 1, &["x"]);
        orphan.parent_start_time_ns = 0;
        let c = s.upsert(Proc::from_proto(HostId(0), &orphan));
        let live = s.live_by_pid();
        assert_eq!(s.parent_of(s.get(b).unwrap(), &live), Some(a));
        assert_eq!(s.parent_of(s.get(c).unwrap(), &live), Some(a));
        assert_eq!(s.parent_of(s.get(a).unwrap(), &live), None);
        assert!(s.remove(b).is_some());
        assert!(s.remove(b).is_none());
        let d = s.upsert(Proc::from_proto(HostId(0), &proto(4, 1, &["y"])));
        assert_eq!(d, b);
        assert_eq!(s.len(), 3);
        assert_eq!(s.remove_where(|p| p.key.pid > 2), 2);
        assert_eq!(s.len(), 1);
    }
}
