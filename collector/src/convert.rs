//! Model types to `perch.v1` messages.  The only place that knows both.
use perch_proto::{limits, v1 as pb};

use crate::ebpf::{KindCount, LossWindow};

mod facts;
pub mod net;
mod security;
use facts::{executable, names_disagree, stdio};
pub use security::capabilities;

use crate::model::{
    CgroupInfo, CpuSample, ExitInfo, HostSample, ModelEvent, ProcKey, ProcessInfo, Source, Usage,
};

#[must_use]
pub fn key(k: &ProcKey) -> pb::ProcessKey {
    pb::ProcessKey {
        pid: k.pid,
        start_time_ns: k.start_ns,
    }
}

#[must_use]
pub fn exit(e: &ExitInfo) -> pb::Exit {
    pb::Exit {
        time_ns: e.time_ns,
        code: e.code,
        signal: e.signal,
        core_dumped: e.core_dumped,
        oom_killed: e.oom_killed,
    }
}

#[must_use]
pub fn usage(u: &Usage) -> pb::ResourceUsage {
    pb::ResourceUsage {
        cpu_percent: u.cpu_percent,
        cpu_time_ns: u.cpu_time_ns,
        rss_bytes: u.rss_bytes,
        read_bytes: u.read_bytes,
        write_bytes: u.write_bytes,
        read_bytes_per_sec: u.read_bytes_per_sec,
        write_bytes_per_sec: u.write_bytes_per_sec,
        mem_percent: u.mem_percent,
        virtual_bytes: u.virtual_bytes,
        shared_bytes: u.shared_bytes,
        priority: u.priority,
        net_rx_bytes_per_sec: u.net_rx_bytes_per_sec,
        net_tx_bytes_per_sec: u.net_tx_bytes_per_sec,
    }
}

fn source(s: Source) -> pb::ProcessSource {
    match s {
        Source::Seeded => pb::ProcessSource::Seeded,
        Source::Ebpf => pb::ProcessSource::Ebpf,
        Source::Procfs => pb::ProcessSource::Procfs,
    }
}

/// A stat state letter as text; empty when not sampled yet.
#[must_use]
pub fn state(letter: u8) -> String {
    if letter.is_ascii_alphabetic() {
        char::from(letter).to_string()
    } else {
        String::new()
    }
}

#[must_use]
pub fn process(p: &ProcessInfo) -> pb::Process {
    process_owned(p.clone())
}

/// Like [`process`], moving the strings instead of copying them (the hot
/// path converts every applied event exactly once).  Every string is capped
/// at the contract's limits here, whatever path it came by.
#[must_use]
pub fn process_owned(p: ProcessInfo) -> pb::Process {
    let cg = p
        .cgroup
        .as_deref()
        .cloned()
        .unwrap_or_else(CgroupInfo::default);
    let names_disagree = names_disagree(&p);
    let facts = p.facts.as_deref();
    let mut out = pb::Process {
        key: Some(key(&p.key)),
        ppid: p.ppid,
        parent_start_time_ns: p.parent_start_ns,
        pgid: p.pgid,
        sid: p.sid,
        uid: p.uid,
        euid: p.euid,
        gid: p.gid,
        user: p.user.as_deref().unwrap_or_default().to_owned(),
        comm: p.comm,
        exe: p.exe,
        argv: p.argv.to_vec(),
        argv_truncated: p.argv_truncated,
        cwd: p.cwd,
        tty: p.tty,
        cgroup_id: p.cgroup_id,
        cgroup_path: cg.path,
        container_id: cg.container_id.unwrap_or_default(),
        container_runtime: cg.runtime.unwrap_or_default().to_owned(),
        pod_uid: cg.pod_uid.unwrap_or_default(),
        // Namespace and name need the Kubernetes API (a later issue).
        pod_namespace: String::new(),
        pod_name: String::new(),
        kernel_thread: p.kernel_thread,
        source: source(p.source).into(),
        exit: p.exit.as_ref().map(exit),
        usage: Some(usage(&p.usage)),
        threads: p.threads,
        nice: p.nice,
        // A sampled state only while it runs: an exited process has none.
        state: if p.exit.is_none() {
            state(p.state)
        } else {
            String::new()
        },
        frozen: p.frozen,
        reaper: p.reaper.as_ref().map(key),
        original_parent_unknown: p.parent_unknown,
        retained_ancestor: p.retained_ancestor,
        executable: facts
            .filter(|f| !f.exe.path.is_empty())
            .map(|f| executable(&f.exe)),
        names_disagree,
        stdio: facts.map(stdio).unwrap_or_default(),
        loginuid: facts.and_then(|f| f.loginuid),
        login_user: facts
            .and_then(|f| f.login_user.as_deref())
            .unwrap_or_default()
            .to_owned(),
        cap_effective: facts.map_or(0, |f| f.cap_effective),
        mnt_ns: facts.map_or(0, |f| f.mnt_ns),
        pid_ns: facts.map_or(0, |f| f.pid_ns),
        env: facts
            .map(|f| {
                f.env
                    .iter()
                    .map(|v| pb::EnvVar {
                        name: v.name.clone(),
                        value: v.value.clone(),
                        value_truncated: v.value_truncated,
                    })
                    .collect()
            })
            .unwrap_or_default(),
        env_truncated: facts.is_some_and(|f| f.env_truncated),
        egid: p.egid,
    };
    limits::cap_process(&mut out);
    out
}

/// A model event as a wire event (seq is assigned by the hub).
#[must_use]
pub fn event(e: ModelEvent) -> pb::Event {
    use pb::event::Kind;
    let (time_ns, kind) = match e {
        ModelEvent::Net { time_ns, change } => (time_ns, net::change(&change)),
        // The model turns records into changes; an unapplied one says nothing.
        ModelEvent::NetRecord { time_ns, .. } => {
            return pb::Event {
                seq: 0,
                time_ns,
                kind: None,
            };
        }
        ModelEvent::Exec {
            time_ns,
            process: p,
            old_pid,
        } => (
            time_ns,
            Kind::Exec(pb::ProcessExec {
                process: Some(process_owned(p)),
                old_pid,
            }),
        ),
        ModelEvent::Fork { time_ns, mut child } => {
            // Exec facts are the parent's until the child execs: not sent
            // again with every fork (see ProcessFork in collector.proto).
            child.facts = None;
            let parent = pb::ProcessKey {
                pid: child.ppid,
                start_time_ns: child.parent_start_ns,
            };
            (
                time_ns,
                Kind::Fork(pb::ProcessFork {
                    child: Some(process_owned(child)),
                    parent: Some(parent),
                }),
            )
        }
        ModelEvent::Exit {
            time_ns,
            key: k,
            exit: x,
        } => (
            time_ns,
            Kind::Exit(pb::ProcessExit {
                key: Some(key(&k)),
                exit: Some(exit(&x)),
            }),
        ),
        ModelEvent::Update {
            time_ns,
            process: p,
        } => (
            time_ns,
            Kind::Update(pb::ProcessUpdate {
                process: Some(process_owned(p)),
            }),
        ),
        ModelEvent::Security(ev) => (ev.time_ns, Kind::Security(security::event(*ev))),
        // The model turns renames into updates of the whole process; one
        // that reaches here unapplied says only the new name.
        ModelEvent::Rename {
            time_ns,
            key: k,
            comm,
        } => (
            time_ns,
            Kind::Update(pb::ProcessUpdate {
                process: Some(pb::Process {
                    key: Some(key(&k)),
                    comm,
                    ..pb::Process::default()
                }),
            }),
        ),
    };
    pb::Event {
        seq: 0,
        time_ns,
        kind: Some(kind),
    }
}

/// One live process's sample: usage, threads, state and freeze.
#[must_use]
pub fn process_sample(p: &ProcessInfo) -> pb::ProcessSample {
    pb::ProcessSample {
        key: Some(key(&p.key)),
        usage: Some(usage(&p.usage)),
        threads: p.threads,
        state: state(p.state),
        frozen: p.frozen,
        nice: Some(p.nice),
    }
}

#[must_use]
pub fn process_samples(
    time_ns: u64,
    interval_ns: u64,
    samples: Vec<pb::ProcessSample>,
) -> pb::Event {
    pb::Event {
        seq: 0,
        time_ns,
        kind: Some(pb::event::Kind::ProcessSamples(pb::ProcessSamples {
            samples,
            interval_ns,
        })),
    }
}

/// The threads of multi-threaded processes (sampled only while a client
/// asks).
#[must_use]
pub fn thread_samples(
    time_ns: u64,
    interval_ns: u64,
    processes: Vec<pb::ProcessThreads>,
) -> pb::Event {
    pb::Event {
        seq: 0,
        time_ns,
        kind: Some(pb::event::Kind::ThreadSamples(pb::ThreadSamples {
            processes,
            interval_ns,
        })),
    }
}

fn cpu(c: &CpuSample) -> pb::CpuSample {
    pb::CpuSample {
        busy_percent: c.busy_percent,
        user_percent: c.user_percent,
        system_percent: c.system_percent,
        iowait_percent: c.iowait_percent,
    }
}

#[must_use]
pub fn host_sample(time_ns: u64, h: &HostSample, events_lost: u64) -> pb::Event {
    let s = pb::HostSample {
        cpus: h.cpus.iter().map(cpu).collect(),
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
        events_lost,
    };
    pb::Event {
        seq: 0,
        time_ns,
        kind: Some(pb::event::Kind::HostSample(s)),
    }
}

/// The `EVENTS_LOST` notice for a loss `window`, after a /proc re-read
/// changed `healed` processes; delivered to every client.
#[must_use]
pub fn lost_notice(time_ns: u64, window: &LossWindow, healed: u32) -> pb::Event {
    let in_window: u64 = window.by_kind.iter().map(|(_, n)| n).sum();
    let kinds = window
        .by_kind
        .iter()
        .map(|(k, n)| format!("{k} {n}"))
        .collect::<Vec<_>>()
        .join(", ");
    pb::Event {
        seq: 0,
        time_ns,
        kind: Some(pb::event::Kind::Notice(pb::Notice {
            kind: pb::NoticeKind::EventsLost.into(),
            message: format!(
                "the kernel dropped {in_window} events ({kinds}; ring buffer full) between \
                 {:.3} s and {:.3} s after boot, {} lost since start; /proc re-read, \
                 {healed} processes fixed up",
                secs(window.from_ns),
                secs(window.until_ns),
                window.total
            ),
            lost_events: window.total,
            lost_from_ns: window.from_ns,
            lost_until_ns: window.until_ns,
            lost_by_kind: window
                .by_kind
                .iter()
                .map(|&(kind, lost)| pb::KindCount {
                    kind: kind.to_owned(),
                    sent: 0,
                    lost,
                })
                .collect(),
            healed,
            ..pb::Notice::default()
        })),
    }
}

#[expect(clippy::cast_precision_loss, reason = "a time shown with ms precision")]
fn secs(ns: u64) -> f64 {
    ns as f64 / 1e9
}

/// Per-kind kernel record counters for `GetInfo`.
#[must_use]
pub fn kind_counts(counts: &[KindCount]) -> Vec<pb::KindCount> {
    counts
        .iter()
        .map(|c| pb::KindCount {
            kind: c.name.to_owned(),
            sent: c.sent,
            lost: c.lost,
        })
        .collect()
}
