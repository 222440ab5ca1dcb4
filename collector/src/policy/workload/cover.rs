//! Coverage: where a process sits in a workload policy's tree, for any
//! process record ([`Proc`]: perchd's live model, or the stored history
//! `perch policy test` and `learn` read).  A process's chain is its
//! ancestors inside the policy's scope, topmost first, the process last;
//! each link must be admitted by a node under the previous link's node.
//! A fork that did not exec (same name and executable as its parent) is
//! the same program and is folded into its parent, when judging and when
//! learning alike, so a forking server matches the tree learned from it.
use std::borrow::Cow;

use perch_proto::v1 as pb;

use super::{
    Kind, ProcNode, WorkloadPolicy,
    select::{SelKind, Subject, all_match},
};

/// What coverage needs to know about a process.
pub trait Proc {
    fn key(&self) -> pb::ProcessKey;
    fn comm(&self) -> &str;
    /// The executable's path.
    fn exe(&self) -> &str;
    /// The effective user's name (its number when it has none).
    fn euser(&self) -> String;
    fn kernel_thread(&self) -> bool;
    /// The cgroup path in the cgroup2 tree.
    fn cgroup_path(&self) -> Option<&str>;
    fn container_id(&self) -> Option<&str>;
}

impl Proc for pb::Process {
    fn key(&self) -> pb::ProcessKey {
        self.key.unwrap_or_default()
    }
    fn comm(&self) -> &str {
        &self.comm
    }
    fn exe(&self) -> &str {
        self.executable
            .as_ref()
            .map(|e| e.path.as_str())
            .filter(|p| !p.is_empty())
            .unwrap_or(&self.exe)
    }
    fn euser(&self) -> String {
        if self.user.is_empty() {
            self.euid.to_string()
        } else {
            self.user.clone()
        }
    }
    fn kernel_thread(&self) -> bool {
        self.kernel_thread
    }
    fn cgroup_path(&self) -> Option<&str> {
        Some(self.cgroup_path.as_str()).filter(|p| !p.is_empty())
    }
    fn container_id(&self) -> Option<&str> {
        Some(self.container_id.as_str()).filter(|p| !p.is_empty())
    }
}

/// A process's facts as selectors see them.
pub struct Facts<'a, P: Proc + ?Sized> {
    pub p: &'a P,
    pub host: &'a str,
}

impl<P: Proc + ?Sized> Subject for Facts<'_, P> {
    fn value(&self, kind: SelKind, field: &str) -> Option<Cow<'_, str>> {
        let p = self.p;
        match (kind, field) {
            (SelKind::Container, "containerID") => p.container_id().map(Cow::Borrowed),
            (SelKind::Service, "cgroup") => p.cgroup_path().map(Cow::Borrowed),
            (SelKind::Service, "name") => p
                .cgroup_path()
                .and_then(|c| c.rsplit('/').next())
                .map(Cow::Borrowed),
            (SelKind::Machine, "hostname" | "sourceName") => Some(Cow::Borrowed(self.host)),
            (SelKind::Process, "name") => Some(Cow::Borrowed(p.comm())),
            (SelKind::Process, "exe") => Some(Cow::Borrowed(p.exe())),
            (SelKind::Process, "euser") => Some(Cow::Owned(p.euser())),
            // Container names, images, pod and namespace labels come with
            // the runtime and Kubernetes names: absent until then.
            _ => None,
        }
    }
}

/// Whether `p` is in the policy's scope (its selectors hold).
#[must_use]
pub fn in_scope<P: Proc + ?Sized>(policy: &WorkloadPolicy, p: &P, host: &str) -> bool {
    !p.kernel_thread() && all_match(&policy.select, &Facts { p, host })
}

/// `p`'s chain in the policy's scope, topmost first, `p` last, from its
/// `ancestors` (nearest first, asked only when `p` is in the scope: most
/// processes are outside most policies); `None` when `p` is outside it.
#[must_use]
pub fn chain<'m, P: Proc>(
    policy: &WorkloadPolicy,
    p: &'m P,
    ancestors: impl FnOnce() -> Vec<&'m P>,
    host: &str,
) -> Option<Vec<&'m P>> {
    if !in_scope(policy, p, host) {
        return None;
    }
    let ancestors = ancestors();
    let mut full: Vec<&P> = match policy.kind {
        Kind::Container | Kind::Service => ancestors
            .into_iter()
            .take_while(|a| in_scope(policy, *a, host))
            .collect(),
        Kind::Machine => ancestors,
    };
    full.reverse();
    full.push(p);
    if policy.kind == Kind::Machine {
        // The tree starts at the topmost process a root node names.
        let top = full.iter().position(|a| {
            policy
                .roots
                .iter()
                .any(|r| r.admits(a.comm(), a.exe(), "*"))
        })?;
        full.drain(..top);
    }
    Some(fold_forks(full))
}

/// Drops links that are forks of their parent (same name, executable).
#[must_use]
pub fn fold_forks<P: Proc>(chain: Vec<&P>) -> Vec<&P> {
    let mut out: Vec<&P> = Vec::with_capacity(chain.len());
    for p in chain {
        if out
            .last()
            .is_some_and(|q| q.comm() == p.comm() && q.exe() == p.exe())
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
pub fn place<'p, P: Proc>(policy: &'p WorkloadPolicy, chain: &[&P]) -> Place<'p> {
    let mut level: &[ProcNode] = &policy.roots;
    let mut anchor: Option<&ProcNode> = None;
    for (at, p) in chain.iter().enumerate() {
        let euser = p.euser();
        let Some(n) = level.iter().find(|n| n.admits(p.comm(), p.exe(), &euser)) else {
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

/// The process whose chain is `chain` (`None`: outside the scope).
#[must_use]
pub fn found<'p, P: Proc>(policy: &'p WorkloadPolicy, chain: Option<&[&P]>) -> Found<'p> {
    let Some(c) = chain else {
        return Found::Outside;
    };
    match place(policy, c) {
        Place::Covered(n) => Found::Node(n),
        Place::Uncovered { .. } => Found::Uncovered,
    }
}
