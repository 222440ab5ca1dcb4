//! Kernel clocks and constants needed to turn /proc numbers into the units
//! of the model (ns on `CLOCK_BOOTTIME`, bytes).  Cached because sysconf is
//! a libc call we would otherwise make once per process per second.
use std::sync::OnceLock;

use nix::time::{ClockId, clock_gettime};
use nix::unistd::{SysconfVar, sysconf};
use perch_proto::{NS_PER_SEC, NS_PER_TICK};

/// `USER_HZ`: the unit of the tick counters in /proc.  The same fact as
/// `perch_proto::NS_PER_TICK`, which keys are compared with, so it is not
/// asked of sysconf a second time.
#[must_use]
pub const fn ticks_per_second() -> u64 {
    NS_PER_SEC / NS_PER_TICK
}

/// Bytes per page, for the page counts in /proc/PID/stat.
#[must_use]
pub fn page_size() -> u64 {
    static PAGE: OnceLock<u64> = OnceLock::new();
    *PAGE.get_or_init(|| sysconf_u64(SysconfVar::PAGE_SIZE).unwrap_or(4096))
}

fn sysconf_u64(var: SysconfVar) -> Option<u64> {
    sysconf(var)
        .ok()
        .flatten()
        .and_then(|v| u64::try_from(v).ok())
        .filter(|&v| v > 0)
}

/// Converts clock ticks (stat's utime, stime, starttime) to ns.
#[must_use]
pub(crate) fn ticks_to_ns(ticks: u64) -> u64 {
    ticks.saturating_mul(NS_PER_TICK)
}

fn clock_ns(id: ClockId) -> u64 {
    // These clocks cannot fail on Linux; 0 is a harmless stand-in anyway.
    clock_gettime(id).map_or(0, |ts| {
        let secs = u64::try_from(ts.tv_sec()).unwrap_or(0);
        let nanos = u64::try_from(ts.tv_nsec()).unwrap_or(0);
        secs.saturating_mul(NS_PER_SEC).saturating_add(nanos)
    })
}

/// Now on `CLOCK_BOOTTIME`, the clock of every timestamp in the model.
#[must_use]
pub fn now_boot_ns() -> u64 {
    clock_ns(ClockId::CLOCK_BOOTTIME)
}

/// Wall-clock time of boot in ns since the epoch.  Computed from the two
/// clocks rather than /proc/stat `btime`, which has only 1 s precision;
/// moves if the wall clock is stepped, which is what a display wants.
#[must_use]
pub fn boot_time_unix_ns() -> u64 {
    let real = clock_ns(ClockId::CLOCK_REALTIME);
    let boot = now_boot_ns();
    real.saturating_sub(boot)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boot_time_is_in_the_past_and_after_2020() {
        let boot = boot_time_unix_ns();
        assert!(boot > 1_577_836_800 * NS_PER_SEC);
        assert!(boot < clock_ns(ClockId::CLOCK_REALTIME));
        assert!(now_boot_ns() > 0);
        assert_eq!(ticks_to_ns(3), 3 * (NS_PER_SEC / ticks_per_second()));
        // sysconf agrees with the contract's tick.
        assert_eq!(sysconf_u64(SysconfVar::CLK_TCK), Some(ticks_per_second()));
    }
}
