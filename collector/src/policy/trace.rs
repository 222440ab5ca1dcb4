//! Trace suppression policies (`metadata.type: trace`): a trace shape, by
//! its trigger's class and ancestors and its users, whose traces are
//! suppressed and whose flags of the allowed classes are excepted.
//!
//! ```yaml
//! apiVersion: spyderbat/v1
//! kind: SpyderbatPolicy
//! metadata:
//!   name: suppress-tmp-exe-from-bash
//!   type: trace
//! spec:
//!   traceSelector:
//!     triggerClass: [proc/exec/tmp]
//!     triggerAncestors: [bash/sshd/systemd]
//!   userSelector:
//!     users: [root]
//!   allowedFlags:
//!     - class: proc/exec/tmp
//!   mode: enforce
//!   enabled: true
//! ```
//!
//! A flag's class is its rule's `class` list joined by `/`; a trace's
//! trigger ancestors are the trigger process's ancestor names, nearest
//! first, joined by `/`.  Values are globs (`*`, `?`).  Every user of the
//! trace must match `users` when it is given.  `mode: audit` only logs
//! what would be suppressed.
use std::fmt::Write as _;

use serde::Deserialize;

use super::{PolicyError, err, glob, line_of, quote, yaml_error};

#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    #[default]
    Enforce,
    Audit,
}

#[derive(Clone, Debug, PartialEq)]
pub struct TracePolicy {
    pub name: String,
    pub trigger_class: Vec<String>,
    pub trigger_ancestors: Vec<String>,
    pub users: Vec<String>,
    pub allowed_flags: Vec<String>,
    pub mode: Mode,
    pub enabled: bool,
    /// `metadata.createdBy`: who asked for it (empty: not written).
    pub created_by: String,
    /// `metadata.creationTimestamp`, Unix seconds.
    pub creation_timestamp: Option<f64>,
}

/// The facts of a trace a policy selects on.
#[derive(Clone, Copy, Debug)]
pub struct TraceShape<'a> {
    /// The trigger flag's class path.
    pub trigger_class: &'a str,
    /// The trigger's ancestors joined by `/`.
    pub trigger_ancestors: &'a str,
    pub users: &'a [String],
}

impl TracePolicy {
    /// Whether the policy, enabled and enforcing, selects `t`.
    #[must_use]
    pub fn selects(&self, t: &TraceShape<'_>) -> bool {
        let any = |pats: &[String], v: &str| pats.is_empty() || pats.iter().any(|p| glob(p, v));
        self.enabled
            && any(&self.trigger_class, t.trigger_class)
            && any(&self.trigger_ancestors, t.trigger_ancestors)
            && (self.users.is_empty() || t.users.iter().all(|u| any(&self.users, u)))
    }

    /// Whether a flag of class path `class` is allowed (excepted) in a
    /// trace the policy selects.
    #[must_use]
    pub fn allows(&self, class: &str) -> bool {
        self.allowed_flags.iter().any(|p| glob(p, class))
    }

    /// The document, as perchd writes it; `comment` (the reason given)
    /// goes in a `#` line at the top, outside the schema.
    #[must_use]
    pub fn to_yaml(&self, comment: &str) -> String {
        let list = |v: &[String]| {
            let items: Vec<String> = v.iter().map(|s| quote(s)).collect();
            format!("[{}]", items.join(", "))
        };
        let mut out = String::new();
        for l in comment.lines() {
            let _ = writeln!(out, "# {l}");
        }
        let _ = writeln!(
            out,
            "apiVersion: spyderbat/v1\nkind: SpyderbatPolicy\nmetadata:\n  name: {}\n  type: trace",
            quote(&self.name)
        );
        if !self.created_by.is_empty() {
            let _ = writeln!(out, "  createdBy: {}", quote(&self.created_by));
        }
        if let Some(t) = self.creation_timestamp {
            let _ = writeln!(out, "  creationTimestamp: {t}");
        }
        out.push_str("spec:\n  traceSelector:\n");
        let _ = writeln!(out, "    triggerClass: {}", list(&self.trigger_class));
        let _ = writeln!(
            out,
            "    triggerAncestors: {}",
            list(&self.trigger_ancestors)
        );
        let _ = writeln!(out, "  userSelector:\n    users: {}", list(&self.users));
        out.push_str("  allowedFlags:\n");
        for c in &self.allowed_flags {
            let _ = writeln!(out, "    - class: {}", quote(c));
        }
        if self.allowed_flags.is_empty() {
            out.push_str("    []\n");
        }
        let mode = match self.mode {
            Mode::Enforce => "enforce",
            Mode::Audit => "audit",
        };
        let _ = writeln!(out, "  mode: {mode}\n  enabled: {}", self.enabled);
        out
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Doc {
    #[serde(rename = "apiVersion")]
    _api_version: String,
    #[serde(rename = "kind")]
    _kind: String,
    metadata: Metadata,
    spec: Spec,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Metadata {
    name: String,
    #[serde(rename = "type")]
    _type: String,
    #[serde(default)]
    created_by: String,
    #[serde(default)]
    creation_timestamp: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Spec {
    #[serde(default)]
    trace_selector: TraceSelector,
    #[serde(default)]
    user_selector: UserSelector,
    #[serde(default)]
    allowed_flags: Vec<AllowedFlag>,
    mode: Mode,
    #[serde(default = "yes")]
    enabled: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct TraceSelector {
    #[serde(default)]
    trigger_class: Vec<String>,
    #[serde(default)]
    trigger_ancestors: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct UserSelector {
    #[serde(default)]
    users: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AllowedFlag {
    class: String,
}

/// Longest policy name: it is also a file name.
pub const MAX_NAME: usize = 128;

/// A policy name: it is also its file's name.
pub(crate) fn check_name(file: &str, line: u64, name: &str) -> Result<(), PolicyError> {
    if name.is_empty()
        || name.len() > MAX_NAME
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(err(
            file,
            line,
            "metadata.name",
            &format!("{name:?}: 1..={MAX_NAME} characters of letters, digits, '-', '_', '.'"),
        ));
    }
    Ok(())
}

pub fn parse(file: &str, text: &str) -> Result<TracePolicy, PolicyError> {
    let d: Doc = serde_saphyr::from_str(text).map_err(|e| yaml_error(file, text, &e))?;
    let name = d.metadata.name;
    check_name(file, line_of(text, "name"), &name)?;
    if d.spec.trace_selector.trigger_class.is_empty()
        && d.spec.trace_selector.trigger_ancestors.is_empty()
    {
        return Err(err(
            file,
            line_of(text, "spec"),
            "spec.traceSelector",
            "needs triggerClass or triggerAncestors (a policy for every trace is refused)",
        ));
    }
    Ok(TracePolicy {
        name,
        trigger_class: d.spec.trace_selector.trigger_class,
        trigger_ancestors: d.spec.trace_selector.trigger_ancestors,
        users: d.spec.user_selector.users,
        allowed_flags: d.spec.allowed_flags.into_iter().map(|f| f.class).collect(),
        mode: d.spec.mode,
        enabled: d.spec.enabled,
        created_by: d.metadata.created_by,
        creation_timestamp: d.metadata.creation_timestamp,
    })
}
