//! Kernel struct layouts, read by perchd from BTF (`/sys/kernel/btf/vmlinux`)
//! and tracefs `format` files, then written into the programs as one
//! load-time global.  All values are byte offsets unless named otherwise.
//!
//! One sub-struct per concern, so programs added later bring their own
//! (`net: NetOffsets`, ...) as a new field at the end without touching the
//! others; perchd fills each in a function of its own
//! (collector/src/ebpf/offsets.rs).
//!
//! [`ABSENT`] marks a field this kernel does not have (e.g. `loginuid`
//! without `CONFIG_AUDIT`); programs check before using such fields.

/// An offset the kernel's BTF does not have.
pub const ABSENT: u32 = u32::MAX;

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Offsets {
    /// 0 until perchd has filled the rest: the programs do nothing.
    pub valid: u32,
    pub tracepoints: TracepointOffsets,
    pub task: TaskOffsets,
    pub cred: CredOffsets,
    pub exec: ExecOffsets,
    pub vfs: VfsOffsets,
    pub sock: SockOffsets,
    pub ns: NsOffsets,
    pub net: NetOffsets,
    pub sec: SecOffsets,
}

/// Classic tracepoint record layouts (tracefs).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TracepointOffsets {
    /// `sched_process_exit`'s `group_dead`; 0 when the record has none
    /// (before Linux 6.16: the program then reports group leaders).
    pub exit_group_dead: u32,
}

/// `task_struct` and what hangs off it for identity: `signal_struct`,
/// `struct pid`, `tty_struct`, `mm_struct`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TaskOffsets {
    pub pid: u32,
    pub tgid: u32,
    pub flags: u32,
    pub real_parent: u32,
    pub group_leader: u32,
    pub start_boottime: u32,
    pub real_cred: u32,
    pub mm: u32,
    pub signal: u32,
    pub exit_code: u32,
    pub comm: u32,
    pub files: u32,
    pub nsproxy: u32,
    pub thread_pid: u32,
    /// [`ABSENT`] without `CONFIG_AUDIT`.
    pub loginuid: u32,
    /// The byte holding the `in_execve` bit, and the bit's mask in it
    /// ([`ABSENT`] when the field is missing).
    pub in_execve_byte: u32,
    pub in_execve_mask: u32,
    // signal_struct: pids[] is an array of `struct pid *`
    pub signal_pids: u32,
    pub signal_tty: u32,
    /// `signal_struct.oom_mm`: set when the OOM killer chose the process
    /// ([`ABSENT`] on kernels without it).
    pub signal_oom_mm: u32,
    /// `enum pid_type` values (indexes into `pids`).
    pub pidtype_pgid: u32,
    pub pidtype_sid: u32,
    // struct pid: numbers[level] is the pid in the namespace at that level
    pub pid_level: u32,
    pub pid_numbers: u32,
    pub upid_nr: u32,
    pub upid_ns: u32,
    /// `sizeof(struct upid)`.
    pub upid_size: u32,
    pub tty_name: u32,
    pub mm_arg_start: u32,
    pub mm_arg_end: u32,
    pub mm_env_start: u32,
    pub mm_env_end: u32,
    pub mm_start_stack: u32,
}

/// `struct cred` (`kuid_t`/`kgid_t` are a single u32, `kernel_cap_t` a u64).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CredOffsets {
    pub uid: u32,
    pub gid: u32,
    pub euid: u32,
    pub egid: u32,
    pub cap_effective: u32,
}

/// `struct linux_binprm` (the `tp_btf` exec program's argument).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExecOffsets {
    pub bprm_file: u32,
    pub bprm_filename: u32,
    pub bprm_argc: u32,
    pub bprm_envc: u32,
}

/// Files and names: `file`, `path`, `dentry`, `qstr`, `mount`,
/// `vfsmount`, `inode`, `super_block`, and the fd table.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VfsOffsets {
    pub file_path: u32,
    pub file_inode: u32,
    pub file_private_data: u32,
    pub path_mnt: u32,
    pub path_dentry: u32,
    pub dentry_parent: u32,
    pub dentry_name: u32,
    pub qstr_name: u32,
    /// `struct mount` embeds the `vfsmount` that paths point to at `mnt`.
    pub mount_mnt: u32,
    pub mount_parent: u32,
    pub mount_mountpoint: u32,
    pub vfsmount_root: u32,
    pub inode_mode: u32,
    pub inode_uid: u32,
    pub inode_gid: u32,
    pub inode_ino: u32,
    pub inode_nlink: u32,
    pub inode_rdev: u32,
    pub inode_sb: u32,
    pub sb_magic: u32,
    pub sb_dev: u32,
    pub files_fdt: u32,
    pub fdtable_max_fds: u32,
    pub fdtable_fd: u32,
}

/// `struct socket` and `struct sock` / `sock_common`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SockOffsets {
    pub socket_sk: u32,
    pub family: u32,
    pub daddr: u32,
    pub rcv_saddr: u32,
    pub dport: u32,
    pub num: u32,
    pub v6_daddr: u32,
    pub v6_rcv_saddr: u32,
    pub sk_type: u32,
    pub sk_protocol: u32,
}

/// Namespaces: `nsproxy`, `mnt_namespace`, `pid_namespace`, `ns_common`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NsOffsets {
    pub nsproxy_mnt_ns: u32,
    pub mnt_ns_common: u32,
    pub pid_ns_common: u32,
    pub common_inum: u32,
}

/// The network programs: syscall tracepoint fields (tracefs) and the
/// `sock`, `socket`, `tcp_sock` and `user_msghdr` fields they read.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NetOffsets {
    /// `ret` of a `sys_exit_*` record.
    pub sys_exit_ret: u32,
    /// `fd` and the address argument of `sys_enter_{connect,bind,sendto}`,
    /// and `fd` and `msg` of `sys_enter_sendmsg`.
    pub connect_fd: u32,
    pub connect_addr: u32,
    pub bind_fd: u32,
    pub bind_addr: u32,
    pub sendto_fd: u32,
    pub sendto_addr: u32,
    pub sendmsg_fd: u32,
    pub sendmsg_msg: u32,
    /// `sock_common.skc_cookie` (as an offset in `struct sock`).
    pub cookie: u32,
    pub sk_socket: u32,
    pub socket_file: u32,
    pub tcp_bytes_sent: u32,
    pub tcp_bytes_retrans: u32,
    pub tcp_bytes_received: u32,
    pub tcp_segs_in: u32,
    pub tcp_segs_out: u32,
    /// `user_msghdr.msg_name`.
    pub msghdr_name: u32,
    /// `sock_common.skc_net` (in `struct sock`) and the namespace's inode
    /// number in `struct net` (`ns.inum`).
    pub skc_net: u32,
    pub net_inum: u32,
}

/// What the security programs add: the current directory (relative paths
/// are resolved against it) and the length of a dentry's name.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SecOffsets {
    /// `task_struct.fs` (`struct fs_struct *`).
    pub task_fs: u32,
    /// `fs_struct.pwd` (`struct path`).
    pub fs_pwd: u32,
    /// `qstr.len` (inside `dentry.d_name`).
    pub qstr_len: u32,
    pub pad: u32,
}
