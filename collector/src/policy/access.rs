//! What the policy registry needs to know about a policy of any type
//! (its type name, mode, `enabled`), kept apart from the parsing modules
//! so a new policy type adds one arm per accessor here.
use super::{Policy, trace::Mode};

/// A policy's `spec.mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PolicyMode {
    Audit,
    Enforce,
}

impl PolicyMode {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Audit => "audit",
            Self::Enforce => "enforce",
        }
    }
}

impl Policy {
    /// `metadata.type` as written in the document.
    #[must_use]
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Trace(_) => "trace",
            Self::Workload(p) => p.kind.doc_name(),
        }
    }

    #[must_use]
    pub fn mode(&self) -> PolicyMode {
        let mode = match self {
            Self::Trace(p) => p.mode,
            Self::Workload(p) => p.mode,
        };
        match mode {
            Mode::Audit => PolicyMode::Audit,
            Mode::Enforce => PolicyMode::Enforce,
        }
    }

    #[must_use]
    pub fn enabled(&self) -> bool {
        match self {
            Self::Trace(p) => p.enabled,
            Self::Workload(p) => p.enabled,
        }
    }

    pub fn set_enabled(&mut self, enabled: bool) {
        match self {
            Self::Trace(p) => p.enabled = enabled,
            Self::Workload(p) => p.set_enabled(enabled),
        }
    }

    /// The policy as its consumers should run it: a dry run acts on
    /// nothing, so it is handed over in audit mode (it only logs).
    #[must_use]
    pub fn as_run(&self, dry_run: bool) -> Self {
        let mut p = self.clone();
        if dry_run {
            match &mut p {
                Self::Trace(t) => t.mode = Mode::Audit,
                Self::Workload(w) => w.set_mode(Mode::Audit),
            }
        }
        p
    }
}
