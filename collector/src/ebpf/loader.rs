//! Loads and attaches the kernel programs and reads their ring buffer and
//! counters.  The programs stay attached as long as [`EbpfSource`] lives.
use aya::{
    Ebpf, EbpfLoader,
    maps::{MapData, PerCpuArray, RingBuf},
    programs::{BtfTracePoint, TracePoint},
};
use perch_common::{EnvSelect, Offsets, kind};
use tokio::io::unix::AsyncFd;

use super::{EbpfError, detach, offsets::resolve_offsets, sec};
use crate::{
    model::EnvFilter,
    security::{syscalls::sec_config, watch::WatchSet},
};

/// The object built by collector/build.rs from collector-ebpf.
static OBJECT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/perch-ebpf"));

/// How a program is attached.
enum Hook {
    /// A classic tracepoint: `category:name`.
    Tracepoint(&'static str, &'static str),
    /// One program on several classic tracepoints of a category.
    Tracepoints(&'static str, &'static [&'static str]),
    /// A BTF tracepoint (`tp_btf`) on this kernel function's tracepoint.
    Btf(&'static str),
}

/// Every program in the object, where it attaches, and whether this
/// kernel wants it (some have a fallback for older kernels).  Programs
/// added to collector-ebpf are listed here.  Their names start with
/// `perch_` and differ in the 15 bytes the kernel keeps, so `bpftool prog`
/// and perch-bench can tell them apart.
const PROGRAMS: &[(&str, Hook, Wanted)] = &[
    ("perch_exec", Hook::Btf("sched_process_exec"), always),
    ("perch_fork", Hook::Btf("sched_process_fork"), always),
    // The tp_btf exit needs the tracepoint's group_dead (Linux 6.16+).
    (
        "perch_exit",
        Hook::Btf("sched_process_exit"),
        has_group_dead,
    ),
    (
        "perch_exit_tp",
        Hook::Tracepoint("sched", "sched_process_exit"),
        |o| !has_group_dead(o),
    ),
    ("perch_rename", Hook::Btf("task_rename"), always),
    ("perch_tcp_state", Hook::Btf("inet_sock_set_state"), always),
    (
        "perch_accept",
        Hook::Tracepoints("syscalls", &["sys_exit_accept4", "sys_exit_accept"]),
        always,
    ),
    (
        "perch_udp_conn",
        Hook::Tracepoint("syscalls", "sys_enter_connect"),
        always,
    ),
    (
        "perch_udp_bind",
        Hook::Tracepoint("syscalls", "sys_enter_bind"),
        always,
    ),
    (
        "perch_udp_sendto",
        Hook::Tracepoint("syscalls", "sys_enter_sendto"),
        always,
    ),
    (
        "perch_udp_sendmsg",
        Hook::Tracepoint("syscalls", "sys_enter_sendmsg"),
        always,
    ),
    (
        "perch_udp_exit",
        Hook::Tracepoints(
            "syscalls",
            &[
                "sys_exit_connect",
                "sys_exit_bind",
                "sys_exit_sendto",
                "sys_exit_sendmsg",
            ],
        ),
        always,
    ),
];

/// Whether this kernel (by its layouts) wants a program.
type Wanted = fn(&Offsets) -> bool;

fn always(_: &Offsets) -> bool {
    true
}

fn has_group_dead(o: &Offsets) -> bool {
    o.tracepoints.exit_group_dead != 0
}

/// What perchd's settings change in the programs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadOptions {
    /// The ring buffer's size: a power of two, a multiple of the page size.
    pub ring_bytes: u32,
    /// The fill level at which the kernel wakes the reader early (below
    /// it the reader polls).
    pub wakeup_bytes: u64,
    /// Which environment entries exec records carry.
    pub env: EnvSelect,
    /// Which paths the security programs watch.
    pub watch: std::sync::Arc<WatchSet>,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            ring_bytes: 4 * 1024 * 1024,
            wakeup_bytes: 256 * 1024,
            env: EnvFilter::default().kernel_select(),
            watch: std::sync::Arc::default(),
        }
    }
}

/// Records of one kind sent and lost since the programs were loaded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KindCount {
    pub kind: u32,
    pub name: &'static str,
    pub sent: u64,
    pub lost: u64,
}

/// What was lost between two counter reads.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LossWindow {
    /// `CLOCK_BOOTTIME` of the read before (nothing new was lost then) and
    /// of the read that saw the loss.
    pub from_ns: u64,
    pub until_ns: u64,
    /// Records lost in the window, per kind name.
    pub by_kind: Vec<(&'static str, u64)>,
    /// Lost since start, all kinds.
    pub total: u64,
}

/// The attached programs and their maps.
pub struct EbpfSource {
    // Keeps the programs attached; dropped last.
    ebpf: Ebpf,
    /// The attachments, detached all at once on drop.
    links: Option<detach::Links>,
    ring: AsyncFd<RingBuf<MapData>>,
    counters: PerCpuArray<MapData, u64>,
    /// Security event sources that could not be attached, and why.
    missing: sec::Missing,
    /// Whether exit records say which process the OOM killer chose.
    oom_marks: bool,
}

impl EbpfSource {
    /// Loads and attaches every program.
    pub fn start(options: &LoadOptions) -> Result<Self, EbpfError> {
        let offsets = resolve_offsets()?;
        let load = |e: &dyn std::fmt::Display| EbpfError::Load(e.to_string());
        let sec_config = sec_config(&options.watch);
        let mut ebpf = EbpfLoader::new()
            .override_global("OFFSETS", &offsets, true)
            .override_global("WAKEUP_BYTES", &options.wakeup_bytes, true)
            .override_global("ENV_SELECT", &options.env, true)
            .override_global("SEC_CONFIG", &sec_config, true)
            .map_max_entries("EVENTS", options.ring_bytes)
            .load(OBJECT)
            .map_err(|e| load(&e))?;
        let btf = aya::Btf::from_sys_fs().map_err(|e| EbpfError::Btf(e.to_string()))?;
        let mut links = detach::Links::default();
        for (prog, hook, wanted) in PROGRAMS {
            if !wanted(&offsets) {
                continue;
            }
            let attach = |e: &dyn std::fmt::Display| EbpfError::Attach {
                program: prog,
                detail: e.to_string(),
            };
            let p = ebpf
                .program_mut(prog)
                .ok_or_else(|| load(&format!("program {prog} missing from the object")))?;
            match hook {
                Hook::Tracepoint(category, name) => {
                    let p: &mut TracePoint = p.try_into().map_err(|e| attach(&e))?;
                    p.load().map_err(|e| attach(&e))?;
                    links.classic(prog, p.attach(category, name).map_err(|e| attach(&e))?);
                }
                Hook::Tracepoints(category, names) => {
                    let p: &mut TracePoint = p.try_into().map_err(|e| attach(&e))?;
                    p.load().map_err(|e| attach(&e))?;
                    for name in *names {
                        links.classic(prog, p.attach(category, name).map_err(|e| attach(&e))?);
                    }
                }
                Hook::Btf(function) => {
                    let p: &mut BtfTracePoint = p.try_into().map_err(|e| attach(&e))?;
                    p.load(function, &btf).map_err(|e| attach(&e))?;
                    links.btf(prog, p.attach().map_err(|e| attach(&e))?);
                }
            }
        }
        let missing = sec::attach(&mut ebpf, &options.watch, &mut links);
        for (what, why) in &missing {
            tracing::info!("security events: {what} unavailable: {why}");
        }
        let ring = ebpf
            .take_map("EVENTS")
            .ok_or_else(|| load(&"map EVENTS missing"))?;
        let ring = RingBuf::try_from(ring).map_err(|e| load(&e))?;
        // SAFETY: the AsyncFd owns the RingBuf, which owns the fd, so the fd
        // stays open for as long as it is registered.
        let ring = unsafe { AsyncFd::register(ring) }.map_err(|e| load(&e))?;
        let counters = ebpf
            .take_map("COUNTERS")
            .ok_or_else(|| load(&"map COUNTERS missing"))?;
        let counters = PerCpuArray::try_from(counters).map_err(|e| load(&e))?;
        Ok(Self {
            ebpf,
            links: Some(links),
            ring,
            counters,
            missing,
            oom_marks: offsets.task.signal_oom_mm != perch_common::ABSENT,
        })
    }
}

impl Drop for EbpfSource {
    fn drop(&mut self) {
        if let Some(links) = self.links.take() {
            detach::detach_all(&mut self.ebpf, links);
        }
    }
}

impl EbpfSource {
    /// Whether exit records mark the OOM killer's victims (the kernel has
    /// `signal_struct.oom_mm`).
    #[must_use]
    pub fn marks_oom_victims(&self) -> bool {
        self.oom_marks
    }

    /// Security event sources that could not be attached, and why.
    #[must_use]
    pub fn missing(&self) -> &sec::Missing {
        &self.missing
    }

    /// Waits until the kernel forces a wake-up (the ring is filling up) or
    /// `timeout` passes, whichever is first.  Records are not read here.
    pub async fn wait(&mut self, timeout: std::time::Duration) {
        if let Ok(Ok(mut guard)) = tokio::time::timeout(timeout, self.ring.readable_mut()).await {
            guard.clear_ready();
        }
    }

    /// Calls `f` on every record waiting in the ring; returns how many.
    pub fn drain(&mut self, f: impl FnMut(&[u8])) -> usize {
        self.drain_up_to(usize::MAX, f).0
    }

    /// Calls `f` on the records waiting in the ring until they add up to
    /// `max_bytes`; returns how many, and whether it stopped at the budget
    /// (more may wait: drain again without waiting for a wake-up).
    pub fn drain_up_to(&mut self, max_bytes: usize, mut f: impl FnMut(&[u8])) -> (usize, bool) {
        let ring = self.ring.get_mut();
        let (mut n, mut bytes) = (0, 0usize);
        while let Some(item) = ring.next() {
            f(&item);
            n += 1;
            bytes = bytes.saturating_add(item.len());
            if bytes >= max_bytes {
                return (n, true);
            }
        }
        (n, false)
    }

    /// Records the kernel could not queue, summed over CPUs and kinds.
    #[must_use]
    pub fn lost(&self) -> u64 {
        self.counts().iter().map(|c| c.lost).sum()
    }

    /// Records queued by the kernel, summed over CPUs and kinds.
    #[must_use]
    pub fn sent(&self) -> u64 {
        self.counts().iter().map(|c| c.sent).sum()
    }

    /// Sent and lost records of every kind, summed over CPUs.
    #[must_use]
    pub fn counts(&self) -> Vec<KindCount> {
        kind::NAMES
            .iter()
            .map(|&(kind, name)| KindCount {
                kind,
                name,
                sent: self.counter(kind::sent_slot(kind)),
                lost: self.counter(kind::lost_slot(kind)),
            })
            .collect()
    }

    fn counter(&self, index: u32) -> u64 {
        self.counters.get(&index, 0).map_or(0, |v| v.iter().sum())
    }
}
