//! Process lifecycle besides exec: fork (new processes only, not threads),
//! exit (of a thread group's last thread), and renames of a process
//! outside exec (prctl `PR_SET_NAME`, a kernel thread getting its name
//! after kthreadd forked it).
use aya_ebpf::{
    helpers::{bpf_get_current_comm, bpf_get_current_task, bpf_probe_read_kernel_str_bytes},
    macros::{btf_tracepoint, tracepoint},
    programs::{BtfTracePointContext, TracePointContext},
};
use perch_common::{ABSENT, ExitEvent, ForkEvent, RenameEvent, kind};

use crate::{
    kread::{Res, kread, off, ready},
    output::emit_record,
    task::{fill_creds, fill_header},
};

#[btf_tracepoint(function = "sched_process_fork")]
pub fn sched_process_fork(ctx: BtfTracePointContext) -> i32 {
    let _ = try_sched_process_fork(&ctx);
    0
}

#[tracepoint(category = "sched", name = "sched_process_exit")]
pub fn sched_process_exit(ctx: TracePointContext) -> u32 {
    let _ = try_sched_process_exit(&ctx);
    0
}

#[btf_tracepoint(function = "task_rename")]
pub fn task_rename(ctx: BtfTracePointContext) -> i32 {
    let _ = try_task_rename(&ctx);
    0
}

fn try_sched_process_fork(ctx: &BtfTracePointContext) -> Res {
    if !ready() {
        return Err(1);
    }
    // tp_btf gives the child's task_struct, which the classic tracepoint's
    // record (pids and comms only) does not: we need its start time and
    // whether it is a new process or just a thread.
    let child: *const u8 = ctx.arg(1);
    let pid: i32 = kread(child, off!(task.pid))?;
    let tgid: i32 = kread(child, off!(task.tgid))?;
    if pid != tgid {
        return Ok(()); // a new thread, not a new process
    }
    let mut ev = ForkEvent::default();
    fill_header(&mut ev.header, kind::FORK, child)?;
    fill_creds(&mut ev.creds, child)?;
    ev.task_flags = kread(child, off!(task.flags))?;
    emit_record(kind::FORK, &ev);
    Ok(())
}

fn try_sched_process_exit(ctx: &TracePointContext) -> Res {
    if !ready() {
        return Err(1);
    }
    let group_dead_off = off!(tracepoints.exit_group_dead);
    // SAFETY: bpf_get_current_task has no preconditions.
    let task = unsafe { bpf_get_current_task() } as *const u8;
    if group_dead_off != 0 {
        // SAFETY: offset from this event's tracefs format file.
        let dead: u8 = unsafe { ctx.read_at(group_dead_off) }.map_err(i64::from)?;
        if dead == 0 {
            return Ok(()); // a thread exited; the process lives on
        }
    } else {
        // Older kernels: no group_dead in the record; report the leader.
        let pid: i32 = kread(task, off!(task.pid))?;
        let tgid: i32 = kread(task, off!(task.tgid))?;
        if pid != tgid {
            return Ok(());
        }
    }
    let mut ev = ExitEvent::default();
    fill_header(&mut ev.header, kind::EXIT, task)?;
    ev.exit_code = kread(task, off!(task.exit_code))?;
    ev.comm = bpf_get_current_comm().unwrap_or_default();
    emit_record(kind::EXIT, &ev);
    Ok(())
}

fn try_task_rename(ctx: &BtfTracePointContext) -> Res {
    if !ready() {
        return Err(1);
    }
    // (struct task_struct *task, const char *comm); the task's comm is
    // still the old one here.
    let task: *const u8 = ctx.arg(0);
    let comm: *const u8 = ctx.arg(1);
    let pid: i32 = kread(task, off!(task.pid))?;
    let tgid: i32 = kread(task, off!(task.tgid))?;
    if pid != tgid {
        return Ok(()); // a thread's name; the process's is its leader's
    }
    // Every exec renames the task after the new binary: the exec record
    // already says so.
    let byte = off!(task.in_execve_byte);
    if byte != ABSENT as usize {
        let bits: u8 = kread(task, byte)?;
        if u32::from(bits) & off!(task.in_execve_mask) as u32 != 0 {
            return Ok(());
        }
    }
    let mut ev = RenameEvent::default();
    fill_header(&mut ev.header, kind::RENAME, task)?;
    // SAFETY: bounded by the destination buffer.
    let _ = unsafe { bpf_probe_read_kernel_str_bytes(comm, &mut ev.comm) };
    emit_record(kind::RENAME, &ev);
    Ok(())
}
