//! How many processes an action would hit, by the console's own model: the
//! target's live descendants, its process group, its pod on that host.
//! Only exited-or-not is trusted here; perchd decides what it really hits
//! and says so in the result.
use std::collections::HashMap;

use perch_proto::v1::ActionKind;

use crate::console::model::{FxBuild, ProcessKey, RowId, Store};

/// Counts for one target, each including the target itself.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Hits {
    pub tree: usize,
    pub group: usize,
    pub pod: usize,
}

impl Hits {
    /// Counts for `key`; all zero when the console does not know it.
    #[must_use]
    pub fn of(store: &Store, key: &ProcessKey) -> Hits {
        let Some(target) = store.by_key(key) else {
            return Hits::default();
        };
        let live = store.live_by_pid();
        let same_host = |p: &&crate::console::model::Proc| p.key.host == key.host && !p.is_exited();
        let group = if target.pgid == 0 {
            1
        } else {
            store
                .iter()
                .map(|(_, p)| p)
                .filter(same_host)
                .filter(|p| p.pgid == target.pgid)
                .count()
                .max(1)
        };
        let pod = if target.pod_uid.is_empty() {
            0
        } else {
            store
                .iter()
                .map(|(_, p)| p)
                .filter(same_host)
                .filter(|p| p.pod_uid == target.pod_uid)
                .count()
                .max(1)
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
        let mut tree = 0;
        let mut seen = std::collections::HashSet::<RowId, FxBuild>::default();
        let mut stack: Vec<RowId> = store.id_of(key).into_iter().collect();
        while let Some(id) = stack.pop() {
            if !seen.insert(id) {
                continue;
            }
            tree += 1;
            stack.extend(kids.get(&id).into_iter().flatten().copied());
        }
        Hits { tree, group, pod }
    }

    /// Processes an action of `kind` would hit.
    #[must_use]
    pub fn count(&self, kind: ActionKind) -> usize {
        match kind {
            ActionKind::KillTree | ActionKind::FreezeTree | ActionKind::ThawTree => self.tree,
            ActionKind::KillGroup => self.group,
            ActionKind::KillPod | ActionKind::FreezePod | ActionKind::ThawPod => self.pod,
            ActionKind::Kill | ActionKind::Renice | ActionKind::Unspecified => 1,
        }
    }
}
