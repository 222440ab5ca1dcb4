//! Host-wide meters, sampled about once a second: per-core CPU, memory,
//! swap, load, task counts, disk and network throughput.  Files are parsed
//! with the `procfs` crate; reading them ourselves keeps `proc_root`
//! configurable and lets tests feed fixture text to the same parsers.
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use procfs::{
    ExplicitSystemInfo, FromBufRead, FromBufReadSI, FromRead, KernelStats, LoadAverage, Meminfo,
};

use perch_proto::NS_PER_SEC;

use super::devices::{Counters, parse_disks, parse_net, rates, whole_disks};
use crate::clock::{now_boot_ns, page_size, ticks_per_second};
use crate::model::{CpuSample, HostSample};

/// Cumulative ticks of one CPU, grouped the way we report them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct CpuTicks {
    /// user + nice (guest time is already inside user).
    user: u64,
    /// system + irq + softirq.
    system: u64,
    iowait: u64,
    idle: u64,
    steal: u64,
}

impl CpuTicks {
    fn total(&self) -> u64 {
        // Saturating: the values come from a file, and this must not panic.
        [self.system, self.iowait, self.idle, self.steal]
            .iter()
            .fold(self.user, |a, b| a.saturating_add(*b))
    }
}

#[derive(Debug)]
struct Prev {
    at: Instant,
    cpus: Vec<CpuTicks>,
    disks: Counters,
    nets: Counters,
}

#[derive(Debug)]
pub struct HostSampler {
    proc_root: PathBuf,
    sys_block: PathBuf,
    prev: Option<Prev>,
}

impl HostSampler {
    #[must_use]
    pub fn new(proc_root: impl AsRef<Path>) -> Self {
        Self::with_sys_block(proc_root, "/sys/block")
    }

    /// `sys_block` lists the whole disks (see `whole_disks`).
    #[must_use]
    pub fn with_sys_block(proc_root: impl AsRef<Path>, sys_block: impl AsRef<Path>) -> Self {
        Self {
            proc_root: proc_root.as_ref().to_owned(),
            sys_block: sys_block.as_ref().to_owned(),
            prev: None,
        }
    }

    /// One sample.  The first call reports averages since boot; later ones
    /// cover the time since the previous call.  A file that cannot be read
    /// or parsed leaves its fields at zero rather than failing the sample.
    pub fn sample(&mut self) -> HostSample {
        let at = Instant::now();
        let uptime_ns = now_boot_ns();
        let mut s = HostSample {
            uptime_ns,
            ..HostSample::default()
        };

        let cpus = self
            .read("stat")
            .and_then(|t| parse_cpus(&t))
            .unwrap_or_default();
        if let Some(m) = self
            .read("meminfo")
            .and_then(|t| Meminfo::from_buf_read(t.as_bytes()).ok())
        {
            fill_memory(&mut s, &m);
        }
        if let Some(l) = self
            .read("loadavg")
            .and_then(|t| LoadAverage::from_read(t.as_bytes()).ok())
        {
            s.load = [f64::from(l.one), f64::from(l.five), f64::from(l.fifteen)];
            s.tasks_running = l.cur;
            s.threads_total = l.max;
        }
        s.tasks_total = count_pids(&self.proc_root);
        let whole = whole_disks(&self.sys_block);
        let disks = self
            .read("diskstats")
            .map(|t| parse_disks(&t, whole.as_ref()))
            .unwrap_or_default();
        let nets = self
            .read("net/dev")
            .map(|t| parse_net(&t))
            .unwrap_or_default();

        let (secs, prev_cpus, prev_disks, prev_nets) = if let Some(p) = &self.prev {
            let d = at.duration_since(p.at);
            s.interval_ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
            (
                d.as_secs_f64(),
                p.cpus.as_slice(),
                Some(&p.disks),
                Some(&p.nets),
            )
        } else {
            s.interval_ns = uptime_ns;
            (uptime_ns as f64 / NS_PER_SEC as f64, &[][..], None, None)
        };
        // A CPU going offline shifts the list: fall back to since-boot.
        let base = if prev_cpus.len() == cpus.len() {
            prev_cpus
        } else {
            &[]
        };
        s.cpus = cpus
            .iter()
            .enumerate()
            .map(|(i, cur)| cpu_sample(&base.get(i).copied().unwrap_or_default(), cur))
            .collect();
        (s.disk_read_bytes_per_sec, s.disk_write_bytes_per_sec) = rates(prev_disks, &disks, secs);
        (s.net_rx_bytes_per_sec, s.net_tx_bytes_per_sec) = rates(prev_nets, &nets, secs);
        self.prev = Some(Prev {
            at,
            cpus,
            disks,
            nets,
        });
        s
    }

    fn read(&self, name: &str) -> Option<String> {
        match fs::read(self.proc_root.join(name)) {
            Ok(b) => Some(String::from_utf8_lossy(&b).into_owned()),
            Err(e) => {
                tracing::debug!(file = name, error = %e, "host sample: file unreadable");
                None
            }
        }
    }
}

/// Per-CPU ticks from /proc/stat, in `cpuN` order (the `cpu ` total line
/// is not reported).
fn parse_cpus(text: &str) -> Option<Vec<CpuTicks>> {
    let si = ExplicitSystemInfo {
        boot_time_secs: 0,
        ticks_per_second: ticks_per_second(),
        page_size: page_size(),
        is_little_endian: cfg!(target_endian = "little"),
    };
    let stats = KernelStats::from_buf_read(text.as_bytes(), &si).ok()?;
    let ticks = stats.cpu_time.iter().map(|c| CpuTicks {
        user: c.user.saturating_add(c.nice),
        system: c
            .system
            .saturating_add(c.irq.unwrap_or(0))
            .saturating_add(c.softirq.unwrap_or(0)),
        iowait: c.iowait.unwrap_or(0),
        idle: c.idle,
        steal: c.steal.unwrap_or(0),
    });
    Some(ticks.collect())
}

/// Percentages between two readings of one CPU.  Counters are compared
/// with saturation: iowait is known to go backwards on some kernels.
fn cpu_sample(prev: &CpuTicks, cur: &CpuTicks) -> CpuSample {
    let d = CpuTicks {
        user: cur.user.saturating_sub(prev.user),
        system: cur.system.saturating_sub(prev.system),
        iowait: cur.iowait.saturating_sub(prev.iowait),
        idle: cur.idle.saturating_sub(prev.idle),
        steal: cur.steal.saturating_sub(prev.steal),
    };
    let total = d.total();
    let pct = |v: u64| {
        if total == 0 {
            0.0
        } else {
            v as f64 / total as f64 * 100.0
        }
    };
    CpuSample {
        // Busy excludes idle and iowait (the CPU was free to run others).
        busy_percent: pct(d.user.saturating_add(d.system).saturating_add(d.steal)),
        user_percent: pct(d.user),
        system_percent: pct(d.system),
        iowait_percent: pct(d.iowait),
    }
}

fn fill_memory(s: &mut HostSample, m: &Meminfo) {
    s.memory_total_bytes = m.mem_total;
    // MemAvailable exists since 3.14; the fallback is the classic estimate.
    s.memory_available_bytes = m
        .mem_available
        .unwrap_or(
            m.mem_free
                .saturating_add(m.buffers)
                .saturating_add(m.cached),
        )
        .min(m.mem_total);
    s.memory_used_bytes = m.mem_total - s.memory_available_bytes;
    s.memory_cached_bytes = m.cached.saturating_add(m.s_reclaimable.unwrap_or(0));
    s.swap_total_bytes = m.swap_total;
    s.swap_used_bytes = m.swap_total.saturating_sub(m.swap_free);
}

/// Numeric entries of the proc root: processes (not threads).
fn count_pids(proc_root: &Path) -> u32 {
    let Ok(dir) = fs::read_dir(proc_root) else {
        return 0;
    };
    let n = dir
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()))
        })
        .count();
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
#[path = "host_tests.rs"]
mod tests;
