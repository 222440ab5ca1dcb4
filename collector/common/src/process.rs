//! Records of the process lifecycle: the [`Header`] every record starts
//! with, and fork, exit and rename records.
use crate::{COMM_LEN, TTY_LEN};

/// Common prefix of every record.  Pids are global (init pid namespace).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Header {
    /// One of [`crate::kind`].
    pub kind: u32,
    /// Process id (thread-group id).
    pub tgid: u32,
    /// Parent's tgid (`real_parent`).
    pub ppid: u32,
    /// The thread the event is about (equals `tgid` for process events).
    pub tid: u32,
    /// `bpf_ktime_get_boot_ns()` when the event happened.
    pub ktime_ns: u64,
    /// The process's `start_boottime` (same clock as `/proc/PID/stat`).
    pub start_time_ns: u64,
    /// The parent's `start_boottime`.
    pub parent_start_time_ns: u64,
}

/// Identity and credentials shared by exec and fork records.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Creds {
    pub uid: u32,
    pub euid: u32,
    pub gid: u32,
    pub pgid: u32,
    pub sid: u32,
    pub egid: u32,
    pub cgroup_id: u64,
    pub comm: [u8; COMM_LEN],
    pub tty: [u8; TTY_LEN],
}

/// `task_struct.flags`: the task is a kernel thread.
pub const PF_KTHREAD: u32 = 0x0020_0000;

/// `sched_process_fork` for a new process (threads are not reported).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ForkEvent {
    /// `tgid`/`start_time_ns` are the child's; `ppid` its parent.
    pub header: Header,
    pub creds: Creds,
    /// The child's `task_struct.flags` ([`PF_KTHREAD`]).
    pub task_flags: u32,
    pub pad: u32,
}

/// `sched_process_exit` of a thread group's last thread.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExitEvent {
    pub header: Header,
    /// Raw wait status: `code << 8` for exit(code), the signal number in the
    /// low 7 bits (plus 0x80 for a core dump) when killed.
    pub exit_code: i32,
    /// [`EXIT_OOM_VICTIM`].
    pub flags: u32,
    pub comm: [u8; COMM_LEN],
}

/// `ExitEvent.flags`: the OOM killer chose this process
/// (`signal_struct.oom_mm` was set), so its SIGKILL was the OOM kill.
pub const EXIT_OOM_VICTIM: u32 = 1;

/// `task:task_rename` of a thread-group leader outside exec: the process's
/// name is now `comm`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RenameEvent {
    pub header: Header,
    pub comm: [u8; COMM_LEN],
}
