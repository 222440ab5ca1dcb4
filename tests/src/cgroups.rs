//! cgroups a test makes under the cgroup2 mount: a guard that kills what
//! runs in them and removes them (also when an assertion fails), and the
//! shell line and files the tests read them with.
#![expect(
    clippy::panic,
    reason = "test support: a broken fixture or environment should fail the test loudly"
)]
use std::fs;
use std::path::{Path, PathBuf};
use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::procs::unique;

/// How long a dropped guard waits for its cgroups to empty.
const WAIT: Duration = Duration::from_secs(20);

fn wait_until(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while !check() {
        if Instant::now() >= deadline {
            return false;
        }
        sleep(Duration::from_millis(10));
    }
    true
}

/// Cgroups made under the cgroup2 mount for one test.  On drop every
/// process in them is killed (cgroup.kill) and the directories removed,
/// deepest first.
#[derive(Debug)]
pub struct Cgroups {
    root: PathBuf,
    created: Vec<PathBuf>,
}

impl Cgroups {
    /// A fresh top-level cgroup `perch-act-<tag>-...`.
    #[must_use]
    pub fn new(tag: &str) -> Self {
        let mount =
            perchd::proc::find_cgroup2_mount().unwrap_or_else(|| panic!("no cgroup2 mount"));
        let root = mount.join(unique(tag));
        fs::create_dir(&root).unwrap_or_else(|e| panic!("mkdir {}: {e}", root.display()));
        Self {
            created: vec![root.clone()],
            root,
        }
    }

    /// Makes `rel` (and missing parents) below this test's cgroup.
    pub fn make(&mut self, rel: &str) -> PathBuf {
        let mut dir = self.root.clone();
        for comp in rel.split('/') {
            dir.push(comp);
            if !dir.exists() {
                fs::create_dir(&dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
                self.created.push(dir.clone());
            }
        }
        dir
    }

    #[must_use]
    pub fn root(&self) -> &Path {
        &self.root
    }
}

/// `key` of `cgroup.events` in `dir` is 1.
#[must_use]
pub fn event(dir: &Path, key: &str) -> bool {
    fs::read_to_string(dir.join("cgroup.events"))
        .unwrap_or_default()
        .lines()
        .any(|l| l == format!("{key} 1"))
}

/// The pids directly in `dir`.
#[must_use]
pub fn procs_in(dir: &Path) -> Vec<u32> {
    let mut v: Vec<u32> = fs::read_to_string(dir.join("cgroup.procs"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    v.sort_unstable();
    v
}

impl Drop for Cgroups {
    fn drop(&mut self) {
        let _ = fs::write(self.root.join("cgroup.freeze"), "0");
        let _ = fs::write(self.root.join("cgroup.kill"), "1");
        wait_until(WAIT, || !event(&self.root, "populated"));
        for dir in self.created.iter().rev() {
            // A cgroup whose last process just died can be busy briefly.
            for _ in 0..200 {
                match fs::remove_dir(dir) {
                    Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {
                        sleep(Duration::from_millis(25));
                    }
                    _ => break,
                }
            }
        }
    }
}

/// A shell line that moves the shell into `dir`, so that it and all it
/// starts live there.
#[must_use]
pub fn enter(dir: &Path) -> String {
    format!("echo $$ > {}/cgroup.procs", dir.display())
}
