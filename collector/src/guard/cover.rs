//! Coverage: where a process sits in a workload policy's tree.  The
//! process's chain is its ancestors inside the policy's scope, topmost
//! first, the process last; each link must be admitted by a node under the
//! previous link's node.  A fork that did not exec (same name and
//! executable as its parent) is the same program and is folded into its
//! parent, here and when learning, so a forking server matches its tree.
use crate::{
    detect::lineage::ancestry,
    model::{ProcessInfo, ProcessModel},
    policy::workload::{
        Kind, ProcNode, WorkloadPolicy,
        select::{SelKind, Subject, all_match},
    },
};

/// A process's facts as selectors see them.
pub struct Facts<'a> {
    pub p: &'a ProcessInfo,
    pub host: &'a str,
}

/// The executable: the real one when exec facts have it.
#[must_use]
pub fn exe_of(p: &ProcessInfo) -> &str {
    p.facts
        .as_deref()
        .map_or(p.exe.as_str(), |f| f.exe.path.as_str())
}

/// The effective user's name (its number when it has none).
#[must_use]
pub fn euser_of(p: &ProcessInfo) -> String {
    p.user
        .as_deref()
        .map_or_else(|| p.euid.to_string(), ToOwned::to_owned)
}

impl Subject for Facts<'_> {
    fn value(&self, kind: SelKind, field: &str) -> Option<String> {
        let cg = self.p.cgroup.as_deref();
        match (kind, field) {
            (SelKind::Container, "containerID") => cg.and_then(|c| c.container_id.clone()),
            (SelKind::Service, "cgroup") => cg.map(|c| c.path.clone()),
            (SelKind::Service, "name") => {
                cg.and_then(|c| c.path.rsplit('/').next().map(ToOwned::to_owned))
            }
            (SelKind::Machine, "hostname" | "sourceName") => Some(self.host.to_owned()),
            (SelKind::Process, "name") => Some(self.p.comm.clone()),
            (SelKind::Process, "exe") => Some(exe_of(self.p).to_owned()),
            (SelKind::Process, "euser") => Some(euser_of(self.p)),
            // Container names, images, pod and namespace labels come with
            // the runtime and Kubernetes names: absent until then.
            _ => None,
        }
    }
}

/// Whether `p` is in the policy's scope (its selectors hold).
#[must_use]
pub fn in_scope(policy: &WorkloadPolicy, p: &ProcessInfo, host: &str) -> bool {
    !p.kernel_thread && all_match(&policy.select, &Facts { p, host })
}

/// `p`'s chain in the policy's scope, topmost first, `p` last; `None` when
/// `p` is outside it.
#[must_use]
pub fn chain<'m>(
    policy: &WorkloadPolicy,
    model: &'m ProcessModel,
    p: &'m ProcessInfo,
    host: &str,
) -> Option<Vec<&'m ProcessInfo>> {
    if !in_scope(policy, p, host) {
        return None;
    }
    let up = ancestry(model, p);
    let mut full: Vec<&ProcessInfo> = match policy.kind {
        Kind::Container | Kind::Service => up
            .into_iter()
            .take_while(|a| in_scope(policy, a, host))
            .collect(),
        Kind::Machine => up,
    };
    full.reverse();
    full.push(p);
    if policy.kind == Kind::Machine {
        // The tree starts at the topmost process a root node names.
        let top = full.iter().position(|a| {
            policy.roots.iter().any(|r| {
                r.admits(&a.comm, exe_of(a), "*") || r.admits(&a.comm, exe_of(a), &euser_of(a))
            })
        })?;
        full.drain(..top);
    }
    Some(fold_forks(full))
}

/// Drops links that are forks of their parent (same name, executable).
#[must_use]
pub fn fold_forks(chain: Vec<&ProcessInfo>) -> Vec<&ProcessInfo> {
    let mut out: Vec<&ProcessInfo> = Vec::with_capacity(chain.len());
    for p in chain {
        if out
            .last()
            .is_some_and(|q| q.comm == p.comm && exe_of(q) == exe_of(p))
        {
            continue;
        }
        out.push(p);
    }
    out
}

/// Where a chain falls in the tree.
#[derive(Debug)]
pub enum Place<'p> {
    /// Every link admitted; the last one's node.
    Covered(&'p ProcNode),
    /// Link `at` (0: the top) is not admitted under `anchor` (`None`: no
    /// root admits the top).
    Uncovered {
        anchor: Option<&'p ProcNode>,
        at: usize,
    },
}

#[must_use]
pub fn place<'p>(policy: &'p WorkloadPolicy, chain: &[&ProcessInfo]) -> Place<'p> {
    let mut level: &[ProcNode] = &policy.roots;
    let mut anchor: Option<&ProcNode> = None;
    for (at, p) in chain.iter().enumerate() {
        let (exe, euser) = (exe_of(p), euser_of(p));
        let Some(n) = level.iter().find(|n| n.admits(&p.comm, exe, &euser)) else {
            return Place::Uncovered { anchor, at };
        };
        anchor = Some(n);
        level = &n.children;
    }
    match anchor {
        Some(n) => Place::Covered(n),
        None => Place::Uncovered {
            anchor: None,
            at: 0,
        },
    }
}

/// What a policy says about one process.
pub enum Found<'p> {
    /// Not in the policy's scope.
    Outside,
    /// In scope, not covered by its tree.
    Uncovered,
    /// In scope, at this node.
    Node(&'p ProcNode),
}

#[must_use]
pub fn node_of<'p>(
    policy: &'p WorkloadPolicy,
    model: &ProcessModel,
    p: &ProcessInfo,
    host: &str,
) -> Found<'p> {
    let Some(c) = chain(policy, model, p, host) else {
        return Found::Outside;
    };
    match place(policy, &c) {
        Place::Covered(n) => Found::Node(n),
        Place::Uncovered { .. } => Found::Uncovered,
    }
}
