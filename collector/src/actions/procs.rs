//! What the executor reads from /proc: one process's stat (start time,
//! ppid, pgid, flags, state), its threads and their states, its exe and
//! cgroup, and a scan of every process for finding trees and groups.
//!
//! The stat parser is the collector's own (`proc::stat`), so start times
//! here are computed exactly as in every key perchd hands out.
//!
//! Why a full scan instead of /proc/PID/task/TID/children: that file needs
//! `CONFIG_PROC_CHILDREN`, which many kernels (this project's test VM
//! included) lack, and groups need the pgid of every process anyway.
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::clock::ticks_to_ns;
use crate::proc::stat::{PF_KTHREAD, PidPath, parse_stat, read_into};

/// The stat fields of one process the executor needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct ProcStat {
    pub pid: u32,
    pub ppid: u32,
    pub pgid: u32,
    pub flags: u32,
    pub state: u8,
    /// `CLOCK_BOOTTIME` ns at clock-tick precision.
    pub start_ns: u64,
    /// Thread-group leader is a zombie and no thread is left: it has exited.
    pub exited: bool,
    pub comm: String,
}

impl ProcStat {
    pub fn is_kernel_thread(&self) -> bool {
        self.flags & PF_KTHREAD != 0
    }

    /// Stopped by a signal or a tracer.
    pub fn is_stopped(&self) -> bool {
        matches!(self.state, b'T' | b't')
    }
}

/// A process's user ids.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Uids {
    pub real: u32,
    pub effective: u32,
    pub saved: u32,
}

/// /proc (a root other than /proc only for reading a test tree).
#[derive(Debug)]
pub(super) struct ProcFs {
    root: PathBuf,
}

impl ProcFs {
    pub fn new(root: PathBuf) -> Self {
        Self { root }
    }

    fn path(&self, pid: u32, file: &str) -> PathBuf {
        self.root.join(pid.to_string()).join(file)
    }

    /// /proc/PID/stat; ESRCH (an `io::Error`) when it is gone.
    pub fn stat(&self, pid: u32) -> io::Result<ProcStat> {
        let mut buf = Vec::with_capacity(512);
        read_into(&self.path(pid, "stat").to_string_lossy(), &mut buf).map_err(gone_as_esrch)?;
        parse(pid, &buf).ok_or_else(esrch)
    }

    /// Stat of a thread (`/proc/PID/task/TID/stat`).
    pub fn thread_stat(&self, pid: u32, tid: u32) -> io::Result<ProcStat> {
        let mut buf = Vec::with_capacity(512);
        let path = self.path(pid, "task").join(tid.to_string()).join("stat");
        read_into(&path.to_string_lossy(), &mut buf).map_err(gone_as_esrch)?;
        parse(tid, &buf).ok_or_else(esrch)
    }

    /// Thread ids of `pid`, sorted.
    pub fn threads(&self, pid: u32) -> io::Result<Vec<u32>> {
        let mut tids: Vec<u32> = fs::read_dir(self.path(pid, "task"))
            .map_err(gone_as_esrch)?
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
            .collect();
        tids.sort_unstable();
        Ok(tids)
    }

    /// The thread-group id of task `pid` (differs from `pid` for a thread).
    pub fn tgid(&self, pid: u32) -> Option<u32> {
        let text = fs::read_to_string(self.path(pid, "status")).ok()?;
        text.lines()
            .find_map(|l| l.strip_prefix("Tgid:"))
            .and_then(|v| v.trim().parse().ok())
    }

    /// Real, effective and saved uid (the `Uid:` line of /proc/PID/status).
    pub fn uids(&self, pid: u32) -> io::Result<Uids> {
        let text = fs::read_to_string(self.path(pid, "status")).map_err(gone_as_esrch)?;
        let line = text.lines().find_map(|l| l.strip_prefix("Uid:"));
        let mut ids = line
            .into_iter()
            .flat_map(str::split_whitespace)
            .map(str::parse::<u32>);
        match (ids.next(), ids.next(), ids.next()) {
            (Some(Ok(real)), Some(Ok(effective)), Some(Ok(saved))) => Ok(Uids {
                real,
                effective,
                saved,
            }),
            _ => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("/proc/{pid}/status has no readable Uid: line"),
            )),
        }
    }

    /// The executable's path, empty when unreadable (kernel threads, gone).
    pub fn exe(&self, pid: u32) -> String {
        fs::read_link(self.path(pid, "exe"))
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    /// The cgroup v2 path (the `0::` line of /proc/PID/cgroup), `None` on a
    /// host without cgroup2.
    pub fn cgroup(&self, pid: u32) -> io::Result<Option<String>> {
        let text = fs::read_to_string(self.path(pid, "cgroup")).map_err(gone_as_esrch)?;
        Ok(text
            .lines()
            .find_map(|l| l.strip_prefix("0::"))
            .map(str::to_owned))
    }

    /// Every process now (vanishing ones skipped), in pid order.
    pub fn scan(&self) -> Vec<ProcStat> {
        let Ok(dir) = fs::read_dir(&self.root) else {
            return Vec::new();
        };
        let mut pids: Vec<u32> = dir
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
            .collect();
        pids.sort_unstable();
        let mut path = PidPath::new(Path::new(&self.root));
        let mut buf = Vec::with_capacity(512);
        pids.into_iter()
            .filter_map(|pid| {
                read_into(path.get(pid, "stat"), &mut buf).ok()?;
                parse(pid, &buf)
            })
            .collect()
    }
}

fn parse(pid: u32, buf: &[u8]) -> Option<ProcStat> {
    let (s, comm) = parse_stat(buf)?;
    Some(ProcStat {
        pid,
        ppid: s.ppid,
        pgid: s.pgrp,
        flags: s.flags,
        state: s.state,
        start_ns: ticks_to_ns(s.starttime),
        exited: s.is_exited_zombie(),
        comm: String::from_utf8_lossy(comm).into_owned(),
    })
}

fn esrch() -> io::Error {
    io::Error::from_raw_os_error(libc::ESRCH)
}

/// ENOENT on a /proc path means the process is gone: report it as ESRCH,
/// the one "gone" error the executor checks for.
fn gone_as_esrch(err: io::Error) -> io::Error {
    if err.kind() == io::ErrorKind::NotFound {
        esrch()
    } else {
        err
    }
}
