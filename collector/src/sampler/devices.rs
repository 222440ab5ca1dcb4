//! Host-wide disk and network throughput from /proc/diskstats and
//! /proc/net/dev: which devices count, and per-second rates from two
//! readings.  Split from host.rs to keep each file about one thing.
use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::Path;

use procfs::net::InterfaceDeviceStatus;
use procfs::{DiskStats, FromBufRead};

/// Per-device cumulative (read/rx, write/tx) bytes.
pub(crate) type Counters = HashMap<String, (u64, u64)>;

/// Devices whose I/O counts as disk I/O: the entries of /sys/block (whole
/// disks; partitions live below their disk, so summing them too would
/// double count), minus loop, ram and zram devices (not storage), minus
/// stacked devices (dm, md: `slaves/` not empty), whose I/O already shows
/// on the disks below.  `None` when /sys/block cannot be read.
pub(crate) fn whole_disks(sys_block: &Path) -> Option<HashSet<String>> {
    let mut set = HashSet::new();
    for entry in fs::read_dir(sys_block).ok()?.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if is_virtual(&name) {
            continue;
        }
        let stacked =
            fs::read_dir(entry.path().join("slaves")).is_ok_and(|mut d| d.next().is_some());
        if !stacked {
            // sysfs spells `/` in device names (cciss/c0d0) as `!`.
            set.insert(name.replace('!', "/"));
        }
    }
    Some(set)
}

fn is_virtual(name: &str) -> bool {
    ["loop", "ram", "zram"].iter().any(|p| name.starts_with(p))
}

/// (device, read bytes, written bytes) of the disks to count, from
/// /proc/diskstats; sectors there are always 512 bytes.  Without a
/// /sys/block list a name is taken for a partition when another entry is
/// its prefix and the rest is digits, optionally after `p` (sda1, nvme0n1p2).
pub(crate) fn parse_disks(text: &str, whole: Option<&HashSet<String>>) -> Counters {
    let Ok(DiskStats(all)) = DiskStats::from_buf_read(text.as_bytes()) else {
        return Counters::new();
    };
    let is_partition = |name: &str| {
        all.iter().any(|d| {
            name.strip_prefix(d.name.as_str()).is_some_and(|rest| {
                let digits = rest.strip_prefix('p').unwrap_or(rest);
                !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
            })
        })
    };
    all.iter()
        .filter(|d| match whole {
            Some(set) => set.contains(&d.name),
            None => !is_virtual(&d.name) && !is_partition(&d.name),
        })
        .map(|d| {
            (
                d.name.clone(),
                (
                    d.sectors_read.saturating_mul(512),
                    d.sectors_written.saturating_mul(512),
                ),
            )
        })
        .collect()
}

/// (interface, rx bytes, tx bytes) from /proc/net/dev, without loopback.
pub(crate) fn parse_net(text: &str) -> Counters {
    let Ok(InterfaceDeviceStatus(map)) = InterfaceDeviceStatus::from_buf_read(text.as_bytes())
    else {
        return Counters::new();
    };
    map.into_iter()
        .filter(|(name, _)| name != "lo")
        .map(|(name, d)| (name, (d.recv_bytes, d.sent_bytes)))
        .collect()
}

/// Summed per-second deltas of devices present in both readings (a device
/// that just appeared would otherwise count its whole history); totals
/// since boot when there is no previous reading.
pub(crate) fn rates(prev: Option<&Counters>, cur: &Counters, secs: f64) -> (f64, f64) {
    if secs <= 0.0 {
        return (0.0, 0.0);
    }
    let (mut a, mut b) = (0u64, 0u64);
    for (name, &(x, y)) in cur {
        let (px, py) = match prev {
            Some(p) => match p.get(name) {
                Some(&v) => v,
                None => continue,
            },
            None => (0, 0),
        };
        a = a.saturating_add(x.saturating_sub(px));
        b = b.saturating_add(y.saturating_sub(py));
    }
    (a as f64 / secs, b as f64 / secs)
}
