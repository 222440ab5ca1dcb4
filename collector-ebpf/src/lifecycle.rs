//! Process lifecycle besides exec: fork (new processes only, not threads),
//! exit (of a thread group's last thread), and renames of a process
//! outside exec (prctl `PR_SET_NAME`, a kernel thread getting its name
//! after kthreadd forked it).
use aya_ebpf::{
    helpers::{bpf_probe_read_kernel_str_bytes, generated::bpf_get_current_task_btf},
    macros::{btf_tracepoint, tracepoint},
    programs::{BtfTracePointContext, TracePointContext},
};
use perch_common::{ABSENT, EXIT_OOM_VICTIM, ExitEvent, ForkEvent, RenameEvent, kind};

use crate::{
    kread::{Res, field, kptr, off, ready},
    output::emit_record,
    task::{comm, fill_creds, fill_header},
};

#[btf_tracepoint(function = "sched_process_fork")]
pub fn perch_fork(ctx: BtfTracePointContext) -> i32 {
    let _ = try_sched_process_fork(&ctx);
    0
}

/// Exit, on kernels whose tracepoint says whether the group is dead
/// (6.16+): as `tp_btf`, cheaper than the classic tracepoint.
#[btf_tracepoint(function = "sched_process_exit")]
pub fn perch_exit(ctx: BtfTracePointContext) -> i32 {
    let _ = try_sched_process_exit(&ctx);
    0
}

/// Exit on older kernels: the classic tracepoint, reporting leaders.
#[tracepoint(category = "sched", name = "sched_process_exit")]
pub fn perch_exit_tp(ctx: TracePointContext) -> u32 {
    let _ = try_sched_process_exit_tp(&ctx);
    0
}

#[btf_tracepoint(function = "task_rename")]
pub fn perch_rename(ctx: BtfTracePointContext) -> i32 {
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
    let pid: i32 = field(child, off!(task.pid));
    let tgid: i32 = field(child, off!(task.tgid));
    if pid != tgid {
        return Ok(()); // a new thread, not a new process
    }
    let mut ev = ForkEvent::default();
    fill_header(&mut ev.header, kind::FORK, child)?;
    fill_creds(&mut ev.creds, child)?;
    ev.task_flags = field(child, off!(task.flags));
    emit_record(kind::FORK, &ev);
    Ok(())
}

fn try_sched_process_exit(ctx: &BtfTracePointContext) -> Res {
    if !ready() {
        return Err(1);
    }
    // (struct task_struct *p, bool group_dead)
    let task: *const u8 = ctx.arg(0);
    // A bool in the low byte of its argument slot.
    let group_dead = ctx.arg::<u64>(1) as u8;
    if group_dead == 0 {
        return Ok(()); // a thread exited; the process lives on
    }
    exit_record(task)
}

fn try_sched_process_exit_tp(_ctx: &TracePointContext) -> Res {
    if !ready() {
        return Err(1);
    }
    // SAFETY: no preconditions; a BTF pointer, so its fields can be loaded.
    let task = unsafe { bpf_get_current_task_btf() } as *const u8;
    let pid: i32 = field(task, off!(task.pid));
    let tgid: i32 = field(task, off!(task.tgid));
    if pid != tgid {
        return Ok(()); // the leader's exit stands for the process
    }
    exit_record(task)
}

#[inline(always)]
fn exit_record(task: *const u8) -> Res {
    let mut ev = ExitEvent::default();
    fill_header(&mut ev.header, kind::EXIT, task)?;
    ev.exit_code = field(task, off!(task.exit_code));
    // The OOM killer marks its victim's signal_struct (oom_mm) before
    // sending SIGKILL, and the mark lasts until the struct is freed.
    let oom_mm = off!(task.signal_oom_mm);
    if oom_mm != ABSENT as usize
        && let Ok(signal) = kptr(task, off!(task.signal))
        && kptr(signal, oom_mm).is_ok()
    {
        ev.flags |= EXIT_OOM_VICTIM;
    }
    ev.comm = comm(task);
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
    let pid: i32 = field(task, off!(task.pid));
    let tgid: i32 = field(task, off!(task.tgid));
    if pid != tgid {
        return Ok(()); // a thread's name; the process's is its leader's
    }
    // Every exec renames the task after the new binary: the exec record
    // already says so.
    let byte = off!(task.in_execve_byte);
    if byte != ABSENT as usize {
        let bits: u8 = field(task, byte);
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
