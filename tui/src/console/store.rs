//! All rows of all hosts in one slab, indexed by [`ProcessKey`], with the
//! parent lookups the tree and the detail view need.
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
}
