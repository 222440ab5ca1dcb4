//! Facts about the host that do not change while perchd runs.
use crate::config::Settings;

#[derive(Clone, Debug, Default)]
pub struct StaticInfo {
    pub host: String,
    pub kernel: String,
    pub boot_time_unix_ns: u64,
    pub cpu_count: u32,
    pub memory_total_bytes: u64,
    pub exited_retention_ns: u64,
    pub sample_interval_ns: u64,
}

impl StaticInfo {
    #[must_use]
    pub fn read(settings: &Settings) -> Self {
        let uname = nix::sys::utsname::uname().ok();
        let ns = |d: std::time::Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        Self {
            host: uname
                .as_ref()
                .map(|u| u.nodename().to_string_lossy().into_owned())
                .unwrap_or_default(),
            kernel: uname
                .as_ref()
                .map(|u| u.release().to_string_lossy().into_owned())
                .unwrap_or_default(),
            boot_time_unix_ns: crate::clock::boot_time_unix_ns(),
            cpu_count: std::thread::available_parallelism()
                .map_or(1, |n| u32::try_from(n.get()).unwrap_or(u32::MAX)),
            memory_total_bytes: procfs::Current::current()
                .map_or(0, |m: procfs::Meminfo| m.mem_total),
            exited_retention_ns: ns(settings.exited_retention),
            sample_interval_ns: ns(settings.sample_interval),
        }
    }
}

/// Opens the history store and starts its writer from what the model holds
/// now (a store that cannot open is BROKEN; perchd goes on live).
pub(super) fn start_history(
    shared: &std::sync::Arc<super::Shared>,
    settings: &crate::history::HistorySettings,
) {
    use crate::server::CollectorApi as _;
    let baseline = || {
        let (processes, seq) = shared.snapshot(false, &[]);
        let processes: Vec<_> = processes.collect();
        let (connections, listening, net_seq) = shared.connections(false, &[]);
        // The earlier of the two: events in between are applied again,
        // which only reopens versions the baseline opened.
        crate::history::Baseline {
            processes,
            connections,
            listening,
            seq: seq.min(net_seq),
        }
    };
    let history = crate::history::start(
        settings,
        shared.info.exited_retention_ns,
        shared.info.boot_time_unix_ns,
        &shared.hub,
        baseline,
    );
    let _ = shared.history.set(history);
}
