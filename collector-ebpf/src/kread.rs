//! Reading kernel memory with layouts from perchd: the [`OFFSETS`]
//! load-time global, the [`off!`] macro that reads one of its fields,
//! [`kread`], a checked read at `base + offset` through a helper call, and
//! [`field`], a plain load from a BTF-typed pointer.
//!
//! [`field`] is ~30x cheaper than a helper call, but only for pointers the
//! verifier knows the type of: a `tp_btf` argument, `bpf_get_current_task_btf`,
//! or a struct pointer loaded with [`field`] from one of those.  `OFFSETS`
//! is read-only after load, so the verifier sees each offset as a constant
//! and checks every such load against the kernel's BTF (a wrong offset
//! fails the load, never reads garbage); the JIT guards the load, and a
//! NULL or bad pointer reads as 0.  Anything else (pointers computed with
//! arithmetic, arrays of pointers) goes through [`kread`].
use aya_ebpf::helpers::bpf_probe_read_kernel;
use perch_common::Offsets;

/// Kernel layouts, written by perchd before load (all zero here: perchd
/// fills every field or the programs are not loaded).
#[unsafe(no_mangle)]
pub static OFFSETS: Offsets = Offsets {
    valid: 0,
    tracepoints: perch_common::TracepointOffsets { exit_group_dead: 0 },
    task: perch_common::TaskOffsets {
        pid: 0,
        tgid: 0,
        flags: 0,
        real_parent: 0,
        group_leader: 0,
        start_boottime: 0,
        real_cred: 0,
        mm: 0,
        signal: 0,
        exit_code: 0,
        comm: 0,
        files: 0,
        nsproxy: 0,
        thread_pid: 0,
        loginuid: 0,
        in_execve_byte: 0,
        in_execve_mask: 0,
        signal_pids: 0,
        signal_tty: 0,
        signal_oom_mm: 0,
        pidtype_pgid: 0,
        pidtype_sid: 0,
        pid_level: 0,
        pid_numbers: 0,
        upid_nr: 0,
        upid_ns: 0,
        upid_size: 0,
        tty_name: 0,
        mm_arg_start: 0,
        mm_arg_end: 0,
        mm_env_start: 0,
        mm_env_end: 0,
        mm_start_stack: 0,
    },
    cred: perch_common::CredOffsets {
        uid: 0,
        gid: 0,
        euid: 0,
        egid: 0,
        cap_effective: 0,
    },
    exec: perch_common::ExecOffsets {
        bprm_file: 0,
        bprm_filename: 0,
        bprm_argc: 0,
        bprm_envc: 0,
    },
    vfs: perch_common::VfsOffsets {
        file_path: 0,
        file_inode: 0,
        file_private_data: 0,
        path_mnt: 0,
        path_dentry: 0,
        dentry_parent: 0,
        dentry_name: 0,
        qstr_name: 0,
        mount_mnt: 0,
        mount_parent: 0,
        mount_mountpoint: 0,
        vfsmount_root: 0,
        inode_mode: 0,
        inode_uid: 0,
        inode_gid: 0,
        inode_ino: 0,
        inode_nlink: 0,
        inode_rdev: 0,
        inode_sb: 0,
        sb_magic: 0,
        sb_dev: 0,
        files_fdt: 0,
        fdtable_max_fds: 0,
        fdtable_fd: 0,
    },
    sock: perch_common::SockOffsets {
        socket_sk: 0,
        family: 0,
        daddr: 0,
        rcv_saddr: 0,
        dport: 0,
        num: 0,
        v6_daddr: 0,
        v6_rcv_saddr: 0,
        sk_type: 0,
        sk_protocol: 0,
    },
    ns: perch_common::NsOffsets {
        nsproxy_mnt_ns: 0,
        mnt_ns_common: 0,
        pid_ns_common: 0,
        common_inum: 0,
    },
    net: perch_common::NetOffsets {
        sys_exit_ret: 0,
        connect_fd: 0,
        connect_addr: 0,
        bind_fd: 0,
        bind_addr: 0,
        sendto_fd: 0,
        sendto_addr: 0,
        sendmsg_fd: 0,
        sendmsg_msg: 0,
        cookie: 0,
        sk_socket: 0,
        socket_file: 0,
        tcp_bytes_sent: 0,
        tcp_bytes_retrans: 0,
        tcp_bytes_received: 0,
        tcp_segs_in: 0,
        tcp_segs_out: 0,
        msghdr_name: 0,
        skc_net: 0,
        net_inum: 0,
    },
    sec: perch_common::SecOffsets {
        task_fs: 0,
        fs_pwd: 0,
        qstr_len: 0,
        pad: 0,
    },
};

/// A program's result: `Err` carries a helper's error code and only ends
/// the program early (nothing is sent).
pub type Res<T = ()> = Result<T, i64>;

/// One field of [`OFFSETS`] as a `usize`, e.g. `off!(task.pid)`.
macro_rules! off {
    ($($field:ident).+) => {
        // SAFETY: a plain read of a load-time constant; volatile so the
        // compiler cannot fold the zero it was compiled with.
        unsafe { core::ptr::read_volatile(&raw const $crate::kread::OFFSETS.$($field).+) } as usize
    };
}
pub(crate) use off;

/// Whether perchd has filled [`OFFSETS`] (always, once loaded by perchd).
#[inline(always)]
pub fn ready() -> bool {
    off!(valid) != 0
}

/// Reads a `T` at `base + offset` in kernel memory.
#[inline(always)]
pub fn kread<T>(base: *const u8, offset: usize) -> Res<T> {
    // SAFETY: bpf_probe_read_kernel tolerates any address; a bad one is an Err.
    unsafe { bpf_probe_read_kernel(base.wrapping_add(offset).cast::<T>()) }.map_err(i64::from)
}

/// Loads the field at `offset` of the BTF-typed struct pointer `base` (see
/// the module doc); `T` must be the field's size.
#[inline(always)]
pub fn field<T: Copy>(base: *const u8, offset: usize) -> T {
    // SAFETY: a guarded (BPF_PROBE_MEM) load the verifier checks against BTF.
    unsafe { core::ptr::read_volatile(base.wrapping_add(offset).cast::<T>()) }
}

/// [`field`] for a struct pointer field; NULL is an error, so chains of
/// loads stop at the first missing link.
#[inline(always)]
pub fn field_ptr(base: *const u8, offset: usize) -> Res<*const u8> {
    let p: *const u8 = field(base, offset);
    if p.is_null() { Err(-1) } else { Ok(p) }
}

/// Reads a pointer at `base + offset`; a null one is an error, so chains of
/// reads stop at the first missing link.
#[inline(always)]
pub fn kptr(base: *const u8, offset: usize) -> Res<*const u8> {
    let p: *const u8 = kread(base, offset)?;
    if p.is_null() { Err(-1) } else { Ok(p) }
}
