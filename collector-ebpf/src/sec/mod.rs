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
//! opening unwatched files as fast as it can costs one string read and a
//! word-at-a-time scan of it per open (the trie and the name map are
//! looked up only when a gate says the path may match), and one load at
//! the call's exit ([`STASHED`] is zero when no call is stashed).
use crate::kread::Res;
use aya_ebpf::{
    EbpfContext as _,
    macros::map,
    maps::{Array, HashMap, LpmTrie, LruHashMap, PerCpuArray},
    programs::TracePointContext,
};
use perch_common::{
    NameKey, PREFIX_MAX, SYSCALL_SLOTS, SecConfig, SecScratch, SecStash,
    pathscan::{GATE_WORDS, gate_bit},
};

mod enter;
mod exit;
mod path;

/// Which op each syscall number is (written by perchd before load).
#[unsafe(no_mangle)]
static SEC_CONFIG: SecConfig = SecConfig {
    ops: [0; SYSCALL_SLOTS],
    has_reads: 0,
    pad: 0,
    dir_gate: [0; GATE_WORDS],
    name_gate: [0; GATE_WORDS],
};

/// A syscall's arguments from its enter to its exit, by thread id.  LRU:
/// a thread that never returns (killed in the call) cannot fill it.
#[map]
static STASH: LruHashMap<u32, SecStash> = LruHashMap::with_max_entries(16384, 0);

/// How many calls are in [`STASH`] (added by [`stash`], taken by
/// [`take`]), so that an exit finds out with one load that no call of
/// any thread waits, which is every exit of an unwatched open.  An entry
/// that is never taken (evicted, or overwritten) keeps it above zero:
/// exits then look up [`STASH`] as they would without it.
#[map]
static STASHED: Array<u64> = Array::with_max_entries(1, 0);

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
    // Uninitialised: zeroing it first was a call to a memset subprogram
    // on every open.
    let mut a = core::mem::MaybeUninit::<[u64; 6]>::uninit();
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
    // SAFETY: the helper wrote all 48 bytes (it zeroes them on failure).
    Ok(unsafe { a.assume_init() })
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

/// `SEC_CONFIG.has_reads`.
#[inline(always)]
fn has_reads() -> bool {
    // SAFETY: a plain read of a load-time constant.
    unsafe { core::ptr::read_volatile(&raw const SEC_CONFIG.has_reads) != 0 }
}

/// Whether the gate of names (else of first components) has the bit of
/// `head` (see `perch_common::pathscan`).
#[inline(always)]
fn gate_open(names: bool, head: u64, len: u64) -> bool {
    let bit = gate_bit(head, len);
    let i = (bit / 64) & (GATE_WORDS - 1);
    // SAFETY: plain reads of load-time constants (volatile: the compiler
    // would otherwise fold the zeros they are declared with).
    let w = unsafe {
        if names {
            core::ptr::read_volatile(&raw const SEC_CONFIG.name_gate[i])
        } else {
            core::ptr::read_volatile(&raw const SEC_CONFIG.dir_gate[i])
        }
    };
    w & (1 << (bit % 64)) != 0
}

/// Adds `delta` (wrapping: `u64::MAX` takes one) to [`STASHED`].
#[inline(always)]
fn pending_add(delta: u64) {
    if let Some(p) = STASHED.get_ptr_mut(0) {
        // SAFETY: an aligned u64 in an array map's value, only ever
        // changed atomically.
        unsafe {
            core::intrinsics::atomic_xadd::<u64, u64, { core::intrinsics::AtomicOrdering::Relaxed }>(
                p, delta,
            );
        }
    }
}

/// Keeps the current thread's call for its exit.
#[inline(always)]
fn stash(st: &SecStash) -> Res {
    STASH.insert(tid(), st, 0).map_err(i64::from)?;
    pending_add(1);
    Ok(())
}

/// The current thread's stashed call, removed; `None` at once when no
/// thread has one.
#[inline(always)]
fn take() -> Option<SecStash> {
    let p = STASHED.get_ptr(0)?;
    // SAFETY: an aligned u64 in an array map's value.
    if unsafe { core::ptr::read_volatile(p) } == 0 {
        return None;
    }
    let t = tid();
    // SAFETY: the entry is this thread's; nothing else writes it meanwhile.
    let st = unsafe { STASH.get(t) }.copied()?;
    let _ = STASH.remove(t);
    pending_add(u64::MAX);
    Some(st)
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
