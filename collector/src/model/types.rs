//! The collector's own process and sample types.  They are independent of
//! the wire format (`perch.v1`, see `convert.rs`) so the model can evolve
//! (history, traces) without touching the contract.
use std::sync::Arc;

use super::ExecFacts;
pub use super::argv::Argv;

/// A process's identity: pids are reused, (pid, start time) is not.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProcKey {
    pub pid: u32,
    /// `CLOCK_BOOTTIME` ns at start; clock-tick precision when read from /proc.
    pub start_ns: u64,
}

impl ProcKey {
    /// Same process? Compares start times at clock-tick granularity, the
    /// precision /proc offers (see `perch_proto::same_start_time`).
    #[must_use]
    pub fn same_as(&self, other: &ProcKey) -> bool {
        self.pid == other.pid && perch_proto::same_start_time(self.start_ns, other.start_ns)
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Source {
    /// Running when the collector started.
    #[default]
    Seeded,
    Ebpf,
    Procfs,
}

/// What the cgroup path says about containers and pods.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CgroupInfo {
    /// Path below the cgroup2 mount, starting with `/`.
    pub path: String,
    pub container_id: Option<String>,
    /// `docker`, `containerd`, `cri-o`, `podman`.
    pub runtime: Option<&'static str>,
    pub pod_uid: Option<String>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExitInfo {
    /// `CLOCK_BOOTTIME` ns.
    pub time_ns: u64,
    pub code: Option<i32>,
    pub signal: Option<i32>,
    pub core_dumped: bool,
    /// The kernel's OOM killer chose it (eBPF mode; false when unknown).
    pub oom_killed: bool,
}

impl ExitInfo {
    /// Decodes a raw wait status (`task_struct.exit_code`, /proc stat field 52).
    #[must_use]
    pub fn from_wait_status(time_ns: u64, status: i32) -> Self {
        let signal = status & 0x7f;
        if signal == 0 {
            Self {
                time_ns,
                code: Some((status >> 8) & 0xff),
                signal: None,
                core_dumped: false,
                oom_killed: false,
            }
        } else {
            Self {
                time_ns,
                code: None,
                signal: Some(signal),
                core_dumped: status & 0x80 != 0,
                oom_killed: false,
            }
        }
    }
}

/// Resource usage over the last sample interval.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Usage {
    /// Percent of one core (100.0 = one full core).
    pub cpu_percent: f64,
    pub cpu_time_ns: u64,
    pub rss_bytes: u64,
    pub mem_percent: f64,
    pub read_bytes: u64,
    pub write_bytes: u64,
    pub read_bytes_per_sec: f64,
    pub write_bytes_per_sec: f64,
    /// Virtual size, and resident memory shared with others (htop's VIRT
    /// and SHR).
    pub virtual_bytes: u64,
    pub shared_bytes: u64,
    /// Scheduling as sampled from the same stat line (htop's PRI and NI):
    /// a renice by anyone shows within a sample.
    pub priority: i32,
    pub nice: i32,
    /// Summed over the process's TCP connections (see `net`).
    pub net_rx_bytes_per_sec: f64,
    pub net_tx_bytes_per_sec: f64,
}

#[derive(Clone, Debug, Default, PartialEq)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "independent facts of a process (truncated argv, kernel thread, unknown parent, \
              frozen, kept as an ancestor), not a state machine"
)]
pub struct ProcessInfo {
    pub key: ProcKey,
    /// The original parent, the process that forked this one (kept after
    /// it exits and this one is reparented); 0 when unknown.
    pub ppid: u32,
    /// 0 when unknown.
    pub parent_start_ns: u64,
    /// Where it was reparented to once its original parent exited (or,
    /// with `parent_unknown`, the reaper it was found under).
    pub reaper: Option<ProcKey>,
    /// perchd did not see it start and found it under a reaper: who forked
    /// it is not known (`ppid` is 0).  A history store may tell later (see
    /// `ProcessModel::recover_parent`).
    pub parent_unknown: bool,
    pub pgid: u32,
    pub sid: u32,
    pub uid: u32,
    pub euid: u32,
    pub gid: u32,
    pub egid: u32,
    /// Name of `uid`; `None` when it has no passwd entry.
    pub user: Option<Arc<str>>,
    pub comm: String,
    /// The path given to execve for eBPF execs; /proc's resolved path for
    /// seeded and polled processes (see `facts.exe` for the mapped file).
    pub exe: String,
    /// Capped at `perch_proto::limits::ARGV_BYTES` (then `argv_truncated`).
    pub argv: Argv,
    pub argv_truncated: bool,
    pub cwd: String,
    /// e.g. `pts/3`; empty when none.
    pub tty: String,
    pub cgroup_id: u64,
    pub cgroup: Option<Arc<CgroupInfo>>,
    pub kernel_thread: bool,
    pub source: Source,
    pub exit: Option<ExitInfo>,
    pub usage: Usage,
    pub threads: u32,
    pub nice: i32,
    /// What the last exec says (executable, stdio, environment...);
    /// `None` for kernel threads and when it could not be read.
    pub facts: Option<Arc<ExecFacts>>,
    /// The /proc stat state letter as last sampled (`b'R'`, `b'S'`,
    /// `b'T'`...); 0 before the first sample.
    pub state: u8,
    /// Its cgroup (or an ancestor cgroup) is frozen, as last sampled.
    pub frozen: bool,
    /// Exited, and kept past the retention window because processes in the
    /// model descend from it.
    pub retained_ancestor: bool,
}

impl ProcessInfo {
    /// Bytes this process holds, for the model's bound: the struct, its
    /// own strings (with the allocator's rounding), and its argv and exec
    /// facts counted in full even when shared with a parent or child (an
    /// upper bound).  The user name and cgroup are shared with the
    /// reader's caches.
    #[must_use]
    pub fn heap_bytes(&self) -> usize {
        let string = |s: &String| {
            if s.capacity() == 0 {
                0
            } else {
                s.capacity() + 16
            }
        };
        let facts = self.facts.as_deref().map_or(0, |f| {
            size_of::<ExecFacts>()
                + string(&f.exe.path)
                + f.env
                    .iter()
                    .map(|v| size_of_val(v) + string(&v.name) + string(&v.value))
                    .sum::<usize>()
        });
        size_of::<Self>()
            + string(&self.comm)
            + string(&self.exe)
            + string(&self.cwd)
            + string(&self.tty)
            + self.argv.heap_bytes()
            + facts
    }
}

/// Host-wide meters over the last interval.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HostSample {
    pub cpus: Vec<CpuSample>,
    pub memory_total_bytes: u64,
    pub memory_used_bytes: u64,
    pub memory_available_bytes: u64,
    pub memory_cached_bytes: u64,
    pub swap_total_bytes: u64,
    pub swap_used_bytes: u64,
    pub load: [f64; 3],
    pub disk_read_bytes_per_sec: f64,
    pub disk_write_bytes_per_sec: f64,
    pub net_rx_bytes_per_sec: f64,
    pub net_tx_bytes_per_sec: f64,
    pub tasks_total: u32,
    pub tasks_running: u32,
    pub threads_total: u32,
    pub uptime_ns: u64,
    pub interval_ns: u64,
}

/// One core's busy time over the interval, in percent (0..=100).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CpuSample {
    pub busy_percent: f64,
    pub user_percent: f64,
    pub system_percent: f64,
    pub iowait_percent: f64,
}

/// Something that changed the model, from eBPF, /proc polling or sampling.
#[derive(Clone, Debug, PartialEq)]
pub enum ModelEvent {
    Exec {
        time_ns: u64,
        process: ProcessInfo,
        old_pid: u32,
    },
    Fork {
        time_ns: u64,
        child: ProcessInfo,
    },
    Exit {
        time_ns: u64,
        key: ProcKey,
        exit: ExitInfo,
    },
    /// Details learnt later (cwd, cgroup path) for a live process.
    Update {
        time_ns: u64,
        process: ProcessInfo,
    },
    /// The process's name changed outside exec (prctl, a kernel thread
    /// named after its fork).  The model turns it into an `Update`.
    Rename {
        time_ns: u64,
        key: ProcKey,
        comm: String,
    },
    /// A kernel network record; the model turns it into a [`ModelEvent::Net`].
    NetRecord {
        time_ns: u64,
        record: crate::net::NetRecord,
    },
    /// A change to the connections and listening sockets, to publish.
    Net {
        time_ns: u64,
        change: crate::net::NetChange,
    },
    /// A security-relevant syscall; the model only names its target.
    Security(Box<crate::security::SecurityEvent>),
}
