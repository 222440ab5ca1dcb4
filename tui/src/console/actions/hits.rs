//! Which processes an action would hit, by the console's own model: the
//! target's live descendants, its process group, its pod on that host.
//! Only exited-or-not is trusted here; perchd decides what it really hits
//! and says so in the result (a dry run lists its own resolution).
use std::collections::{HashMap, HashSet};

use perch_proto::v1::ActionKind;

use crate::console::model::{FxBuild, Proc, ProcessKey, RowId, Store};

/// The processes each kind of action would hit, target first, then by pid.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Hits {
    pub tree: Vec<RowId>,
    pub group: Vec<RowId>,
    pub pod: Vec<RowId>,
}

impl Hits {
    /// The lists for `key`; all empty when the console does not know it.
    #[must_use]
    pub fn of(store: &Store, key: &ProcessKey) -> Hits {
        let Some(target_id) = store.id_of(key) else {
            return Hits::default();
        };
        let Some(target) = store.get(target_id) else {
            return Hits::default();
        };
        let live = store.live_by_pid();
        let same_host = |p: &&Proc| p.key.host == key.host && !p.is_exited();
        let members = |pick: &dyn Fn(&Proc) -> bool| -> Vec<RowId> {
            let mut ids: Vec<RowId> = store
                .iter()
                .filter(|(_, p)| same_host(p) && pick(p))
                .map(|(id, _)| id)
                .collect();
            sort_target_first(store, target_id, &mut ids);
            ids
        };
        let group = if target.pgid == 0 {
            vec![target_id]
        } else {
            members(&|p| p.pgid == target.pgid)
        };
        let pod = if target.pod_uid.is_empty() {
            Vec::new()
        } else {
            members(&|p| p.pod_uid == target.pod_uid)
        };
        // Children lists of live rows, then a walk down from the target.
        let mut kids: HashMap<RowId, Vec<RowId>, FxBuild> = HashMap::default();
        for (id, p) in store.iter().filter(|(_, p)| !p.is_exited()) {
            if let Some(parent) = store.parent_of(p, &live)
                && parent != id
            {
                kids.entry(parent).or_default().push(id);
            }
        }
        let mut tree = Vec::new();
        let mut seen = HashSet::<RowId, FxBuild>::default();
        let mut stack = vec![target_id];
        while let Some(id) = stack.pop() {
            if !seen.insert(id) {
                continue;
            }
            tree.push(id);
            stack.extend(kids.get(&id).into_iter().flatten().copied());
        }
        sort_target_first(store, target_id, &mut tree);
        Hits {
            tree,
            group: if group.is_empty() {
                vec![target_id]
            } else {
                group
            },
            pod,
        }
    }

    /// The processes an action of `kind` would hit.
    #[must_use]
    pub fn members(&self, kind: ActionKind) -> &[RowId] {
        match kind {
            ActionKind::KillTree | ActionKind::FreezeTree | ActionKind::ThawTree => &self.tree,
            ActionKind::KillGroup => &self.group,
            ActionKind::KillPod | ActionKind::FreezePod | ActionKind::ThawPod => &self.pod,
            ActionKind::Kill | ActionKind::Renice | ActionKind::Unspecified => {
                self.tree.get(..1).unwrap_or(&[])
            }
            // A trace suppression or a policy change touches no process.
            ActionKind::SuppressTrace | ActionKind::PolicyChange => &[],
        }
    }

    /// How many processes an action of `kind` would hit.
    #[must_use]
    pub fn count(&self, kind: ActionKind) -> usize {
        match kind {
            ActionKind::Kill | ActionKind::Renice | ActionKind::Unspecified => 1,
            _ => self.members(kind).len(),
        }
    }

    /// True when any process an action of `kind` would hit is frozen.
    #[must_use]
    pub fn any_frozen(&self, store: &Store, kind: ActionKind) -> bool {
        self.members(kind)
            .iter()
            .filter_map(|id| store.get(*id))
            .any(|p| p.frozen)
    }
}

/// The target first, the rest by pid.
fn sort_target_first(store: &Store, target: RowId, ids: &mut [RowId]) {
    ids.sort_by_key(|id| (*id != target, store.get(*id).map_or(0, |p| p.key.pid)));
}
