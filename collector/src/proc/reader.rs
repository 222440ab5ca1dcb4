//! Full process records from /proc/PID/*: what the model needs when it first
//! learns of a process (seeding at start, the polling fallback, eBPF events
//! that arrive without details).
//!
//! All files of one process are opened relative to an `O_PATH` fd of its
//! /proc directory: if the process dies and its pid is reused meanwhile,
//! reads fail with ESRCH instead of silently mixing two processes.
use std::fs::{self, File};
use std::io::{self, Read};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use nix::fcntl::{OFlag, open, openat, readlinkat};
use nix::sys::stat::Mode;

use super::cgroup::{CgroupResolver, find_cgroup2_mount};
use super::error::ProcError;
use super::stat::{PF_KTHREAD, PidPath, StatFields, parse_stat, read_stat};
use super::tty::tty_name;
use super::users::UserNames;
use crate::clock::{page_size, ticks_to_ns};
use crate::model::{Argv, EnvFilter, ProcKey, ProcessInfo, Source, Usage};
use perch_proto::limits::ARGV_BYTES;

/// Reads process records; owns the cgroup and user-name caches they use.
#[derive(Debug)]
pub struct ProcReader {
    proc_root: PathBuf,
    cgroups: CgroupResolver,
    users: UserNames,
    buf: Vec<u8>,
    path: PidPath,
    /// Environment variables reported in each process's exec facts.
    env: EnvFilter,
}

impl ProcReader {
    #[must_use]
    pub fn new(proc_root: PathBuf, cgroups: CgroupResolver, users: UserNames) -> Self {
        let path = PidPath::new(&proc_root);
        Self {
            proc_root,
            cgroups,
            users,
            buf: Vec::with_capacity(4096),
            path,
            env: EnvFilter::default(),
        }
    }

    /// /proc, the cgroup2 mount found in mountinfo, /etc/passwd.
    #[must_use]
    pub fn system() -> Self {
        let cg = find_cgroup2_mount().unwrap_or_else(|| PathBuf::from("/sys/fs/cgroup"));
        Self::new(
            PathBuf::from("/proc"),
            CgroupResolver::new(&cg),
            UserNames::new(),
        )
    }

    #[must_use]
    pub fn proc_root(&self) -> &Path {
        &self.proc_root
    }

    pub fn cgroups_mut(&mut self) -> &mut CgroupResolver {
        &mut self.cgroups
    }

    pub fn users_mut(&mut self) -> &mut UserNames {
        &mut self.users
    }

    /// Which environment variables process records report (the default
    /// list until set).
    pub fn set_env_filter(&mut self, env: EnvFilter) {
        self.env = env;
    }

    #[must_use]
    pub fn env_filter(&self) -> &EnvFilter {
        &self.env
    }

    /// Everything /proc says about `pid`.  Fields that cannot be read (exe
    /// of a kernel thread, cwd of a zombie, anything of another user's
    /// process when not root) are left empty; only stat and status are
    /// required.  A vanished process gives `ProcError::Gone`.
    pub fn read_process(&mut self, pid: u32, source: Source) -> Result<ProcessInfo, ProcError> {
        let dir = open(
            self.path.get(pid, ""),
            OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| ProcError::from_io(pid, self.path.get(pid, ""), e.into()))?;

        self.read_rel(&dir, pid, "stat")?;
        let Some((st, comm)) = parse_stat(&self.buf) else {
            return Err(self.malformed(pid, "stat", "unparsable stat line"));
        };
        let comm = String::from_utf8_lossy(comm).into_owned();

        self.read_rel(&dir, pid, "status")?;
        let Some((uid, euid, gid)) = parse_ids(&self.buf) else {
            return Err(self.malformed(pid, "status", "no Uid/Gid lines"));
        };
        let (cap_effective, eff_gid) = super::facts::parse_status(&self.buf);

        // At most one byte past the cap: any user can give a process
        // megabytes of arguments, and only the cap's worth is kept.
        let (argv, argv_truncated) =
            match self.read_rel_max(&dir, pid, "cmdline", ARGV_BYTES as u64 + 1) {
                Ok(()) => {
                    let over = self.buf.len() > ARGV_BYTES;
                    let (argv, cut) =
                        Argv::from_cmdline(&self.buf[..self.buf.len().min(ARGV_BYTES)]);
                    (argv, over || cut)
                }
                Err(e) if e.is_gone() => return Err(e),
                Err(_) => (Argv::default(), false),
            };
        let (cgroup, cgroup_id) = match self.read_rel(&dir, pid, "cgroup") {
            Ok(()) => match unified_path(&self.buf) {
                Some(p) => {
                    let (info, id) = self.cgroups.resolve_path(&p);
                    (Some(info), id.unwrap_or(0))
                }
                None => (None, 0),
            },
            Err(e) if e.is_gone() => return Err(e),
            Err(_) => (None, 0),
        };

        let kernel_thread = st.flags & PF_KTHREAD != 0;
        let facts = (!kernel_thread).then(|| {
            let mut f = super::facts::read(&dir, &self.env, cap_effective);
            f.login_user = f.loginuid.and_then(|uid| self.users.name(uid));
            Arc::new(f)
        });
        Ok(ProcessInfo {
            key: ProcKey {
                pid,
                start_ns: ticks_to_ns(st.starttime),
            },
            ppid: st.ppid,
            parent_start_ns: self.start_ns(st.ppid).unwrap_or(0),
            pgid: st.pgrp,
            sid: st.session,
            uid,
            euid,
            gid,
            egid: eff_gid,
            user: self.users.name(uid),
            comm,
            exe: readlink_rel(&dir, "exe").unwrap_or_default(),
            argv,
            argv_truncated,
            cwd: readlink_rel(&dir, "cwd").unwrap_or_default(),
            tty: tty_name(st.tty_nr),
            cgroup_id,
            cgroup,
            kernel_thread,
            source,
            exit: None,
            usage: Usage {
                rss_bytes: st.rss_pages.saturating_mul(page_size()),
                ..Usage::default()
            },
            threads: st.num_threads,
            nice: st.nice,
            facts,
        })
    }

    /// Every process that could be read; vanished ones are skipped quietly,
    /// unreadable ones with a debug line.
    pub fn scan(&mut self, source: Source) -> Vec<ProcessInfo> {
        let Ok(pids) = self.pids() else {
            return Vec::new();
        };
        let mut out = Vec::with_capacity(pids.len());
        for pid in pids {
            match self.read_process(pid, source) {
                Ok(p) => out.push(p),
                Err(e) if e.is_gone() => {}
                Err(e) => tracing::debug!(pid, error = %e, "skipping process"),
            }
        }
        out
    }

    /// The numeric entries of the proc root: every live process (and zombie).
    pub fn pids(&self) -> io::Result<Vec<u32>> {
        let mut pids = Vec::new();
        for entry in fs::read_dir(&self.proc_root)? {
            let Ok(entry) = entry else { continue };
            if let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse().ok()) {
                pids.push(pid);
            }
        }
        Ok(pids)
    }

    /// The working directory, `None` if gone or not readable.
    #[must_use]
    pub fn cwd(&self, pid: u32) -> Option<String> {
        let link = fs::read_link(self.proc_root.join(pid.to_string()).join("cwd")).ok()?;
        Some(link.to_string_lossy().into_owned())
    }

    /// The raw wait status of `pid` if it has exited and is waiting to be
    /// reaped (see `StatFields::is_exited_zombie`).
    #[must_use]
    pub fn zombie_exit_status(&self, pid: u32) -> Option<i32> {
        let mut path = PidPath::new(&self.proc_root);
        let st = read_stat(&mut path, pid, &mut Vec::with_capacity(512)).ok()?;
        if st.is_exited_zombie() {
            st.exit_code
        } else {
            None
        }
    }

    /// stat of `pid` with the reader's reused buffers (for the poller).
    pub(crate) fn stat(&mut self, pid: u32) -> io::Result<StatFields> {
        read_stat(&mut self.path, pid, &mut self.buf)
    }

    /// Start time of `pid`, for parent keys; `None` for pid 0 or if gone.
    fn start_ns(&mut self, pid: u32) -> Option<u64> {
        if pid == 0 {
            return None;
        }
        self.stat(pid).ok().map(|s| ticks_to_ns(s.starttime))
    }

    fn read_rel(&mut self, dir: &OwnedFd, pid: u32, name: &str) -> Result<(), ProcError> {
        self.read_rel_max(dir, pid, name, u64::MAX)
    }

    /// Reads at most `max` bytes of `name` into the buffer.
    fn read_rel_max(
        &mut self,
        dir: &OwnedFd,
        pid: u32,
        name: &str,
        max: u64,
    ) -> Result<(), ProcError> {
        let res = openat(dir, name, OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty())
            .map_err(io::Error::from)
            .and_then(|fd| {
                self.buf.clear();
                File::from(fd).take(max).read_to_end(&mut self.buf)
            });
        match res {
            Ok(_) => Ok(()),
            Err(e) => Err(ProcError::from_io(
                pid,
                self.proc_root.join(pid.to_string()).join(name),
                e,
            )),
        }
    }

    fn malformed(&self, pid: u32, name: &str, what: &'static str) -> ProcError {
        // An empty read is a task being torn down, not a format problem.
        if self.buf.is_empty() {
            return ProcError::Gone { pid };
        }
        ProcError::Malformed {
            path: self.proc_root.join(pid.to_string()).join(name),
            what,
        }
    }
}

/// A link target (exe, cwd); `None` for kernel threads, zombies, gone or
/// forbidden processes, which all just mean "unknown" to the caller.
fn readlink_rel(dir: &OwnedFd, name: &str) -> Option<String> {
    readlinkat(dir, name)
        .ok()
        .map(|t| t.to_string_lossy().into_owned())
}

/// Real and effective uid, real gid from the `Uid:`/`Gid:` lines.  Parsed
/// by hand: `procfs`'s `Status` fails on a non-UTF-8 process name (which
/// any process can give itself with prctl), which would hide exactly the
/// processes a security tool should see.  The kernel escapes `\n` in the
/// name, so a crafted name cannot inject a fake `Uid:` line.
fn parse_ids(buf: &[u8]) -> Option<(u32, u32, u32)> {
    let mut uids = None;
    let mut gid = None;
    for line in buf.split(|&b| b == b'\n') {
        if let Some(rest) = line.strip_prefix(b"Uid:") {
            let mut f = numbers(rest);
            uids = Some((f.next()?, f.next()?));
        } else if let Some(rest) = line.strip_prefix(b"Gid:") {
            gid = numbers(rest).next();
        }
        if uids.is_some() && gid.is_some() {
            break;
        }
    }
    let (uid, euid) = uids?;
    Some((uid, euid, gid?))
}

fn numbers(field: &[u8]) -> impl Iterator<Item = u32> + '_ {
    field
        .split(u8::is_ascii_whitespace)
        .filter(|f| !f.is_empty())
        .map_while(|f| std::str::from_utf8(f).ok()?.parse().ok())
}

/// The cgroup v2 path from /proc/PID/cgroup (the `0::` line).
fn unified_path(buf: &[u8]) -> Option<String> {
    buf.split(|&b| b == b'\n')
        .find_map(|l| l.strip_prefix(b"0::"))
        .map(|p| String::from_utf8_lossy(p).into_owned())
}

#[cfg(test)]
#[path = "reader_tests.rs"]
mod tests;
