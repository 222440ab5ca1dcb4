//! Container and pod identity from cgroup v2 paths (DESIGN.md: "Container
//! and pod identity come from the cgroup path"), and lookups from the
//! kernel's cgroup id (what eBPF reports) or a /proc path to that identity.
use std::collections::HashMap;
use std::fs;
use std::os::unix::fs::{DirEntryExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::model::CgroupInfo;

/// Unknown ids trigger a tree walk at most this often, so a storm of events
/// from fresh (or bogus) cgroups cannot turn into a storm of walks.
const MIN_RESCAN: Duration = Duration::from_millis(200);
/// Bounds on one walk: a pathological tree must not stall the collector.
const MAX_SCAN_DIRS: usize = 200_000;
const MAX_SCAN_DEPTH: usize = 64;
/// Bound on the path cache; cleared wholesale when reached (cheap to refill).
const MAX_PATH_CACHE: usize = 65_536;

/// Reads container id, runtime and pod uid out of a cgroup v2 path.  Never
/// fails: a path that names no container gives only `path`.  The deepest
/// match wins, so a container nested in another container is reported as
/// the inner one.
#[must_use]
pub fn parse_cgroup_path(path: &str) -> CgroupInfo {
    let mut info = CgroupInfo {
        path: path.to_owned(),
        ..CgroupInfo::default()
    };
    let mut in_kube = false;
    let mut prev = "";
    let mut prev_was_pod = false;
    for comp in path.split('/').filter(|c| !c.is_empty()) {
        let mut is_pod = false;
        if comp.contains("kubepods") {
            in_kube = true;
            // systemd driver: kubepods[-qos]-pod<uid with _>.slice
            if let Some(uid) = systemd_pod_uid(comp) {
                info.pod_uid = Some(uid);
                is_pod = true;
            }
        } else if in_kube && let Some(uid) = comp.strip_prefix("pod").filter(|u| is_pod_uid(u)) {
            // cgroupfs driver: /kubepods/<qos>/pod<uid>
            info.pod_uid = Some(uid.to_owned());
            is_pod = true;
        }
        if let Some((id, runtime)) = container_in(comp, prev, prev_was_pod) {
            info.container_id = Some(id.to_owned());
            info.runtime = runtime;
        }
        prev = comp;
        prev_was_pod = is_pod;
    }
    info
}

/// `kubepods-burstable-pod1234abcd_5678_....slice` → `1234abcd-5678-...`.
fn systemd_pod_uid(comp: &str) -> Option<String> {
    let stem = comp.strip_suffix(".slice")?;
    let (_, raw) = stem.rsplit_once("-pod")?;
    let uid = raw.replace('_', "-");
    is_pod_uid(&uid).then_some(uid)
}

/// A pod uid: a UUID (8-4-4-4-12 hex), or 32 bare hex for static pods,
/// whose uid is a hash of the manifest.
fn is_pod_uid(s: &str) -> bool {
    let b = s.as_bytes();
    match b.len() {
        32 => b.iter().all(u8::is_ascii_hexdigit),
        36 => b.iter().enumerate().all(|(i, c)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                *c == b'-'
            } else {
                c.is_ascii_hexdigit()
            }
        }),
        _ => false,
    }
}

/// Runtimes' ids are lowercase hex, 64 long; shortened ones (≥12) are
/// accepted for hand-made test cgroups.
fn is_container_id(s: &str) -> bool {
    (12..=64).contains(&s.len()) && s.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
}

const PREFIXES: [(&str, &str); 4] = [
    ("cri-containerd-", "containerd"),
    ("docker-", "docker"),
    ("crio-", "cri-o"),
    ("libpod-", "podman"),
];

/// Does this component name a container?  `prev` is its parent component.
/// Bare hex counts only below `docker` or a pod, since other cgroups have
/// hex names too (session ids, v1 delegations).  `crio-conmon-<id>` and
/// `libpod-conmon-<id>` are the monitors, not the containers: their id part
/// is not hex, so they fall out naturally.
fn container_in<'a>(
    comp: &'a str,
    prev: &str,
    prev_was_pod: bool,
) -> Option<(&'a str, Option<&'static str>)> {
    for (prefix, runtime) in PREFIXES {
        if let Some(rest) = comp.strip_prefix(prefix) {
            // `.scope` with the systemd driver, bare with cgroupfs.
            let id = rest.strip_suffix(".scope").unwrap_or(rest);
            return is_container_id(id).then_some((id, Some(runtime)));
        }
    }
    if !is_container_id(comp) {
        return None;
    }
    if prev == "docker" {
        return Some((comp, Some("docker")));
    }
    // cgroupfs driver under a pod: the runtime is not in the path.
    prev_was_pod.then_some((comp, None))
}

/// Where the cgroup2 hierarchy is mounted (here `/sys/fs/cgroup/unified`,
/// hybrid v1/v2; `/sys/fs/cgroup` on pure v2 hosts).
#[must_use]
pub fn find_cgroup2_mount() -> Option<PathBuf> {
    cgroup2_mount_in(&fs::read_to_string("/proc/self/mountinfo").ok()?)
}

/// Picks the first cgroup2 mount of the hierarchy's root; a bind mount of a
/// sub-tree (root other than `/`) only as a last resort.
fn cgroup2_mount_in(mountinfo: &str) -> Option<PathBuf> {
    let mounts: Vec<_> = mountinfo
        .lines()
        .filter_map(|l| procfs::process::MountInfo::from_line(l).ok())
        .filter(|m| m.fs_type == "cgroup2")
        .collect();
    let full = mounts.iter().find(|m| m.root == "/");
    full.or(mounts.first()).map(|m| m.mount_point.clone())
}

/// Cached lookups from cgroup id or path to `CgroupInfo`.
#[derive(Debug)]
pub struct CgroupResolver {
    root: PathBuf,
    by_id: HashMap<u64, Arc<CgroupInfo>>,
    by_path: HashMap<String, Arc<CgroupInfo>>,
    last_scan: Option<Instant>,
    /// The largest id the last walk saw.  Cgroup ids (kernfs inode
    /// numbers) grow: an unknown id above it is a cgroup made since, and
    /// is walked for at once (a container's first exec happens right after
    /// its cgroup is made; a throttled miss would leave it without its
    /// container for its whole life).
    newest: u64,
    /// Ids a walk did not find: not walked for again before the throttle.
    missing: std::collections::HashSet<u64>,
}

impl CgroupResolver {
    /// `cgroup2_root` is the cgroup2 mount point (see `find_cgroup2_mount`).
    #[must_use]
    pub fn new(cgroup2_root: &Path) -> Self {
        Self {
            root: cgroup2_root.to_owned(),
            by_id: HashMap::new(),
            by_path: HashMap::new(),
            last_scan: None,
            newest: 0,
            missing: std::collections::HashSet::new(),
        }
    }

    #[must_use]
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The cgroup with this id (the inode number of its directory, what
    /// `bpf_get_current_cgroup_id` returns).  On a miss the tree is walked
    /// again: at once for an id newer than any the last walk saw (a new
    /// cgroup), else at most once per 200 ms; `None` if it is still
    /// unknown.
    pub fn resolve_id(&mut self, cgroup_id: u64) -> Option<Arc<CgroupInfo>> {
        if let Some(info) = self.by_id.get(&cgroup_id) {
            return Some(Arc::clone(info));
        }
        let new = cgroup_id > self.newest && !self.missing.contains(&cgroup_id);
        if !new && self.last_scan.is_some_and(|t| t.elapsed() < MIN_RESCAN) {
            return None;
        }
        self.rescan();
        let found = self.by_id.get(&cgroup_id).cloned();
        if found.is_none() {
            if self.missing.len() >= 4096 {
                self.missing.clear();
            }
            self.missing.insert(cgroup_id);
        }
        found
    }

    /// Parsed info for a path as shown in /proc/PID/cgroup (`0::<path>`).
    pub fn from_path(&mut self, path: &str) -> Arc<CgroupInfo> {
        if let Some(info) = self.by_path.get(path) {
            return Arc::clone(info);
        }
        if self.by_path.len() >= MAX_PATH_CACHE {
            self.by_path.clear();
        }
        let info = Arc::new(parse_cgroup_path(path));
        self.by_path.insert(path.to_owned(), Arc::clone(&info));
        info
    }

    /// Info and id for a path, remembering the id so later `resolve_id`
    /// calls hit.  The id is read fresh each time (a stat), because a
    /// cgroup removed and recreated under the same path gets a new one.
    pub fn resolve_path(&mut self, path: &str) -> (Arc<CgroupInfo>, Option<u64>) {
        let info = self.from_path(path);
        let id = self.id_of_path(path);
        if let Some(id) = id {
            if self.by_id.len() >= MAX_SCAN_DIRS * 2 {
                self.by_id.clear();
            }
            self.by_id.entry(id).or_insert_with(|| Arc::clone(&info));
        }
        (info, id)
    }

    /// Inode of the cgroup directory, `None` if it is gone or the path
    /// leaves the mount (paths of cgroups outside our cgroup namespace
    /// start with `/..`).
    #[must_use]
    pub fn id_of_path(&self, path: &str) -> Option<u64> {
        let rel = path.trim_start_matches('/');
        if rel.split('/').any(|c| c == "..") {
            return None;
        }
        fs::metadata(self.root.join(rel)).ok().map(|m| m.ino())
    }

    /// Rebuilds the id map from a bounded walk of the tree.  Directory
    /// entries carry the inode (kernfs reports the cgroup id as `d_ino`), so
    /// no stat per cgroup is needed; files are skipped by `d_type`.
    fn rescan(&mut self) {
        self.last_scan = Some(Instant::now());
        self.missing.clear();
        let mut fresh = HashMap::with_capacity(self.by_id.len());
        if let Ok(meta) = fs::metadata(&self.root) {
            fresh.insert(meta.ino(), self.reuse_or_parse(meta.ino(), "/"));
        }
        let mut stack: Vec<(PathBuf, String, usize)> = vec![(self.root.clone(), String::new(), 0)];
        let mut visited = 0usize;
        while let Some((dir, rel, depth)) = stack.pop() {
            let Ok(entries) = fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                if !entry.file_type().is_ok_and(|t| t.is_dir()) {
                    continue;
                }
                visited += 1;
                if visited > MAX_SCAN_DIRS {
                    tracing::warn!(root = %self.root.display(), "cgroup tree walk stopped at {MAX_SCAN_DIRS} dirs");
                    self.newest = fresh.keys().copied().max().unwrap_or(0);
                    self.by_id = fresh;
                    return;
                }
                let child = format!("{rel}/{}", entry.file_name().to_string_lossy());
                fresh.insert(entry.ino(), self.reuse_or_parse(entry.ino(), &child));
                if depth + 1 < MAX_SCAN_DEPTH {
                    stack.push((entry.path(), child, depth + 1));
                }
            }
        }
        self.newest = fresh.keys().copied().max().unwrap_or(0);
        self.by_id = fresh;
    }

    fn reuse_or_parse(&mut self, id: u64, path: &str) -> Arc<CgroupInfo> {
        match self.by_id.get(&id) {
            Some(info) if info.path == path => Arc::clone(info),
            _ => self.from_path(path),
        }
    }
}

#[cfg(test)]
#[path = "cgroup_tests.rs"]
mod tests;
