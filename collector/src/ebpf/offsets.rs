//! Fills perch-common's `Offsets` from BTF and tracefs: one function per
//! concern, matching the sub-structs, so programs added later bring their
//! own function and leave these alone.  Every field must resolve, except
//! those a kernel may lack by configuration, which become `ABSENT`.
use std::collections::HashMap;

use perch_common::{
    ABSENT, CredOffsets, ExecOffsets, NetOffsets, NsOffsets, Offsets, SecOffsets, SockOffsets,
    TaskOffsets, TracepointOffsets, VfsOffsets,
};

use super::{EbpfError, btf::KernelBtf, tracefs};

/// Reads every layout the programs need; fails if any is missing.
pub fn resolve_offsets() -> Result<Offsets, EbpfError> {
    let b = KernelBtf::load()?;
    Ok(Offsets {
        valid: 1,
        tracepoints: tracepoints()?,
        task: task(&b)?,
        cred: cred(&b)?,
        exec: exec(&b)?,
        vfs: vfs(&b)?,
        sock: sock(&b)?,
        ns: ns(&b)?,
        net: net(&b)?,
        sec: sec(&b)?,
    })
}

fn tracepoints() -> Result<TracepointOffsets, EbpfError> {
    let root = tracefs::tracefs_root()?;
    let exit: HashMap<String, tracefs::Field> =
        tracefs::read_format(&root, "sched", "sched_process_exit")?;
    Ok(TracepointOffsets {
        // Absent before Linux 6.16: the program then reports group leaders.
        exit_group_dead: exit.get("group_dead").map_or(0, |f| f.offset),
    })
}

fn task(b: &KernelBtf) -> Result<TaskOffsets, EbpfError> {
    let t = |f: &str| b.offset("task_struct", f);
    // `unsigned in_execve:1`: the byte that holds it and its mask there.
    let (in_execve_byte, in_execve_mask) = match b.bit_offset("task_struct", "in_execve") {
        Ok(bits) => (
            u32::try_from(bits / 8).unwrap_or(ABSENT),
            1u32 << (bits % 8),
        ),
        Err(_) => (ABSENT, 0),
    };
    Ok(TaskOffsets {
        pid: t("pid")?,
        tgid: t("tgid")?,
        flags: t("flags")?,
        real_parent: t("real_parent")?,
        group_leader: t("group_leader")?,
        start_boottime: t("start_boottime")?,
        real_cred: t("real_cred")?,
        mm: t("mm")?,
        signal: t("signal")?,
        exit_code: t("exit_code")?,
        comm: t("comm")?,
        files: t("files")?,
        nsproxy: t("nsproxy")?,
        thread_pid: t("thread_pid")?,
        // Only with CONFIG_AUDIT.
        loginuid: b.offset_opt("task_struct", "loginuid")?.unwrap_or(ABSENT),
        in_execve_byte,
        in_execve_mask,
        signal_pids: b.offset("signal_struct", "pids")?,
        signal_tty: b.offset("signal_struct", "tty")?,
        signal_oom_mm: b.offset_opt("signal_struct", "oom_mm")?.unwrap_or(ABSENT),
        pidtype_pgid: b.enum_value("pid_type", "PIDTYPE_PGID")?,
        pidtype_sid: b.enum_value("pid_type", "PIDTYPE_SID")?,
        pid_level: b.offset("pid", "level")?,
        pid_numbers: b.offset("pid", "numbers")?,
        upid_nr: b.offset("upid", "nr")?,
        upid_ns: b.offset("upid", "ns")?,
        upid_size: b.size("upid")?,
        tty_name: b.offset("tty_struct", "name")?,
        mm_arg_start: b.offset("mm_struct", "arg_start")?,
        mm_arg_end: b.offset("mm_struct", "arg_end")?,
        mm_env_start: b.offset("mm_struct", "env_start")?,
        mm_env_end: b.offset("mm_struct", "env_end")?,
        mm_start_stack: b.offset("mm_struct", "start_stack")?,
    })
}

fn cred(b: &KernelBtf) -> Result<CredOffsets, EbpfError> {
    let c = |f: &str| b.offset("cred", f);
    Ok(CredOffsets {
        uid: c("uid")?,
        gid: c("gid")?,
        euid: c("euid")?,
        egid: c("egid")?,
        cap_effective: c("cap_effective")?,
    })
}

fn exec(b: &KernelBtf) -> Result<ExecOffsets, EbpfError> {
    Ok(ExecOffsets {
        bprm_file: b.offset("linux_binprm", "file")?,
        bprm_filename: b.offset("linux_binprm", "filename")?,
        bprm_argc: b.offset("linux_binprm", "argc")?,
        bprm_envc: b.offset("linux_binprm", "envc")?,
    })
}

fn vfs(b: &KernelBtf) -> Result<VfsOffsets, EbpfError> {
    let inode = |f: &str| b.offset("inode", f);
    // `const unsigned int i_nlink` shares a union with `__i_nlink`.
    let nlink = match b.offset_opt("inode", "__i_nlink")? {
        Some(o) => o,
        None => inode("i_nlink")?,
    };
    Ok(VfsOffsets {
        file_path: b.offset("file", "f_path")?,
        file_inode: b.offset("file", "f_inode")?,
        file_private_data: b.offset("file", "private_data")?,
        path_mnt: b.offset("path", "mnt")?,
        path_dentry: b.offset("path", "dentry")?,
        dentry_parent: b.offset("dentry", "d_parent")?,
        dentry_name: b.offset("dentry", "d_name")?,
        qstr_name: b.offset("qstr", "name")?,
        mount_mnt: b.offset("mount", "mnt")?,
        mount_parent: b.offset("mount", "mnt_parent")?,
        mount_mountpoint: b.offset("mount", "mnt_mountpoint")?,
        vfsmount_root: b.offset("vfsmount", "mnt_root")?,
        inode_mode: inode("i_mode")?,
        inode_uid: inode("i_uid")?,
        inode_gid: inode("i_gid")?,
        inode_ino: inode("i_ino")?,
        inode_nlink: nlink,
        inode_rdev: inode("i_rdev")?,
        inode_sb: inode("i_sb")?,
        sb_magic: b.offset("super_block", "s_magic")?,
        sb_dev: b.offset("super_block", "s_dev")?,
        files_fdt: b.offset("files_struct", "fdt")?,
        fdtable_max_fds: b.offset("fdtable", "max_fds")?,
        fdtable_fd: b.offset("fdtable", "fd")?,
    })
}

fn sock(b: &KernelBtf) -> Result<SockOffsets, EbpfError> {
    // `struct sock` starts with its `sock_common`, so these are offsets in both.
    let common = b.offset("sock", "__sk_common")?;
    let c = |f: &str| b.offset("sock_common", f).map(|o| o + common);
    Ok(SockOffsets {
        socket_sk: b.offset("socket", "sk")?,
        family: c("skc_family")?,
        daddr: c("skc_daddr")?,
        rcv_saddr: c("skc_rcv_saddr")?,
        dport: c("skc_dport")?,
        num: c("skc_num")?,
        v6_daddr: c("skc_v6_daddr")?,
        v6_rcv_saddr: c("skc_v6_rcv_saddr")?,
        sk_type: b.offset("sock", "sk_type")?,
        sk_protocol: b.offset("sock", "sk_protocol")?,
    })
}

fn ns(b: &KernelBtf) -> Result<NsOffsets, EbpfError> {
    Ok(NsOffsets {
        nsproxy_mnt_ns: b.offset("nsproxy", "mnt_ns")?,
        mnt_ns_common: b.offset("mnt_namespace", "ns")?,
        pid_ns_common: b.offset("pid_namespace", "ns")?,
        common_inum: b.offset("ns_common", "inum")?,
    })
}

fn net(b: &KernelBtf) -> Result<NetOffsets, EbpfError> {
    let root = tracefs::tracefs_root()?;
    let field = |event: &str, name: &str| -> Result<u32, EbpfError> {
        tracefs::read_format(&root, "syscalls", event)?
            .get(name)
            .map(|f| f.offset)
            .ok_or_else(|| EbpfError::Tracefs(format!("syscalls/{event} has no field {name}")))
    };
    let common = b.offset("sock", "__sk_common")?;
    let tcp = |f: &str| b.offset("tcp_sock", f);
    Ok(NetOffsets {
        sys_exit_ret: field("sys_exit_accept4", "ret")?,
        connect_fd: field("sys_enter_connect", "fd")?,
        connect_addr: field("sys_enter_connect", "uservaddr")?,
        bind_fd: field("sys_enter_bind", "fd")?,
        bind_addr: field("sys_enter_bind", "umyaddr")?,
        sendto_fd: field("sys_enter_sendto", "fd")?,
        sendto_addr: field("sys_enter_sendto", "addr")?,
        sendmsg_fd: field("sys_enter_sendmsg", "fd")?,
        sendmsg_msg: field("sys_enter_sendmsg", "msg")?,
        cookie: b.offset("sock_common", "skc_cookie")? + common,
        sk_socket: b.offset("sock", "sk_socket")?,
        socket_file: b.offset("socket", "file")?,
        tcp_bytes_sent: tcp("bytes_sent")?,
        tcp_bytes_retrans: tcp("bytes_retrans")?,
        tcp_bytes_received: tcp("bytes_received")?,
        tcp_segs_in: tcp("segs_in")?,
        tcp_segs_out: tcp("segs_out")?,
        msghdr_name: b.offset("user_msghdr", "msg_name")?,
        skc_net: b.offset("sock_common", "skc_net")? + common,
        net_inum: b.offset("net", "ns")? + b.offset("ns_common", "inum")?,
    })
}

fn sec(b: &KernelBtf) -> Result<SecOffsets, EbpfError> {
    Ok(SecOffsets {
        task_fs: b.offset("task_struct", "fs")?,
        fs_pwd: b.offset("fs_struct", "pwd")?,
        qstr_len: b.offset("qstr", "len")?,
        pad: 0,
    })
}

/// Where `syscalls:*` tracepoint records keep the first argument (and the
/// return value): every such record is `__syscall_nr` then 8-byte slots.
pub fn syscall_args_offset() -> Result<u32, String> {
    let root = tracefs::tracefs_root().map_err(|e| e.to_string())?;
    let read = |event| tracefs::read_format(&root, "syscalls", event).map_err(|e| e.to_string());
    let enter = read("sys_enter_openat")?;
    let exit = read("sys_exit_openat")?;
    let args = enter.get("dfd").map(|f| f.offset);
    let ret = exit.get("ret").map(|f| f.offset);
    let nr = enter.get("__syscall_nr").map(|f| f.offset);
    match (args, ret, nr) {
        (Some(a), Some(r), Some(8)) if a == r && a > 8 => Ok(a),
        _ => Err(format!(
            "syscall tracepoint records are not laid out as expected \
             (__syscall_nr at {nr:?}, first argument at {args:?}, ret at {ret:?})"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_kernel_has_every_layout() {
        let o = resolve_offsets().expect("offsets resolve on this kernel");
        assert_eq!(o.valid, 1);
        assert_ne!(o.task.loginuid, ABSENT, "this kernel has CONFIG_AUDIT");
        assert_ne!(o.task.in_execve_byte, ABSENT);
        assert!(o.task.in_execve_mask.is_power_of_two());
        assert_eq!(o.task.upid_size, 16);
        assert!(o.sock.sk_protocol > o.sock.v6_daddr, "{:?}", o.sock);
        assert_eq!(o.sec.qstr_len, 4, "{:?}", o.sec);
        assert_eq!(syscall_args_offset(), Ok(16));
    }
}
