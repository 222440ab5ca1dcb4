//! `perch-bench exec-storm`: spawns N short processes (`/bin/true`) from one loop per
//! core, first without perchd, then with perchd and a client reading the
//! full event stream; rounds alternate so drift hits both sides equally.
//! With `--compare-detections 1` each round also runs perchd with
//! `[detect] enabled = false`, for the ratio with detections on vs off.
use std::{
    collections::HashSet,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail};
use perch_e2e::{Perchd, cpu_time_ns, rss_bytes};
use perch_proto::v1::{self as pb, event::Kind};
use tokio_stream::StreamExt as _;

use crate::{
    args::{self, Opt, median, thread_cpu_ns},
    bpf_stats,
};

pub struct Opts {
    pub processes: usize,
    pub rounds: usize,
    pub loops: usize,
    pub compare_detections: usize,
}

pub const USAGE: &str =
    "perch-bench exec-storm [--processes N] [--rounds R] [--loops L] [--compare-detections 0|1]";

impl Default for Opts {
    fn default() -> Self {
        Opts {
            processes: 20_000,
            rounds: 3,
            loops: std::thread::available_parallelism().map_or(2, std::num::NonZero::get),
            compare_detections: 0,
        }
    }
}

impl Opts {
    /// The storm's options every storm benchmark takes: `--processes`,
    /// `--rounds`, `--loops`.
    pub fn storm_opts(&mut self) -> [Opt<'_>; 3] {
        [
            Opt {
                name: "--processes",
                value: &mut self.processes,
                range: 1..=10_000_000,
            },
            Opt {
                name: "--rounds",
                value: &mut self.rounds,
                range: 1..=1000,
            },
            Opt {
                name: "--loops",
                value: &mut self.loops,
                range: 1..=1024,
            },
        ]
    }
}

fn parse_args(args: Vec<String>) -> anyhow::Result<Opts> {
    let mut o = Opts::default();
    let mut compare = 0;
    let [processes, rounds, loops] = o.storm_opts();
    args::parse(
        args,
        &mut [
            processes,
            rounds,
            loops,
            Opt {
                name: "--compare-detections",
                value: &mut compare,
                range: 0..=1,
            },
        ],
        USAGE,
    )?;
    o.compare_detections = compare;
    Ok(o)
}

/// Spawns `n` `/bin/true` from `loops` threads; returns pids and elapsed time.
pub fn storm(n: usize, loops: usize) -> anyhow::Result<(Vec<u32>, Duration)> {
    let start = Instant::now();
    let per = n.div_ceil(loops);
    let handles: Vec<_> = (0..loops)
        .map(|i| {
            let count = per.min(n.saturating_sub(i * per));
            std::thread::spawn(move || -> std::io::Result<Vec<u32>> {
                let mut pids = Vec::with_capacity(count);
                for _ in 0..count {
                    let mut child = std::process::Command::new("/bin/true").spawn()?;
                    pids.push(child.id());
                    child.wait()?;
                }
                Ok(pids)
            })
        })
        .collect();
    let mut pids = Vec::with_capacity(n);
    for h in handles {
        let spawned = h
            .join()
            .map_err(|_| anyhow::anyhow!("a spawner thread panicked"))?;
        pids.extend(spawned.context("spawning /bin/true")?);
    }
    Ok((pids, start.elapsed()))
}

pub fn rate(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}

/// A set of pids shared with the reader thread, also after a panic
/// elsewhere: it only ever grows, so a poisoned lock still holds a usable set.
fn lock(seen: &Mutex<HashSet<u32>>) -> std::sync::MutexGuard<'_, HashSet<u32>> {
    seen.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// What one round with perchd measured.
pub struct Round {
    pub rate: f64,
    pub got: usize,
    pub spawned: usize,
    /// perchd's CPU per kernel event, µs.
    pub per_event_us: f64,
    rss: u64,
    /// CPU per spawned process, µs: perchd, the reading client, and each
    /// kernel program (by name) with their sum.
    perchd_us: f64,
    client_us: f64,
    kernel_us: Vec<(String, f64)>,
    lost: u64,
}

/// A client reading the whole event stream on a thread of its own, so its
/// CPU time can be told apart from the spawn loops'.
struct Reader {
    seen: Arc<Mutex<HashSet<u32>>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<anyhow::Result<u64>>,
}

impl Reader {
    /// Watches from `after` and records the pids of exec events whose
    /// parent is this process.
    fn start(socket: std::path::PathBuf, after: u64) -> Self {
        let seen: Arc<Mutex<HashSet<u32>>> = Arc::default();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (seen2, stop2) = (seen.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(read(&socket, after, &seen2, &stop2))
        });
        Self { seen, stop, thread }
    }

    fn count(&self) -> usize {
        lock(&self.seen).len()
    }

    /// Stops reading; returns the pids seen and the thread's CPU time (ns).
    fn finish(self) -> anyhow::Result<(HashSet<u32>, u64)> {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let cpu = self
            .thread
            .join()
            .map_err(|_| anyhow::anyhow!("reader thread panicked"))??;
        let seen = std::mem::take(&mut *lock(&self.seen));
        Ok((seen, cpu))
    }
}

/// The reader thread's body: returns its CPU time.
async fn read(
    socket: &std::path::Path,
    after: u64,
    seen: &Mutex<HashSet<u32>>,
    stop: &std::sync::atomic::AtomicBool,
) -> anyhow::Result<u64> {
    let cpu0 = thread_cpu_ns();
    let me = std::process::id();
    let mut client = perch_e2e::connect(socket).await?;
    let mut stream = client
        .watch_events(pb::WatchEventsRequest {
            resume_after_seq: Some(after),
            kinds: vec![],
            threads: false,
        })
        .await?
        .into_inner();
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        let Ok(Some(Ok(msg))) =
            tokio::time::timeout(Duration::from_millis(100), stream.next()).await
        else {
            continue;
        };
        for e in msg.events {
            if let Some(Kind::Exec(x)) = e.kind
                && let Some(p) = x.process
                && p.ppid == me
            {
                lock(seen).insert(p.key.map_or(0, |k| k.pid));
            }
        }
    }
    Ok(thread_cpu_ns() - cpu0)
}

fn per(ns: u64, n: usize) -> f64 {
    ns as f64 / 1000.0 / n.max(1) as f64
}

/// One round with perchd; `detect: false` runs it with `[detect] enabled
/// = false`.
async fn with_perchd(o: &Opts, detect: bool) -> anyhow::Result<Round> {
    let config = tempfile::NamedTempFile::new()?;
    std::fs::write(config.path(), "[detect]\nenabled = false\n")?;
    let config_path = config.path().display().to_string();
    let mut args = vec!["--log", "warn"];
    if !detect {
        args.extend(["--config", config_path.as_str()]);
    }
    Ok(perchd_round(o, &args).await?.0)
}

/// One round with perchd started with `args` (`perch-bench history-storm`
/// passes `--history` / `--no-history` here).
/// Returns perchd still running, for a look at what it wrote.
pub async fn perchd_round(o: &Opts, args: &[&str]) -> anyhow::Result<(Round, Perchd)> {
    let perchd = Perchd::start(args).await;
    let mut client = perchd.client().await?;
    let info = client.get_info(pb::GetInfoRequest {}).await?.into_inner();
    if info.mode != pb::CollectorMode::Ebpf as i32 {
        bail!("perchd is not in eBPF mode: {}", info.mode_reason);
    }
    let reader = Reader::start(perchd.socket.clone(), info.head_seq);
    let stats = bpf_stats::enable()?;
    let kernel0 = bpf_stats::of_process(perchd.pid())?;
    let cpu0 = cpu_time_ns(perchd.pid());
    let seen0 = info.events_seen;
    let (pids, took) = tokio::task::spawn_blocking({
        let (n, l) = (o.processes, o.loops);
        move || storm(n, l)
    })
    .await??;
    let kernel1 = bpf_stats::of_process(perchd.pid())?;
    drop(stats);
    // Let the stream catch up (bounded): stop once everything arrived or
    // nothing new came for two seconds.
    let mut last = 0;
    let mut quiet = 0;
    while quiet < 20 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let n = reader.count();
        if n >= pids.len() {
            break;
        }
        if n == last {
            quiet += 1;
        } else {
            quiet = 0;
            last = n;
        }
    }
    let info = client.get_info(pb::GetInfoRequest {}).await?.into_inner();
    let cpu = cpu_time_ns(perchd.pid()) - cpu0;
    let events = info.events_seen - seen0;
    let rss = rss_bytes(perchd.pid());
    let (seen, client_cpu) = reader.finish()?;
    let got = pids.iter().filter(|p| seen.contains(p)).count();
    let mut kernel_us: Vec<(String, f64)> = kernel1
        .iter()
        .map(|(name, r)| {
            let before = kernel0.get(name).copied().unwrap_or_default();
            (name.clone(), per(r.ns - before.ns, pids.len()))
        })
        .collect();
    kernel_us.sort_by(|a, b| a.0.cmp(&b.0));
    let round = Round {
        rate: rate(pids.len(), took),
        got,
        spawned: pids.len(),
        per_event_us: per(cpu, usize::try_from(events).unwrap_or(usize::MAX)),
        rss,
        perchd_us: per(cpu, pids.len()),
        client_us: per(client_cpu, pids.len()),
        kernel_us,
        lost: info.events_lost,
    };
    Ok((round, perchd))
}

/// Runs the benchmark with the options in `args` and prints its report.
pub async fn run(args: Vec<String>) -> anyhow::Result<()> {
    let o = parse_args(args)?;
    println!(
        "exec storm: {} processes per round, {} rounds, {} spawn loops",
        o.processes, o.rounds, o.loops
    );
    let (mut base, mut rounds, mut off) = (Vec::new(), Vec::new(), Vec::new());
    for round in 1..=o.rounds {
        let (pids, took) = tokio::task::spawn_blocking({
            let (n, l) = (o.processes, o.loops);
            move || storm(n, l)
        })
        .await??;
        base.push(rate(pids.len(), took));
        if o.compare_detections == 1 {
            let r = with_perchd(&o, false).await?;
            println!(
                "  round {round}, detections off: with {:.0} execs/s, received {}/{}, perchd {:.2} µs CPU/event",
                r.rate, r.got, r.spawned, r.per_event_us
            );
            off.push(r);
        }
        let r = with_perchd(&o, true).await?;
        let kernel: f64 = r.kernel_us.iter().map(|(_, us)| us).sum();
        println!(
            "  round {round}: without {:.0} execs/s, with {:.0} execs/s, received {}/{}, \
             perchd {:.2} µs CPU/event; per exec: kernel {kernel:.2} µs, perchd {:.2} µs, \
             client {:.2} µs{}",
            base[round - 1],
            r.rate,
            r.got,
            r.spawned,
            r.per_event_us,
            r.perchd_us,
            r.client_us,
            if r.lost > 0 {
                format!(", {} kernel records lost", r.lost)
            } else {
                String::new()
            }
        );
        rounds.push(r);
    }
    report(&base, &rounds);
    if !off.is_empty() {
        let med = |rs: &[Round], f: &dyn Fn(&Round) -> f64| median(rs.iter().map(f).collect());
        let (on_rate, off_rate) = (med(&rounds, &|r| r.rate), med(&off, &|r| r.rate));
        println!("with perchd, detections off: {off_rate:.0} execs/s (median; baseline)");
        println!(
            "detections on/off:         {:.3} throughput; perchd CPU/event {:.2} µs on, {:.2} µs off",
            on_rate / off_rate,
            med(&rounds, &|r| r.per_event_us),
            med(&off, &|r| r.per_event_us)
        );
    }
    Ok(())
}

/// The summary: medians over rounds.
fn report(base: &[f64], rounds: &[Round]) {
    let (b, w) = (
        median(base.to_vec()),
        median(rounds.iter().map(|r| r.rate).collect()),
    );
    let got: usize = rounds.iter().map(|r| r.got).sum();
    let spawned: usize = rounds.iter().map(|r| r.spawned).sum();
    let received = got as f64 / spawned.max(1) as f64;
    let med = |f: &dyn Fn(&Round) -> f64| median(rounds.iter().map(f).collect());
    println!("without perchd:            {b:.0} execs/s (median)");
    println!("with perchd + a client:    {w:.0} execs/s (median)");
    println!("throughput with/without:   {:.3} (target >= 0.97)", w / b);
    println!("events received/spawned:   {received:.4} ({got}/{spawned}) (target 1.0000)");
    println!(
        "perchd CPU per event:      {:.2} µs (median; target < 5 µs)",
        med(&|r| r.per_event_us)
    );
    println!("CPU per exec (median):");
    let mut names: Vec<&str> = rounds
        .iter()
        .flat_map(|r| r.kernel_us.iter().map(|(n, _)| n.as_str()))
        .collect();
    names.sort_unstable();
    names.dedup();
    for name in names {
        let us = med(&|r| {
            r.kernel_us
                .iter()
                .find(|(n, _)| n == name)
                .map_or(0.0, |(_, us)| *us)
        });
        println!("  kernel program {name:<8} {us:.2} µs");
    }
    println!(
        "  kernel programs, total  {:.2} µs",
        med(&|r| r.kernel_us.iter().map(|(_, us)| us).sum())
    );
    println!("  perchd (user+system)    {:.2} µs", med(&|r| r.perchd_us));
    println!("  reading client          {:.2} µs", med(&|r| r.client_us));
    let mib = rounds.iter().map(|r| r.rss).max().unwrap_or(0) as f64 / 1_048_576.0;
    println!("perchd RSS:                {mib:.1} MiB (max over rounds)");
}
