//! The history store's cost (issue 13), each against a baseline in the
//! same run:
//! - `history-storm`: the exec storm with perchd on `--no-history` vs on
//!   `--history <tmp>/h.db` (rounds alternate), and the store's bytes per
//!   exec turned into bytes per hour at the measured exec rate;
//! - `history-seek`: N sleeping processes held while perchd records them,
//!   then `GetStateAt` at random instants of the stored range against
//!   `ListProcesses` of the same live processes, and the store's growth
//!   per hour at that process count.
use std::{
    path::Path,
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail};
use perch_e2e::Perchd;
use perch_proto::v1 as pb;
use tokio_stream::StreamExt as _;

use crate::{
    args::{self, Opt, median},
    console::sleepers::{self, Sleepers},
    console_seek,
    exec_storm::{self, perchd_round},
};

pub const STORM_USAGE: &str = "perch-bench history-storm [--processes N] [--rounds R] [--loops L]";
pub const SEEK_USAGE: &str = "perch-bench history-seek [--processes N] [--seconds S] [--seeks K]";

/// Bytes the store takes on disk: the database and its WAL files.
fn store_bytes(db: &Path) -> u64 {
    ["", "-wal", "-shm"]
        .iter()
        .filter_map(|suffix| {
            let mut p = db.as_os_str().to_owned();
            p.push(suffix);
            std::fs::metadata(p).ok()
        })
        .map(|m| m.len())
        .sum()
}

/// Waits past the store's batch flush (1 s), stops perchd with SIGTERM
/// (its last batch written and the WAL checkpointed) and sizes the store.
fn stop_and_size(perchd: &mut Perchd, db: &Path) -> u64 {
    std::thread::sleep(Duration::from_secs(2));
    perchd.stop();
    store_bytes(db)
}

fn mib(bytes: f64) -> f64 {
    bytes / 1_048_576.0
}

/// `perch-bench history-storm`.
pub async fn storm(args: Vec<String>) -> anyhow::Result<()> {
    let mut o = exec_storm::Opts::default();
    args::parse(args, &mut o.storm_opts(), STORM_USAGE)?;
    println!(
        "history storm: {} processes per round, {} rounds, {} spawn loops; perchd --no-history vs --history",
        o.processes, o.rounds, o.loops
    );
    let dir = tempfile::tempdir().context("temporary directory for the store")?;
    // What a store holds without a storm (schema, the /proc seed, its
    // first keyframe): taken off each round's size so only the storm counts.
    let idle_db = dir.path().join("idle.db");
    let idle_arg = idle_db.display().to_string();
    let mut idle = Perchd::start(&["--log", "warn", "--history", idle_arg.as_str()]).await;
    let idle_bytes = stop_and_size(&mut idle, &idle_db);
    println!("  idle store: {:.2} MiB", mib(idle_bytes as f64));
    let (mut off, mut on, mut per_exec) = (Vec::new(), Vec::new(), Vec::new());
    for round in 1..=o.rounds {
        let (r_off, off_perchd) = perchd_round(&o, &["--log", "warn", "--no-history"]).await?;
        drop(off_perchd);
        let db = dir.path().join(format!("h{round}.db"));
        let db_arg = db.display().to_string();
        let (r_on, mut perchd) =
            perchd_round(&o, &["--log", "warn", "--history", db_arg.as_str()]).await?;
        let bytes = stop_and_size(&mut perchd, &db);
        let b = bytes.saturating_sub(idle_bytes) as f64 / r_on.spawned.max(1) as f64;
        println!(
            "  round {round}: off {:.0} execs/s {:.2} µs CPU/event (received {}/{}), \
             on {:.0} execs/s {:.2} µs CPU/event (received {}/{}), store {:.2} MiB = {b:.0} B/exec",
            r_off.rate,
            r_off.per_event_us,
            r_off.got,
            r_off.spawned,
            r_on.rate,
            r_on.per_event_us,
            r_on.got,
            r_on.spawned,
            mib(bytes as f64)
        );
        off.push(r_off);
        on.push(r_on);
        per_exec.push(b);
    }
    let med = |rs: &[exec_storm::Round], f: &dyn Fn(&exec_storm::Round) -> f64| {
        median(rs.iter().map(f).collect())
    };
    let (rate_off, rate_on) = (med(&off, &|r| r.rate), med(&on, &|r| r.rate));
    let (cpu_off, cpu_on) = (
        med(&off, &|r| r.per_event_us),
        med(&on, &|r| r.per_event_us),
    );
    let b = median(per_exec);
    println!(
        "history off (baseline):    {rate_off:.0} execs/s, perchd {cpu_off:.2} µs CPU/event (median)"
    );
    println!(
        "history on:                {rate_on:.0} execs/s, perchd {cpu_on:.2} µs CPU/event (median)"
    );
    println!(
        "throughput on/off:         {:.3} (target >= 0.97)",
        rate_on / rate_off
    );
    println!(
        "perchd CPU/event on/off:   {:.3} (target <= 1.15)",
        cpu_on / cpu_off
    );
    println!(
        "store: {b:.0} bytes per exec (median) -> {:.0} MiB per hour at {rate_on:.0} execs/s",
        mib(b * rate_on * 3600.0)
    );
    Ok(())
}

/// A small xorshift generator: the instants need only be spread, not secret.
struct Rng(u64);

impl Rng {
    fn seeded() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0x9e37_79b9, |d| d.subsec_nanos());
        Self(u64::from(nanos) | 1)
    }

    /// A value in `lo..=hi`.
    fn between(&mut self, lo: u64, hi: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        lo + self.0 % (hi - lo + 1)
    }
}

/// The `q` quantile (0..=1) of `v`, ms.
fn quantile(v: &mut [f64], q: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "an index into a short, non-empty list"
    )]
    let i = ((v.len() - 1) as f64 * q).round() as usize;
    v.get(i).copied().unwrap_or(0.0)
}

/// `perch-bench history-seek`: synchronous on the main thread, which
/// forks the sleepers (they die with the thread that forked them).
pub fn seek(args: Vec<String>) -> anyhow::Result<()> {
    let (mut processes, mut seconds, mut seeks) = (10_000, 75, 200);
    args::parse(
        args,
        &mut [
            Opt {
                name: "--processes",
                value: &mut processes,
                range: 1..=100_000,
            },
            Opt {
                name: "--seconds",
                value: &mut seconds,
                range: 5..=3600,
            },
            Opt {
                name: "--seeks",
                value: &mut seeks,
                range: 1..=100_000,
            },
        ],
        SEEK_USAGE,
    )?;
    let limits = sleepers::check_limits(processes)?;
    println!(
        "history seek: {processes} sleeping processes, {seconds} s recorded, {seeks} seeks; \
         GetStateAt at random instants vs ListProcesses (live)"
    );
    println!("  limits: {limits}");
    let lifetime = Duration::from_secs(seconds as u64 + 1200);
    let (mut held, took) = Sleepers::spawn(processes, 4, lifetime)?;
    println!(
        "  {processes} sleepers spawned in {:.1} s",
        took.as_secs_f64()
    );
    let dir = tempfile::tempdir().context("temporary directory for the store")?;
    let db = dir.path().join("h.db");
    let db_arg = db.display().to_string();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut perchd = rt.block_on(Perchd::start(&[
        "--log",
        "warn",
        "--history",
        db_arg.as_str(),
    ]));
    // The /proc seed and its first keyframe land in the first seconds.
    std::thread::sleep(Duration::from_secs(5));
    let (size0, t0) = (store_bytes(&db), Instant::now());
    std::thread::sleep(Duration::from_secs(seconds as u64));
    let (size1, elapsed) = (store_bytes(&db), t0.elapsed());
    let per_hour = size1.saturating_sub(size0) as f64 / elapsed.as_secs_f64() * 3600.0;
    println!(
        "  store {:.2} MiB after start-up, {:.2} MiB {:.0} s later",
        mib(size0 as f64),
        mib(size1 as f64),
        elapsed.as_secs_f64()
    );
    let (mut state_ms, mut live_ms, counts, instants) =
        rt.block_on(measure_seeks(&perchd, seeks))?;
    let (console, mut fresh_ms) = rt.block_on(console_seek::measure(&perchd.socket, &instants))?;
    let mut console_ms: Vec<f64> = console.iter().map(|s| s.total).collect();
    // The client's connection lives in this runtime's tasks: closed with
    // them, before perchd is stopped (an open connection nobody polls
    // holds perchd's SIGTERM for its 5 s drain).
    drop(rt);
    let still = held.running();
    perchd.stop();
    drop(held);
    if still != processes {
        eprintln!("warning: only {still} of {processes} sleepers still running at the end");
    }
    let (s50, s99) = (quantile(&mut state_ms, 0.5), quantile(&mut state_ms, 0.99));
    let (l50, l99) = (quantile(&mut live_ms, 0.5), quantile(&mut live_ms, 0.99));
    println!(
        "processes per answer:      GetStateAt {} .. {}, ListProcesses {} .. {}",
        counts.0, counts.1, counts.2, counts.3
    );
    println!("ListProcesses (baseline):  p50 {l50:.1} ms, p99 {l99:.1} ms");
    println!("GetStateAt (history):      p50 {s50:.1} ms, p99 {s99:.1} ms (target p99 < 100 ms)");
    println!(
        "GetStateAt / ListProcesses: p50 {:.2}, p99 {:.2}",
        s50 / l50,
        s99 / l99
    );
    console_seek::print(
        (
            quantile(&mut console_ms, 0.5),
            quantile(&mut console_ms, 0.99),
        ),
        (quantile(&mut fresh_ms, 0.5), quantile(&mut fresh_ms, 0.99)),
    );
    console_seek::print_parts(&console, quantile);
    println!(
        "store growth:              {:.1} MiB per hour at {processes} processes",
        mib(per_hour)
    );
    Ok(())
}

/// Alternates a `GetStateAt` at a random instant of the stored range with a
/// `ListProcesses`, each read to its last chunk; returns their times (ms)
/// the least and most processes each answered with, and the instants.
async fn measure_seeks(
    perchd: &Perchd,
    seeks: usize,
) -> anyhow::Result<(Vec<f64>, Vec<f64>, (usize, usize, usize, usize), Vec<u64>)> {
    let channel = perch_e2e::channel(&perchd.socket).await?;
    let mut history = perch_client::history_client(channel.clone());
    let mut live = perch_client::client(channel);
    let now = args::unix_now_ns();
    // A few seconds back: the newest stored instant trails now by up to a
    // batch flush (1 s); every answer carries the stored range.  Read to
    // its end: a stream dropped half-read stays open on the server until
    // this runtime polls the connection again, which it does not after
    // the seeks (perchd's SIGTERM then waits for it: "calls still open").
    let mut answer = history
        .get_state_at(pb::GetStateAtRequest {
            at_unix_ns: now.saturating_sub(5_000_000_000),
            chunk_size: 0,
        })
        .await?
        .into_inner();
    let first = answer
        .next()
        .await
        .context("GetStateAt answered nothing")??;
    while let Some(chunk) = answer.next().await {
        chunk?;
    }
    let (oldest, newest) = (first.oldest_unix_ns, first.newest_unix_ns);
    if oldest == 0 || newest <= oldest {
        bail!("the store holds no range to seek in: {oldest} .. {newest}");
    }
    println!("  stored range: {:.1} s", (newest - oldest) as f64 / 1e9);
    let mut rng = Rng::seeded();
    let (mut state_ms, mut live_ms) = (Vec::new(), Vec::new());
    let mut counts = (usize::MAX, 0, usize::MAX, 0);
    let instants: Vec<u64> = (0..seeks).map(|_| rng.between(oldest, newest)).collect();
    for &at in &instants {
        let start = Instant::now();
        let mut s = history
            .get_state_at(pb::GetStateAtRequest {
                at_unix_ns: at,
                chunk_size: 0,
            })
            .await?
            .into_inner();
        let mut n = 0;
        while let Some(chunk) = s.next().await {
            n += chunk?.processes.len();
        }
        state_ms.push(start.elapsed().as_secs_f64() * 1e3);
        counts.0 = counts.0.min(n);
        counts.1 = counts.1.max(n);

        let start = Instant::now();
        let n = console_seek::live_processes(&mut live).await?.len();
        live_ms.push(start.elapsed().as_secs_f64() * 1e3);
        counts.2 = counts.2.min(n);
        counts.3 = counts.3.max(n);
    }
    Ok((state_ms, live_ms, counts, instants))
}
