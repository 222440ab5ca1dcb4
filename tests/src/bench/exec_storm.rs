//! `perch-bench exec-storm`: spawns N short processes (`/bin/true`) from one loop per
//! core, first without perchd, then with perchd and a client reading the
//! full event stream; rounds alternate so drift hits both sides equally.
use std::{
    collections::HashSet,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail};
use perch_e2e::{Perchd, cpu_time_ns, rss_bytes};
use perch_proto::v1::{self as pb, event::Kind};
use tokio_stream::StreamExt as _;

use crate::args::{self, Opt, median};

struct Opts {
    processes: usize,
    rounds: usize,
    loops: usize,
}

pub const USAGE: &str = "perch-bench exec-storm [--processes N] [--rounds R] [--loops L]";

fn parse_args(args: Vec<String>) -> anyhow::Result<Opts> {
    let mut o = Opts {
        processes: 20_000,
        rounds: 3,
        loops: std::thread::available_parallelism().map_or(2, std::num::NonZero::get),
    };
    args::parse(
        args,
        &mut [
            Opt {
                name: "--processes",
                value: &mut o.processes,
                range: 1..=10_000_000,
            },
            Opt {
                name: "--rounds",
                value: &mut o.rounds,
                range: 1..=1000,
            },
            Opt {
                name: "--loops",
                value: &mut o.loops,
                range: 1..=1024,
            },
        ],
        USAGE,
    )?;
    Ok(o)
}

/// Spawns `n` `/bin/true` from `loops` threads; returns pids and elapsed time.
fn storm(n: usize, loops: usize) -> anyhow::Result<(Vec<u32>, Duration)> {
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

fn rate(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}

/// Exec events seen by the reading client, keyed by pid, for our children.
type Seen = Arc<Mutex<HashSet<u32>>>;

/// The set, also after a panic elsewhere: it only ever grows, so a
/// poisoned lock still holds a usable set.
fn lock(seen: &Seen) -> std::sync::MutexGuard<'_, HashSet<u32>> {
    seen.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

async fn with_perchd(o: &Opts) -> anyhow::Result<(f64, usize, usize, f64, u64)> {
    let perchd = Perchd::start(&["--log", "warn"]).await;
    let mut client = perchd.client().await?;
    let info = client.get_info(pb::GetInfoRequest {}).await?.into_inner();
    if info.mode != pb::CollectorMode::Ebpf as i32 {
        bail!("perchd is not in eBPF mode: {}", info.mode_reason);
    }
    let me = std::process::id();
    let seen: Seen = Arc::default();
    let mut stream = client
        .watch_events(pb::WatchEventsRequest {
            resume_after_seq: Some(info.head_seq),
            kinds: vec![],
            threads: false,
        })
        .await?
        .into_inner();
    let reader_seen = seen.clone();
    let reader = tokio::spawn(async move {
        while let Some(Ok(msg)) = stream.next().await {
            for e in msg.events {
                if let Some(Kind::Exec(x)) = e.kind
                    && let Some(p) = x.process
                    && p.ppid == me
                {
                    lock(&reader_seen).insert(p.key.map_or(0, |k| k.pid));
                }
            }
        }
    });
    let cpu0 = cpu_time_ns(perchd.pid());
    let seen0 = info.events_seen;
    let (pids, took) = tokio::task::spawn_blocking({
        let (n, l) = (o.processes, o.loops);
        move || storm(n, l)
    })
    .await??;
    // Let the stream catch up (bounded): stop once everything arrived or
    // nothing new came for two seconds.
    let mut last = 0;
    let mut quiet = 0;
    while quiet < 20 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let n = lock(&seen).len();
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
    reader.abort();
    let got = pids.iter().filter(|p| lock(&seen).contains(p)).count();
    let per_event_us = cpu as f64 / 1000.0 / events.max(1) as f64;
    if info.events_lost > 0 {
        eprintln!("warning: the kernel lost {} events", info.events_lost);
    }
    Ok((rate(pids.len(), took), got, pids.len(), per_event_us, rss))
}

/// Runs the benchmark with the options in `args` and prints its report.
pub async fn run(args: Vec<String>) -> anyhow::Result<()> {
    let o = parse_args(args)?;
    println!(
        "exec storm: {} processes per round, {} rounds, {} spawn loops",
        o.processes, o.rounds, o.loops
    );
    let (mut base, mut with, mut per_ev, mut rss) = (Vec::new(), Vec::new(), Vec::new(), 0);
    let (mut got_all, mut spawned_all) = (0, 0);
    for round in 1..=o.rounds {
        let (pids, took) = tokio::task::spawn_blocking({
            let (n, l) = (o.processes, o.loops);
            move || storm(n, l)
        })
        .await??;
        base.push(rate(pids.len(), took));
        let (r, got, spawned, us, bytes) = with_perchd(&o).await?;
        with.push(r);
        per_ev.push(us);
        rss = rss.max(bytes);
        got_all += got;
        spawned_all += spawned;
        println!(
            "  round {round}: without {:.0} execs/s, with {:.0} execs/s, received {got}/{spawned}, perchd {us:.2} µs CPU/event",
            base[round - 1],
            r
        );
    }
    let (b, w) = (median(base), median(with));
    let received = got_all as f64 / spawned_all as f64;
    println!("without perchd:            {b:.0} execs/s (median)");
    println!("with perchd + a client:    {w:.0} execs/s (median)");
    println!("throughput with/without:   {:.3} (target >= 0.97)", w / b);
    println!("events received/spawned:   {received:.4} ({got_all}/{spawned_all}) (target 1.0000)");
    println!(
        "perchd CPU per event:      {:.2} µs (median; target < 5 µs)",
        median(per_ev)
    );
    let mib = rss as f64 / 1_048_576.0;
    println!("perchd RSS:                {mib:.1} MiB (max over rounds)");
    Ok(())
}
