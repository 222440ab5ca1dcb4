//! The collector engine: chooses the event source (eBPF, or /proc polling
//! when eBPF cannot load), seeds the model from /proc, and runs the tasks
//! that keep it current.  All model changes go through [`Shared::commit`],
//! which publishes them to the hub under the model lock, so a snapshot and
//! its `snapshot_seq` always agree.
mod background;
mod guard;
mod info;
mod loss;
mod net;
mod publish;
mod recheck;
mod startup;
mod tasks;

use std::{
    path::PathBuf,
    sync::{
        Arc, Mutex, MutexGuard,
        atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering},
    },
    time::Instant,
};

use perch_proto::v1 as pb;
use tokio::task::JoinHandle;

use crate::{
    audit::{AuditError, AuditLog},
    config::Settings,
    convert,
    detect::Detector,
    ebpf::{Decoder, EbpfSource, KindCount, LoadOptions},
    hub::Hub,
    model::{ProcessInfo, ProcessModel},
    proc::find_cgroup2_mount,
    respond::Responder,
    roles::Roles,
    security::watch::{WatchSet, system_homes},
    server::{Snapshot, StreamLimits},
};
pub use info::StaticInfo;
use startup::{capabilities, executor, log_audit_status, new_detector, new_reader};
pub use startup::{release_free_memory, tune_allocator};

/// Where process events come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Ebpf,
    Procfs,
}

/// State shared by the engine's tasks and the gRPC service.
pub struct Shared {
    model: Mutex<ProcessModel>,
    hub: Arc<Hub>,
    mode: Mode,
    mode_reason: String,
    started: Instant,
    info: StaticInfo,
    events_seen: AtomicU64,
    events_lost: AtomicU64,
    /// Kernel records sent and lost per kind, as last read.
    kind_counts: Mutex<Vec<KindCount>>,
    /// Loss windows healed by a /proc re-read.
    loss_windows: AtomicU32,
    /// Where connections come from (`GetInfo.network_source`).
    network_source: String,
    /// What this collector can see (security event sources).
    capabilities: Vec<pb::Capability>,
    /// Actions and the audit log every action is recorded in (the Act handler appends
    /// under this lock; appends are fsynced, so call them off the async
    /// workers).
    responder: Responder,
    roles: Roles,
    /// Detection rules, flags and traces; `None` when `[detect]` is off.
    detector: Option<Mutex<Detector>>,
    /// The policies directory in force (the detector's trace suppression
    /// is set from it on every change).
    policies: Mutex<crate::policy::registry::Registry>,
    /// The cgroup2 mount (frozen cgroups are read below it).
    cgroup_root: PathBuf,
    /// Set by the executor when an action froze or thawed something: the
    /// next sample looks at every cgroup's freeze.
    freezes: Arc<AtomicBool>,
    stream_limits: StreamLimits,
    /// The history store, set once the seed is in the model (its writer
    /// starts from the seeded state).
    history: std::sync::OnceLock<Arc<crate::history::History>>,
    /// Workload policies judged on every event (lock order: model,
    /// detector, guard).
    guard: Mutex<crate::guard::Guard>,
    /// The policy response worker's queue (`guard.rs`).
    guard_tx: std::sync::OnceLock<std::sync::mpsc::SyncSender<Box<crate::guard::Sighting>>>,
}

impl Shared {
    /// Locks the model; a panic elsewhere must not take the collector down.
    pub fn model(&self) -> MutexGuard<'_, ProcessModel> {
        self.model
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    #[must_use]
    pub fn mode(&self) -> Mode {
        self.mode
    }

    #[must_use]
    pub fn hub(&self) -> &Arc<Hub> {
        &self.hub
    }

    #[must_use]
    pub fn audit(&self) -> &Arc<Mutex<AuditLog>> {
        self.responder.audit()
    }

    #[must_use]
    pub fn roles(&self) -> &Roles {
        &self.roles
    }

    /// Runs `f` on the model and publishes the events it returns, as one
    /// atomic step (like [`commit`](Self::commit), for changes made in
    /// place rather than through events).
    pub fn commit_with(&self, f: impl FnOnce(&mut ProcessModel) -> Vec<pb::Event>) {
        let mut model = self.model();
        let out = f(&mut model);
        if !out.is_empty() {
            self.hub.publish(out);
        }
    }
}

impl crate::server::CollectorApi for Shared {
    fn info(&self) -> pb::GetInfoResponse {
        let (mode, reason) = (self.mode, self.mode_reason.clone());
        let (net_open, net_listening, net_evicted, net_retention) = {
            let model = self.model();
            let net = model.net();
            (
                net.open_connections(),
                net.open_listening(),
                net.evicted(),
                net.retention_ns(),
            )
        };
        let (audit_log_path, audit_log_status, audit_log_detail, records, head) = {
            let log = self
                .audit()
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            (
                log.path().display().to_string(),
                log.status(),
                log.status_detail().to_owned(),
                log.records(),
                log.head_hash().to_owned(),
            )
        };
        pb::GetInfoResponse {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            host: self.info.host.clone(),
            kernel: self.info.kernel.clone(),
            mode: match mode {
                Mode::Ebpf => pb::CollectorMode::Ebpf,
                Mode::Procfs => pb::CollectorMode::Procfs,
            }
            .into(),
            mode_reason: reason,
            uptime_ns: u64::try_from(self.started.elapsed().as_nanos()).unwrap_or(u64::MAX),
            events_seen: self.events_seen.load(Ordering::Relaxed),
            events_lost: self.events_lost.load(Ordering::Relaxed),
            boot_time_unix_ns: self.info.boot_time_unix_ns,
            cpu_count: self.info.cpu_count,
            memory_total_bytes: self.info.memory_total_bytes,
            head_seq: self.hub.head_seq(),
            oldest_seq: self.hub.oldest_seq(),
            collector_pid: std::process::id(),
            exited_retention_ns: self.info.exited_retention_ns,
            sample_interval_ns: self.info.sample_interval_ns,
            audit_log_path,
            audit_log_status: audit_log_status.into(),
            audit_log_detail,
            events_by_kind: convert::kind_counts(
                &self
                    .kind_counts
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner),
            ),
            loss_windows: self.loss_windows.load(Ordering::Relaxed),
            audit_log_records: records,
            audit_log_head_hash: head,
            network_source: self.network_source.clone(),
            connections: u32::try_from(net_open).unwrap_or(u32::MAX),
            listening_sockets: u32::try_from(net_listening).unwrap_or(u32::MAX),
            connections_evicted: net_evicted,
            connection_retention_ns: net_retention,
            capabilities: self.capabilities.clone(),
            ..pb::GetInfoResponse::default()
        }
    }

    fn snapshot(&self, include_exited: bool, pids: &[u32]) -> (Snapshot, u64) {
        let model = self.model();
        let wanted = |pid: u32| pids.is_empty() || pids.contains(&pid);
        // The model's compact copies (argv is shared, not copied); each
        // becomes a message only as the response is sent.
        let mut out: Vec<ProcessInfo> = model
            .live()
            .filter(|p| wanted(p.key.pid))
            .cloned()
            .collect();
        if include_exited {
            out.extend(model.exited().filter(|p| wanted(p.key.pid)).cloned());
        }
        // Read under the model lock: commit() publishes under it too.
        let seq = self.hub.head_seq();
        (Box::new(out.into_iter().map(convert::process_owned)), seq)
    }

    fn connections(
        &self,
        include_closed: bool,
        pids: &[u32],
    ) -> (Vec<pb::Connection>, Vec<pb::ListeningSocket>, u64) {
        let model = self.model();
        let net = model.net();
        // `pids` is sorted (checked by the server).
        let wanted = |owner: Option<&crate::net::Owner>| {
            pids.is_empty() || owner.is_some_and(|o| pids.binary_search(&o.key.pid).is_ok())
        };
        let conns = net
            .connections()
            .filter(|c| include_closed || c.end_ns.is_none())
            .filter(|c| wanted(c.owner.as_ref()))
            .map(convert::net::connection)
            .collect();
        let listening = net
            .listening()
            .filter(|l| include_closed || l.end_ns.is_none())
            .filter(|l| wanted(l.owner.as_ref()))
            .map(convert::net::listening)
            .collect();
        // Read under the model lock: commit() publishes under it too.
        let seq = self.hub.head_seq();
        (conns, listening, seq)
    }

    fn hub(&self) -> &Arc<Hub> {
        &self.hub
    }

    fn roles(&self) -> &Roles {
        &self.roles
    }

    fn responder(&self) -> Option<&Responder> {
        Some(&self.responder)
    }

    fn detector(&self) -> Option<&Mutex<Detector>> {
        self.detector.as_ref()
    }

    fn policies(&self) -> Option<&Mutex<crate::policy::registry::Registry>> {
        Some(&self.policies)
    }

    fn policies_changed(&self, registry: &crate::policy::registry::Registry) {
        self.arm_policies(registry);
    }

    fn stream_limits(&self) -> StreamLimits {
        self.stream_limits
    }

    fn history(&self) -> Option<&Arc<crate::history::History>> {
        self.history.get()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("no cgroup2 mount found in /proc/self/mountinfo")]
    NoCgroup2,
    #[error("reading /proc: {0}")]
    Proc(String),
    #[error(transparent)]
    Audit(#[from] AuditError),
    #[error("detection rules refused:\n{0}")]
    Rules(String),
}

/// A running collector; dropping it stops its tasks (and detaches eBPF).
pub struct Engine {
    shared: Arc<Shared>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Engine {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl Engine {
    /// Opens the audit log (`settings.audit_log`), then starts the
    /// collector as [`start_with_audit`](Self::start_with_audit) does.
    pub async fn start(settings: &Settings) -> Result<Self, EngineError> {
        // First: an unusable audit log stops start-up before eBPF loads.
        let audit = AuditLog::open(&settings.audit_log)?;
        Self::start_with_audit(settings, audit).await
    }

    /// Starts the collector with an audit log opened by the caller: eBPF
    /// first (so nothing is missed while /proc is scanned), then the seed
    /// scan, then the tasks.
    pub async fn start_with_audit(
        settings: &Settings,
        audit: AuditLog,
    ) -> Result<Self, EngineError> {
        log_audit_status(&audit);
        let watch = Arc::new(WatchSet::new(&settings.watch, &system_homes()));
        let (source, mode, mode_reason) = if settings.force_procfs {
            (None, Mode::Procfs, "--procfs given".to_owned())
        } else {
            match EbpfSource::start(&LoadOptions {
                ring_bytes: settings.ring_buffer_bytes,
                wakeup_bytes: settings.wakeup_bytes,
                env: settings.exec_env.kernel_select(),
                watch: Arc::clone(&watch),
            }) {
                Ok(src) => (
                    Some(src),
                    Mode::Ebpf,
                    "eBPF tracepoints attached".to_owned(),
                ),
                Err(e) => {
                    tracing::warn!("eBPF unavailable, falling back to /proc polling: {e}");
                    (None, Mode::Procfs, format!("eBPF unavailable: {e}"))
                }
            }
        };
        let freezes = Arc::new(AtomicBool::new(false));
        let executor = executor(settings, &freezes);
        let reader = new_reader(settings)?;
        let cgroup_root = find_cgroup2_mount().ok_or(EngineError::NoCgroup2)?;
        let info = StaticInfo::read(settings);
        let oom_marked = source.as_ref().is_some_and(EbpfSource::marks_oom_victims);
        // A bad policy file is refused alone: perchd runs with the others.
        let policies = crate::policy::registry::Registry::load(&settings.detect.policies_dir);
        let detector = new_detector(settings, info.boot_time_unix_ns, oom_marked, &policies)?;
        // After the rules too: compiling them parses with scratch memory.
        release_free_memory();
        let capabilities = capabilities(source.as_ref(), &mode_reason);
        let guard_host = info.host.clone();
        let shared = Arc::new(Shared {
            model: Mutex::new(
                ProcessModel::with_bounds(info.exited_retention_ns, settings.exited_bytes)
                    .with_net(net::model(settings.network)),
            ),
            hub: Hub::with_limits(settings.hub_limits()),
            mode,
            mode_reason,
            started: Instant::now(),
            info,
            events_seen: AtomicU64::new(0),
            events_lost: AtomicU64::new(0),
            kind_counts: Mutex::new(Vec::new()),
            loss_windows: AtomicU32::new(0),
            network_source: net::source(mode),
            capabilities,
            responder: Responder::new(executor, Arc::new(Mutex::new(audit)))
                .with_refusal_limit(settings.access.refusals),
            roles: settings.roles.clone(),
            detector,
            policies: Mutex::new(policies),
            cgroup_root,
            freezes,
            stream_limits: settings.stream_limits,
            history: std::sync::OnceLock::new(),
            guard: Mutex::new(crate::guard::Guard::new(guard_host)),
            guard_tx: std::sync::OnceLock::new(),
        });
        guard::start(&shared);
        let mut tasks = Vec::new();
        if let Some(mut src) = source {
            let decoder = Decoder::new(settings.exec_env.clone(), watch);
            // The ring is drained while /proc is scanned (a big host takes
            // seconds); what it held is applied after the seed, in order.
            let (reader, seeded, pending) = tasks::seed(reader, &mut src, &decoder).await?;
            shared.model().seed(seeded);
            tasks::seed_net(&shared).await;
            tasks.push(tokio::spawn(tasks::ebpf_events(
                shared.clone(),
                src,
                reader,
                decoder,
                pending,
            )));
        } else {
            let poller = tasks::prime_poller(&shared, reader).await?;
            tasks::seed_net(&shared).await;
            let interval = settings.poll_interval;
            tasks.push(tokio::spawn(tasks::poll_procfs(
                shared.clone(),
                poller,
                interval,
            )));
        }
        tasks.push(tokio::spawn(recheck::exe_deletions(
            shared.clone(),
            "/proc".into(),
        )));
        let sampler_reader = new_reader(settings)?;
        tasks.push(tokio::spawn(tasks::sample(
            shared.clone(),
            sampler_reader,
            settings.sample_interval,
        )));
        info::start_history(&shared, &settings.history);
        Ok(Self { shared, tasks })
    }

    #[must_use]
    pub fn shared(&self) -> Arc<Shared> {
        self.shared.clone()
    }
}
