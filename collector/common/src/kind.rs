//! Record kinds: the number in [`crate::Header::kind`], also the index of
//! the kind's sent/lost counters in the kernel's per-CPU `COUNTERS` map.
//!
//! Each concern owns a range so programs can be added in parallel without
//! renumbering: 1..=15 process lifecycle, 16..=31 network, 32..=63 security
//! events.  Numbers are never reused; [`NAMES`] lists every kind in use.

pub const EXEC: u32 = 1;
pub const FORK: u32 = 2;
pub const EXIT: u32 = 3;
/// A process's name changed (prctl `PR_SET_NAME`, a kernel thread named
/// after its fork); not sent for the rename every exec does.
pub const RENAME: u32 = 4;

/// TCP state changes (`sock:inet_sock_set_state`): connect, established,
/// listen, close.
pub const NET_TCP: u32 = 16;
/// A connection returned by `accept`/`accept4`.
pub const NET_ACCEPT: u32 = 17;
/// UDP sockets connected, bound, or sent to a new destination.
pub const NET_UDP: u32 = 18;
// Security events (see the `security` module): one kind per concern, so
// loss is counted per concern.
pub const PTRACE: u32 = 32;
pub const MEMFD: u32 = 33;
/// setuid/setgid family to id 0 by a non-root caller.
pub const SETID: u32 = 34;
/// A socket dup'd onto fd 0, 1 or 2.
pub const STDIO_DUP: u32 = 35;
/// An open (for write, or for read of a secret) under a watched path.
pub const FILE_OPEN: u32 = 36;
pub const FILE_RENAME: u32 = 37;
pub const FILE_UNLINK: u32 = 38;
pub const FILE_TRUNCATE: u32 = 39;
pub const FILE_CHMOD: u32 = 40;
pub const MODULE_LOAD: u32 = 41;
pub const MOUNT: u32 = 42;
pub const UNSHARE: u32 = 43;
pub const SETNS: u32 = 44;
pub const BPF_PROG_LOAD: u32 = 45;
pub const VM_WRITE: u32 = 46;
pub const CHROOT: u32 = 47;

/// Kinds below this have counters; a record kind must be smaller.
pub const SLOTS: u32 = 64;

/// `COUNTERS` index of the records of `kind` queued in the ring buffer.
#[must_use]
pub const fn sent_slot(kind: u32) -> u32 {
    (kind % SLOTS) * 2
}

/// `COUNTERS` index of the records of `kind` that did not fit in the ring
/// buffer (reservation failed: the reader is behind).
#[must_use]
pub const fn lost_slot(kind: u32) -> u32 {
    (kind % SLOTS) * 2 + 1
}

/// Entries of the `COUNTERS` map.
pub const COUNTER_SLOTS: u32 = SLOTS * 2;

/// Every kind in use and its name (as shown in `GetInfo` and notices).
pub const NAMES: &[(u32, &str)] = &[
    (EXEC, "exec"),
    (FORK, "fork"),
    (EXIT, "exit"),
    (RENAME, "rename"),
    (NET_TCP, "tcp"),
    (NET_ACCEPT, "accept"),
    (NET_UDP, "udp"),
    (PTRACE, "ptrace"),
    (MEMFD, "memfd"),
    (SETID, "setid"),
    (STDIO_DUP, "stdio_socket_dup"),
    (FILE_OPEN, "file_open"),
    (FILE_RENAME, "file_rename"),
    (FILE_UNLINK, "file_unlink"),
    (FILE_TRUNCATE, "file_truncate"),
    (FILE_CHMOD, "file_chmod"),
    (MODULE_LOAD, "module_load"),
    (MOUNT, "mount"),
    (UNSHARE, "unshare"),
    (SETNS, "setns"),
    (BPF_PROG_LOAD, "bpf_prog_load"),
    (VM_WRITE, "process_vm_writev"),
    (CHROOT, "chroot"),
];

/// The name of `kind`, `"unknown"` if it is not in [`NAMES`].
#[must_use]
pub fn name(kind: u32) -> &'static str {
    NAMES
        .iter()
        .find(|(k, _)| *k == kind)
        .map_or("unknown", |(_, n)| n)
}
