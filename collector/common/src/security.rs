//! Security-relevant syscalls: the record the kernel programs send for
//! each (ptrace, `memfd_create`, setuid to root, a socket dup'd onto stdio,
//! writes and renames under watched paths, mounts, namespaces, BPF program
//! loads, ...), and what perchd hands the programs to choose them.
//!
//! Each syscall tracepoint has a number (`__syscall_nr`) that differs
//! between architectures; perchd maps it to a [`SecOp`] in [`SecConfig`]
//! (from `libc::SYS_*`), so the programs know nothing of syscall numbers.
//! A syscall's enter program stashes its arguments per thread; its exit
//! program sends one [`SecEvent`] with the result.
//!
//! The record's tail holds up to three strings, one after the other, sized
//! by `lens`: `path` (absolute: the file, the mount target), `path2` (a
//! rename's new path, a mount's source, the open's path as written) and
//! `text` (a memfd's name, a BPF program's name, a mount's filesystem
//! type, the namespace file a setns named).
use crate::{FdInfo, Header, pathscan::GATE_WORDS};

/// What a syscall is to the programs: its argument layout and what is
/// reported.  Stored as a `u8` in [`SecConfig::ops`].
pub mod op {
    pub const NONE: u8 = 0;
    /// `open(path, flags, mode)`
    pub const OPEN: u8 = 1;
    /// `openat(dfd, path, flags, mode)`
    pub const OPENAT: u8 = 2;
    /// `openat2(dfd, path, how, size)`: flags and mode in user memory.
    pub const OPENAT2: u8 = 3;
    /// `creat(path, mode)`
    pub const CREAT: u8 = 4;
    /// `rename(old, new)`
    pub const RENAME: u8 = 5;
    /// `renameat(olddfd, old, newdfd, new)`
    pub const RENAMEAT: u8 = 6;
    /// `renameat2(olddfd, old, newdfd, new, flags)`
    pub const RENAMEAT2: u8 = 7;
    /// `unlink(path)`
    pub const UNLINK: u8 = 8;
    /// `unlinkat(dfd, path, flags)`
    pub const UNLINKAT: u8 = 9;
    /// `truncate(path, length)`
    pub const TRUNCATE: u8 = 10;
    /// `ftruncate(fd, length)`
    pub const FTRUNCATE: u8 = 11;
    /// `chmod(path, mode)`
    pub const CHMOD: u8 = 12;
    /// `fchmod(fd, mode)`
    pub const FCHMOD: u8 = 13;
    /// `fchmodat(dfd, path, mode)`
    pub const FCHMODAT: u8 = 14;
    /// `fchmodat2(dfd, path, mode, flags)`
    pub const FCHMODAT2: u8 = 15;
    /// `ptrace(request, pid, addr, data)`
    pub const PTRACE: u8 = 16;
    /// `memfd_create(name, flags)`
    pub const MEMFD_CREATE: u8 = 17;
    /// `setuid(uid)`
    pub const SETUID: u8 = 18;
    /// `setreuid(ruid, euid)`
    pub const SETREUID: u8 = 19;
    /// `setresuid(ruid, euid, suid)`
    pub const SETRESUID: u8 = 20;
    /// `setgid(gid)`
    pub const SETGID: u8 = 21;
    /// `setregid(rgid, egid)`
    pub const SETREGID: u8 = 22;
    /// `setresgid(rgid, egid, sgid)`
    pub const SETRESGID: u8 = 23;
    /// `dup(oldfd)`
    pub const DUP: u8 = 24;
    /// `dup2(oldfd, newfd)`
    pub const DUP2: u8 = 25;
    /// `dup3(oldfd, newfd, flags)`
    pub const DUP3: u8 = 26;
    /// `fcntl(fd, cmd, arg)`: only `F_DUPFD` and `F_DUPFD_CLOEXEC`.
    pub const FCNTL: u8 = 27;
    /// `init_module(image, len, params)`
    pub const INIT_MODULE: u8 = 28;
    /// `finit_module(fd, params, flags)`
    pub const FINIT_MODULE: u8 = 29;
    /// `mount(source, target, fstype, flags, data)`
    pub const MOUNT: u8 = 30;
    /// `unshare(flags)`
    pub const UNSHARE: u8 = 31;
    /// `setns(fd, nstype)`
    pub const SETNS: u8 = 32;
    /// `bpf(cmd, attr, size)`: only `BPF_PROG_LOAD`.
    pub const BPF: u8 = 33;
    /// `process_vm_writev(pid, lvec, liovcnt, rvec, riovcnt, flags)`
    pub const PROCESS_VM_WRITEV: u8 = 34;
    /// `chroot(path)`
    pub const CHROOT: u8 = 35;
    /// Ops are below this.
    pub const COUNT: u8 = 36;
}

/// Syscall numbers below this can be mapped (x86-64 and arm64 use < 460).
pub const SYSCALL_SLOTS: usize = 512;

/// What perchd tells the programs, as a load-time global: which op each
/// syscall number is, whether reads are watched, and the open filter's
/// gates (see [`crate::pathscan`]).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SecConfig {
    /// `ops[nr]`: the [`op`] of syscall `nr`, [`op::NONE`] if not watched.
    pub ops: [u8; SYSCALL_SLOTS],
    /// Non-zero when the read list holds entries.
    pub has_reads: u32,
    pub pad: u32,
    /// The first components of the watched prefixes (all bits when one
    /// ends inside its first component): the prefix trie is looked up
    /// only for a path whose first component has its bit.
    pub dir_gate: [u64; GATE_WORDS],
    /// The names of the `*/name` rules: the name map is looked up only
    /// for a last component that has its bit (none: never).
    pub name_gate: [u64; GATE_WORDS],
}

impl Default for SecConfig {
    fn default() -> Self {
        Self {
            ops: [op::NONE; SYSCALL_SLOTS],
            has_reads: 0,
            pad: 0,
            dir_gate: [0; GATE_WORDS],
            name_gate: [0; GATE_WORDS],
        }
    }
}

/// What a watched path is watched for: the value of the prefix and name
/// maps, and the `need` of a call.
pub mod watch {
    /// Opened for writing (write access, create or truncate).
    pub const WRITE: u32 = 1;
    /// Opened for reading only.
    pub const READ: u32 = 2;
    /// Renamed into or out of.
    pub const RENAME: u32 = 4;
    pub const UNLINK: u32 = 8;
    /// Truncated: `truncate`, `ftruncate`, or opened with `O_TRUNC`.
    pub const TRUNCATE: u32 = 16;
    pub const CHMOD: u32 = 32;
    /// Everything but reads.
    pub const MODIFY: u32 = WRITE | RENAME | UNLINK | TRUNCATE | CHMOD;
}

/// Longest path prefix the kernel compares (bytes); the prefix map's key.
pub const PREFIX_MAX: usize = 128;
/// Longest `*/name` rule (bytes, without a NUL); the name map's key size.
pub const WATCH_NAME_MAX: usize = 64;
/// Bytes of a path given to open that the kernel reads before deciding
/// (longer paths are resolved from the opened file instead).
pub const RAW_READ: usize = 256;
/// Longest path sent (bytes); longer ones set [`SEC_PATH_TRUNCATED`] and
/// keep their start.
pub const SEC_PATH_MAX: usize = 1024;
/// Longest `text` sent (bytes, NUL included).
pub const SEC_TEXT_MAX: usize = 256;
/// Tail positions are below this (the three segments together are at
/// most `2 * SEC_PATH_MAX + SEC_TEXT_MAX` bytes); the scratch has
/// [`SEC_PATH_MAX`] bytes more, so a masked write of a whole segment fits.
pub const SEC_DATA_MAX: usize = 4096;
/// Working space of the path builder: names are written backwards below
/// [`SEC_RAW_AT`], the path as given is read at it.
pub const SEC_WORK_MAX: usize = 4096;
/// Where the path builder reads the path as given (see [`SEC_WORK_MAX`]).
pub const SEC_RAW_AT: usize = 2048;

/// `SecEvent::flags`: `path` was longer than [`SEC_PATH_MAX`] (or deeper
/// than the walk goes); its start is kept.
pub const SEC_PATH_TRUNCATED: u32 = 1;
/// `SecEvent::flags`: `path` holds `..`, `.` or empty components the
/// kernel does not fold, so it could not decide whether the path is
/// watched: perchd normalises it and applies the same rules.
pub const SEC_PATH_UNNORMALIZED: u32 = 2;
/// `SecEvent::flags`: `path` was relative and its directory (cwd or
/// dirfd) could not be read; it is as given.
pub const SEC_PATH_RELATIVE: u32 = 4;
/// `SecEvent::flags`: `path` was relative and the kernel prefixed its
/// directory's path (the cwd or the dirfd's).
pub const SEC_PATH_RESOLVED: u32 = 8;
/// The `SEC_PATH_*` flags of `path2` are those of `path` shifted by this.
pub const SEC_PATH2_SHIFT: u32 = 8;
/// `SecEvent::flags`: `path` is the file's own path (symlinks resolved),
/// read from its fd; for an open, `path2` is the path as given.
pub const SEC_PATH_FROM_FILE: u32 = 1 << 16;
/// `SecEvent::flags`: the caller lives in a child pid namespace, so a
/// target pid it names is not a global pid.
pub const SEC_PID_NS_CHILD: u32 = 1 << 17;
/// `SecEvent::flags`: `fd` describes the socket now at the new fd.
pub const SEC_FD_VALID: u32 = 1 << 18;

/// One security-relevant syscall, sent at its exit.
///
/// `arg` by op: ptrace `[request, pid, addr, 0]`; `memfd_create` `[flags]`;
/// the setid family `[requested ids as passed (u32, -1 unchanged) ...]`;
/// dup family `[oldfd, newfd or fcntl cmd, fcntl arg]`; opens `[flags,
/// mode]`; renameat2 `[flags]`; unlinkat `[flags]`; truncate `[length]`;
/// chmod family `[mode]`; mount `[flags]`; unshare `[flags]`; setns
/// `[fd, nstype]`; bpf `[prog_type, insn_cnt]`; `process_vm_writev` `[pid,
/// liovcnt, riovcnt, flags]`; `finit_module` `[fd, flags]`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SecEvent {
    pub header: Header,
    /// The syscall's return value (negative errno on failure).
    pub ret: i64,
    pub arg: [u64; 4],
    /// setid family: uid, euid, gid, egid before the call, then after it.
    pub ids: [u32; 8],
    /// dup family: the new fd's socket ([`SEC_FD_VALID`]).
    pub fd: FdInfo,
    /// One of [`op`].
    pub op: u32,
    pub flags: u32,
    /// Bytes of `path`, `path2` and `text` in the tail, in that order.
    pub lens: [u32; 3],
    pub pad: u32,
}

/// Size of a [`SecEvent`]: where its tail starts.
pub const SEC_FIXED_LEN: usize = size_of::<SecEvent>();

/// What a syscall's enter program keeps for its exit program, per thread.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SecStash {
    pub op: u32,
    /// Open family: the [`watch`] bits the call needs; [`STASH_RESOLVE`]
    /// when the decision waits for the opened file's path.
    pub need: u32,
    pub args: [u64; 6],
    /// setid family: uid, euid, gid, egid at entry.
    pub ids: [u32; 4],
    /// bpf: the program's name.
    pub name: [u8; 16],
}

/// `SecStash::need` flag: decide from the opened file's path at exit
/// (relative path, `..` or `.` components, or longer than [`RAW_READ`]).
pub const STASH_RESOLVE: u32 = 1 << 31;

/// The prefix map's key: `prefix_len` in bits, then the path's bytes (the
/// layout of an LPM trie key).
#[repr(C, packed)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PrefixKey {
    pub prefix_len: u32,
    pub data: [u8; PREFIX_MAX],
}

/// The name map's key: the last component, NUL-padded.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NameKey {
    pub name: [u8; WATCH_NAME_MAX],
}

/// Where the security programs build a record: the fixed part and room
/// for the longest tail, plus working space that is not sent.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct SecScratch {
    pub event: SecEvent,
    pub data: [u8; SEC_DATA_MAX + SEC_PATH_MAX],
    /// Puts `key_data` on an eight-byte boundary (the open filter reads
    /// it a word at a time).
    pub pad: u32,
    /// A prefix map key (`key_len` then the first [`PREFIX_MAX`] bytes
    /// of `key_data`), long enough that the path given to open is read
    /// straight into it, with a word of zeros after it for the word scan.
    /// Masked reads past its end land in `work`.
    pub key_len: u32,
    pub key_data: [u8; RAW_READ + 8],
    pub name: NameKey,
    pub walk: SecWalk,
    /// Path building (see [`SEC_RAW_AT`]), with room for a masked write
    /// of a whole name past its end.
    pub work: [u8; SEC_WORK_MAX + 512],
}

// The open filter reads `key_data` as words (a map value is 8-aligned).
const _: () = assert!(core::mem::offset_of!(SecScratch, key_data) % 8 == 0);

/// The state of the path builder's loops, kept in the scratch map rather
/// than on the stack: the verifier tracks stack values exactly, so a
/// position that changes every iteration would make it check each
/// iteration apart; values in a map are just numbers to it (every use is
/// masked).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct SecWalk {
    pub dentry: u64,
    pub mnt: u64,
    pub mnt_root: u64,
    pub pos: u64,
    pub leaf: u64,
    pub len: u64,
    pub steps: u32,
    pub done: u32,
    pub odd: u32,
    pub pad: u32,
}
