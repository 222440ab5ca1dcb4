//! `sched_process_exec` as a BTF tracepoint: it hands us the `linux_binprm`,
//! so the record can carry the file actually mapped (`bprm->file`: for a
//! script, its interpreter), not only the path given to execve.
//!
//! The record is built in a per-CPU scratch slot (too big for the 512-byte
//! stack) and sent up to the end of its tail: filename, executable path,
//! environment, argv (see perch-common's `exec` module).
use aya_ebpf::{
    helpers::generated::{bpf_probe_read_kernel_str, bpf_probe_read_user},
    macros::{btf_tracepoint, map},
    maps::PerCpuArray,
    programs::BtfTracePointContext,
};
use perch_common::{
    ARGV_MAX, EXEC_ARGV_TRUNCATED, EXEC_EXE_UNKNOWN, EXEC_FILENAME_TRUNCATED, EXEC_FIXED_LEN,
    ExeFile, ExecScratch, FILENAME_MAX, kind,
};

use crate::{
    env,
    kread::{Res, field_ptr, kptr, kread, off, ready},
    output::emit,
    task::{fill_creds, fill_exec_identity, fill_header},
    vfs::{self, tail_at},
};

#[map]
static SCRATCH: PerCpuArray<ExecScratch> = PerCpuArray::with_max_entries(1, 0);

#[btf_tracepoint(function = "sched_process_exec")]
pub fn perch_exec(ctx: BtfTracePointContext) -> i32 {
    let _ = try_sched_process_exec(&ctx);
    0
}

fn try_sched_process_exec(ctx: &BtfTracePointContext) -> Res {
    if !ready() {
        return Err(1);
    }
    // (struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
    let task: *const u8 = ctx.arg(0);
    let old_pid: i32 = ctx.arg(1);
    let bprm: *const u8 = ctx.arg(2);
    let scratch = SCRATCH.get_ptr_mut(0).ok_or(1_i64)?;
    // SAFETY: the per-CPU slot is ours for the duration of this program.
    let data = unsafe { (&raw mut (*scratch).data).cast::<u8>() };
    // SAFETY: as above; env::select below touches only the other fields.
    let ev = unsafe { &mut (*scratch).event };
    ev.flags = 0;
    fill_header(&mut ev.header, kind::EXEC, task)?;
    fill_creds(&mut ev.creds, task)?;
    fill_exec_identity(ev, task);
    ev.old_pid = old_pid.cast_unsigned();
    vfs::stdio(task, &mut ev.stdio);

    // The path given to execve (relative, `/dev/fd/N` for fexecve...).
    let filename = field_ptr(bprm, off!(exec.bprm_filename))?;
    // SAFETY: writes at most FILENAME_MAX bytes at the start of the tail.
    let n = unsafe { bpf_probe_read_kernel_str(data.cast(), FILENAME_MAX as u32, filename.cast()) };
    let mut pos = if n > 0 { n as usize } else { 0 };
    if pos >= FILENAME_MAX {
        ev.flags |= EXEC_FILENAME_TRUNCATED;
    }
    ev.filename_len = pos as u32;

    ev.exe = ExeFile::default();
    ev.exe_len = 0;
    match field_ptr(bprm, off!(exec.bprm_file)) {
        Ok(file) => {
            let _ = vfs::exe_facts(file, &mut ev.exe);
            if let Ok((len, flags)) = vfs::path_names(file, data, pos) {
                ev.exe_len = len as u32;
                ev.flags |= flags;
                pos += len;
            }
        }
        Err(_) => ev.flags |= EXEC_EXE_UNKNOWN,
    }

    // The selected environment entries, then argv (contiguous in the new
    // image's memory, as /proc/PID/cmdline reads it).
    ev.env_len = 0;
    if let Ok((len, flags)) = env::select(scratch, pos, task, bprm) {
        ev.env_len = len as u32;
        ev.flags |= flags;
        pos += len;
    }
    let mm = kptr(task, off!(task.mm))?;
    let (len, cut) = user_copy(
        data,
        pos,
        mm,
        off!(task.mm_arg_start),
        off!(task.mm_arg_end),
        ARGV_MAX,
    );
    ev.argv_len = len as u32;
    if cut {
        ev.flags |= EXEC_ARGV_TRUNCATED;
    }
    pos += len;
    emit(
        kind::EXEC,
        scratch.cast_const().cast(),
        EXEC_FIXED_LEN + pos,
        size_of::<ExecScratch>(),
    );
    Ok(())
}

/// Copies user memory between the `mm` fields at `start_off` and `end_off`
/// (at most `max` bytes) to the tail at `pos`; returns the bytes copied and
/// whether there were more.  A faulting read copies nothing.
#[inline(always)]
fn user_copy(
    data: *mut u8,
    pos: usize,
    mm: *const u8,
    start_off: usize,
    end_off: usize,
    max: usize,
) -> (usize, bool) {
    let (Ok(start), Ok(end)) = (kread::<u64>(mm, start_off), kread::<u64>(mm, end_off)) else {
        return (0, false);
    };
    let mut len = end.saturating_sub(start) as usize;
    let cut = len > max;
    if cut {
        len = max;
    }
    // SAFETY: len <= max <= DATA_MAX / 2, written inside the tail (tail_at).
    let ret =
        unsafe { bpf_probe_read_user(tail_at(data, pos).cast(), len as u32, start as *const _) };
    if ret == 0 { (len, cut) } else { (0, cut) }
}
