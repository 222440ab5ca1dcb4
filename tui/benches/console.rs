//! Console benchmarks on synthetic hosts made from the recorded fixture:
//! build the tree and render one 160x48 frame at 10k and 100k processes,
//! one fuzzy-search keystroke at 100k, the memory of a 10k console with
//! ten minutes of history, and time travel's seek (a 10k-process past
//! state shown).  House rule: each figure is printed as a ratio against a
//! baseline measured in the same run (a plain Vec sort of the same rows; a
//! plain substring scan of the same haystacks; the same processes loaded
//! as a live snapshot).
//!
//!     cargo bench -p perch-tui --bench console
#![expect(
    clippy::expect_used,
    reason = "a benchmark: a broken fixture should stop it loudly"
)]
use std::{
    hint::black_box,
    time::{Duration, Instant},
};

use criterion::Criterion;

/// The console binary's allocator (tui/src/main.rs says why).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use perch::{
    console::{
        App, Config, HostId, Msg, Theme, recording::Recording, render, timeline::TimeAnswer,
    },
    travel::StateAt,
};
use perch_proto::v1::{
    self, Event, ProcessKey, ProcessSample, ProcessSamples, ResourceUsage, event::Kind,
};
use ratatui::{buffer::Buffer, layout::Rect};

const AREA: Rect = Rect {
    x: 0,
    y: 0,
    width: 160,
    height: 48,
};

struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next()).unwrap_or(0) % n.max(1)
    }
}

/// `n` processes cloned from the fixture's, with fresh pids and a tree
/// shaped like a busy server: a few hundred services under pid 1, each a
/// few levels deep, parents always older than their children.
fn synthetic(n: usize) -> Vec<v1::Process> {
    let rec = Recording::decode(include_bytes!("../tests/fixtures/host.bin")).expect("fixture");
    let templates: Vec<&v1::Process> = rec
        .processes
        .iter()
        .filter(|p| !p.argv.is_empty())
        .collect();
    let mut rng = Lcg(42);
    let mut out: Vec<v1::Process> = Vec::with_capacity(n);
    for i in 0..n {
        let pid = u32::try_from(i + 1).expect("pid");
        let mut p = templates[i % templates.len()].clone();
        let parent = match i {
            0 => 0,
            // One in 50 is a service under pid 1; others hang under a recent process.
            _ if rng.below(50) == 0 || i < 10 => 1,
            _ => u32::try_from(i.saturating_sub(rng.below(40)))
                .expect("pid")
                .max(1),
        };
        p.key = Some(ProcessKey {
            pid,
            start_time_ns: u64::from(pid) * 10_000_000,
        });
        p.ppid = parent;
        p.parent_start_time_ns = u64::from(parent) * 10_000_000;
        p.exit = None;
        p.usage = Some(ResourceUsage {
            cpu_percent: (rng.below(1000) as f64) / 10.0,
            rss_bytes: (rng.next() % 512) << 20,
            ..ResourceUsage::default()
        });
        out.push(p);
    }
    out
}

fn console(n: usize) -> App {
    let t0 = Instant::now();
    let mut app = App::new(Config::default(), t0);
    let rec = Recording::decode(include_bytes!("../tests/fixtures/host.bin")).expect("fixture");
    app.ingest_info(HostId(0), rec.info);
    app.ingest_snapshot(HostId(0), synthetic(n));
    app.tick(t0);
    app
}

/// The baseline: sort the same rows' CPU values in a plain Vec.
fn baseline_sort(values: &[(f64, u32)]) -> Vec<(f64, u32)> {
    let mut v = values.to_vec();
    v.sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    v
}

fn cpu_values(app: &App) -> Vec<(f64, u32)> {
    app.store()
        .iter()
        .map(|(_, p)| (p.usage.cpu_percent, p.key.pid))
        .collect()
}

/// Rebuild (a changed sort forces it) and draw one frame.
fn build_and_render(app: &mut App, theme: &Theme, buf: &mut Buffer) {
    app.update(Msg::InvertSort);
    render(app, theme, AREA, buf);
}

/// One keystroke typed, then erased: a narrowing pass plus a full rescan.
fn keystroke_pair(app: &mut App) {
    app.update(Msg::Input('x'));
    app.update(Msg::Backspace);
}

fn substring_scan(app: &App, needle: &str) -> usize {
    app.store()
        .iter()
        .filter(|(_, p)| p.haystack().contains(needle))
        .count()
}

/// A console that travels, and a past state of `n` processes.
fn travelling(n: usize) -> (App, StateAt) {
    let mut app = console(n);
    app.enable_travel(true);
    let now = 1_800_000_000 * perch_proto::NS_PER_SEC;
    app.set_wall_clock(now);
    let state = StateAt {
        at_unix_ns: now - 600 * perch_proto::NS_PER_SEC,
        oldest_unix_ns: now - 3_600 * perch_proto::NS_PER_SEC,
        newest_unix_ns: now,
        host_name: "web-1".to_owned(),
        processes: synthetic(n),
        ..StateAt::default()
    };
    (app, state)
}

/// Time travel's console side of a seek: the answer (a copy, as a source
/// hands over a new one each time) loaded into the past model, every
/// screen rebuilt, one frame.
fn seek(app: &mut App, state: &StateAt, theme: &Theme, buf: &mut Buffer) {
    app.travel_to(state.at_unix_ns);
    if let Some(q) = app.take_time_query() {
        app.ingest_time(TimeAnswer {
            id: q.id,
            result: Ok(state.clone()),
            others: Vec::new(),
            // Rows made here, on this thread: the whole of the model's work.
            rows: Vec::new(),
        });
    }
    render(app, theme, AREA, buf);
}

/// The baseline: the same processes loaded as a live snapshot into a
/// fresh console, and one frame.
fn snapshot_and_frame(procs: &[v1::Process], theme: &Theme, buf: &mut Buffer) {
    let mut app = App::new(Config::default(), Instant::now());
    app.ingest_snapshot(HostId(0), procs.to_vec());
    app.refresh();
    render(&app, theme, AREA, buf);
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

fn statm_resident_bytes() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = s.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// Ten minutes of samples at 1 s, a tenth of the processes changing each
/// second: the history a 10k console holds.
fn with_history(app: &mut App, n: usize) {
    let mut rng = Lcg(7);
    for t in 0..600u64 {
        let samples = (0..n / 10)
            .map(|_| {
                let pid = u32::try_from(1 + rng.below(n)).expect("pid");
                ProcessSample {
                    key: Some(ProcessKey {
                        pid,
                        start_time_ns: u64::from(pid) * 10_000_000,
                    }),
                    usage: Some(ResourceUsage {
                        cpu_percent: rng.below(1000) as f64 / 10.0,
                        rss_bytes: (rng.next() % 512) << 20,
                        read_bytes_per_sec: 4096.0,
                        ..ResourceUsage::default()
                    }),
                    threads: 1,
                    ..ProcessSample::default()
                }
            })
            .collect();
        let e = Event {
            seq: t + 1,
            time_ns: (1000 + t) * 1_000_000_000,
            kind: Some(Kind::ProcessSamples(ProcessSamples {
                samples,
                interval_ns: 1_000_000_000,
            })),
        };
        app.ingest_events(HostId(0), &[e]);
    }
    app.refresh();
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn summary() {
    println!("\n== summary (median of 21 runs; ratio = figure / baseline of the same run)");
    let theme = Theme::new(true);
    for n in [10_000, 100_000] {
        let mut app = console(n);
        let mut buf = Buffer::empty(AREA);
        let values = cpu_values(&app);
        let t = median(|| build_and_render(&mut app, &theme, &mut buf), 21);
        let b = median(
            || {
                black_box(baseline_sort(&values));
            },
            21,
        );
        let budget = if n == 10_000 { 5.0 } else { 40.0 };
        println!(
            "tree build + one frame, {n:>6} processes: {:7.2} ms (budget {budget} ms); \
             baseline Vec sort {:6.2} ms; ratio {:.1}x",
            ms(t),
            ms(b),
            ms(t) / ms(b)
        );
    }
    let mut app = console(100_000);
    app.update(Msg::Search);
    for c in "ngi".chars() {
        app.update(Msg::Input(c));
    }
    let t = median(|| keystroke_pair(&mut app), 21);
    let b = median(
        || {
            black_box(substring_scan(&app, "ngi"));
        },
        21,
    );
    println!(
        "fuzzy keystroke typed+erased, 100000 processes: {:6.2} ms for both (budget 16 ms each); \
         baseline substring scan {:5.2} ms; ratio {:.1}x",
        ms(t),
        ms(b),
        ms(t) / ms(b)
    );
    let (mut app, state) = travelling(10_000);
    let mut buf = Buffer::empty(AREA);
    let t = median(|| seek(&mut app, &state, &theme, &mut buf), 21);
    let b = median(
        || snapshot_and_frame(&state.processes, &theme, &mut buf),
        21,
    );
    println!(
        "time travel seek (console side), 10000 processes: {:6.2} ms (issue 13: < 100 ms with \
         the store); baseline live snapshot + frame {:6.2} ms; ratio {:.2}x",
        ms(t),
        ms(b),
        ms(t) / ms(b)
    );
    let before = statm_resident_bytes().unwrap_or(0);
    let mut app = console(10_000);
    with_history(&mut app, 10_000);
    let after = statm_resident_bytes().unwrap_or(0);
    let heap: usize = app.store().iter().map(|(_, p)| p.heap_bytes()).sum();
    let points: usize = app.store().iter().map(|(_, p)| p.history.len()).sum();
    let row = std::mem::size_of::<perch::console::model::Proc>() * app.store().capacity();
    let mb = |b: u64| b as f64 / 1_048_576.0;
    println!(
        "console with 10000 processes and 10 min of history ({points} points): RSS grew {:.1} MB \
         (budget 60 MB); rows {:.1} MB + strings and history {:.1} MB",
        mb(after.saturating_sub(before)),
        mb(row as u64),
        mb(heap as u64)
    );
    black_box(&app);
}

fn main() {
    let mut c = Criterion::default()
        .configure_from_args()
        .sample_size(20)
        .measurement_time(Duration::from_secs(3));
    let theme = Theme::new(true);
    for n in [10_000usize, 100_000] {
        let mut g = c.benchmark_group(format!("tree_and_frame_{n}"));
        let mut app = console(n);
        let mut buf = Buffer::empty(AREA);
        let values = cpu_values(&app);
        g.bench_function("console", |b| {
            b.iter(|| build_and_render(&mut app, &theme, &mut buf));
        });
        g.bench_function("baseline_vec_sort", |b| b.iter(|| baseline_sort(&values)));
        g.finish();
    }
    {
        let mut g = c.benchmark_group("search_keystroke_100000");
        let mut app = console(100_000);
        app.update(Msg::Search);
        for ch in "ngi".chars() {
            app.update(Msg::Input(ch));
        }
        g.bench_function("typed_and_erased", |b| b.iter(|| keystroke_pair(&mut app)));
        g.bench_function("baseline_substring_scan", |b| {
            b.iter(|| substring_scan(&app, "ngi"));
        });
        g.finish();
    }
    {
        let mut g = c.benchmark_group("travel_seek_10000");
        let (mut app, state) = travelling(10_000);
        let mut buf = Buffer::empty(AREA);
        g.bench_function("seek", |b| {
            b.iter(|| seek(&mut app, &state, &theme, &mut buf));
        });
        g.bench_function("baseline_snapshot_and_frame", |b| {
            b.iter(|| snapshot_and_frame(&state.processes, &theme, &mut buf));
        });
        g.finish();
    }
    c.final_summary();
    // `cargo bench` passes --bench; `cargo test --benches` only smoke-runs
    // each benchmark once, and needs no summary.
    if std::env::args().any(|a| a == "--bench") {
        summary();
    }
}
