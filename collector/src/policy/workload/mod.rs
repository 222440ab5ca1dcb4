//! Workload policies (`metadata.type: container | linux-service |
//! machine`): what a workload may run (`spec.processPolicy`, a tree of
//! allowed processes by ancestry, name, executable and effective user,
//! with the ports each may listen on), whom it may talk to
//! (`spec.networkPolicy`), and what to do on a deviation
//! (`spec.response`), in `audit` or `enforce` mode.
//!
//! The scope of each type: a `container` policy covers the processes of
//! the containers its `containerSelector` picks, a `linux-service` policy
//! those of the cgroups its `serviceSelector` picks (`cgroup:
//! systemd:/system.slice/redis.service`, the `systemd:` prefix optional),
//! and a `machine` policy the process trees, anywhere on the machines its
//! `machineSelector` picks, whose root process matches one of its root
//! nodes (a binary's own workload: `perch policy learn --exe`).
pub mod action;
mod compile;
mod compile_net;
pub mod cover;
pub mod deviation;
pub mod merge;
pub mod net;
pub mod raw;
pub mod select;
#[cfg(test)]
mod tests;

pub use action::{Action, ResponseItem};
use net::{NetRule, PortRange};
use select::Selector;

use super::{PolicyError, trace::Mode, yaml_error};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Container,
    Service,
    Machine,
}

impl Kind {
    /// `metadata.type` as written.
    #[must_use]
    pub fn doc_name(self) -> &'static str {
        match self {
            Self::Container => "container",
            Self::Service => "linux-service",
            Self::Machine => "machine",
        }
    }
}

/// The `disable*` switches: `[ingress, egress]` for each class of peer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Disable {
    pub processes: bool,
    pub all: [bool; 2],
    pub private: [bool; 2],
    pub public: [bool; 2],
}

/// One node of the process tree.  `euser` is the effective one: a node
/// without its own inherits its parent's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcNode {
    pub id: String,
    pub name: String,
    pub exe: Vec<String>,
    pub euser: Vec<String>,
    pub listening: Vec<PortRange>,
    pub children: Vec<ProcNode>,
}

impl ProcNode {
    /// Whether a process named `name`, running `exe` as `euser`, is this
    /// node (names and executables are globs; a node matches an
    /// executable by full path or, for a pattern without `/`, by its base
    /// name).
    #[must_use]
    pub fn admits(&self, name: &str, exe: &str, euser: &str) -> bool {
        let exe = exe.strip_suffix(" (deleted)").unwrap_or(exe);
        let base = exe.rsplit('/').next().unwrap_or(exe);
        super::glob(&self.name, name)
            && self
                .exe
                .iter()
                .any(|g| super::glob(g, exe) || (!g.contains('/') && super::glob(g, base)))
            && self.euser.iter().any(|g| super::glob(g, euser))
    }

    /// The node with id `id` in this subtree.
    #[must_use]
    pub fn find(&self, id: &str) -> Option<&ProcNode> {
        if self.id == id {
            return Some(self);
        }
        self.children.iter().find_map(|c| c.find(id))
    }
}

/// `name` as a node id's stem: letters, digits and `-` kept, the rest `_`
/// (`python3.11` -> `python3_11`).
#[must_use]
pub fn id_base(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The first id `<base>_<n>` (n from 0) that `taken` does not hold: Spyderbat's
/// node ids.
#[must_use]
pub fn fresh_id(base: &str, taken: impl Fn(&str) -> bool) -> String {
    let mut n = 0_u64;
    loop {
        let id = format!("{base}_{n}");
        if !taken(&id) {
            return id;
        }
        n += 1;
    }
}

/// A workload policy as perchd runs it; `doc` is the document it came
/// from (what `perch policy list` and the files show).
#[derive(Clone, Debug)]
pub struct WorkloadPolicy {
    pub name: String,
    pub kind: Kind,
    pub mode: Mode,
    pub enabled: bool,
    /// The scope: every selector holds for a process of the workload.
    pub select: Vec<Selector>,
    pub disable: Disable,
    pub roots: Vec<ProcNode>,
    pub ingress: Vec<NetRule>,
    pub egress: Vec<NetRule>,
    pub default: Vec<ResponseItem>,
    pub actions: Vec<ResponseItem>,
    pub doc: raw::Doc,
}

impl PartialEq for WorkloadPolicy {
    fn eq(&self, other: &Self) -> bool {
        self.to_yaml("") == other.to_yaml("")
    }
}

impl WorkloadPolicy {
    /// The node with id `id`.
    #[must_use]
    pub fn node(&self, id: &str) -> Option<&ProcNode> {
        self.roots.iter().find_map(|r| r.find(id))
    }

    /// The document as YAML with `comment` lines on top.
    #[must_use]
    pub fn to_yaml(&self, comment: &str) -> String {
        let mut out = String::new();
        for l in comment.lines() {
            out.push_str("# ");
            out.push_str(l);
            out.push('\n');
        }
        out.push_str(&serde_saphyr::to_string(&self.doc).unwrap_or_default());
        out
    }

    pub fn set_enabled(&mut self, enabled: bool) {
        self.enabled = enabled;
        self.doc.spec.enabled = Some(enabled);
    }

    pub fn set_mode(&mut self, mode: Mode) {
        self.mode = mode;
        let text = match mode {
            Mode::Audit => "audit",
            Mode::Enforce => "enforce",
        };
        text.clone_into(&mut self.doc.spec.mode.value);
    }
}

/// Parses and checks one workload policy document.
pub fn parse(file: &str, text: &str) -> Result<WorkloadPolicy, PolicyError> {
    let doc: raw::Doc = serde_saphyr::from_str(text).map_err(|e| yaml_error(file, text, &e))?;
    compile::compile(file, doc)
}

/// Checks a document built in memory (learned, merged) as a file would be.
pub fn from_doc(doc: &raw::Doc) -> Result<WorkloadPolicy, PolicyError> {
    let text = serde_saphyr::to_string(doc).unwrap_or_default();
    parse("(generated)", &text)
}
