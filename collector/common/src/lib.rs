//! The wire format between the kernel programs (collector-ebpf) and perchd.
//!
//! Every record starts with a [`Header`]; `Header::kind` says which struct
//! follows.  Exec records are variable-length: only `argv_len` bytes of
//! `argv` are sent, so a `/bin/true` costs ~700 bytes of ring buffer, not 9 KiB.
//! Field layouts of kernel structs are not hard-coded here: perchd reads them
//! from BTF and tracefs at start-up and passes them in [`Offsets`].
#![no_std]

/// Bytes of argv captured (a power of two so the verifier can bound reads
/// with a mask).  Longer command lines set [`EXEC_ARGV_TRUNCATED`].
pub const ARGV_MAX: usize = 8192;
/// Bytes of the execve filename captured.
pub const FILENAME_MAX: usize = 512;
pub const COMM_LEN: usize = 16;
pub const TTY_LEN: usize = 32;

pub const KIND_EXEC: u32 = 1;
pub const KIND_FORK: u32 = 2;
pub const KIND_EXIT: u32 = 3;

/// `ExecEvent::flags`: argv was longer than [`ARGV_MAX`].
pub const EXEC_ARGV_TRUNCATED: u32 = 1;
/// `ExecEvent::flags`: the filename was longer than [`FILENAME_MAX`].
pub const EXEC_FILENAME_TRUNCATED: u32 = 2;

/// Common prefix of every record.  Pids are global (init pid namespace).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Header {
    pub kind: u32,
    /// Process id (thread-group id).
    pub tgid: u32,
    /// Parent's tgid (`real_parent`).
    pub ppid: u32,
    pub pad: u32,
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
    pub pad: u32,
    pub cgroup_id: u64,
    pub comm: [u8; COMM_LEN],
    pub tty: [u8; TTY_LEN],
}

/// `sched:sched_process_exec`.  Sent truncated after `argv_len` bytes.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ExecEvent {
    pub header: Header,
    pub creds: Creds,
    /// The thread that called execve, when it was not the leader.
    pub old_pid: u32,
    pub flags: u32,
    pub filename_len: u32,
    /// Bytes of `argv` that are valid: NUL-separated, like /proc/PID/cmdline.
    pub argv_len: u32,
    pub filename: [u8; FILENAME_MAX],
    pub argv: [u8; ARGV_MAX],
}

/// Size of an [`ExecEvent`] without its argv bytes.
pub const EXEC_FIXED_LEN: usize = core::mem::offset_of!(ExecEvent, argv);

/// `sched:sched_process_fork` for a new process (threads are not reported).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ForkEvent {
    /// `tgid`/`start_time_ns` are the child's; `ppid` its parent.
    pub header: Header,
    pub creds: Creds,
}

/// `sched:sched_process_exit` of a thread group's last thread.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExitEvent {
    pub header: Header,
    /// Raw wait status: `code << 8` for exit(code), the signal number in the
    /// low 7 bits (plus 0x80 for a core dump) when killed.
    pub exit_code: i32,
    pub pad: u32,
    pub comm: [u8; COMM_LEN],
}

/// Kernel struct layouts, read by perchd from BTF (`/sys/kernel/btf/vmlinux`)
/// and tracefs `format` files, then written into the programs as a load-time
/// global.  All values are byte offsets; 0 in `valid` means "not loaded".
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Offsets {
    pub valid: u32,
    // tracefs record layouts
    pub exec_filename_loc: u32,
    pub exec_old_pid: u32,
    /// 0 when the exit record has no `group_dead` field (older kernels).
    pub exit_group_dead: u32,
    // task_struct
    pub task_pid: u32,
    pub task_tgid: u32,
    pub task_flags: u32,
    pub task_real_parent: u32,
    pub task_group_leader: u32,
    pub task_start_boottime: u32,
    pub task_real_cred: u32,
    pub task_mm: u32,
    pub task_signal: u32,
    pub task_exit_code: u32,
    // cred (kuid_t/kgid_t are a single u32)
    pub cred_uid: u32,
    pub cred_gid: u32,
    pub cred_euid: u32,
    // mm_struct
    pub mm_arg_start: u32,
    pub mm_arg_end: u32,
    // signal_struct: pids[] is an array of `struct pid *`
    pub signal_pids: u32,
    pub signal_tty: u32,
    pub pidtype_pgid: u32,
    pub pidtype_sid: u32,
    // struct pid: numbers[0].nr is the pid in the initial namespace
    pub pid_numbers: u32,
    pub upid_nr: u32,
    // tty_struct
    pub tty_name: u32,
}

#[cfg(feature = "user")]
mod user {
    // SAFETY: plain #[repr(C)] integers with explicit padding fields, valid
    // for every bit pattern.
    unsafe impl aya::Pod for super::Offsets {}
}
