//! Which cgroups are frozen (cgroup v2 `cgroup.freeze`, set on the cgroup
//! or an ancestor: its `cgroup.events` says `frozen 1`).  A frozen process
//! runs no code although /proc shows it sleeping or running, so the model
//! marks it.
//!
//! Read cheaply: each pass reads the `cgroup.events` of the cgroups found
//! frozen before (to see them thawed); every cgroup holding live processes
//! is looked at only every [`FULL_EVERY`] passes, and on the pass after an
//! action froze or thawed something.  A freeze made outside perchd (docker
//! pause, a hand-written cgroup.freeze) shows within `FULL_EVERY` samples.
use std::collections::HashSet;
use std::fs;
use std::path::PathBuf;

/// Passes between two looks at every cgroup.
pub const FULL_EVERY: u64 = 10;

#[derive(Debug)]
pub struct FrozenCgroups {
    /// The cgroup2 mount.
    root: PathBuf,
    /// Paths below the mount (`/system.slice/x.service`) seen frozen.
    frozen: HashSet<String>,
    pass: u64,
    look_all: bool,
}

impl FrozenCgroups {
    #[must_use]
    pub fn new(root: PathBuf) -> Self {
        Self {
            root,
            frozen: HashSet::new(),
            pass: 0,
            // The first pass looks at everything.
            look_all: true,
        }
    }

    /// Look at every cgroup on the next pass: something was frozen or
    /// thawed.
    pub fn look_again(&mut self) {
        self.look_all = true;
    }

    /// Starts a pass; true when it should look at every cgroup (the caller
    /// then passes them all to [`FrozenCgroups::read`]).
    pub fn full_pass(&mut self) -> bool {
        self.pass = self.pass.wrapping_add(1);
        let full = self.look_all || self.pass.is_multiple_of(FULL_EVERY);
        self.look_all = false;
        full
    }

    /// Reads `cgroup.events` of `all` (a full pass) or of the cgroups seen
    /// frozen before; returns the frozen ones.
    pub fn read(&mut self, all: Option<&[String]>) -> &HashSet<String> {
        let paths: Vec<String> = match all {
            Some(all) => all.to_vec(),
            None => self.frozen.iter().cloned().collect(),
        };
        self.frozen = paths.into_iter().filter(|p| self.is_frozen(p)).collect();
        &self.frozen
    }

    /// The frozen paths as last read.
    #[must_use]
    pub fn frozen(&self) -> &HashSet<String> {
        &self.frozen
    }

    fn is_frozen(&self, rel: &str) -> bool {
        let rel = rel.trim_start_matches('/');
        // The root has no cgroup.events (and cannot be frozen); a path
        // leaving the mount is not one of ours.
        if rel.is_empty() || rel.split('/').any(|c| c == "..") {
            return false;
        }
        fs::read_to_string(self.root.join(rel).join("cgroup.events"))
            .is_ok_and(|text| text.lines().any(|l| l.trim() == "frozen 1"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_events_and_looks_at_all_only_now_and_then() {
        let dir = tempfile::tempdir().expect("tempdir");
        for (name, frozen) in [("a", 1), ("b", 0)] {
            let d = dir.path().join(name);
            fs::create_dir(&d).expect("mkdir");
            fs::write(
                d.join("cgroup.events"),
                format!("populated 1\nfrozen {frozen}\n"),
            )
            .expect("write");
        }
        let mut f = FrozenCgroups::new(dir.path().to_owned());
        let all = [
            "/a".to_owned(),
            "/b".to_owned(),
            "/".to_owned(),
            "/../x".to_owned(),
        ];
        assert!(f.full_pass(), "the first pass looks at everything");
        assert_eq!(f.read(Some(&all)).iter().collect::<Vec<_>>(), ["/a"]);
        assert!(!f.full_pass());
        // Thawed: seen on the next pass, which reads only /a.
        fs::write(dir.path().join("a/cgroup.events"), "frozen 0\n").expect("write");
        assert!(f.read(None).is_empty());
        f.look_again();
        assert!(f.full_pass());
        let full = (2..=FULL_EVERY).filter(|_| f.full_pass()).count();
        assert_eq!(full, 1, "one full pass every {FULL_EVERY}");
    }
}
