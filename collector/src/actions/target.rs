//! Pinning processes: a pidfd plus the start time read *after* opening it.
//! For the request's target the start time must match the key; for members
//! found in /proc (descendants, group and pod members) it must match what
//! the scan saw, so the pidfd is known to refer to that very process.
use perch_proto::same_start_time;

use super::pidfd::{Pidfd, is_gone};
use super::procs::{ProcFs, ProcStat};
use super::{Executor, Outcome, Request};

/// A process held by a pidfd whose identity was checked.
#[derive(Debug)]
pub(super) struct Pinned {
    pub fd: Pidfd,
    /// Stat when pinned (start time, ppid, pgid, comm).
    pub stat: ProcStat,
    /// Read when pinned: after a kill the link is gone.
    pub exe: String,
    /// Who it runs as and its command line, read when pinned, for the
    /// blast radius an analyst judges.
    pub ids: Option<(u32, u32)>,
    pub argv: Vec<String>,
}

/// The request's target.
pub(super) type Target = Pinned;

impl Pinned {
    /// The request's target, or the outcome that ends the request: gone,
    /// replaced, not a process, or refused.
    pub fn resolve(ex: &Executor, req: &Request) -> Result<Self, Outcome> {
        let pid = req.target.pid;
        let fd = match Pidfd::open(pid) {
            Ok(fd) => fd,
            Err(e) if is_gone(&e) => {
                return Err(Outcome::not_done(
                    "no_such_process",
                    format!("no such process: pid {pid} does not exist (it exited)"),
                ));
            }
            // Linux before 6.9 says EINVAL for a thread id, later ENOENT.
            Err(e) if matches!(e.raw_os_error(), Some(libc::EINVAL | libc::ENOENT)) => {
                return Err(match ex.procfs.tgid(pid) {
                    Some(tgid) if tgid != pid => Outcome::not_done(
                        "invalid_argument",
                        format!("target.pid {pid} is a thread of process {tgid}, not a process"),
                    ),
                    _ => Outcome::not_done(
                        "no_such_process",
                        format!("no such process: pid {pid} is exiting"),
                    ),
                });
            }
            Err(e) => {
                return Err(Outcome::not_done(
                    "os_error",
                    format!("pidfd_open({pid}): {e}"),
                ));
            }
        };
        let stat = match ex.procfs.stat(pid) {
            Ok(s) => s,
            Err(e) if is_gone(&e) => {
                return Err(Outcome::not_done(
                    "no_such_process",
                    format!("no such process: pid {pid} exited"),
                ));
            }
            Err(e) => {
                return Err(Outcome::not_done(
                    "os_error",
                    format!("reading /proc/{pid}/stat: {e}"),
                ));
            }
        };
        if !same_start_time(stat.start_ns, req.target.start_time_ns) {
            return Err(Outcome::not_done(
                "target_replaced",
                replaced_detail(&stat, req.target.start_time_ns),
            ));
        }
        if stat.exited {
            return Err(Outcome::not_done(
                "no_such_process",
                format!(
                    "no such process: pid {pid} ({}) has exited (a zombie its parent has not reaped yet)",
                    stat.comm
                ),
            ));
        }
        if let Some((code, why)) = ex.refusal(&stat, req) {
            return Err(Outcome::not_done(code, format!("refused: {why}")));
        }
        Ok(Self::read(&ex.procfs, fd, stat))
    }

    /// The rest of what is reported about a pinned process.
    fn read(procfs: &ProcFs, fd: Pidfd, stat: ProcStat) -> Self {
        let pid = stat.pid;
        Self {
            fd,
            exe: procfs.exe(pid),
            ids: procfs.uids(pid).ok().map(|u| (u.real, u.effective)),
            argv: procfs.cmdline(pid),
            stat,
        }
    }

    /// Pins a process seen in a scan; `None` if it is gone or its pid now
    /// belongs to a process with another start time.
    pub fn adopt(procfs: &ProcFs, seen: &ProcStat) -> Option<Self> {
        let fd = Pidfd::open(seen.pid).ok()?;
        let stat = procfs.stat(seen.pid).ok()?;
        if stat.start_ns != seen.start_ns || stat.exited {
            return None;
        }
        Some(Self::read(procfs, fd, stat))
    }

    /// Its stat now, or `None` once it has exited (or its pid was reused).
    pub fn now(&self, procfs: &ProcFs) -> Option<ProcStat> {
        procfs
            .stat(self.stat.pid)
            .ok()
            .filter(|s| s.start_ns == self.stat.start_ns && !s.exited)
    }
}

/// "pid 4242 now belongs to a process started 3.2 s later (bash)".
fn replaced_detail(now: &ProcStat, key_start_ns: u64) -> String {
    let (diff, dir) = if now.start_ns >= key_start_ns {
        (now.start_ns - key_start_ns, "later")
    } else {
        (key_start_ns - now.start_ns, "earlier")
    };
    format!(
        "target replaced: pid {} now belongs to a process started {} {dir} ({})",
        now.pid,
        seconds(diff),
        now.comm
    )
}

/// ns as "3.2 s" (one decimal; whole seconds beyond a minute).
pub(super) fn seconds(ns: u64) -> String {
    let tenths = ns / 100_000_000;
    if tenths >= 600 {
        format!("{} s", tenths / 10)
    } else {
        format!("{}.{} s", tenths / 10, tenths % 10)
    }
}
