//! The exec record: who ran what, the file actually mapped, the standard
//! streams, and the environment variables that matter.
//!
//! The fixed part is followed by a tail of `data`, filled in this order and
//! sent only up to its end: the path given to execve (`filename_len` bytes,
//! NUL-terminated), the executable's path as dentry names from the file up
//! to the root (`exe_len` bytes, each name NUL-terminated, leaf first), the
//! first `env_len` bytes of the new environment, and argv (`argv_len`
//! bytes).  The environment is filtered by perchd and never leaves it.
use crate::{Creds, Header};

/// Bytes of argv captured.  Longer command lines set [`EXEC_ARGV_TRUNCATED`].
pub const ARGV_MAX: usize = 8192;
/// Bytes of the execve filename captured.
pub const FILENAME_MAX: usize = 512;
/// Bytes of the executable's path captured (all its names).
pub const EXE_PATH_MAX: usize = 1024;
/// Longest single name read on the way up (`NAME_MAX` + NUL).
pub const NAME_READ_MAX: usize = 256;
/// Directory levels walked up from the executable.
pub const EXE_PATH_DEPTH: usize = 32;
/// Bytes of the environment scanned.  Longer ones set [`EXEC_ENV_TRUNCATED`].
pub const ENV_MAX: usize = 4096;
/// Environment entries scanned (their pointers are read from the new
/// stack); more set [`EXEC_ENV_TRUNCATED`].
pub const ENV_VARS_SCAN: usize = 128;
/// Longest entry (`NAME=value` and its NUL) sent; a longer one is cut and
/// NUL-terminated.
pub const ENV_ENTRY_MAX: usize = 512;
/// Bytes of selected entries sent per exec.
pub const ENV_OUT_MAX: usize = 2048;
/// The tail's capacity: a power of two, so the kernel program can bound
/// every write position with a mask the verifier understands (each segment
/// starts below `DATA_MAX / 2` and is at most `DATA_MAX / 2` long).
pub const DATA_MAX: usize = 16384;

/// `ExecEvent::flags`: argv was longer than [`ARGV_MAX`].
pub const EXEC_ARGV_TRUNCATED: u32 = 1;
/// `ExecEvent::flags`: the filename was longer than [`FILENAME_MAX`].
pub const EXEC_FILENAME_TRUNCATED: u32 = 2;
/// `ExecEvent::flags`: the environment was longer than [`ENV_MAX`].
pub const EXEC_ENV_TRUNCATED: u32 = 4;
/// `ExecEvent::flags`: the executable's path was deeper or longer than
/// [`EXE_PATH_DEPTH`] / [`EXE_PATH_MAX`]; the names sent are the innermost.
pub const EXEC_EXE_PATH_TRUNCATED: u32 = 8;
/// `ExecEvent::flags`: the executable's dentry is its own parent and not a
/// mount's root: an unlinked pseudo file (memfd, anonymous inode).
pub const EXEC_EXE_PSEUDO: u32 = 16;
/// `ExecEvent::flags`: the executable's file could not be read.
pub const EXEC_EXE_UNKNOWN: u32 = 32;
/// `ExecEvent::flags`: `loginuid` is valid (the kernel has audit support).
pub const EXEC_LOGINUID: u32 = 64;

/// Which environment entries the kernel sends (perchd filters them exactly
/// afterwards): an entry is sent when bit `env_hash(first 4 bytes)` of
/// `bits` is set.  `key_mask` keeps the bytes every pattern has (a pattern
/// `NAME` is matched as `NAME=`, a prefix `NA*` as `NA`), so all bits 0 send
/// nothing.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EnvSelect {
    pub key_mask: u32,
    pub pad: u32,
    pub bits: [u64; 4],
}

/// The bit of [`EnvSelect::bits`] for an entry starting with the 4 bytes
/// `key` (little-endian; bytes past a short entry do not matter once masked).
#[must_use]
pub const fn env_hash(key: u32, key_mask: u32) -> u32 {
    (key & key_mask).wrapping_mul(0x9E37_79B1) >> 24
}

/// The file the kernel mapped (`bprm->file`: for a script, its interpreter).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExeFile {
    pub ino: u64,
    /// `super_block.s_magic`: which filesystem (tmpfs, overlayfs, ...).
    pub fs_magic: u64,
    /// `super_block.s_dev` (kernel encoding: major << 20 | minor).
    pub dev: u32,
    /// 0: deleted (unlinked while or before it ran).
    pub nlink: u32,
    /// `i_mode`: type and permission bits, including setuid/setgid.
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub pad: u32,
}

/// What one of fds 0..2 is.  `mode == 0`: not open.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FdInfo {
    /// `i_mode` of the file's inode (`S_IFSOCK`, `S_IFIFO`, `S_IFCHR`...).
    pub mode: u32,
    /// Device number of a character device (kernel encoding).
    pub rdev: u32,
    pub ino: u64,
    /// Sockets only: `AF_INET`, `AF_INET6`, `AF_UNIX`...
    pub family: u16,
    /// `SOCK_STREAM`, `SOCK_DGRAM`...
    pub sock_type: u16,
    /// `IPPROTO_TCP`, `IPPROTO_UDP`...
    pub protocol: u16,
    /// Host byte order.
    pub local_port: u16,
    pub peer_port: u16,
    pub pad: [u16; 3],
    /// IPv4 addresses use the first 4 bytes; network byte order.
    pub local_addr: [u8; 16],
    pub peer_addr: [u8; 16],
}

/// `sched_process_exec`: the fixed part of the record, followed by its
/// tail (see the module doc).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct ExecEvent {
    pub header: Header,
    pub creds: Creds,
    /// The thread that called execve, when it was not the leader.
    pub old_pid: u32,
    pub flags: u32,
    /// `task_struct.loginuid` (the audit login user; `u32::MAX` unset).
    pub loginuid: u32,
    /// Inode numbers of the mount and pid namespaces (`/proc/PID/ns/*`).
    pub mnt_ns: u32,
    pub pid_ns: u32,
    pub pad: u32,
    /// `cred.cap_effective`.
    pub cap_effective: u64,
    pub exe: ExeFile,
    pub stdio: [FdInfo; 3],
    pub filename_len: u32,
    pub exe_len: u32,
    pub env_len: u32,
    /// Bytes of argv: NUL-separated, like /proc/PID/cmdline.
    pub argv_len: u32,
}

/// Where the kernel program builds an exec record: the fixed part and room
/// for the longest tail (sent up to the tail's last segment), plus working
/// space that is not sent: the environment block and its entry pointers.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ExecScratch {
    pub event: ExecEvent,
    pub data: [u8; DATA_MAX],
    /// Room for a 4-byte key read at any offset below `ENV_MAX`.
    pub env: [u8; ENV_MAX + 8],
    pub envp: [u64; ENV_VARS_SCAN],
}

/// Size of an [`ExecEvent`]: where its tail starts.
pub const EXEC_FIXED_LEN: usize = size_of::<ExecEvent>();
