//! What the executor tests share beyond `perch_e2e`'s helpers (the root
//! check, random ids, pod uids, `alive`, the cgroup guard): guards that
//! kill and reap every process they start (also when an assertion fails),
//! and /proc readers to check the outcome independently of the executor.
use std::fs;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

pub use perch_e2e::{
    alive,
    cgroups::{Cgroups, enter, event, procs_in},
    have_root_or_skip,
    procs::{pod_uid, random_hex},
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
