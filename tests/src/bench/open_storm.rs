//! `perch-bench open-storm`: the cost of the security programs' in-kernel
//! path filter.  One loop per core opens files for writing as fast as it
//! can, first without perchd, then with perchd watching a prefix the
//! files are not under (rounds alternate, so drift hits both sides); the
//! ratio of the two rates is what the filter costs a process that floods
//! unwatched opens.  Then the same storm under the watched prefix, for
//! perchd's CPU per security event it receives.
//!
//! BPF run-time statistics cost two clock reads per program run, which is
//! a visible share of an open here, so the timed storm runs with them
//! off; a second unwatched storm with them on gives each program's time.
//! What the rates say the programs do not account for is the kernel's
//! tracepoint dispatch around them (and perchd's own share of the CPUs).
//!
//! The openers' own CPU time per open is measured too (each thread's
//! `CLOCK_THREAD_CPUTIME_ID`): it is what the filter costs the process
//! itself, and unlike the rate it does not move with whatever else the
//! two CPUs run meanwhile.
use std::{
    fs::{self, OpenOptions},
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail};
use perch_e2e::{Perchd, cpu_time_ns, events::info};
use perch_proto::v1 as pb;

use crate::{
    args::{self, Opt, median, thread_cpu_ns},
    bpf_stats,
};

struct Opts {
    opens: usize,
    rounds: usize,
    loops: usize,
}

pub const USAGE: &str = "perch-bench open-storm [--opens N] [--rounds R] [--loops L]";

fn parse_args(args: Vec<String>) -> anyhow::Result<Opts> {
    let mut o = Opts {
        opens: 400_000,
        rounds: 3,
        loops: std::thread::available_parallelism().map_or(2, std::num::NonZero::get),
    };
    args::parse(
        args,
        &mut [
            Opt {
                name: "--opens",
                value: &mut o.opens,
                range: 1..=100_000_000,
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

/// What a storm took: wall time, and the openers' CPU time.
#[derive(Clone, Copy)]
struct Took {
    wall: Duration,
    cpu_ns: u64,
}

/// Opens (for writing) and closes `n` times, spread over `loops` threads,
/// each on its own file in `dir`.
fn storm(dir: &Path, n: usize, loops: usize) -> anyhow::Result<Took> {
    let per = n.div_ceil(loops);
    let files: Vec<PathBuf> = (0..loops).map(|i| dir.join(format!("f{i}"))).collect();
    for f in &files {
        fs::write(f, b"").with_context(|| format!("creating {}", f.display()))?;
    }
    let start = Instant::now();
    let handles: Vec<_> = files
        .into_iter()
        .enumerate()
        .map(|(i, file)| {
            let count = per.min(n.saturating_sub(i * per));
            std::thread::spawn(move || -> std::io::Result<u64> {
                let cpu0 = thread_cpu_ns();
                for _ in 0..count {
                    drop(OpenOptions::new().write(true).open(&file)?);
                }
                Ok(thread_cpu_ns() - cpu0)
            })
        })
        .collect();
    let mut cpu_ns = 0;
    for h in handles {
        cpu_ns += h
            .join()
            .map_err(|_| anyhow::anyhow!("an opener thread panicked"))?
            .context("opening")?;
    }
    Ok(Took {
        wall: start.elapsed(),
        cpu_ns,
    })
}

fn rate(n: usize, t: Took) -> f64 {
    n as f64 / t.wall.as_secs_f64()
}

/// The openers' CPU time per open, ns.
fn cpu_per_open(n: usize, t: Took) -> f64 {
    t.cpu_ns as f64 / n.max(1) as f64
}

/// `file_open` records sent and lost so far, by perchd's count.
fn file_opens(i: &pb::GetInfoResponse) -> (u64, u64) {
    i.events_by_kind
        .iter()
        .find(|k| k.kind == "file_open")
        .map_or((0, 0), |k| (k.sent, k.lost))
}

/// One round with perchd: the unwatched storm's rate and the kernel
/// programs' time per open; the watched storm's perchd CPU per event.
struct Round {
    rate: f64,
    cpu_ns_per_open: f64,
    kernel_ns_per_open: f64,
    /// Nanoseconds per unwatched open, by security program.
    per_program: Vec<(String, f64)>,
    us_per_event: f64,
    events: u64,
    lost: u64,
}

async fn with_perchd(
    o: &Opts,
    quiet: &Path,
    watched: &Path,
    config: &Path,
) -> anyhow::Result<Round> {
    let perchd = Perchd::start(&["--log", "warn", "--config", &config.display().to_string()]).await;
    let mut client = perchd.client().await?;
    let start = info(&mut client).await;
    if start.mode() != pb::CollectorMode::Ebpf {
        bail!("perchd is not in eBPF mode: {}", start.mode_reason);
    }
    let took = tokio::task::spawn_blocking({
        let (dir, n, l) = (quiet.to_owned(), o.opens, o.loops);
        move || storm(&dir, n, l)
    })
    .await??;
    let stats = bpf_stats::enable()?;
    let kernel0 = bpf_stats::of_process(perchd.pid())?;
    let timed = (o.opens / 4).max(1);
    tokio::task::spawn_blocking({
        let (dir, l) = (quiet.to_owned(), o.loops);
        move || storm(&dir, timed, l)
    })
    .await??;
    let kernel1 = bpf_stats::of_process(perchd.pid())?;
    drop(stats);
    let mut per_program: Vec<(String, f64)> = kernel1
        .iter()
        .filter(|(name, _)| name.starts_with("sec_"))
        .map(|(name, r)| {
            let ns = r.ns - kernel0.get(name).map_or(0, |b| b.ns);
            (name.clone(), ns as f64 / timed as f64)
        })
        .filter(|(_, ns)| *ns > 0.0)
        .collect();
    per_program.sort_by(|a, b| a.0.cmp(&b.0));
    if !per_program.iter().any(|(name, _)| name == "sec_open") {
        bail!("perchd's sec_open program never ran: are the security programs attached?");
    }
    let sec_ns: f64 = per_program.iter().map(|(_, ns)| ns).sum();

    // The watched storm: a tenth as many opens, each one an event.
    let (sent0, lost0) = file_opens(&info(&mut client).await);
    let cpu0 = cpu_time_ns(perchd.pid());
    tokio::task::spawn_blocking({
        let (dir, n, l) = (watched.to_owned(), (o.opens / 10).max(1), o.loops);
        move || storm(&dir, n, l)
    })
    .await??;
    // Let perchd drain what the ring holds.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let cpu = cpu_time_ns(perchd.pid()) - cpu0;
    let (sent1, lost1) = file_opens(&info(&mut client).await);
    let events = sent1 - sent0;
    Ok(Round {
        rate: rate(o.opens, took),
        cpu_ns_per_open: cpu_per_open(o.opens, took),
        kernel_ns_per_open: sec_ns,
        per_program,
        us_per_event: cpu as f64 / 1000.0 / events.max(1) as f64,
        events,
        lost: lost1 - lost0,
    })
}

/// Runs the benchmark with the options in `args` and prints its report.
pub async fn run(args: Vec<String>) -> anyhow::Result<()> {
    let o = parse_args(args)?;
    let dir = tempfile::tempdir()?;
    let root = fs::canonicalize(dir.path())?;
    let (quiet, watched) = (root.join("quiet"), root.join("watched"));
    fs::create_dir(&quiet)?;
    fs::create_dir(&watched)?;
    let config = root.join("perchd.toml");
    fs::write(
        &config,
        format!("[watch]\nmodify = [\"{}/\"]\n", watched.display()),
    )?;
    println!(
        "open storm: {} opens per round (unwatched), {} watched, {} rounds, {} loops",
        o.opens,
        (o.opens / 10).max(1),
        o.rounds,
        o.loops
    );
    let (mut base, mut base_cpu, mut rounds) = (Vec::new(), Vec::new(), Vec::new());
    for round in 1..=o.rounds {
        let took = tokio::task::spawn_blocking({
            let (dir, n, l) = (quiet.clone(), o.opens, o.loops);
            move || storm(&dir, n, l)
        })
        .await??;
        base.push(rate(o.opens, took));
        base_cpu.push(cpu_per_open(o.opens, took));
        let r = with_perchd(&o, &quiet, &watched, &config).await?;
        println!(
            "  round {round}: without {:.0} opens/s ({:.0} ns CPU/open), with {:.0} opens/s \
             ({:.0} ns CPU/open; {:.0} ns of kernel programs per open: {}); watched: {} \
             events, {} lost, perchd {:.2} µs CPU/event",
            base[round - 1],
            base_cpu[round - 1],
            r.rate,
            r.cpu_ns_per_open,
            r.kernel_ns_per_open,
            r.per_program
                .iter()
                .map(|(n, ns)| format!("{n} {ns:.0}"))
                .collect::<Vec<_>>()
                .join(", "),
            r.events,
            r.lost,
            r.us_per_event
        );
        rounds.push(r);
    }
    let (b, w) = (
        median(base.clone()),
        median(rounds.iter().map(|r| r.rate).collect()),
    );
    let med = |f: &dyn Fn(&Round) -> f64| median(rounds.iter().map(f).collect());
    println!("without perchd:            {b:.0} opens/s (median)");
    println!("with perchd (unwatched):   {w:.0} opens/s (median)");
    println!("throughput with/without:   {:.3} (target >= 0.98)", w / b);
    let (cb, cw) = (median(base_cpu), med(&|r| r.cpu_ns_per_open));
    println!(
        "openers' CPU per open:     {cb:.0} ns without, {cw:.0} ns with: {:.3} as a throughput \
         ratio (without/with; medians)",
        cb / cw
    );
    let programs = med(&|r| r.kernel_ns_per_open);
    println!("kernel filter per open:    {programs:.0} ns (median, security programs)");
    // Per-open time each rate implies: the difference is everything the
    // storm pays with perchd running; the programs are part of it.
    let extra_ns = (1.0 / w - 1.0 / b) * o.loops as f64 * 1e9;
    println!(
        "cost per open with perchd: {extra_ns:.0} ns ({programs:.0} in the programs, {:.0} \
         around them: tracepoint dispatch, perchd's share of the CPUs)",
        extra_ns - programs
    );
    println!(
        "perchd CPU per security event: {:.2} µs (median)",
        med(&|r| r.us_per_event)
    );
    Ok(())
}
