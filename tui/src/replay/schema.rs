//! The Spyderbat record schemas a recording holds, as serde reads them
//! from one NDJSON line (field names as Spyderbat writes them; see
//! shared/notes/spyderbat.md §1.6 and §4).  Only `id` and `time` are
//! required: every other field may be missing (older agents, Perch's own
//! recordings) and takes its empty value.  `perch_*` keys are Perch's
//! extras, which Spydertop ignores.
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The first look at a line: which schema it is.
#[derive(Deserialize)]
pub struct Head<'a> {
    #[serde(borrow)]
    pub schema: &'a str,
}

/// `model_process`: one version of a process.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct ProcRec {
    pub schema: String,
    pub id: String,
    pub time: f64,
    pub muid: String,
    pub valid_from: f64,
    pub valid_to: Option<f64>,
    pub create_time: f64,
    pub pid: u32,
    pub ppid: u32,
    pub ppuid: Option<String>,
    pub args: Vec<String>,
    pub name: String,
    pub exe: String,
    pub cwd: String,
    pub euid: u32,
    pub egid: u32,
    pub euser: String,
    pub auid: Option<u32>,
    pub auser: String,
    pub cgroup: String,
    pub container: Option<String>,
    pub thread: bool,
    #[serde(rename = "type")]
    pub kind: String,
    pub status: String,
    pub exit: Option<i64>,
    /// Perch: the terminating signal (Spyderbat's `exit` is a code).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub perch_signal: Option<i32>,
}

/// `model_connection`: one version of a connection.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct ConnRec {
    pub schema: String,
    pub id: String,
    pub time: f64,
    pub muid: String,
    pub valid_from: f64,
    pub valid_to: Option<f64>,
    pub create_time: f64,
    pub puids: Vec<String>,
    pub proc_name: String,
    pub family: String,
    pub proto: String,
    pub local_ip: String,
    pub local_port: u32,
    pub remote_ip: String,
    pub remote_port: u32,
    pub direction: String,
    pub bytes_tx: u64,
    pub bytes_rx: u64,
    pub packets_tx: u64,
    pub packets_rx: u64,
    pub status: String,
    pub peer_proc_name: Option<String>,
    /// Perch: the TCP state (`ESTABLISHED`, `CLOSE_WAIT`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub perch_state: Option<String>,
}

/// `model_listening_socket`: one version of a listening socket.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct SockRec {
    pub schema: String,
    pub id: String,
    pub time: f64,
    pub muid: String,
    pub valid_from: f64,
    pub valid_to: Option<f64>,
    pub puid: String,
    pub proc_name: String,
    pub family: String,
    pub proto: String,
    pub local_ip: String,
    pub local_port: u32,
    pub status: String,
}

/// One MITRE ATT&CK entry of a red flag.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct MitreRec {
    pub technique: String,
    pub technique_name: String,
    pub tactic: String,
    pub tactic_name: String,
}

/// `event_redflag:<family>`: a flag, an event (no versions).
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct FlagRec {
    pub schema: String,
    pub id: String,
    pub time: f64,
    pub muid: String,
    #[serde(rename = "ref")]
    pub reference: String,
    pub short_name: String,
    pub description: String,
    pub impact: String,
    pub severity: String,
    pub class: Vec<String>,
    pub mitre_mapping: Vec<MitreRec>,
    pub name: String,
    pub args: Vec<String>,
    pub ancestors: Vec<String>,
    pub euser: String,
    pub auser: String,
    pub false_positive: bool,
    pub traces: Vec<String>,
}

/// Severity counts of a trace's flags.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct Severities {
    pub low: u32,
    pub medium: u32,
    pub high: u32,
    pub critical: u32,
}

/// `model_spydertrace`: one version of a trace.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct TraceRec {
    pub schema: String,
    pub id: String,
    pub time: f64,
    pub muid: String,
    pub valid_from: f64,
    pub valid_to: Option<f64>,
    pub name: String,
    pub score: u32,
    pub status: String,
    pub root_node: String,
    pub root_proc_name: String,
    pub trigger: String,
    pub trigger_short_name: String,
    pub trigger_ancestors: Vec<String>,
    pub interactive_users: Vec<String>,
    pub non_interactive_users: Vec<String>,
    pub process_count: u32,
    pub connection_count: u32,
    pub flag_count: u32,
    pub unique_flag_count: u32,
    pub mitre_mapping: Vec<String>,
    pub severities: Severities,
    pub suppressed: bool,
    /// `[[start, end, objects]]` of each burst of activity.
    pub activity_timestamps: Vec<Vec<f64>>,
}

/// `model_machine`: the host.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct MachineRec {
    pub schema: String,
    pub id: String,
    pub time: f64,
    pub muid: String,
    pub valid_from: f64,
    pub hostname: String,
    pub boot_time: f64,
    pub machine_cores: u32,
    pub machine_memory: u64,
}

/// `model_session` and `model_container`: kept as counts (perch.v1 has no
/// message for them yet).
#[derive(Deserialize)]
pub struct AnyRec<'a> {
    #[serde(borrow)]
    pub id: &'a str,
    pub time: f64,
}

/// One core's (or all cores', key `cpu`) cumulative times in clock ticks.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct CpuTicks {
    pub user_space_time: u64,
    pub nice_time: u64,
    pub system_time: u64,
    pub irq_time: u64,
    pub softirq_time: u64,
    pub steal_time: u64,
    pub guest_time: u64,
    pub guest_nice_time: u64,
    pub iowait_time_broken: u64,
}

/// Run queue and task counts.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct Tasks {
    pub running: u32,
    pub total_tasks: u32,
    pub total_threads: u32,
    pub kernel_threads: u32,
    pub blocked: u32,
}

/// One block device's cumulative counters.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct DiskRec {
    pub sectors_read: u64,
    pub sectors_written: u64,
}

/// Cumulative network counters of the host.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct NetTotal {
    pub bytes_rx: u64,
    pub bytes_tx: u64,
}

#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct Network {
    pub total: NetTotal,
}

/// One pid's entry of `event_top_data.processes`: only what differs from
/// the record's `default` entry is present.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct PidRec {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_time: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub utime: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stime: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cutime: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cstime: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rss: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shared: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vsize: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nice: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
}

/// `event_top_data`: one sample of the host and of every process.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct TopRec {
    pub schema: String,
    pub id: String,
    pub time: f64,
    pub muid: String,
    pub clk_tck: u64,
    pub load_avg: Vec<f64>,
    pub tasks: Tasks,
    pub cpu_time: BTreeMap<String, CpuTicks>,
    pub memory: Option<BTreeMap<String, u64>>,
    pub disk: Option<BTreeMap<String, DiskRec>>,
    pub network: Option<Network>,
    pub processes: BTreeMap<String, PidRec>,
    /// Perch: the host meters exactly as Perch computed them (Spydertop
    /// reads `cpu_time`, `memory`, ... instead).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub perch_host: Option<PerchHost>,
}

/// One core's busy percentages (Perch's `CpuSample`).
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct PerchCpu {
    pub busy: f64,
    pub user: f64,
    pub system: f64,
    pub iowait: f64,
}

/// Perch's `HostSample`, field for field.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct PerchHost {
    pub cpus: Vec<PerchCpu>,
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
    pub events_lost: u64,
}
