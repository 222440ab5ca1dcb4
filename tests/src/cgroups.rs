//! Cgroups the tests make under the cgroup2 mount (Kubernetes- and
//! Docker-shaped paths), removed again whatever happens.
use std::{
    path::{Path, PathBuf},
    process::Command,
    time::Duration,
};

use crate::procs::ChildGuard;

/// Where this machine mounts cgroup2.
pub const CGROUP2: &str = "/sys/fs/cgroup/unified";

/// Cgroup directories made for one test, removed deepest first on drop
/// after killing whatever still runs in them.  Directories that existed
/// before are left alone, and so is a shared parent another run still uses.
pub struct Cgroups {
    created: Vec<PathBuf>,
    pub leaf: PathBuf,
}

impl Cgroups {
    /// Makes `rel` (and its missing parents) under the cgroup2 mount.
    #[must_use]
    pub fn make(rel: &str) -> Self {
        let mut created = Vec::new();
        let mut dir = PathBuf::from(CGROUP2);
        for comp in rel.split('/') {
            dir.push(comp);
            match std::fs::create_dir(&dir) {
                Ok(()) => created.push(dir.clone()),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => panic!("mkdir {}: {e}", dir.display()),
            }
        }
        Self { created, leaf: dir }
    }
}

impl Cgroups {
    /// Takes over `dir`, made by the caller (in any hierarchy): its
    /// processes are killed and it is removed on drop.
    #[must_use]
    pub fn adopt(dir: PathBuf) -> Self {
        Self {
            created: vec![dir.clone()],
            leaf: dir,
        }
    }
}

impl Drop for Cgroups {
    fn drop(&mut self) {
        // A frozen cgroup's processes cannot die: thaw it first.
        let _ = std::fs::write(self.leaf.join("cgroup.freeze"), "0");
        let procs = std::fs::read_to_string(self.leaf.join("cgroup.procs")).unwrap_or_default();
        for pid in procs.lines().filter_map(|l| l.trim().parse::<i32>().ok()) {
            let _ =
                nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::SIGKILL);
        }
        for dir in self.created.iter().rev() {
            // A cgroup whose last process just died can be busy briefly.
            for _ in 0..100 {
                match std::fs::remove_dir(dir) {
                    Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {
                        std::thread::sleep(Duration::from_millis(50));
                    }
                    _ => break,
                }
            }
        }
    }
}

/// A shell that moves itself into `leaf`, then execs `sleep 30`.
#[must_use]
pub fn spawn_into(leaf: &Path) -> ChildGuard {
    let script = format!("echo $$ > {}/cgroup.procs && exec sleep 30", leaf.display());
    ChildGuard::spawn(Command::new("/bin/sh").args(["-c", &script]))
}
