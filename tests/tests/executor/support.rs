//! What the executor tests share beyond `perch_e2e`'s helpers (the root
//! check, unique names, random ids, pod uids, `alive`): guards that kill
//! and reap every process and remove every cgroup they create (also when
//! an assertion fails), and /proc readers to check the outcome
//! independently of the executor.
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

pub use perch_e2e::{
    alive, have_root_or_skip,
    procs::{pod_uid, random_hex, unique},
};
use perch_proto::{
    stat as proc_stat,
    v1::{ActionKind, ProcessKey},
};
use perchd::actions::{Executor, Request};

/// Generous bound for conditions the tests wait for (a loaded 2-core box).
pub const WAIT: Duration = Duration::from_secs(20);

pub fn executor() -> Executor {
    Executor::system().expect("Executor::system")
}

/// A live request for `kind` on `key` with default signal.
pub fn request(kind: ActionKind, key: ProcessKey) -> Request {
    Request {
        kind,
        target: key,
        signal: 0,
        priority: None,
        dry_run: false,
        protected: Vec::new(),
        refuse_root: None,
    }
}

/// Polls `check` every 10 ms until it holds or `limit` passes.
pub fn wait_until(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if check() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        sleep(Duration::from_millis(10));
    }
}

/// Fields of /proc/PID/stat read independently of the executor (with the
/// parser every perch client uses, not the executor's reader).
#[derive(Clone, Debug)]
pub struct Stat {
    pub state: char,
    pub ppid: u32,
    pub pgid: u32,
    pub start_time_ns: u64,
}

pub fn stat(pid: u32) -> Option<Stat> {
    let s = proc_stat::read_pid(pid)?;
    Some(Stat {
        state: char::from(s.state),
        ppid: s.ppid,
        pgid: s.pgrp,
        start_time_ns: s.start_time_ns(),
    })
}

/// The command name (`comm`) of a process.
pub fn comm(pid: u32) -> String {
    fs::read_to_string(format!("/proc/{pid}/comm"))
        .unwrap_or_default()
        .trim_end()
        .to_owned()
}

/// The key of a live process, as perchd would hand it out.
pub fn key_of(pid: u32) -> ProcessKey {
    let st = stat(pid).unwrap_or_else(|| panic!("pid {pid} has no /proc entry"));
    ProcessKey {
        pid,
        start_time_ns: st.start_time_ns,
    }
}

/// Every descendant of `root` now (from a /proc scan).
pub fn descendants(root: u32) -> Vec<u32> {
    let all: Vec<(u32, Stat)> = fs::read_dir("/proc")
        .expect("read /proc")
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .filter_map(|pid| Some((pid, stat(pid)?)))
        .collect();
    let mut out = Vec::new();
    let mut frontier = vec![root];
    while let Some(p) = frontier.pop() {
        for (pid, st) in &all {
            if st.ppid == p && !matches!(st.state, 'Z' | 'X') {
                out.push(*pid);
                frontier.push(*pid);
            }
        }
    }
    out.sort_unstable();
    out
}

/// A spawned child, killed and reaped when dropped.
#[derive(Debug)]
pub struct Proc {
    pub child: Child,
    reaped: Option<ExitStatus>,
}

impl Proc {
    pub fn spawn(cmd: &mut Command) -> Self {
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {}: {e}", cmd.get_program().display()));
        Self {
            child,
            reaped: None,
        }
    }

    /// `sh -c script`.
    pub fn sh(script: &str) -> Self {
        Self::spawn(Command::new("/bin/sh").args(["-c", script]))
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Reaps it (bounded); `None` if it is still running after `WAIT`.
    pub fn wait(&mut self) -> Option<ExitStatus> {
        if self.reaped.is_none() {
            let deadline = Instant::now() + WAIT;
            while self.reaped.is_none() && Instant::now() < deadline {
                self.reaped = self.child.try_wait().expect("try_wait");
                sleep(Duration::from_millis(5));
            }
        }
        self.reaped
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if self.reaped.is_none() {
            // A stopped child dies of SIGKILL too.
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
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
    pub fn new(tag: &str) -> Self {
        let mount = perchd::proc::find_cgroup2_mount().expect("a cgroup2 mount");
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

    pub fn root(&self) -> &Path {
        &self.root
    }
}

/// `key` of `cgroup.events` in `dir` is 1.
pub fn event(dir: &Path, key: &str) -> bool {
    fs::read_to_string(dir.join("cgroup.events"))
        .unwrap_or_default()
        .lines()
        .any(|l| l == format!("{key} 1"))
}

/// The pids directly in `dir`.
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
pub fn enter(dir: &Path) -> String {
    format!("echo $$ > {}/cgroup.procs", dir.display())
}
