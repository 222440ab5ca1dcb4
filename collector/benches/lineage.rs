//! What keeping lineage costs perchd's model once per sample pass: `expire`
//! settles the processes whose retention ended — each kept when processes
//! in the model still name it as parent, else released with the ancestors
//! it was the last child of — on hosts of 10k and 100k processes with a
//! thousand double-forked daemons whose parents exited (2,000 retained
//! ancestors) and a busy second's 1,000 short-lived processes to settle.
//! Printed as a ratio against a baseline measured in the same run:
//! `apply_usage` of the same pass (one sample per live process), work the
//! model already does every second.  The settling should not grow with the
//! host.
//!
//!     cargo bench -p perch-collector --bench lineage
#![expect(
    clippy::expect_used,
    reason = "a benchmark: a broken fixture should stop it loudly"
)]
use std::{
    hint::black_box,
    time::{Duration, Instant},
};

use criterion::Criterion;
use perchd::model::{ExitInfo, ModelEvent, ProcKey, ProcessInfo, ProcessModel, Usage};

/// Double-forked daemons per host, each with two exited ancestors.
const DAEMONS: u32 = 1_000;
const RETENTION_NS: u64 = 30_000_000_000;

fn proc(pid: u32, parent: Option<&ProcessInfo>) -> ProcessInfo {
    ProcessInfo {
        key: ProcKey {
            pid,
            start_ns: u64::from(pid) * 10_000_000,
        },
        ppid: parent.map_or(0, |p| p.key.pid),
        parent_start_ns: parent.map_or(0, |p| p.key.start_ns),
        ..ProcessInfo::default()
    }
}

/// `n` live processes: services under pid 1, each a few levels deep, plus
/// [`DAEMONS`] daemons whose shell and subshell exited long ago (kept as
/// ancestors); the model past their retention, settled once.
fn host(n: u32) -> (ProcessModel, Vec<(ProcKey, Usage, u32)>) {
    let mut m = ProcessModel::new(RETENTION_NS);
    let init = proc(1, None);
    let mut live = vec![init.clone()];
    let mut pid = 2;
    while live.len() < (n - DAEMONS) as usize {
        let parent = &live[(pid as usize * 7) % live.len().min(300)];
        let p = proc(pid, Some(parent));
        live.push(p);
        pid += 1;
    }
    m.seed(live.iter().cloned());
    let login = live[1].clone();
    for _ in 0..DAEMONS {
        let shell = proc(pid, Some(&login));
        let sub = proc(pid + 1, Some(&shell));
        let daemon = proc(pid + 2, Some(&sub));
        pid += 3;
        for p in [&shell, &sub, &daemon] {
            m.apply(ModelEvent::Fork {
                time_ns: 1,
                child: p.clone(),
            });
        }
        for p in [&sub, &shell] {
            m.apply(ModelEvent::Exit {
                time_ns: 2,
                key: p.key,
                exit: ExitInfo::default(),
            });
        }
    }
    m.expire(RETENTION_NS * 2);
    assert_eq!(
        m.retained().count(),
        2 * DAEMONS as usize,
        "every daemon's two exited ancestors are kept"
    );
    let usage = m
        .live_keys()
        .into_iter()
        .map(|k| (k, Usage::default(), 1))
        .collect();
    (m, usage)
}

/// A busy second: `SHORT` processes forked by a live shell that exit
/// again, at `time_ns`, with pids from `first` on.
const SHORT: u32 = 1_000;

fn churn(m: &mut ProcessModel, first: u32, time_ns: u64) {
    let shell = m.get(2).cloned().expect("pid 2 lives");
    for pid in first..first + SHORT {
        let p = proc(pid, Some(&shell));
        m.apply(ModelEvent::Fork {
            time_ns,
            child: p.clone(),
        });
        m.apply(ModelEvent::Exit {
            time_ns,
            key: p.key,
            exit: ExitInfo::default(),
        });
    }
}

/// The median time of settling a busy second (churn first, untimed).
fn median_settle(m: &mut ProcessModel, runs: usize) -> Duration {
    let mut times: Vec<Duration> = (0..runs)
        .map(|i| {
            let round = u32::try_from(i).expect("few runs");
            let at = RETENTION_NS * 4 + u64::from(round) * RETENTION_NS * 2;
            churn(m, 4_000_000 - (round + 1) * SHORT, at);
            let t = Instant::now();
            m.expire(black_box(at + RETENTION_NS + 1));
            t.elapsed()
        })
        .collect();
    times.sort_unstable();
    times[runs / 2]
}

fn median(mut f: impl FnMut(), runs: usize) -> Duration {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    times.sort_unstable();
    times[runs / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn summary() {
    println!("\n== summary (median of 21 runs; ratio = figure / baseline of the same run)");
    for n in [10_000, 100_000] {
        let (mut m, usage) = host(n);
        let t = median_settle(&mut m, 21);
        let b = median(|| m.apply_usage(black_box(&usage)), 21);
        println!(
            "expire settling {SHORT} exits, {n:>6} processes, {} retained ancestors: {:6.3} ms; \
             baseline apply_usage {:6.3} ms; ratio {:.2}x",
            m.retained().count(),
            ms(t),
            ms(b),
            ms(t) / ms(b)
        );
    }
}

fn main() {
    let mut c = Criterion::default()
        .configure_from_args()
        .sample_size(20)
        .measurement_time(Duration::from_secs(3));
    for n in [10_000u32, 100_000] {
        let mut g = c.benchmark_group(format!("sample_pass_{n}"));
        let (mut m, usage) = host(n);
        let mut round = 0u32;
        g.bench_function("expire_settling_a_busy_second", |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    round += 1;
                    let at = RETENTION_NS * 4 + u64::from(round) * RETENTION_NS * 2;
                    churn(&mut m, 4_000_000 - (round % 3_000 + 1) * SHORT, at);
                    let t = Instant::now();
                    m.expire(black_box(at + RETENTION_NS + 1));
                    total += t.elapsed();
                }
                total
            });
        });
        g.bench_function("baseline_apply_usage", |b| {
            b.iter(|| m.apply_usage(black_box(&usage)));
        });
        g.finish();
    }
    c.final_summary();
    // `cargo bench` passes --bench; `cargo test --benches` only smoke-runs.
    if std::env::args().any(|a| a == "--bench") {
        summary();
    }
}
