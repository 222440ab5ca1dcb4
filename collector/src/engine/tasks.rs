//! The engine's long-running tasks.  /proc work runs on the blocking pool:
//! at 100k processes a sampling pass takes long enough to delay the
//! ring-buffer drain if it shared its thread.
use std::{
    collections::HashSet,
    sync::{Arc, atomic::Ordering},
    time::Duration,
};

use perch_proto::v1::ProcessSample;

use super::{EngineError, Shared, loss, net::NetPass};
use crate::{
    clock::now_boot_ns,
    convert,
    ebpf::{Decoder, EbpfSource},
    model::{HostSample, ModelEvent, ProcKey, ProcessInfo, Source, Usage},
    proc::{Poller, ProcReader},
    sampler::{FrozenCgroups, HostSampler, ProcessSampler, ThreadSampler},
};

/// 20 ms keeps the console live while costing perchd ~50 wake-ups a second;
/// bursts past the ring's wake-up threshold are drained at once anyway.
const DRAIN_INTERVAL: Duration = Duration::from_millis(20);

/// Ring-buffer bytes decoded and committed at a time: a few hundred exec
/// records of ordinary size, or 32 of the largest (8 KiB of argv, about
/// 230 KiB once decoded into one string per argument).
const DRAIN_BUDGET_BYTES: usize = 256 << 10;

/// Scans /proc once (on the blocking pool), returning the reader for
/// reuse; meanwhile drains the ring into the returned events, so a long
/// scan does not overflow it.
pub(super) async fn seed(
    mut reader: ProcReader,
    src: &mut EbpfSource,
    decoder: &Decoder,
) -> Result<(ProcReader, Vec<ProcessInfo>, Vec<ModelEvent>), EngineError> {
    let mut scan = tokio::task::spawn_blocking(move || {
        let procs = reader.scan(Source::Seeded);
        (reader, procs)
    });
    let mut pending = Vec::new();
    let (reader, procs) = loop {
        tokio::select! {
            done = &mut scan => break done.map_err(|e| EngineError::Proc(e.to_string()))?,
            () = src.wait(DRAIN_INTERVAL) => {
                src.drain(|bytes| pending.extend(decoder.decode(bytes)));
            }
        }
    };
    src.drain(|bytes| pending.extend(decoder.decode(bytes)));
    Ok((reader, procs, pending))
}

pub(super) async fn prime_poller(
    shared: &Shared,
    reader: ProcReader,
) -> Result<Poller, EngineError> {
    let (poller, seeded) = tokio::task::spawn_blocking(move || {
        let mut poller = Poller::new(reader);
        let seeded = poller.prime();
        (poller, seeded)
    })
    .await
    .map_err(|e| EngineError::Proc(e.to_string()))?;
    shared.model().seed(seeded);
    Ok(poller)
}

/// Drains the eBPF ring buffer, enriches and commits every batch; after a
/// loss, heals the model from /proc (see `loss`).
pub(super) async fn ebpf_events(
    shared: Arc<Shared>,
    mut src: EbpfSource,
    mut reader: ProcReader,
    decoder: Decoder,
    pending: Vec<ModelEvent>,
) {
    let mut batch = pending;
    let mut losses = loss::LossTracker::new(&src);
    let mut more = false;
    loop {
        if batch.is_empty() && !more {
            src.wait(DRAIN_INTERVAL).await;
        }
        let mut malformed = 0u64;
        // A bounded batch: when the model (and the rules) fall behind, a
        // full ring of argv-heavy execs decodes to over 100 MiB at once.
        (_, more) = src.drain_up_to(DRAIN_BUDGET_BYTES, |bytes| {
            match decoder.decode_all(bytes) {
                Ok(e) => batch.extend(e),
                Err(_) => malformed += 1,
            }
        });
        if malformed > 0 {
            tracing::warn!("{malformed} malformed ring-buffer records skipped");
        }
        shared
            .events_seen
            .fetch_add(batch.len() as u64, Ordering::Relaxed);
        for e in &mut batch {
            enrich(&mut reader, e);
        }
        shared.commit(std::mem::take(&mut batch), Vec::new());
        if losses.due()
            && let Some(window) = losses.check(&shared, &src)
        {
            // What the ring held is applied; now the tree heals from /proc.
            reader = loss::heal(&shared, reader, &window).await;
        }
    }
}

/// Fills what the kernel record lacks from caches: user names and cgroup
/// path.  No /proc reads here: one costs more than the whole event (cwd is
/// inherited in the model and re-read by the sample pass instead).
fn enrich(reader: &mut ProcReader, e: &mut ModelEvent) {
    let p = match e {
        ModelEvent::Exec { process, .. } => process,
        ModelEvent::Fork { child, .. } => child,
        ModelEvent::Exit { .. }
        | ModelEvent::Update { .. }
        | ModelEvent::Rename { .. }
        | ModelEvent::NetRecord { .. }
        | ModelEvent::Net { .. }
        | ModelEvent::Security(_) => return,
    };
    p.user = reader.users_mut().name(p.uid);
    p.cgroup = reader.cgroups_mut().resolve_id(p.cgroup_id);
    if let Some(facts) = p.facts.as_mut().and_then(Arc::get_mut)
        && let Some(uid) = facts.loginuid
    {
        facts.login_user = reader.users_mut().name(uid);
    }
}

/// /proc polling fallback: diff the process list every `interval`.
pub(super) async fn poll_procfs(shared: Arc<Shared>, mut poller: Poller, interval: Duration) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Ok((p, events)) = tokio::task::spawn_blocking(move || {
            let events = poller.poll(now_boot_ns());
            (poller, events)
        })
        .await
        else {
            tracing::error!("the /proc poller panicked; polling stops");
            return;
        };
        poller = p;
        shared
            .events_seen
            .fetch_add(events.len() as u64, Ordering::Relaxed);
        shared.commit(events, Vec::new());
    }
}

/// Connections and listening sockets open at start-up: a `sock_diag` dump
/// and a full /proc fd scan, applied without events (clients list them).
pub(super) async fn seed_net(shared: &Arc<Shared>) {
    let s = Arc::clone(shared);
    let read = tokio::task::spawn_blocking(move || NetPass::new("/proc".into()).read(&s, true))
        .await
        .ok()
        .flatten();
    if let Some(read) = read {
        NetPass::new("/proc".into()).apply(shared, read, 1, &mut Vec::new(), false);
    }
}

/// What one sample pass reads from /proc, off the async threads.
struct Pass {
    procs: ProcessSampler,
    host: HostSampler,
    reader: ProcReader,
    frozen: FrozenCgroups,
    net: NetPass,
    threads: ThreadSampler,
}

/// What a pass read, for the model.
struct Read {
    samples: Vec<(ProcKey, Usage, u32)>,
    states: Vec<(ProcKey, u8)>,
    parents: Vec<(ProcKey, u32)>,
    frozen: HashSet<String>,
    host: HostSample,
    cwds: Vec<(ProcKey, String)>,
    /// Only while a client asks for thread samples.
    threads: Option<Vec<perch_proto::v1::ProcessThreads>>,
}

/// Samples per-process and host usage every `interval` (with each
/// process's state, freeze and current parent), re-reads the cwd of
/// processes that may have a stale one, and retires exited processes past
/// their retention window.
pub(super) async fn sample(shared: Arc<Shared>, reader: ProcReader, interval: Duration) {
    let mut pass = Pass {
        procs: ProcessSampler::new("/proc"),
        host: HostSampler::new("/proc"),
        reader,
        frozen: FrozenCgroups::new(shared.cgroup_root.clone()),
        net: NetPass::new("/proc".into()),
        threads: ThreadSampler::new("/proc"),
    };
    let mem_total = shared.info.memory_total_bytes;
    let interval_ns = u64::try_from(interval.as_nanos()).unwrap_or(u64::MAX);
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if shared.freezes.swap(false, Ordering::Relaxed) {
            pass.frozen.look_again();
        }
        let full = pass.frozen.full_pass();
        let watched = shared.hub.thread_watchers() > 0;
        let (keys, stale, cgroups, multi) = {
            let mut model = shared.model();
            let cgroups = full.then(|| model.cgroup_paths());
            let multi = watched.then(|| model.multi_threaded_keys());
            (model.live_keys(), model.take_cwd_stale(), cgroups, multi)
        };
        if !watched {
            pass.threads.forget();
        }
        let s = Arc::clone(&shared);
        let Ok((p, mut read, net)) = tokio::task::spawn_blocking(move || {
            super::background::lowered(|| {
                let net = pass.net.read(&s, false);
                let samples = pass.procs.sample(&keys, mem_total);
                let read = Read {
                    samples,
                    states: pass.procs.states().to_vec(),
                    parents: pass.procs.parents().to_vec(),
                    frozen: pass.frozen.read(cgroups.as_deref()).clone(),
                    host: pass.host.sample(),
                    cwds: stale
                        .into_iter()
                        .filter_map(|k| Some((k, pass.reader.cwd(k.pid)?)))
                        .collect(),
                    threads: multi.map(|keys| pass.threads.sample(&keys)),
                };
                (pass, read, net)
            })
        })
        .await
        else {
            tracing::error!("the sampler panicked; sampling stops");
            return;
        };
        if let Some(net) = net {
            p.net
                .apply(&shared, net, interval_ns, &mut read.samples, true);
        }
        pass = p;
        let now = now_boot_ns();
        let lost = shared.events_lost.load(Ordering::Relaxed);
        let (updates, samples) = apply(&shared, read.samples.as_slice(), &read, now);
        let mut extra = vec![
            convert::process_samples(now, interval_ns, samples),
            convert::host_sample(now, &read.host, lost),
        ];
        if let Some(processes) = read.threads.take() {
            extra.push(convert::thread_samples(now, interval_ns, processes));
        }
        shared.commit(updates, extra);
    }
}

/// A pass's readings into the model: the updates to publish (new cwds,
/// reapers) and the samples (every process whose usage, state or freeze
/// changed).
fn apply(
    shared: &Shared,
    usage: &[(ProcKey, Usage, u32)],
    read: &Read,
    now: u64,
) -> (Vec<ModelEvent>, Vec<ProcessSample>) {
    let mut model = shared.model();
    model.apply_usage(usage);
    let mut changed: HashSet<ProcKey> = usage.iter().map(|(k, ..)| *k).collect();
    changed.extend(model.set_states(&read.states));
    changed.extend(model.set_frozen(|path| read.frozen.contains(path)));
    let reparented = model.set_parents(&read.parents);
    model.expire(now);
    let samples = changed
        .into_iter()
        .filter_map(|k| model.get_key(&k).map(convert::process_sample))
        .collect();
    let cwds: Vec<ProcessInfo> = read
        .cwds
        .iter()
        .filter_map(|(k, cwd)| model.set_cwd(k, cwd.clone()))
        .collect();
    let updates = reparented
        .into_iter()
        .chain(cwds)
        .map(|process| ModelEvent::Update {
            time_ns: now,
            process,
        })
        .collect();
    (updates, samples)
}
