//! pidfds: a handle on one process that stays bound to it even after its
//! pid is reused, so a signal sent through it can never reach another
//! process (`pidfd_send_signal` answers ESRCH once the process is gone).
//!
//! rustix (already in the tree through procfs) wraps both syscalls; nix
//! 0.31 has neither, and raw `libc::syscall` would need unsafe code here.
//! The one ioctl (`PIDFD_GET_INFO`, for the exit status of a process
//! already reaped) has no safe wrapper and goes through libc.
use std::io;
use std::os::fd::{AsFd, AsRawFd as _, BorrowedFd, OwnedFd};

use rustix::process::{Pid, PidfdFlags, Signal, pidfd_open, pidfd_send_signal};

/// An open pidfd.
#[derive(Debug)]
pub(super) struct Pidfd {
    fd: OwnedFd,
}

impl Pidfd {
    /// Opens a pidfd for process `pid`.  ESRCH: no such process; EINVAL:
    /// `pid` is not a thread-group leader (a thread id).
    pub fn open(pid: u32) -> io::Result<Self> {
        let raw = i32::try_from(pid).map_err(|_| io::Error::from_raw_os_error(libc::ESRCH))?;
        let p = Pid::from_raw(raw).ok_or_else(|| io::Error::from_raw_os_error(libc::ESRCH))?;
        let fd = pidfd_open(p, PidfdFlags::empty()).map_err(io::Error::from)?;
        Ok(Self { fd })
    }

    /// Sends `sig` (a signal number accepted by `signal_from_raw`).
    pub fn signal(&self, sig: i32) -> io::Result<()> {
        let s = signal_from_raw(sig).ok_or_else(|| io::Error::from_raw_os_error(libc::EINVAL))?;
        pidfd_send_signal(&self.fd, s).map_err(io::Error::from)
    }

    /// The raw wait status of the process once it has been reaped
    /// (`PIDFD_GET_INFO` with `PIDFD_INFO_EXIT`, Linux 6.15 and later);
    /// `None` before it is reaped and on older kernels.
    pub fn exit_status(&self) -> Option<i32> {
        // SAFETY: pidfd_info is plain integers, for which all zeros is valid.
        let mut info: libc::pidfd_info = unsafe { std::mem::zeroed() };
        info.mask = u64::from(libc::PIDFD_INFO_EXIT);
        // SAFETY: the fd is a pidfd this struct owns; the ioctl writes at
        // most size_of::<pidfd_info>() bytes (the size PIDFD_GET_INFO
        // encodes) into `info`, which lives across the call.
        let r = unsafe { libc::ioctl(self.fd.as_raw_fd(), libc::PIDFD_GET_INFO, &raw mut info) };
        (r == 0 && info.mask & u64::from(libc::PIDFD_INFO_EXIT) != 0).then_some(info.exit_code)
    }
}

impl AsFd for Pidfd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// The standard signals by number (1..=31 minus the unnamed ones).
pub(super) fn signal_from_raw(sig: i32) -> Option<Signal> {
    Signal::from_named_raw(sig)
}

/// A short name for details: `KILL`, `TERM`, ... or `signal 34`.
pub(super) fn signal_name(sig: i32) -> String {
    let name = match sig {
        1 => "HUP",
        2 => "INT",
        3 => "QUIT",
        6 => "ABRT",
        9 => "KILL",
        10 => "USR1",
        12 => "USR2",
        14 => "ALRM",
        15 => "TERM",
        18 => "CONT",
        19 => "STOP",
        20 => "TSTP",
        _ => return format!("signal {sig}"),
    };
    name.to_owned()
}

/// ESRCH: the process exited between discovery and the call.
pub(super) fn is_gone(err: &io::Error) -> bool {
    err.raw_os_error() == Some(libc::ESRCH)
}
