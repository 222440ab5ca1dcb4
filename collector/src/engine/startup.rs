//! Start-up pieces of the engine: the allocator's tuning and trim, the
//! audit log's state in perchd's own log, the action executor, the /proc
//! reader, what the security programs could not attach, and the detector.
use std::sync::{Arc, Mutex, atomic::AtomicBool};

use perch_proto::v1 as pb;

use super::EngineError;
use crate::{
    actions::Executor,
    audit::AuditLog,
    config::Settings,
    convert,
    detect::{Detector, RuleSet},
    ebpf::EbpfSource,
    proc::{CgroupResolver, ProcReader, UserNames, find_cgroup2_mount},
    security::syscalls,
};

/// `GetInfo`'s capabilities: what the loaded programs could not watch,
/// or everything when there are none (procfs mode), with the reason.
pub(super) fn capabilities(source: Option<&EbpfSource>, mode_reason: &str) -> Vec<pb::Capability> {
    convert::capabilities(&source.map_or_else(
        || {
            let why = format!("{mode_reason}: security events need the eBPF programs");
            syscalls::CAPABILITIES
                .iter()
                .map(|&(name, _)| (name, why.clone()))
                .collect()
        },
        |src| src.missing().clone(),
    ))
}

/// Hands free heap pages back to the kernel.  Parsing the kernel's BTF
/// (twice: ours and aya's) takes tens of MB of heap that is free again once
/// the programs are loaded, and the history writer's thread decodes large
/// batches; glibc keeps both mapped unless asked.
pub fn release_free_memory() {
    #[cfg(target_env = "gnu")]
    // SAFETY: malloc_trim only hands free heap pages back to the kernel.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// What perchd found in its audit log at start-up, in its own log.
pub(super) fn log_audit_status(audit: &AuditLog) {
    match audit.status() {
        pb::AuditLogStatus::Broken => tracing::error!(
            path = %audit.path().display(),
            "audit log broken, actions will be refused: {}",
            audit.status_detail()
        ),
        pb::AuditLogStatus::RecoveredTornTail => tracing::warn!(
            path = %audit.path().display(),
            "audit log recovered: {}",
            audit.status_detail()
        ),
        _ => tracing::info!(
            path = %audit.path().display(),
            "audit log: {}",
            audit.status_detail()
        ),
    }
}

/// The action executor: without pidfds or /proc this host cannot act;
/// viewing still works, and every action is refused (and audited) with the
/// reason.  It sets `freezes` after actions that freeze or thaw.
pub(super) fn executor(settings: &Settings, freezes: &Arc<AtomicBool>) -> Result<Executor, String> {
    Executor::system()
        .map(|e| {
            e.watching(settings.signal_watch.clone())
                .notifying_freezes(Arc::clone(freezes))
        })
        .map_err(|e| {
            tracing::warn!("response actions unavailable: {e}");
            format!("response actions are unavailable on this host: {e}")
        })
}

/// Tunes glibc's allocator for a daemon whose large buffers come and go
/// (event batches, one encoded message per stream): at most two arenas
/// instead of eight per core, and blocks of 64 KiB or more mapped on their
/// own, so they go back to the kernel when freed instead of fragmenting
/// the heap.  Measured with 32 stalled streams through an argv-heavy storm
/// (BENCHMARKS.md, memory): peak RSS ~118 MiB without, ~75 MiB with.
/// Call before any thread starts; a daemon's choice, not a library's, so
/// perchd's `main` calls it and an embedding console does not.
pub fn tune_allocator() {
    #[cfg(target_env = "gnu")]
    // SAFETY: mallopt only sets allocator parameters; called before other
    // threads exist.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
        libc::mallopt(libc::M_MMAP_THRESHOLD, 64 << 10);
    }
}

pub(super) fn new_reader(settings: &Settings) -> Result<ProcReader, EngineError> {
    let root = find_cgroup2_mount().ok_or(EngineError::NoCgroup2)?;
    let mut reader = ProcReader::new("/proc".into(), CgroupResolver::new(&root), UserNames::new());
    reader.set_env_filter(settings.exec_env.clone());
    Ok(reader)
}

/// The rules (built-in, then the configured directories) and the
/// detector, its trace suppression from `policies`; `None` when
/// detections are off.
pub(super) fn new_detector(
    settings: &Settings,
    boot_time_unix_ns: u64,
    oom_marked: bool,
    policies: &crate::policy::registry::Registry,
) -> Result<Option<Mutex<Detector>>, EngineError> {
    if !settings.detect.enabled {
        return Ok(None);
    }
    let rules = RuleSet::load(&settings.detect.rule_dirs).map_err(|errors| {
        EngineError::Rules(
            errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n"),
        )
    })?;
    tracing::info!(rules = rules.rules.len(), "detection rules loaded");
    let mut detector = Detector::new(rules, settings.detect.clone(), boot_time_unix_ns);
    let traces = policies.trace_policies();
    tracing::info!(
        policies = traces.len(),
        refused = policies.errors().len(),
        dir = %policies.dir().display(),
        "trace suppression policies loaded"
    );
    detector.set_policies(traces);
    detector.set_oom_marked(oom_marked);
    Ok(Some(Mutex::new(detector)))
}
