//! The syscalls perchd watches: their tracepoints, their numbers on this
//! architecture (the kernel programs know ops, not numbers), which
//! programs take their entry and exit, and which capability (`GetInfo`)
//! each belongs to.  Only these syscalls' tracepoints are attached.
use perch_common::{SYSCALL_SLOTS, SecConfig, op};

use super::watch::WatchSet;

/// Entry program of the open family (path filter first).
pub const ENTER_OPEN: &str = "perch_sec_open";
/// Entry program of every other watched syscall.
pub const ENTER: &str = "perch_sec_enter";
/// Exit program of the file syscalls.
pub const EXIT_FILE: &str = "perch_sec_file";
/// Exit program of the others.
pub const EXIT: &str = "perch_sec_exit";

/// One watched syscall.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Syscall {
    /// As in `syscalls:sys_enter_NAME`.
    pub name: &'static str,
    pub nr: i64,
    pub op: u8,
    /// The capability it belongs to (`GetInfo`).
    pub capability: &'static str,
}

impl Syscall {
    #[must_use]
    pub fn enter_program(&self) -> &'static str {
        if matches!(self.op, op::OPEN..=op::CREAT) {
            ENTER_OPEN
        } else {
            ENTER
        }
    }

    #[must_use]
    pub fn exit_program(&self) -> &'static str {
        if self.op <= op::FCHMODAT2 {
            EXIT_FILE
        } else {
            EXIT
        }
    }
}

/// Capabilities and what each covers, in `GetInfo`'s order.
pub const CAPABILITIES: &[(&str, &str)] = &[
    (
        "ptrace",
        "ptrace attach, seize and writes into another process",
    ),
    ("memfd", "memfd_create"),
    (
        "setid",
        "set*uid/set*gid to id 0 by a caller whose real uid is not 0",
    ),
    ("stdio_socket_dup", "a socket dup'd onto fd 0, 1 or 2"),
    (
        "file_watch",
        "opens for writing, renames, unlinks, truncations and chmods under watched paths, \
         and reads of watched secrets",
    ),
    ("module_load", "init_module and finit_module"),
    ("mount", "mount"),
    ("unshare", "unshare"),
    ("setns", "setns"),
    ("bpf_prog_load", "bpf(BPF_PROG_LOAD)"),
    ("process_vm_writev", "process_vm_writev"),
    ("chroot", "chroot"),
    (
        "comm_rename",
        "a process renaming itself outside exec (task:task_rename)",
    ),
];

macro_rules! sys {
    ($name:ident, $op:ident, $cap:literal) => {
        Syscall {
            name: stringify!($name),
            nr: paste_nr!($name),
            op: op::$op,
            capability: $cap,
        }
    };
}

/// `libc::SYS_<name>`.
macro_rules! paste_nr {
    (open) => {
        libc::SYS_open
    };
    (creat) => {
        libc::SYS_creat
    };
    (openat) => {
        libc::SYS_openat
    };
    (openat2) => {
        libc::SYS_openat2
    };
    (rename) => {
        libc::SYS_rename
    };
    (renameat) => {
        libc::SYS_renameat
    };
    (renameat2) => {
        libc::SYS_renameat2
    };
    (unlink) => {
        libc::SYS_unlink
    };
    (unlinkat) => {
        libc::SYS_unlinkat
    };
    (truncate) => {
        libc::SYS_truncate
    };
    (ftruncate) => {
        libc::SYS_ftruncate
    };
    (chmod) => {
        libc::SYS_chmod
    };
    (fchmod) => {
        libc::SYS_fchmod
    };
    (fchmodat) => {
        libc::SYS_fchmodat
    };
    (fchmodat2) => {
        libc::SYS_fchmodat2
    };
    (ptrace) => {
        libc::SYS_ptrace
    };
    (memfd_create) => {
        libc::SYS_memfd_create
    };
    (setuid) => {
        libc::SYS_setuid
    };
    (setreuid) => {
        libc::SYS_setreuid
    };
    (setresuid) => {
        libc::SYS_setresuid
    };
    (setgid) => {
        libc::SYS_setgid
    };
    (setregid) => {
        libc::SYS_setregid
    };
    (setresgid) => {
        libc::SYS_setresgid
    };
    (dup) => {
        libc::SYS_dup
    };
    (dup2) => {
        libc::SYS_dup2
    };
    (dup3) => {
        libc::SYS_dup3
    };
    (fcntl) => {
        libc::SYS_fcntl
    };
    (init_module) => {
        libc::SYS_init_module
    };
    (finit_module) => {
        libc::SYS_finit_module
    };
    (mount) => {
        libc::SYS_mount
    };
    (unshare) => {
        libc::SYS_unshare
    };
    (setns) => {
        libc::SYS_setns
    };
    (bpf) => {
        libc::SYS_bpf
    };
    (process_vm_writev) => {
        libc::SYS_process_vm_writev
    };
    (chroot) => {
        libc::SYS_chroot
    };
}

/// Every watched syscall this architecture has.
#[must_use]
pub fn table() -> &'static [Syscall] {
    static TABLE: std::sync::LazyLock<Vec<Syscall>> = std::sync::LazyLock::new(build);
    &TABLE
}

fn build() -> Vec<Syscall> {
    let mut t = vec![
        sys!(openat, OPENAT, "file_watch"),
        sys!(openat2, OPENAT2, "file_watch"),
        sys!(renameat, RENAMEAT, "file_watch"),
        sys!(renameat2, RENAMEAT2, "file_watch"),
        sys!(unlinkat, UNLINKAT, "file_watch"),
        sys!(truncate, TRUNCATE, "file_watch"),
        sys!(ftruncate, FTRUNCATE, "file_watch"),
        sys!(fchmod, FCHMOD, "file_watch"),
        sys!(fchmodat, FCHMODAT, "file_watch"),
        sys!(fchmodat2, FCHMODAT2, "file_watch"),
        sys!(ptrace, PTRACE, "ptrace"),
        sys!(memfd_create, MEMFD_CREATE, "memfd"),
        sys!(setuid, SETUID, "setid"),
        sys!(setreuid, SETREUID, "setid"),
        sys!(setresuid, SETRESUID, "setid"),
        sys!(setgid, SETGID, "setid"),
        sys!(setregid, SETREGID, "setid"),
        sys!(setresgid, SETRESGID, "setid"),
        sys!(dup, DUP, "stdio_socket_dup"),
        sys!(dup3, DUP3, "stdio_socket_dup"),
        sys!(fcntl, FCNTL, "stdio_socket_dup"),
        sys!(init_module, INIT_MODULE, "module_load"),
        sys!(finit_module, FINIT_MODULE, "module_load"),
        sys!(mount, MOUNT, "mount"),
        sys!(unshare, UNSHARE, "unshare"),
        sys!(setns, SETNS, "setns"),
        sys!(bpf, BPF, "bpf_prog_load"),
        sys!(process_vm_writev, PROCESS_VM_WRITEV, "process_vm_writev"),
        sys!(chroot, CHROOT, "chroot"),
    ];
    // The legacy path syscalls exist on x86-64 only (arm64 has the *at ones).
    #[cfg(target_arch = "x86_64")]
    t.extend([
        sys!(open, OPEN, "file_watch"),
        sys!(creat, CREAT, "file_watch"),
        sys!(rename, RENAME, "file_watch"),
        sys!(unlink, UNLINK, "file_watch"),
        sys!(chmod, CHMOD, "file_watch"),
        sys!(dup2, DUP2, "stdio_socket_dup"),
    ]);
    t
}

/// The syscall name of an op, for records (`"openat"`).
#[must_use]
pub fn name_of(op: u8) -> &'static str {
    table()
        .iter()
        .find(|s| s.op == op)
        .map_or("unknown", |s| s.name)
}

/// The programs' configuration: which op each syscall number is, and
/// the open filter's gates for `watch`.
#[must_use]
pub fn sec_config(watch: &WatchSet) -> SecConfig {
    let (dir_gate, name_gate) = watch.gates();
    let mut c = SecConfig {
        has_reads: u32::from(watch.has_reads()),
        dir_gate,
        name_gate,
        ..SecConfig::default()
    };
    for s in table() {
        if let Ok(nr) = usize::try_from(s.nr)
            && nr < SYSCALL_SLOTS
        {
            c.ops[nr] = s.op;
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_op_has_one_syscall_and_a_known_capability() {
        let t = table();
        for s in t {
            assert!(
                usize::try_from(s.nr).is_ok_and(|n| n < SYSCALL_SLOTS),
                "{s:?}"
            );
            assert!(
                CAPABILITIES.iter().any(|(c, _)| *c == s.capability),
                "{s:?}"
            );
            assert_eq!(t.iter().filter(|o| o.op == s.op).count(), 1, "{s:?}");
        }
        let c = sec_config(&WatchSet::default());
        assert_eq!(
            c.ops[usize::try_from(libc::SYS_openat).unwrap()],
            op::OPENAT
        );
        assert_eq!(name_of(op::SETRESUID), "setresuid");
        assert_eq!(
            (Syscall::enter_program(&t[0]), t[0].exit_program()),
            (ENTER_OPEN, EXIT_FILE)
        );
    }
}
