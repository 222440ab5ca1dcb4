//! How two start times compare.  eBPF reports `start_boottime` in
//! nanoseconds, /proc only in clock ticks; keys from both must match.

/// Nanoseconds per clock tick (`USER_HZ` is 100 on every Linux ABI).
pub const NS_PER_TICK: u64 = 10_000_000;

/// True when two `start_time_ns` values name the same process start: equal
/// at clock-tick granularity, the precision of `/proc/PID/stat`.
#[must_use]
pub fn same_start_time(a: u64, b: u64) -> bool {
    a / NS_PER_TICK == b / NS_PER_TICK
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tick_granularity() {
        assert!(same_start_time(1_234_567_890, 1_230_000_000));
        assert!(!same_start_time(1_234_567_890, 1_240_000_000));
    }
}
