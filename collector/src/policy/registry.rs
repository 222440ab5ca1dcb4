//! The policies in force: perchd's one copy of the policies directory,
//! loaded at start and changed by the Policies RPCs (apply, enable /
//! disable, delete), each change written to the directory first so it
//! survives a restart.  Consumers (the trace suppression of the detector)
//! take their policies from here after every change.
//!
//! Who applied a policy, when, and whether as a dry run are kept in a
//! `# perch:` comment line at the top of its file, outside the schema, so
//! the document stays a plain `SpyderbatPolicy`.
use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use super::{Policy, PolicyError, TracePolicy, WorkloadPolicy};

/// The comment line perchd keeps its bookkeeping in.
const META_PREFIX: &str = "# perch:";

/// One stored policy.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub policy: Policy,
    /// The file it is stored in.
    pub path: PathBuf,
    /// The file's text.
    pub yaml: String,
    /// Who applied it (empty: placed by hand).
    pub applied_by: String,
    /// When, Unix nanoseconds (0: unknown).
    pub applied_unix_ns: u64,
    /// Applied as a dry run: acts on nothing.
    pub dry_run: bool,
}

/// Why a change to a stored policy failed.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("name: no policy {0:?} (perch policy list shows them)")]
    NotFound(String),
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// The policies of one directory.
#[derive(Debug, Default)]
pub struct Registry {
    dir: PathBuf,
    entries: BTreeMap<String, Entry>,
    /// Files refused when the directory was read.
    errors: Vec<PolicyError>,
}

impl Registry {
    /// Every `*.yaml` of `dir`; a refused file is counted in `errors`
    /// (and logged), the others load.
    #[must_use]
    pub fn load(dir: &Path) -> Self {
        let (good, errors) = super::load_dir(dir);
        for e in &errors {
            tracing::warn!("policy refused: {e}");
        }
        let mut reg = Self {
            dir: dir.to_owned(),
            entries: BTreeMap::new(),
            errors,
        };
        for (path, policy) in good {
            let yaml = std::fs::read_to_string(&path).unwrap_or_default();
            reg.insert(entry(policy, path, yaml));
        }
        reg
    }

    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The policies in name order.
    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.entries.values()
    }

    #[must_use]
    pub fn get(&self, name: &str) -> Option<&Entry> {
        self.entries.get(name)
    }

    #[must_use]
    pub fn errors(&self) -> &[PolicyError] {
        &self.errors
    }

    /// The trace policies as the detector should run them (dry runs in
    /// audit mode; disabled ones select nothing).
    #[must_use]
    pub fn trace_policies(&self) -> Vec<TracePolicy> {
        self.entries
            .values()
            .filter_map(|e| match e.policy.as_run(e.dry_run) {
                Policy::Trace(t) => Some(t),
                Policy::Workload(_) => None,
            })
            .collect()
    }

    /// The workload policies in force, enabled ones only, each with
    /// whether it was applied as a dry run.
    #[must_use]
    pub fn workload_policies(&self) -> Vec<(std::sync::Arc<WorkloadPolicy>, bool)> {
        self.entries
            .values()
            .filter_map(|e| match &e.policy {
                Policy::Workload(w) if w.enabled => {
                    Some((std::sync::Arc::new((**w).clone()), e.dry_run))
                }
                _ => None,
            })
            .collect()
    }

    /// Stores `policy` as `<dir>/<name>.yaml` and puts it in force;
    /// returns the entry and whether one of that name was replaced.
    pub fn apply(
        &mut self,
        policy: Policy,
        dry_run: bool,
        by: &str,
        now_unix_ns: u64,
    ) -> Result<(Entry, bool), RegistryError> {
        let meta = format!(
            "{} applied-unix-ns={now_unix_ns} dry-run={dry_run} applied-by={by}",
            &META_PREFIX[2..]
        );
        let e = self.store(policy, &meta)?;
        let replaced = self.insert(e.clone());
        Ok((e, replaced))
    }

    /// Rewrites `enabled:` in the stored document.
    pub fn set_enabled(&mut self, name: &str, enabled: bool) -> Result<Entry, RegistryError> {
        let old = self
            .entries
            .get(name)
            .ok_or_else(|| RegistryError::NotFound(name.to_owned()))?;
        let mut policy = old.policy.clone();
        policy.set_enabled(enabled);
        let meta = old
            .yaml
            .lines()
            .find(|l| l.starts_with(META_PREFIX))
            .map_or_else(String::new, |l| l[2..].to_owned());
        let e = self.store(policy, &meta)?;
        self.insert(e.clone());
        Ok(e)
    }

    /// Removes the policy and its file; returns the file's path.
    pub fn delete(&mut self, name: &str) -> Result<PathBuf, RegistryError> {
        let path = self
            .entries
            .get(name)
            .map(|e| e.path.clone())
            .ok_or_else(|| RegistryError::NotFound(name.to_owned()))?;
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(RegistryError::Io {
                    path: path.display().to_string(),
                    source,
                });
            }
        }
        self.entries.remove(name);
        Ok(path)
    }

    /// Takes in a policy another path wrote into the directory (a trace
    /// suppression), so the next change does not drop it.
    pub fn adopt(&mut self, path: &Path) {
        match super::load(path) {
            Ok(p) => {
                let yaml = std::fs::read_to_string(path).unwrap_or_default();
                self.insert(entry(p, path.to_owned(), yaml));
            }
            Err(e) => tracing::warn!("policy refused: {e}"),
        }
    }

    fn store(&self, policy: Policy, meta: &str) -> Result<Entry, RegistryError> {
        let path = super::write(&self.dir, &policy, meta).map_err(|source| RegistryError::Io {
            path: self.dir.display().to_string(),
            source,
        })?;
        let yaml = policy.to_yaml(meta);
        Ok(entry(policy, path, yaml))
    }

    fn insert(&mut self, e: Entry) -> bool {
        self.entries.insert(e.policy.name().to_owned(), e).is_some()
    }
}

/// An entry, its bookkeeping read back from the `# perch:` line.
fn entry(policy: Policy, path: PathBuf, yaml: String) -> Entry {
    let mut e = Entry {
        policy,
        path,
        yaml,
        applied_by: String::new(),
        applied_unix_ns: 0,
        dry_run: false,
    };
    if let Some(meta) = e.yaml.lines().find_map(|l| l.strip_prefix(META_PREFIX)) {
        let meta = meta.trim().to_owned();
        // applied-by comes last: a user name may hold spaces.
        let (head, by) = meta.split_once("applied-by=").unwrap_or((&meta, ""));
        by.trim().clone_into(&mut e.applied_by);
        for kv in head.split_whitespace() {
            match kv.split_once('=') {
                Some(("applied-unix-ns", v)) => e.applied_unix_ns = v.parse().unwrap_or(0),
                Some(("dry-run", v)) => e.dry_run = v == "true",
                _ => {}
            }
        }
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "apiVersion: spyderbat/v1\nkind: SpyderbatPolicy\nmetadata:\n  name: p1\n  type: trace\nspec:\n  traceSelector:\n    triggerClass: [proc/exec/tmp]\n  mode: audit\n  enabled: true\n";

    #[test]
    fn apply_disable_delete_round_trip_through_the_directory() {
        let dir = std::env::temp_dir().join(format!("perch-reg-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut reg = Registry::load(&dir);
        let p = super::super::parse("x", DOC).unwrap();
        let (e, replaced) = reg.apply(p, true, "alice smith", 42).unwrap();
        assert!(!replaced);
        assert_eq!(
            (e.applied_by.as_str(), e.applied_unix_ns, e.dry_run),
            ("alice smith", 42, true)
        );
        let again = Registry::load(&dir);
        assert_eq!(again.get("p1"), Some(&e));
        let d = reg.set_enabled("p1", false).unwrap();
        assert!(!d.policy.enabled() && d.dry_run && d.applied_by == "alice smith");
        let text = std::fs::read_to_string(dir.join("p1.yaml")).unwrap();
        assert!(text.contains("enabled: false"), "{text}");
        assert!(matches!(
            reg.set_enabled("nope", true),
            Err(RegistryError::NotFound(_))
        ));
        assert_eq!(reg.trace_policies().len(), 1);
        reg.delete("p1").unwrap();
        assert!(!dir.join("p1.yaml").exists());
        assert!(reg.trace_policies().is_empty());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
