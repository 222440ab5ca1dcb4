//! cgroup v2 control for actions: which cgroup (and pod cgroup) a process
//! is in, the processes of a cgroup sub-tree, and writing `cgroup.kill` and
//! `cgroup.freeze` with a bounded wait for `cgroup.events` to confirm.
use std::fs;
use std::io;
use std::path::PathBuf;
use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::proc::parse_cgroup_path;

use super::Executor;

const POLL: Duration = Duration::from_millis(5);
/// Bounds on walking a cgroup sub-tree.
const MAX_DEPTH: usize = 32;
const MAX_DIRS: usize = 10_000;

/// One cgroup: its path below the mount (`/kubepods/...`) and directory.
#[derive(Clone, Debug)]
pub(super) struct Cgroup {
    pub rel: String,
    pub dir: PathBuf,
}

/// The two keys of `cgroup.events`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Events {
    /// Some process lives in the cgroup or below.
    pub populated: bool,
    /// The cgroup (and everything below) is frozen.
    pub frozen: bool,
}

impl Executor {
    /// The cgroup `pid` is in; `None` without a cgroup2 mount, for a gone
    /// process, or for a path outside our cgroup namespace (`/..`).
    pub(super) fn cgroup_of(&self, pid: u32) -> Option<Cgroup> {
        let root = self.cgroup_root.as_ref()?;
        let rel = self.procfs.cgroup(pid).ok()??;
        if rel.split('/').any(|c| c == "..") {
            return None;
        }
        let dir = root.join(rel.trim_start_matches('/'));
        dir.is_dir().then_some(Cgroup { rel, dir })
    }

    /// The cgroup at `rel` below the mount.
    pub(super) fn cgroup_at(&self, rel: &str) -> Option<Cgroup> {
        let root = self.cgroup_root.as_ref()?;
        let dir = root.join(rel.trim_start_matches('/'));
        dir.is_dir().then(|| Cgroup {
            rel: rel.to_owned(),
            dir,
        })
    }

    /// Whether `pid` sits in a frozen cgroup (frozen processes cannot fork
    /// but do not show as stopped in /proc).
    pub(super) fn cgroup_frozen(&self, pid: u32) -> bool {
        self.cgroup_of(pid)
            .and_then(|cg| cg.events())
            .is_some_and(|e| e.frozen)
    }
}

impl Cgroup {
    pub fn is_root(&self) -> bool {
        self.rel.trim_matches('/').is_empty()
    }

    /// Every process in this cgroup and below, sorted.
    pub fn procs(&self) -> Vec<u32> {
        let mut pids = Vec::new();
        let mut stack = vec![(self.dir.clone(), 0usize)];
        let mut dirs = 0usize;
        while let Some((dir, depth)) = stack.pop() {
            if let Ok(text) = fs::read_to_string(dir.join("cgroup.procs")) {
                pids.extend(text.lines().filter_map(|l| l.trim().parse::<u32>().ok()));
            }
            let Ok(entries) = fs::read_dir(&dir) else {
                continue;
            };
            for e in entries.flatten() {
                if depth + 1 < MAX_DEPTH
                    && dirs < MAX_DIRS
                    && e.file_type().is_ok_and(|t| t.is_dir())
                {
                    dirs += 1;
                    stack.push((e.path(), depth + 1));
                }
            }
        }
        pids.sort_unstable();
        pids.dedup();
        pids
    }

    pub fn events(&self) -> Option<Events> {
        fs::read_to_string(self.dir.join("cgroup.events"))
            .ok()
            .map(|t| parse_events(&t))
    }

    /// `cgroup.freeze` as set on this cgroup itself (`None`: no such file,
    /// as on the root cgroup).
    pub fn freeze_setting(&self) -> Option<bool> {
        let text = fs::read_to_string(self.dir.join("cgroup.freeze")).ok()?;
        Some(text.trim() == "1")
    }

    /// Writes one control file (`cgroup.kill`, `cgroup.freeze`).
    pub fn write(&self, file: &str, value: &str) -> io::Result<()> {
        fs::write(self.dir.join(file), value).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("writing {value} to {}/{file}: {e}", self.rel),
            )
        })
    }

    /// Waits until `cgroup.events` satisfies `want`, at most `limit`.
    pub fn wait(&self, limit: Duration, want: impl Fn(Events) -> bool) -> bool {
        let deadline = Instant::now() + limit;
        loop {
            match self.events() {
                Some(e) if want(e) => return true,
                // The cgroup was removed: populated and frozen no longer
                // apply; only "empty" can be true of it.
                None => return want(Events::default()),
                Some(_) => {}
            }
            if Instant::now() >= deadline {
                return false;
            }
            sleep(POLL);
        }
    }
}

pub(super) fn parse_events(text: &str) -> Events {
    let mut e = Events::default();
    for line in text.lines() {
        match line.split_once(' ') {
            Some(("populated", v)) => e.populated = v.trim() == "1",
            Some(("frozen", v)) => e.frozen = v.trim() == "1",
            _ => {}
        }
    }
    e
}

/// The pod cgroup containing `rel` and the pod uid: the shallowest
/// ancestor whose name carries the pod uid (`/kubepods/burstable/pod<uid>`
/// or `.../kubepods-burstable-pod<uid>.slice`).
pub(super) fn pod_of(rel: &str) -> Option<(String, String)> {
    let uid = parse_cgroup_path(rel).pod_uid?;
    let mut prefix = String::new();
    for comp in rel.split('/').filter(|c| !c.is_empty()) {
        prefix.push('/');
        prefix.push_str(comp);
        if parse_cgroup_path(&prefix).pod_uid.as_deref() == Some(uid.as_str()) {
            return Some((prefix, uid));
        }
    }
    None
}
