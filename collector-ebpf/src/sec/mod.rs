//! Security-relevant syscalls, from per-syscall `syscalls:sys_enter_*` /
//! `sys_exit_*` tracepoints (only the syscalls that matter are attached,
//! never `raw_syscalls`).  perchd maps each syscall number to an op
//! ([`SEC_CONFIG`]), so one program serves many tracepoints:
//!
//! - [`enter`]: `perch_sec_enter` stashes a call's arguments per thread
//!   ([`STASH`]) when the call may be reported; `perch_sec_open` does the
//!   same for the open family after the path filter (the hot path).
//! - [`exit`]: `perch_sec_exit` and `perch_sec_file` (file syscalls) take
//!   the stash back and send one record with the result.
//! - [`path`]: absolute paths (relative ones against the cwd or dirfd, or
//!   the opened file's own path) and the watch check: the path prefix map
//!   ([`WATCH_PREFIXES`], an LPM trie) and last-component names
//!   ([`WATCH_NAMES`]), both filled by perchd from its configuration.
//!
//! The path filter runs before anything large is copied, so a process
//! opening unwatched files as fast as it can costs one string read, one
//! trie lookup and a scan of the string per open.
use crate::kread::Res;
use aya_ebpf::{
    EbpfContext as _,
    macros::map,
    maps::{HashMap, LpmTrie, LruHashMap, PerCpuArray},
    programs::TracePointContext,
};
use perch_common::{NameKey, PREFIX_MAX, SYSCALL_SLOTS, SecConfig, SecScratch, SecStash};

mod enter;
mod exit;
mod path;

/// Which op each syscall number is (written by perchd before load).
#[unsafe(no_mangle)]
static SEC_CONFIG: SecConfig = SecConfig {
    ops: [0; SYSCALL_SLOTS],
    has_names: 0,
    has_reads: 0,
};

/// A syscall's arguments from its enter to its exit, by thread id.  LRU:
/// a thread that never returns (killed in the call) cannot fill it.
#[map]
static STASH: LruHashMap<u32, SecStash> = LruHashMap::with_max_entries(16384, 0);

/// Watched path prefixes → the `watch` bits they are watched for (an
/// entry's bits include those of every shorter prefix of it, so the
/// longest match says everything).
#[map]
static WATCH_PREFIXES: LpmTrie<[u8; PREFIX_MAX], u32> = LpmTrie::with_max_entries(4096, 0);

/// Watched last components (`*/release_agent`) → `watch` bits.
#[map]
static WATCH_NAMES: HashMap<NameKey, u32> = HashMap::with_max_entries(256, 0);

#[map]
static SEC_SCRATCH: PerCpuArray<SecScratch> = PerCpuArray::with_max_entries(1, 0);

/// Where a syscall record's arguments start (and its return value is):
/// the same on every kernel; perchd checks it in tracefs before attaching.
const ARGS_AT: usize = 16;

/// A syscall exit's return value.
#[inline(always)]
fn ret(ctx: &TracePointContext) -> i64 {
    // SAFETY: a load from the tracepoint record at a constant offset,
    // which the verifier checks against the record's size.
    unsafe { core::ptr::read_unaligned(ctx.as_ptr().cast::<u8>().add(ARGS_AT).cast()) }
}

/// A syscall entry's six argument slots.  Read with a helper, not loaded:
/// a program's loads from the record must fit the smallest record it is
/// attached to (the kernel refuses the attach otherwise), and one program
/// serves syscalls of one to six arguments.  Slots past the call's own
/// arguments hold whatever follows the record; they are never used.
#[inline(always)]
fn args(ctx: &TracePointContext) -> Res<[u64; 6]> {
    let mut a = [0u64; 6];
    // SAFETY: writes 48 bytes into `a`; the source is the record (and the
    // trace buffer right after it), which the helper reads safely.
    let r = unsafe {
        aya_ebpf::helpers::generated::bpf_probe_read_kernel(
            a.as_mut_ptr().cast(),
            48,
            ctx.as_ptr().cast::<u8>().add(ARGS_AT).cast(),
        )
    };
    if r != 0 {
        return Err(r);
    }
    Ok(a)
}

/// The op of the syscall whose tracepoint fired.
#[inline(always)]
fn op_of(ctx: &TracePointContext) -> u8 {
    // SAFETY: `__syscall_nr` is at offset 8 of every syscall record.
    let nr: i32 = unsafe { core::ptr::read_unaligned(ctx.as_ptr().cast::<u8>().add(8).cast()) };
    let i = nr.cast_unsigned() as usize & (SYSCALL_SLOTS - 1);
    // SAFETY: a plain read of a load-time constant.
    unsafe { core::ptr::read_volatile(&raw const SEC_CONFIG.ops[i]) }
}

/// `SEC_CONFIG.has_names` / `has_reads`.
#[inline(always)]
fn config_flag(names: bool) -> bool {
    // SAFETY: plain reads of load-time constants.
    unsafe {
        if names {
            core::ptr::read_volatile(&raw const SEC_CONFIG.has_names) != 0
        } else {
            core::ptr::read_volatile(&raw const SEC_CONFIG.has_reads) != 0
        }
    }
}

/// The current thread's id (the stash's key).
#[inline(always)]
fn tid() -> u32 {
    aya_ebpf::helpers::bpf_get_current_pid_tgid() as u32
}

/// The current task as a BTF pointer (its fields are plain loads).
#[inline(always)]
fn current() -> *const u8 {
    // SAFETY: no preconditions.
    unsafe { aya_ebpf::helpers::generated::bpf_get_current_task_btf() as *const u8 }
}
