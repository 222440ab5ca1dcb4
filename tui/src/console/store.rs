//! All rows of all hosts in one slab, indexed by [`ProcessKey`], with the
//! parent lookups the tree and the detail view need.
//!
//! The store counts the bytes its rows hold, so that a storm of processes
//! with long command lines (any user's, 8 KiB each, and a row holds argv,
//! the command line and the search text) cannot grow the console without
//! bound: [`Store::shed`] drops exited rows, oldest exit first, once the
//! rows hold more than the configured bytes.  Live rows always stay, and
//! [`Store::dropped_early`] counts what went so the footer can say so.
use std::collections::HashMap;

use super::{
    hash::FxBuild,
    model::{HostId, Proc, ProcessKey},
};

/// Index of a row in the [`Store`] slab.
pub type RowId = u32;

/// Live rows by (host, pid).
pub type LiveByPid = HashMap<(HostId, u32), RowId, FxBuild>;

/// All rows of all hosts.  Removal leaves a hole that a later insert reuses,
/// so row ids held by the view stay valid until the next rebuild.
#[derive(Debug, Default)]
pub struct Store {
    rows: Vec<Option<Proc>>,
    /// Bytes each occupied slot's row holds (see [`row_bytes`]), by slot.
    sizes: Vec<usize>,
    /// Their sum.
    bytes: usize,
    free: Vec<RowId>,
    index: HashMap<ProcessKey, RowId, FxBuild>,
    /// Exited rows dropped before their retention ended, to stay in bytes.
    dropped_early: u64,
}

/// What a row costs besides its strings: the `Proc` itself, its slab slot
/// and size, and its index entry.
const ROW_OVERHEAD: usize = size_of::<Proc>() + size_of::<usize>() + 48;

/// Bytes `p` holds: its strings (counted when the row is stored; they do
/// not change afterwards) and a fixed overhead.  Its history is not
/// counted: it is bounded per row by its ten-minute window; nor are its
/// security lines (at most `SECURITY_LINES` short lines).
fn row_bytes(p: &Proc) -> usize {
    ROW_OVERHEAD + p.heap_bytes() - p.history.heap_bytes() - p.security_heap_bytes()
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

    /// Room for `additional` more rows without growing the slab or the
    /// index on the way (a snapshot or a seek brings 10,000+ at once).
    pub fn reserve(&mut self, additional: usize) {
        let more = additional.saturating_sub(self.free.len());
        self.rows.reserve(more);
        self.sizes.reserve(more);
        self.index.reserve(additional);
    }

    /// Inserts or updates; returns the row id.
    pub fn upsert(&mut self, p: Proc) -> RowId {
        let size = row_bytes(&p);
        if let Some(id) = self.id_of(&p.key)
            && let Some(row) = self.get_mut(id)
        {
            row.update_from(p);
            self.resize(id, size);
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
            self.sizes.push(0);
            RowId::try_from(self.rows.len() - 1).unwrap_or(RowId::MAX)
        };
        self.resize(id, size);
        self.index.insert(key, id);
        id
    }

    /// Records that slot `id` now holds a row of `size` bytes.
    fn resize(&mut self, id: RowId, size: usize) {
        if let Some(old) = self.sizes.get_mut(id as usize) {
            self.bytes = self.bytes - *old + size;
            *old = size;
        }
    }

    pub fn remove(&mut self, id: RowId) -> Option<Proc> {
        let p = self.rows.get_mut(id as usize)?.take()?;
        self.resize(id, 0);
        self.index.remove(&p.key);
        self.free.push(id);
        Some(p)
    }

    /// Bytes the rows hold (their strings and per-row overhead).
    #[must_use]
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Exited rows dropped so far by [`shed`](Self::shed), plus those
    /// noted by [`note_dropped`](Self::note_dropped) (which may count a
    /// process twice: left out of two snapshots).
    #[must_use]
    pub fn dropped_early(&self) -> u64 {
        self.dropped_early
    }

    /// Counts exited processes left out before they became rows.
    pub fn note_dropped(&mut self, n: u64) {
        self.dropped_early += n;
    }

    /// Keeps the rows within `max_bytes` by dropping exited rows, the
    /// oldest exit first (down to seven eighths of it, so a storm does not
    /// make every insert scan the rows); live rows always stay.  Returns
    /// how many rows went.
    pub fn shed(&mut self, max_bytes: usize) -> usize {
        if self.bytes <= max_bytes {
            return 0;
        }
        let target = max_bytes - max_bytes / 8;
        // By when the console learnt of the exit: one clock for all hosts.
        let mut exited: Vec<(Option<std::time::Instant>, RowId)> = self
            .iter()
            .filter(|(_, p)| p.is_exited())
            .map(|(id, p)| (p.exited_at, id))
            .collect();
        exited.sort_unstable();
        let mut dropped = 0;
        for (_, id) in exited {
            if self.bytes <= target {
                break;
            }
            if self.remove(id).is_some() {
                dropped += 1;
            }
        }
        self.dropped_early += dropped as u64;
        dropped
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
#[expect(clippy::many_single_char_names, reason = "short names in tests")]
mod tests {
    use super::*;
    use crate::console::model::tests::proto;

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

    /// A storm of exited processes with 8 KiB command lines of one-byte
    /// arguments: the rows stay within the bound, exited rows go oldest
    /// first and are counted, live rows all stay.
    #[test]
    fn shed_bounds_bytes_with_exited_rows_only() {
        let max = 2 << 20;
        let mut s = Store::default();
        let argv: Vec<&str> = std::iter::repeat_n("a", 4091).collect();
        for pid in 1..=20 {
            s.upsert(Proc::from_proto(HostId(0), &proto(pid, 1, &argv)));
        }
        let live = s.bytes();
        let start = std::time::Instant::now();
        for pid in 100..400 {
            let mut p = Proc::from_proto(HostId(0), &proto(pid, 1, &argv));
            p.exit = Some(perch_proto::v1::Exit::default());
            p.exited_at = Some(start + std::time::Duration::from_millis(u64::from(pid)));
            s.upsert(p);
            s.shed(max);
            assert!(s.bytes() <= max, "{} bytes", s.bytes());
        }
        // A row holds its arguments and command line once each (8 KiB
        // apiece; the search text only once searched), not a block per
        // argument (200 KiB).
        assert!(
            (16 << 10..32 << 10).contains(&(live / 20)),
            "{} bytes a row",
            live / 20
        );
        let kept: Vec<u32> = s.iter().map(|(_, p)| p.key.pid).collect();
        assert!((1..=20).all(|pid| kept.contains(&pid)), "a live row went");
        let exited = kept.len() - 20;
        assert!(exited > 0 && exited < 300, "{exited} exited kept");
        assert_eq!(s.dropped_early(), 300 - exited as u64);
        // The newest exits are the ones kept.
        assert!(kept.contains(&399));
        assert!(!kept.contains(&100));
        // Live rows alone over the bound: nothing to drop, all stay.
        assert_eq!(s.shed(live / 2), exited);
        assert_eq!(s.len(), 20);
        assert_eq!(s.bytes(), live);
        s.remove_where(|_| true);
        assert_eq!(s.bytes(), 0);
    }
}
