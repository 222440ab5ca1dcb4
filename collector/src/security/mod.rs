//! Security-relevant kernel events in perchd: the syscalls watched and
//! where their tracepoints attach ([`syscalls`]), which paths are watched
//! ([`watch`]), names of the numbers events carry ([`names`]), and the
//! event as the model holds it ([`SecurityEvent`]).  The kernel's records
//! are decoded in `ebpf/decode_sec.rs`, the wire form is in
//! `convert/security.rs`.
pub mod names;
pub mod syscalls;
pub mod watch;

use crate::model::{FdFact, ProcKey};

/// One security-relevant syscall (or a rename of a process outside exec).
#[derive(Clone, Debug, PartialEq)]
pub struct SecurityEvent {
    pub time_ns: u64,
    pub key: ProcKey,
    pub tid: u32,
    /// The syscall's return value (negative errno on failure).
    pub result: i64,
    /// The syscall's name (`openat`, `setresuid`...).
    pub syscall: &'static str,
    pub detail: Detail,
}

/// How a path was made absolute (`perch.v1.PathOrigin`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PathOrigin {
    #[default]
    Given,
    /// Relative, resolved in the kernel against the cwd or dirfd.
    Resolved,
    /// The file's own path, from its fd.
    File,
    /// Folded by perchd (`.`, `..`, empty components).
    Normalized,
    /// Relative; the kernel could not read its directory.
    Relative,
}

/// A path in a security event.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SecPath {
    pub path: String,
    pub truncated: bool,
    pub origin: PathOrigin,
}

/// uid, euid, gid, egid.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Ids {
    pub uid: u32,
    pub euid: u32,
    pub gid: u32,
    pub egid: u32,
}

/// A process another one acts on: the pid as named, and its key when
/// perchd knows it (filled in by the model).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Target {
    pub pid: u32,
    pub key: Option<ProcKey>,
    /// The caller is in a child pid namespace: `pid` is not a host pid.
    pub caller_in_child_ns: bool,
}

/// What the call was, by kind.
#[derive(Clone, Debug, PartialEq)]
pub enum Detail {
    Ptrace {
        request: u32,
        target: Target,
        addr: u64,
    },
    Memfd {
        name: String,
        flags: u32,
    },
    SetId {
        requested: Vec<u32>,
        before: Ids,
        after: Ids,
    },
    StdioDup {
        old_fd: i32,
        new_fd: u32,
        socket: FdFact,
    },
    /// Opened under a watched path; `write` false for a read of a secret.
    Open {
        path: SecPath,
        given: String,
        flags: u32,
        mode: u32,
        write: bool,
    },
    Rename {
        from: SecPath,
        to: SecPath,
        flags: u32,
    },
    Unlink {
        path: SecPath,
        flags: u32,
    },
    Truncate {
        path: SecPath,
        length: u64,
    },
    Chmod {
        path: SecPath,
        mode: u32,
    },
    ModuleLoad {
        path: Option<SecPath>,
        params: String,
        flags: u32,
    },
    Mount {
        source: String,
        target: SecPath,
        fstype: String,
        flags: u64,
    },
    Unshare {
        flags: u64,
    },
    /// `chroot(path)`: the new root directory.
    Chroot {
        path: SecPath,
    },
    Setns {
        fd: i32,
        nstype: u32,
        /// The name of the fd's dentry (a pidfd's; nsfs files have none).
        file: String,
        /// The namespace's type and inode: from `nstype`, or when that is
        /// 0 from the caller's /proc/PID/ns links after the call.
        ns: Option<(String, u64)>,
    },
    BpfProgLoad {
        prog_type: u32,
        name: String,
        insn_count: u32,
    },
    VmWrite {
        target: Target,
        local_iovcnt: u32,
        remote_iovcnt: u32,
    },
    CommRename {
        old: String,
        new: String,
    },
}

impl Detail {
    /// The process this event acts on, if another one.
    pub fn target_mut(&mut self) -> Option<&mut Target> {
        match self {
            Self::Ptrace { target, .. } | Self::VmWrite { target, .. } => Some(target),
            _ => None,
        }
    }
}
