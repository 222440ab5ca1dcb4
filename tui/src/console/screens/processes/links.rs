//! The parent chain and children of the selected process, for the detail
//! view: through the exited ancestors perchd keeps, ending at a root or
//! saying where it is unknown.
use std::collections::HashSet;

use super::Processes;
use crate::console::model::{ProcessKey, Store};

/// How a chain of parents ends above its last known member.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Above {
    /// At a root: pid 1, kthreadd, a process without a parent.
    #[default]
    Root,
    /// perchd did not see it start and found it under a reaper (this pid):
    /// who forked it is not known.
    Unknown { found_under: Option<u32> },
    /// The parent (this pid) is not in the console's model any more.
    Gone { pid: u32 },
}

/// The parent chain and children of the process in the detail view.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Links {
    /// Nearest first, up to the root (pid 1 on a normal host), through
    /// exited ancestors perchd keeps while their descendants live.
    pub parents: Vec<ProcessKey>,
    /// By pid.
    pub children: Vec<ProcessKey>,
    /// How the chain ends above the last parent.
    pub above: Above,
}

impl Links {
    /// Parents then children: what the detail cursor moves over.
    #[must_use]
    pub fn get(&self, i: usize) -> Option<ProcessKey> {
        self.parents
            .get(i)
            .or_else(|| self.children.get(i.checked_sub(self.parents.len())?))
            .copied()
    }

    #[must_use]
    pub fn len(&self) -> usize {
        self.parents.len() + self.children.len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Processes {
    /// Parents and children of the selected process.
    #[must_use]
    pub fn links(&self, store: &Store) -> Links {
        let Some(sel) = self.selected(store) else {
            return Links::default();
        };
        let live = store.live_by_pid();
        let mut parents = Vec::new();
        let mut seen = HashSet::from([sel.key]);
        let mut cur = sel;
        while let Some(pid) = store.parent_of(cur, &live)
            && let Some(p) = store.get(pid)
            && seen.insert(p.key)
        {
            parents.push(p.key);
            cur = p;
        }
        let above = if cur.parent_unknown {
            Above::Unknown {
                found_under: cur.reaper.map(|k| k.pid),
            }
        } else if cur.ppid != 0 && cur.ppid != cur.key.pid && store.parent_of(cur, &live).is_none() {
            Above::Gone { pid: cur.ppid }
        } else {
            Above::Root
        };
        let sel_id = store.id_of(&sel.key);
        let mut children: Vec<ProcessKey> = store
            .iter()
            .filter(|(id, p)| Some(*id) != sel_id && store.parent_of(p, &live) == sel_id)
            .map(|(_, p)| p.key)
            .collect();
        children.sort_unstable_by_key(|k| (k.pid, k.start_tick));
        Links {
            parents,
            children,
            above,
        }
    }

    /// The detail view jumped to `key`: select it and unfold its parents so
    /// the list behind shows it.
    pub fn jump_to(&mut self, key: ProcessKey, store: &Store) {
        self.selected = Some(key);
        self.selected_thread = None;
        for k in self.links(store).parents {
            self.collapsed.remove(&k);
        }
        self.dirty = true;
    }

}
