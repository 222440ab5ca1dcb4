//! perchd's kernel programs: one record per process exec, fork and exit.
//!
//! Each program is thin: `fn x` calls `try_x`, which returns `Result`.
//! Kernel struct layouts come from perchd at load time ([`OFFSETS`], read
//! from BTF and tracefs), never from constants compiled in here, because
//! they change between kernels.  Records go to one ring buffer without a
//! wake-up per event (SETUP.md: a wake-up per event costs ~15% of exec
//! throughput); the reader polls, and we force a wake-up only once the
//! buffer holds more than [`WAKEUP_BYTES`], so bursts are drained early.
#![no_std]
#![no_main]
#![expect(
    clippy::inline_always,
    reason = "helpers stay in the program's frame so the verifier tracks bounds across them"
)]
#![expect(
    clippy::needless_pass_by_value,
    reason = "aya's program macros hand each program its context by value"
)]
#![expect(
    clippy::cast_possible_truncation,
    reason = "the BPF target is 64-bit and lengths are bounded by ARGV_MAX/FILENAME_MAX"
)]

use aya_ebpf::{
    EbpfContext as _,
    bindings::{BPF_RB_AVAIL_DATA, BPF_RB_FORCE_WAKEUP, BPF_RB_NO_WAKEUP},
    helpers::{
        bpf_get_current_cgroup_id, bpf_get_current_comm, bpf_get_current_task,
        bpf_ktime_get_boot_ns, bpf_probe_read_kernel, bpf_probe_read_kernel_str_bytes,
        generated::bpf_probe_read_user,
    },
    macros::{btf_tracepoint, map, tracepoint},
    maps::{PerCpuArray, RingBuf},
    programs::{BtfTracePointContext, TracePointContext},
};
use perch_common::{
    ARGV_MAX, Creds, EXEC_ARGV_TRUNCATED, EXEC_FILENAME_TRUNCATED, EXEC_FIXED_LEN, ExecEvent,
    ExitEvent, FILENAME_MAX, ForkEvent, Header, KIND_EXEC, KIND_EXIT, KIND_FORK, Offsets,
};

/// Kernel layouts, written by perchd before load.
#[unsafe(no_mangle)]
static OFFSETS: Offsets = Offsets {
    valid: 0,
    exec_filename_loc: 0,
    exec_old_pid: 0,
    exit_group_dead: 0,
    task_pid: 0,
    task_tgid: 0,
    task_flags: 0,
    task_real_parent: 0,
    task_group_leader: 0,
    task_start_boottime: 0,
    task_real_cred: 0,
    task_mm: 0,
    task_signal: 0,
    task_exit_code: 0,
    cred_uid: 0,
    cred_gid: 0,
    cred_euid: 0,
    mm_arg_start: 0,
    mm_arg_end: 0,
    signal_pids: 0,
    signal_tty: 0,
    pidtype_pgid: 0,
    pidtype_sid: 0,
    pid_numbers: 0,
    upid_nr: 0,
    tty_name: 0,
};

/// Force a wake-up of the reader once this many bytes wait in the ring.
#[unsafe(no_mangle)]
static WAKEUP_BYTES: u64 = 256 * 1024;

#[map]
static EVENTS: RingBuf = RingBuf::with_byte_size(4 * 1024 * 1024, 0);

/// Scratch space for building an exec record (too big for the 512-byte stack).
#[map]
static SCRATCH: PerCpuArray<ExecEvent> = PerCpuArray::with_max_entries(1, 0);

/// Per-CPU counters: [`LOST`] records that did not fit in the ring buffer.
#[map]
static COUNTERS: PerCpuArray<u64> = PerCpuArray::with_max_entries(2, 0);
const LOST: u32 = 0;
const SENT: u32 = 1;

type Res<T = ()> = Result<T, i64>;

macro_rules! off {
    ($field:ident) => {
        // SAFETY: a plain read of a load-time constant; volatile so the
        // compiler cannot fold the zero it was compiled with.
        unsafe { core::ptr::read_volatile(&raw const OFFSETS.$field) } as usize
    };
}

/// Reads a `T` at `base + offset` in kernel memory.
#[inline(always)]
fn kread<T>(base: *const u8, offset: usize) -> Res<T> {
    // SAFETY: bpf_probe_read_kernel tolerates any address; a bad one is an Err.
    unsafe { bpf_probe_read_kernel(base.wrapping_add(offset).cast::<T>()) }.map_err(i64::from)
}

#[tracepoint(category = "sched", name = "sched_process_exec")]
pub fn sched_process_exec(ctx: TracePointContext) -> u32 {
    let _ = try_sched_process_exec(ctx);
    0
}

#[btf_tracepoint(function = "sched_process_fork")]
pub fn sched_process_fork(ctx: BtfTracePointContext) -> i32 {
    let _ = try_sched_process_fork(ctx);
    0
}

#[tracepoint(category = "sched", name = "sched_process_exit")]
pub fn sched_process_exit(ctx: TracePointContext) -> u32 {
    let _ = try_sched_process_exit(ctx);
    0
}

fn try_sched_process_exec(ctx: TracePointContext) -> Res {
    if off!(valid) == 0 {
        return Err(1);
    }
    let ev = SCRATCH.get_ptr_mut(0).ok_or(1_i64)?;
    // SAFETY: the per-CPU slot is ours for the duration of this program.
    let ev = unsafe { &mut *ev };
    // SAFETY: bpf_get_current_task has no preconditions.
    let task = unsafe { bpf_get_current_task() } as *const u8;
    fill_header(&mut ev.header, KIND_EXEC, task)?;
    fill_creds(&mut ev.creds, task)?;
    ev.flags = 0;

    let (loc_off, old_pid_off) = (off!(exec_filename_loc), off!(exec_old_pid));
    // SAFETY: offsets from the tracefs format file of this very event.
    let loc: u32 = unsafe { ctx.read_at(loc_off) }.map_err(i64::from)?;
    // SAFETY: as above.
    let old_pid: i32 = unsafe { ctx.read_at(old_pid_off) }.map_err(i64::from)?;
    ev.old_pid = old_pid.cast_unsigned();
    // __data_loc: low 16 bits offset of the string in the record, high 16 its length.
    let name = (ctx.as_ptr() as *const u8).wrapping_add((loc & 0xffff) as usize);
    // SAFETY: reads at most FILENAME_MAX bytes into our buffer.
    let n =
        unsafe { bpf_probe_read_kernel_str_bytes(name, &mut ev.filename) }.map_or(0, <[u8]>::len);
    ev.filename_len = n as u32;
    if (loc >> 16) as usize > FILENAME_MAX {
        ev.flags |= EXEC_FILENAME_TRUNCATED;
    }

    // argv lives contiguously in the new image's memory between
    // mm->arg_start and mm->arg_end, NUL-separated (as /proc/PID/cmdline).
    let mm: *const u8 = kread(task, off!(task_mm))?;
    let start: u64 = kread(mm, off!(mm_arg_start))?;
    let end: u64 = kread(mm, off!(mm_arg_end))?;
    let mut len = end.saturating_sub(start) as usize;
    if len > ARGV_MAX {
        len = ARGV_MAX;
        ev.flags |= EXEC_ARGV_TRUNCATED;
    }
    // SAFETY: len <= ARGV_MAX == argv.len(); a faulting read is an Err.
    let ret =
        unsafe { bpf_probe_read_user(ev.argv.as_mut_ptr().cast(), len as u32, start as *const _) };
    ev.argv_len = if ret == 0 { len as u32 } else { 0 };
    let size = EXEC_FIXED_LEN + ev.argv_len as usize;
    output(core::ptr::from_ref(ev).cast(), size, size_of::<ExecEvent>());
    Ok(())
}

fn try_sched_process_fork(ctx: BtfTracePointContext) -> Res {
    if off!(valid) == 0 {
        return Err(1);
    }
    // tp_btf gives the child's task_struct, which the classic tracepoint's
    // record (pids and comms only) does not: we need its start time and
    // whether it is a new process or just a thread.
    let child: *const u8 = ctx.arg(1);
    let pid: i32 = kread(child, off!(task_pid))?;
    let tgid: i32 = kread(child, off!(task_tgid))?;
    if pid != tgid {
        return Ok(()); // a new thread, not a new process
    }
    let mut ev = ForkEvent::default();
    fill_header(&mut ev.header, KIND_FORK, child)?;
    fill_creds(&mut ev.creds, child)?;
    output(
        (&raw const ev).cast(),
        size_of::<ForkEvent>(),
        size_of::<ForkEvent>(),
    );
    Ok(())
}

fn try_sched_process_exit(ctx: TracePointContext) -> Res {
    if off!(valid) == 0 {
        return Err(1);
    }
    let group_dead_off = off!(exit_group_dead);
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
        let pid: i32 = kread(task, off!(task_pid))?;
        let tgid: i32 = kread(task, off!(task_tgid))?;
        if pid != tgid {
            return Ok(());
        }
    }
    let mut ev = ExitEvent::default();
    fill_header(&mut ev.header, KIND_EXIT, task)?;
    ev.exit_code = kread(task, off!(task_exit_code))?;
    ev.comm = bpf_get_current_comm().unwrap_or_default();
    output(
        (&raw const ev).cast(),
        size_of::<ExitEvent>(),
        size_of::<ExitEvent>(),
    );
    Ok(())
}

/// Process identity of `task`: its thread group, start time and parent.
#[inline(always)]
fn fill_header(h: &mut Header, kind: u32, task: *const u8) -> Res {
    h.kind = kind;
    // SAFETY: bpf_ktime_get_boot_ns has no preconditions.
    h.ktime_ns = unsafe { bpf_ktime_get_boot_ns() };
    h.tgid = kread::<i32>(task, off!(task_tgid))?.cast_unsigned();
    // The leader's start time is the process's (de_thread copies it on exec).
    let leader: *const u8 = kread(task, off!(task_group_leader))?;
    h.start_time_ns = kread(leader, off!(task_start_boottime))?;
    let parent: *const u8 = kread(leader, off!(task_real_parent))?;
    h.ppid = kread::<i32>(parent, off!(task_tgid))?.cast_unsigned();
    let pleader: *const u8 = kread(parent, off!(task_group_leader))?;
    h.parent_start_time_ns = kread(pleader, off!(task_start_boottime))?;
    Ok(())
}

/// Credentials, process group, session and tty of `task`.
#[inline(always)]
fn fill_creds(c: &mut Creds, task: *const u8) -> Res {
    let cred: *const u8 = kread(task, off!(task_real_cred))?;
    c.uid = kread(cred, off!(cred_uid))?;
    c.euid = kread(cred, off!(cred_euid))?;
    c.gid = kread(cred, off!(cred_gid))?;
    let signal: *const u8 = kread(task, off!(task_signal))?;
    c.pgid = pid_nr(signal, off!(pidtype_pgid));
    c.sid = pid_nr(signal, off!(pidtype_sid));
    c.tty = [0; perch_common::TTY_LEN];
    let tty: *const u8 = kread(signal, off!(signal_tty)).unwrap_or(core::ptr::null());
    if !tty.is_null() {
        let name = tty.wrapping_add(off!(tty_name));
        // SAFETY: bounded by the destination buffer.
        let _ = unsafe { bpf_probe_read_kernel_str_bytes(name, &mut c.tty) };
    }
    // For a fork this is the parent's cgroup, which the child inherits
    // (CLONE_INTO_CGROUP aside; perchd re-reads it from /proc later).
    // SAFETY: no preconditions.
    c.cgroup_id = unsafe { bpf_get_current_cgroup_id() };
    c.comm = bpf_get_current_comm().unwrap_or_default();
    Ok(())
}

/// `signal->pids[kind]->numbers[0].nr`: the pgid or sid in the init namespace.
#[inline(always)]
fn pid_nr(signal: *const u8, kind: usize) -> u32 {
    let pid: *const u8 = match kread(signal, off!(signal_pids) + kind * 8) {
        Ok(p) => p,
        Err(_) => return 0,
    };
    if pid.is_null() {
        return 0;
    }
    kread::<i32>(pid, off!(pid_numbers) + off!(upid_nr)).map_or(0, i32::cast_unsigned)
}

/// Copies `size` bytes (at most `max`) of a record into the ring buffer;
/// a full ring counts a lost event instead of failing silently.
#[inline(always)]
fn output(data: *const u8, size: usize, max: usize) {
    let size = if size > max { max } else { size };
    let flags = if EVENTS.query(u64::from(BPF_RB_AVAIL_DATA))
        // SAFETY: load-time constant.
        >= unsafe { core::ptr::read_volatile(&raw const WAKEUP_BYTES) }
    {
        BPF_RB_FORCE_WAKEUP
    } else {
        BPF_RB_NO_WAKEUP
    };
    // SAFETY: `data` points to at least `max` >= `size` readable bytes.
    let bytes = unsafe { core::slice::from_raw_parts(data, size) };
    let counter = match EVENTS.output::<[u8]>(bytes, u64::from(flags)) {
        Ok(()) => SENT,
        Err(_) => LOST,
    };
    if let Some(c) = COUNTERS.get_ptr_mut(counter) {
        // SAFETY: per-CPU slot; no other program runs on this CPU meanwhile.
        unsafe { *c += 1 };
    }
}

#[cfg(not(test))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    loop {}
}

#[unsafe(link_section = "license")]
#[unsafe(no_mangle)]
static LICENSE: [u8; 4] = *b"GPL\0";
