//! Who a task is: its process key and parent (the record [`Header`]), its
//! credentials, process group, session, tty and cgroup ([`Creds`]), and
//! the facts an exec record adds (login uid, capabilities, namespaces).
use aya_ebpf::helpers::{
    bpf_get_current_cgroup_id, bpf_ktime_get_boot_ns, bpf_probe_read_kernel_str_bytes,
};
use perch_common::{ABSENT, COMM_LEN, Creds, EXEC_LOGINUID, ExecEvent, Header, TTY_LEN};

use crate::kread::{Res, field, field_ptr, kptr, kread, off};

/// Process identity of `task` (a BTF task pointer): its thread group,
/// start time and parent.
#[inline(always)]
pub fn fill_header(h: &mut Header, kind: u32, task: *const u8) -> Res {
    h.kind = kind;
    // SAFETY: bpf_ktime_get_boot_ns has no preconditions.
    h.ktime_ns = unsafe { bpf_ktime_get_boot_ns() };
    h.tgid = field::<i32>(task, off!(task.tgid)).cast_unsigned();
    h.tid = field::<i32>(task, off!(task.pid)).cast_unsigned();
    // The leader's start time is the process's (de_thread copies it on exec).
    let leader = field_ptr(task, off!(task.group_leader))?;
    h.start_time_ns = field(leader, off!(task.start_boottime));
    let parent = field_ptr(leader, off!(task.real_parent))?;
    h.ppid = field::<i32>(parent, off!(task.tgid)).cast_unsigned();
    let pleader = field_ptr(parent, off!(task.group_leader))?;
    h.parent_start_time_ns = field(pleader, off!(task.start_boottime));
    Ok(())
}

/// Credentials, name, process group, session and tty of `task`, which
/// must be the current task or share its cgroup (a child at fork).
#[inline(always)]
pub fn fill_creds(c: &mut Creds, task: *const u8) -> Res {
    let cred = field_ptr(task, off!(task.real_cred))?;
    c.uid = field(cred, off!(cred.uid));
    c.euid = field(cred, off!(cred.euid));
    c.gid = field(cred, off!(cred.gid));
    c.egid = field(cred, off!(cred.egid));
    let signal = field_ptr(task, off!(task.signal))?;
    c.pgid = pid_nr(signal, off!(task.pidtype_pgid));
    c.sid = pid_nr(signal, off!(task.pidtype_sid));
    c.tty = [0; TTY_LEN];
    if let Ok(tty) = field_ptr(signal, off!(task.signal_tty)) {
        let name = tty.wrapping_add(off!(task.tty_name));
        // SAFETY: bounded by the destination buffer.
        let _ = unsafe { bpf_probe_read_kernel_str_bytes(name, &mut c.tty) };
    }
    // For a fork this is the parent's cgroup, which the child inherits
    // (CLONE_INTO_CGROUP aside; perchd re-reads it from /proc later).
    // SAFETY: no preconditions.
    c.cgroup_id = unsafe { bpf_get_current_cgroup_id() };
    // The task's own comm, not the current one's: kthreadd forks kernel
    // threads already named (copy_process copies the name it is given).
    c.comm = comm(task);
    Ok(())
}

/// `task->comm` of a BTF task pointer (two plain loads, no helper call).
#[inline(always)]
pub fn comm(task: *const u8) -> [u8; COMM_LEN] {
    let words: [u64; 2] = [
        field(task, off!(task.comm)),
        field(task, off!(task.comm) + 8),
    ];
    let mut out = [0; COMM_LEN];
    out[..8].copy_from_slice(&words[0].to_ne_bytes());
    out[8..].copy_from_slice(&words[1].to_ne_bytes());
    out
}

/// `signal->pids[kind]->numbers[0].nr`: the pgid or sid in the init namespace.
#[inline(always)]
fn pid_nr(signal: *const u8, kind: usize) -> u32 {
    let Ok(pid) = field_ptr(signal, off!(task.signal_pids) + kind * 8) else {
        return 0;
    };
    field::<i32>(pid, off!(task.pid_numbers) + off!(task.upid_nr)).cast_unsigned()
}

/// What an exec record says beyond [`Creds`]: login uid, effective
/// capabilities, mount and pid namespaces.  Missing links leave zeros.
#[inline(always)]
pub fn fill_exec_identity(ev: &mut ExecEvent, task: *const u8) {
    ev.loginuid = u32::MAX;
    let loginuid = off!(task.loginuid);
    if loginuid != ABSENT as usize {
        ev.loginuid = field(task, loginuid);
        ev.flags |= EXEC_LOGINUID;
    }
    ev.cap_effective = field_ptr(task, off!(task.real_cred))
        .map_or(0, |cred| field(cred, off!(cred.cap_effective)));
    ev.mnt_ns = field_ptr(task, off!(task.nsproxy))
        .and_then(|ns| field_ptr(ns, off!(ns.nsproxy_mnt_ns)))
        .map_or(0, |mnt| {
            field(mnt, off!(ns.mnt_ns_common) + off!(ns.common_inum))
        });
    ev.pid_ns = pid_ns(task).unwrap_or(0);
}

/// The inode number of the pid namespace `task` lives in (the one
/// `/proc/PID/ns/pid` names): `thread_pid->numbers[level].ns`.
#[inline(always)]
fn pid_ns(task: *const u8) -> Res<u32> {
    let pid = field_ptr(task, off!(task.thread_pid))?;
    let level: u32 = field(pid, off!(task.pid_level));
    // Nesting is limited to 32 levels (MAX_PID_NS_LEVEL); the mask keeps
    // the verifier's bound on the offset.
    let at = off!(task.pid_numbers) + (level as usize & 31) * off!(task.upid_size);
    let ns = kptr(pid, at + off!(task.upid_ns))?;
    kread(ns, off!(ns.pid_ns_common) + off!(ns.common_inum))
}
