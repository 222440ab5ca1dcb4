//! The one ring buffer every program writes to, and the per-kind counters
//! of records sent and lost.
//!
//! Records are submitted without a wake-up (SETUP.md: a wake-up per event
//! costs ~15% of exec throughput); the reader polls, and we force a wake-up
//! only once the buffer holds more than [`WAKEUP_BYTES`], so bursts are
//! drained early.  A record that does not fit is counted as lost under its
//! kind, never dropped silently.
use aya_ebpf::{
    bindings::{BPF_RB_AVAIL_DATA, BPF_RB_FORCE_WAKEUP, BPF_RB_NO_WAKEUP},
    macros::map,
    maps::{PerCpuArray, RingBuf},
};
use perch_common::kind;

/// Force a wake-up of the reader once this many bytes wait in the ring.
#[unsafe(no_mangle)]
static WAKEUP_BYTES: u64 = 256 * 1024;

/// The ring; perchd sets its size at load time (`ring_buffer_bytes`).
#[map]
static EVENTS: RingBuf = RingBuf::with_byte_size(4 * 1024 * 1024, 0);

/// Per-CPU counters, two per kind: see [`kind::sent_slot`] and
/// [`kind::lost_slot`].  perchd sums them over CPUs.
#[map]
static COUNTERS: PerCpuArray<u64> = PerCpuArray::with_max_entries(kind::COUNTER_SLOTS, 0);

/// Copies `size` bytes (at most `max`) of a record of `kind` into the ring
/// buffer and counts it as sent or lost.
#[inline(always)]
pub fn emit(kind: u32, data: *const u8, size: usize, max: usize) {
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
    let slot = match EVENTS.output::<[u8]>(bytes, u64::from(flags)) {
        Ok(()) => kind::sent_slot(kind),
        Err(_) => kind::lost_slot(kind),
    };
    if let Some(c) = COUNTERS.get_ptr_mut(slot) {
        // SAFETY: per-CPU slot; no other program runs on this CPU meanwhile.
        unsafe { *c += 1 };
    }
}

/// [`emit`] for a fixed-size record.
#[inline(always)]
pub fn emit_record<T>(kind: u32, record: &T) {
    emit(
        kind,
        core::ptr::from_ref(record).cast(),
        size_of::<T>(),
        size_of::<T>(),
    );
}
