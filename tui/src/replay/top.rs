//! `event_top_data` samples: the per-pid table undone from its delta
//! compression (every pid = `default` overridden by its own entries), and
//! the usage figures perch.v1 carries computed as Spydertop does — CPU%
//! from the utime+stime ticks between one sample and the one before over
//! `clk_tck`, RSS in pages of 4 KiB (the agent reports /proc/PID/stat's
//! rss field: 2576 for a minikube systemd is 10 MiB), busy per core from
//! the `cpu_time` ticks.
use perch_proto::{
    NS_PER_SEC,
    v1::{CpuSample, HostSample, ResourceUsage},
};

use super::{
    schema::{CpuTicks, PerchCpu, PerchHost, PidRec, Tasks, TopRec},
    secs_to_ns,
};

/// /proc's page size on the machines Spyderbat's agent runs on (`x86_64`,
/// arm64 with 4 KiB pages).
pub const PAGE_SIZE: u64 = 4096;

/// One pid's figures in one sample, defaults applied.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PidUsage {
    /// Clock ticks after boot (/proc/PID/stat starttime).
    pub start_ticks: u64,
    pub utime: u64,
    pub stime: u64,
    pub rss_pages: u64,
    pub shared_pages: u64,
    pub vsize: u64,
    pub nice: i32,
    pub priority: i32,
    pub state: String,
}

impl PidUsage {
    fn ticks(&self) -> u64 {
        self.utime + self.stime
    }
}

/// Memory figures from /proc/meminfo, in bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Memory {
    pub total: u64,
    pub available: u64,
    pub cached: u64,
    pub swap_total: u64,
    pub swap_free: u64,
}

/// One `event_top_data` record, decompressed.
#[derive(Clone, Debug, Default)]
pub struct Sample {
    pub time_ns: u64,
    pub clk_tck: u64,
    /// Sorted by pid.
    pub pids: Vec<(u32, PidUsage)>,
    /// cpu0, cpu1, ... in that order.
    pub cpus: Vec<CpuTicks>,
    /// The newest memory figures and load averages at or before this
    /// sample (the agent sends them every so often, not every sample):
    /// filled in once all samples are read.
    pub memory: Option<Memory>,
    pub load: Option<[f64; 3]>,
    pub tasks: Tasks,
    /// Sectors read and written by whole disks (not their partitions).
    pub disk_sectors: Option<(u64, u64)>,
    pub net_bytes: Option<(u64, u64)>,
    pub perch_host: Option<PerchHost>,
}

impl Sample {
    /// The sample a record holds, or why it is not one.
    pub fn from_rec(rec: TopRec) -> Result<Sample, String> {
        let clk_tck = if rec.clk_tck == 0 { 100 } else { rec.clk_tck };
        let default = rec.processes.get("default").cloned().unwrap_or_default();
        let mut pids = Vec::with_capacity(rec.processes.len());
        for (key, entry) in &rec.processes {
            if key == "default" {
                continue;
            }
            let pid = key.parse::<u32>().map_err(|_| {
                format!("field `processes`: key `{key}` is neither a pid nor `default`")
            })?;
            pids.push((pid, merge(&default, entry)));
        }
        pids.sort_by_key(|(pid, _)| *pid);
        let mut cpus: Vec<(u32, CpuTicks)> = rec
            .cpu_time
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix("cpu")?.parse().ok()?, *v)))
            .collect();
        cpus.sort_by_key(|(n, _)| *n);
        let memory = rec.memory.as_ref().and_then(|m| {
            Some(Memory {
                total: *m.get("MemTotal")?,
                available: m.get("MemAvailable").copied().unwrap_or_default(),
                cached: m.get("Cached").copied().unwrap_or_default(),
                swap_total: m.get("SwapTotal").copied().unwrap_or_default(),
                swap_free: m.get("SwapFree").copied().unwrap_or_default(),
            })
        });
        let load = match rec.load_avg[..] {
            [a, b, c, ..] => Some([a, b, c]),
            _ => None,
        };
        // A partition (sda1) counts within its disk (sda): whole disks only.
        let disk_sectors = rec.disk.as_ref().map(|disks| {
            disks
                .iter()
                .filter(|(name, _)| {
                    !disks
                        .keys()
                        .any(|d| d.len() < name.len() && name.starts_with(d.as_str()))
                })
                .fold((0, 0), |(r, w), (_, d)| {
                    (r + d.sectors_read, w + d.sectors_written)
                })
        });
        Ok(Sample {
            time_ns: secs_to_ns(rec.time),
            clk_tck,
            pids,
            cpus: cpus.into_iter().map(|(_, c)| c).collect(),
            memory,
            load,
            tasks: rec.tasks,
            disk_sectors,
            net_bytes: rec.network.map(|n| (n.total.bytes_rx, n.total.bytes_tx)),
            perch_host: rec.perch_host,
        })
    }

    /// The figures of `pid` if it is the process started `start_ns` after
    /// boot (a pid reused since is another process).
    #[must_use]
    pub fn pid(&self, pid: u32, start_ns: u64) -> Option<&PidUsage> {
        let i = self.pids.binary_search_by_key(&pid, |(p, _)| *p).ok()?;
        let u = &self.pids[i].1;
        let start = u.start_ticks.saturating_mul(NS_PER_SEC) / self.clk_tck;
        (start.abs_diff(start_ns) < NS_PER_SEC).then_some(u)
    }

    /// `pid`'s usage in this sample; CPU% against `prev` (the sample
    /// before), 0 without one.
    #[must_use]
    pub fn usage(
        &self,
        prev: Option<&Sample>,
        pid: u32,
        start_ns: u64,
        memory_total: u64,
    ) -> Option<ResourceUsage> {
        let u = self.pid(pid, start_ns)?;
        let cpu_percent = prev.map_or(0.0, |p| {
            let before = p.pid(pid, start_ns).map_or(0, PidUsage::ticks);
            let secs = self.time_ns.saturating_sub(p.time_ns) as f64 / NS_PER_SEC as f64;
            if secs > 0.0 {
                u.ticks().saturating_sub(before) as f64 / self.clk_tck as f64 / secs * 100.0
            } else {
                0.0
            }
        });
        let rss_bytes = u.rss_pages.saturating_mul(PAGE_SIZE);
        Some(ResourceUsage {
            cpu_percent,
            cpu_time_ns: u.ticks().saturating_mul(NS_PER_SEC) / self.clk_tck,
            rss_bytes,
            mem_percent: if memory_total == 0 {
                0.0
            } else {
                rss_bytes as f64 / memory_total as f64 * 100.0
            },
            virtual_bytes: u.vsize,
            shared_bytes: u.shared_pages.saturating_mul(PAGE_SIZE),
            priority: u.priority,
            ..ResourceUsage::default()
        })
    }

    /// The host meters of this sample (deltas against `prev`).
    #[must_use]
    pub fn host(&self, prev: Option<&Sample>, boot_ns: u64) -> HostSample {
        if let Some(h) = &self.perch_host {
            return from_perch(h);
        }
        let interval_ns = prev.map_or(0, |p| self.time_ns.saturating_sub(p.time_ns));
        let secs = interval_ns as f64 / NS_PER_SEC as f64;
        let per_sec = |now: u64, before: u64| {
            if secs > 0.0 {
                now.saturating_sub(before) as f64 / secs
            } else {
                0.0
            }
        };
        let span = secs * self.clk_tck as f64;
        let cpus = self
            .cpus
            .iter()
            .enumerate()
            .map(|(i, now)| {
                let before = prev.and_then(|p| p.cpus.get(i)).copied();
                let pct = |f: fn(&CpuTicks) -> u64| match before {
                    Some(b) if span > 0.0 => {
                        (f(now).saturating_sub(f(&b)) as f64 / span * 100.0).min(100.0)
                    }
                    _ => 0.0,
                };
                CpuSample {
                    busy_percent: pct(|c| {
                        c.user_space_time
                            + c.nice_time
                            + c.system_time
                            + c.irq_time
                            + c.softirq_time
                            + c.steal_time
                    }),
                    user_percent: pct(|c| c.user_space_time + c.nice_time),
                    system_percent: pct(|c| c.system_time + c.irq_time + c.softirq_time),
                    iowait_percent: pct(|c| c.iowait_time_broken),
                }
            })
            .collect();
        let m = self.memory.unwrap_or_default();
        let load = self.load.unwrap_or_default();
        let pair =
            |now: Option<(u64, u64)>, before: Option<(u64, u64)>, unit: u64| match (now, before) {
                (Some(n), Some(b)) => (
                    per_sec(n.0, b.0) * unit as f64,
                    per_sec(n.1, b.1) * unit as f64,
                ),
                _ => (0.0, 0.0),
            };
        let (disk_r, disk_w) = pair(self.disk_sectors, prev.and_then(|p| p.disk_sectors), 512);
        let (net_rx, net_tx) = pair(self.net_bytes, prev.and_then(|p| p.net_bytes), 1);
        HostSample {
            cpus,
            memory_total_bytes: m.total,
            memory_used_bytes: m.total.saturating_sub(m.available),
            memory_available_bytes: m.available,
            memory_cached_bytes: m.cached,
            swap_total_bytes: m.swap_total,
            swap_used_bytes: m.swap_total.saturating_sub(m.swap_free),
            load1: load[0],
            load5: load[1],
            load15: load[2],
            disk_read_bytes_per_sec: disk_r,
            disk_write_bytes_per_sec: disk_w,
            net_rx_bytes_per_sec: net_rx,
            net_tx_bytes_per_sec: net_tx,
            tasks_total: self.tasks.total_tasks,
            tasks_running: self.tasks.running,
            threads_total: self.tasks.total_threads,
            uptime_ns: self.time_ns.saturating_sub(boot_ns),
            interval_ns,
            events_lost: 0,
        }
    }
}

/// `entry` over `default`.
fn merge(default: &PidRec, entry: &PidRec) -> PidUsage {
    PidUsage {
        start_ticks: entry.start_time.or(default.start_time).unwrap_or_default(),
        utime: entry.utime.or(default.utime).unwrap_or_default(),
        stime: entry.stime.or(default.stime).unwrap_or_default(),
        rss_pages: entry.rss.or(default.rss).unwrap_or_default(),
        shared_pages: entry.shared.or(default.shared).unwrap_or_default(),
        vsize: entry.vsize.or(default.vsize).unwrap_or_default(),
        nice: entry.nice.or(default.nice).unwrap_or_default(),
        priority: entry.priority.or(default.priority).unwrap_or_default(),
        state: entry
            .state
            .clone()
            .or_else(|| default.state.clone())
            .unwrap_or_default(),
    }
}

/// Carries memory figures and load averages forward to the samples that
/// lack them (`samples` sorted by time).
pub fn carry_forward(samples: &mut [Sample]) {
    let (mut memory, mut load) = (None, None);
    for s in samples {
        memory = s.memory.or(memory);
        load = s.load.or(load);
        s.memory = memory;
        s.load = load;
    }
}

/// Perch's exact host meters, as written in a Perch recording.
#[must_use]
pub fn from_perch(h: &PerchHost) -> HostSample {
    HostSample {
        cpus: h
            .cpus
            .iter()
            .map(|c| CpuSample {
                busy_percent: c.busy,
                user_percent: c.user,
                system_percent: c.system,
                iowait_percent: c.iowait,
            })
            .collect(),
        memory_total_bytes: h.memory_total_bytes,
        memory_used_bytes: h.memory_used_bytes,
        memory_available_bytes: h.memory_available_bytes,
        memory_cached_bytes: h.memory_cached_bytes,
        swap_total_bytes: h.swap_total_bytes,
        swap_used_bytes: h.swap_used_bytes,
        load1: h.load[0],
        load5: h.load[1],
        load15: h.load[2],
        disk_read_bytes_per_sec: h.disk_read_bytes_per_sec,
        disk_write_bytes_per_sec: h.disk_write_bytes_per_sec,
        net_rx_bytes_per_sec: h.net_rx_bytes_per_sec,
        net_tx_bytes_per_sec: h.net_tx_bytes_per_sec,
        tasks_total: h.tasks_total,
        tasks_running: h.tasks_running,
        threads_total: h.threads_total,
        uptime_ns: h.uptime_ns,
        interval_ns: h.interval_ns,
        events_lost: h.events_lost,
    }
}

/// The host meters as a Perch recording writes them.
#[must_use]
pub fn to_perch(h: &HostSample) -> PerchHost {
    PerchHost {
        cpus: h
            .cpus
            .iter()
            .map(|c| PerchCpu {
                busy: c.busy_percent,
                user: c.user_percent,
                system: c.system_percent,
                iowait: c.iowait_percent,
            })
            .collect(),
        memory_total_bytes: h.memory_total_bytes,
        memory_used_bytes: h.memory_used_bytes,
        memory_available_bytes: h.memory_available_bytes,
        memory_cached_bytes: h.memory_cached_bytes,
        swap_total_bytes: h.swap_total_bytes,
        swap_used_bytes: h.swap_used_bytes,
        load: [h.load1, h.load5, h.load15],
        disk_read_bytes_per_sec: h.disk_read_bytes_per_sec,
        disk_write_bytes_per_sec: h.disk_write_bytes_per_sec,
        net_rx_bytes_per_sec: h.net_rx_bytes_per_sec,
        net_tx_bytes_per_sec: h.net_tx_bytes_per_sec,
        tasks_total: h.tasks_total,
        tasks_running: h.tasks_running,
        threads_total: h.threads_total,
        uptime_ns: h.uptime_ns,
        interval_ns: h.interval_ns,
        events_lost: h.events_lost,
    }
}
