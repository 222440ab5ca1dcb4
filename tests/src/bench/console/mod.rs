//! `perch-bench console`: the console as a whole process against htop, on
//! the same machine in the same run, with N sleeping processes:
//!
//! 1. htop alone (no perchd running): R rounds of start to first full
//!    frame, then one window of S seconds (after a warm-up) measuring its
//!    CPU (utime + stime from /proc) and, after it, its RSS;
//! 2. perchd (release, eBPF, private socket) and `perch --socket`: the same
//!    rounds and window, perchd's CPU counted on perch's side.
//!
//! Each program runs in its own 160x48 pty drained continuously into a
//! terminal emulator (`pty`), both with the same clean environment and
//! their default settings (htop gets an empty HOME, so no saved htoprc);
//! htop refreshes every second (`-d 10`), perch at its default.  What a
//! full frame is: see `screen`.
mod pty;
mod screen;
pub mod sleepers;

use std::{
    path::{Path, PathBuf},
    process::Command,
    time::Duration,
};

use anyhow::{Context as _, bail};
use perch_e2e::{Perchd, bin_dir, cpu_time_ns, rss_bytes};
use perch_proto::v1 as pb;

use crate::args::{self, Opt, median};
use pty::{PtyProgram, Size};
use screen::{Console, FULL, TABLE};
use sleepers::Sleepers;

pub const USAGE: &str = "perch-bench console [--procs N] [--seconds S] [--rounds R] [--warmup W] [--cols C] [--rows L] [--screens 0|1]";

/// Longest wait for a first frame before the run is declared failed.
const FRAME_TIMEOUT: Duration = Duration::from_mins(1);

struct Opts {
    procs: usize,
    seconds: usize,
    rounds: usize,
    warmup: usize,
    size: Size,
    /// Print each console's screen at its first full frame (round 1).
    screens: bool,
}

fn parse_args(args: Vec<String>) -> anyhow::Result<Opts> {
    let (mut procs, mut seconds, mut rounds, mut warmup) = (10_000, 30, 5, 5);
    let (mut cols, mut rows, mut screens) = (160, 48, 0);
    args::parse(
        args,
        &mut [
            Opt {
                name: "--procs",
                value: &mut procs,
                range: 1..=1_000_000,
            },
            Opt {
                name: "--seconds",
                value: &mut seconds,
                range: 1..=3600,
            },
            Opt {
                name: "--rounds",
                value: &mut rounds,
                range: 1..=100,
            },
            Opt {
                name: "--warmup",
                value: &mut warmup,
                range: 0..=600,
            },
            Opt {
                name: "--cols",
                value: &mut cols,
                range: 80..=1000,
            },
            Opt {
                name: "--rows",
                value: &mut rows,
                range: 24..=1000,
            },
            Opt {
                name: "--screens",
                value: &mut screens,
                range: 0..=1,
            },
        ],
        USAGE,
    )?;
    Ok(Opts {
        procs,
        seconds,
        rounds,
        warmup,
        size: Size {
            rows: u16::try_from(rows)?,
            cols: u16::try_from(cols)?,
        },
        screens: screens == 1,
    })
}

/// What one console did in the benchmark.
#[derive(Default)]
struct Side {
    /// Start to first full frame, and to the full table, per round (ms).
    frame_ms: Vec<f64>,
    table_ms: Vec<f64>,
    /// CPU over the window: the console, and the collector (perch only).
    cpu_ns: u64,
    collector_cpu_ns: u64,
    /// Bytes written to the terminal over the window.
    bytes: u64,
    rss: u64,
}

/// The same clean environment for both consoles.
fn command(program: &Path, home: &Path) -> Command {
    let mut cmd = Command::new(program);
    cmd.env_clear()
        .env(
            "PATH",
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        )
        .env("HOME", home)
        .env("TERM", "xterm-256color")
        .env("LANG", "C.UTF-8");
    cmd
}

fn find_in_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// Starts `make()` in a pty and waits for its first full frame; the error
/// shows the screen as it was.
fn start(
    console: Console,
    make: &dyn Fn() -> Command,
    o: &Opts,
) -> anyhow::Result<(PtyProgram, Duration, Duration)> {
    let checks = screen::checks(console, o.procs as u64);
    let prog = PtyProgram::spawn(make(), o.size, checks)?;
    let Some(full) = prog.wait_for(FULL, FRAME_TIMEOUT) else {
        bail!(
            "{}: no full frame within {FRAME_TIMEOUT:?} (the table's title row, a process on its \
             last row, >= {} processes listed, the Mem meter); the screen:\n{}",
            console.name(),
            o.procs,
            prog.screen_text()
        );
    };
    let table = prog.wait_for(TABLE, Duration::ZERO).unwrap_or(full);
    Ok((prog, table, full))
}

/// R rounds of start to first full frame, then one CPU window.
fn measure(
    console: Console,
    make: &dyn Fn() -> Command,
    collector: Option<u32>,
    o: &Opts,
) -> anyhow::Result<Side> {
    let mut side = Side::default();
    for round in 1..=o.rounds {
        let (prog, table, full) = start(console, make, o)?;
        if o.screens && round == 1 {
            let screen = prog.screen_at(FULL).unwrap_or_default();
            println!("  {} at its first full frame:\n{screen}", console.name());
        }
        drop(prog);
        side.table_ms.push(table.as_secs_f64() * 1e3);
        side.frame_ms.push(full.as_secs_f64() * 1e3);
        println!(
            "  {} round {round}: first full frame {:.0} ms (table complete at {:.0} ms)",
            console.name(),
            full.as_secs_f64() * 1e3,
            table.as_secs_f64() * 1e3
        );
        // Let the machine settle (perchd drops the client, exits reaped).
        std::thread::sleep(Duration::from_millis(500));
    }
    let (mut prog, _, _) = start(console, make, o)?;
    std::thread::sleep(Duration::from_secs(o.warmup as u64));
    let collector_cpu = || collector.map_or(0, cpu_time_ns);
    let (console_before, collector_before) = (cpu_time_ns(prog.pid()), collector_cpu());
    let bytes_before = prog.bytes();
    std::thread::sleep(Duration::from_secs(o.seconds as u64));
    side.cpu_ns = cpu_time_ns(prog.pid()) - console_before;
    side.collector_cpu_ns = collector_cpu() - collector_before;
    side.bytes = prog.bytes() - bytes_before;
    side.rss = rss_bytes(prog.pid());
    if let Some(status) = prog.exited() {
        bail!(
            "{} exited during the window ({status}); the screen:\n{}",
            console.name(),
            prog.screen_text()
        );
    }
    Ok(side)
}

/// Runs the benchmark with the options in `args` and prints its report.
pub fn run(args: Vec<String>) -> anyhow::Result<()> {
    let o = parse_args(args)?;
    if !nix::unistd::geteuid().is_root() {
        bail!("perch-bench console needs root: perchd loads eBPF programs");
    }
    let htop = find_in_path("htop").context("htop not found in PATH (./x setup installs it)")?;
    let (perch, perchd) = (bin_dir().join("perch"), bin_dir().join("perchd"));
    for p in [&perch, &perchd] {
        if !p.is_file() {
            bail!(
                "{} missing: build with `cargo build --release --bins`",
                p.display()
            );
        }
    }
    let htop_version = Command::new(&htop)
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    let limits = sleepers::check_limits(o.procs)?;
    println!(
        "console: {} sleeping processes, {}x{} pty each, {htop_version} (-d 10) vs perch + perchd \
         (eBPF); {} rounds of start-up, CPU over {} s after {} s warm-up",
        o.procs, o.size.cols, o.size.rows, o.rounds, o.seconds, o.warmup
    );
    println!("  limits: {limits}");
    println!("  load average at start: {}", loadavg());

    // Long enough for the whole run; killed at its end (or with it) anyway.
    let lifetime = Duration::from_secs(
        (2 * (o.rounds as u64 + 1) * FRAME_TIMEOUT.as_secs())
            + 2 * (o.warmup + o.seconds) as u64
            + 600,
    );
    // A few spawning threads: each spawn waits for its child's exec, so
    // one thread leaves the cores idle.
    let (mut sleepers, took) = Sleepers::spawn(o.procs, 4, lifetime)?;
    println!(
        "  {} sleepers ({}) spawned in {:.1} s",
        o.procs,
        sleepers::ARGV0,
        took.as_secs_f64()
    );
    let home = tempfile::tempdir().context("temporary HOME")?;

    // htop alone: no collector running.
    let htop_side = measure(
        Console::Htop,
        &|| {
            let mut c = command(&htop, home.path());
            c.args(["-d", "10"]);
            c
        },
        None,
        &o,
    )?;

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let collector = rt.block_on(Perchd::start(&["--log", "warn"]));
    let info = rt.block_on(async {
        let mut client = collector.client().await?;
        anyhow::Ok(client.get_info(pb::GetInfoRequest {}).await?.into_inner())
    })?;
    if info.mode != pb::CollectorMode::Ebpf as i32 {
        bail!("perchd is not in eBPF mode: {}", info.mode_reason);
    }
    // perchd seeds every process from /proc at start; let it finish.
    std::thread::sleep(Duration::from_secs(o.warmup as u64));
    let socket = collector.socket.clone();
    let perch_side = measure(
        Console::Perch,
        &|| {
            let mut c = command(&perch, home.path());
            c.arg("--socket").arg(&socket);
            c
        },
        Some(collector.pid()),
        &o,
    )?;
    let perchd_rss = rss_bytes(collector.pid());
    drop(collector);

    let still = sleepers.running();
    if still != o.procs {
        eprintln!(
            "warning: only {still} of {} sleepers still running at the end",
            o.procs
        );
    }
    drop(sleepers);
    println!("  load average at end: {}", loadavg());
    report(&o, &htop_side, &perch_side, perchd_rss);
    Ok(())
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn report(o: &Opts, htop: &Side, perch: &Side, perchd_rss: u64) {
    let mib = |b: u64| b as f64 / 1_048_576.0;
    let secs = |ns: u64| ns as f64 / perch_proto::NS_PER_SEC as f64;
    let (pf, hf) = (
        median(perch.frame_ms.clone()),
        median(htop.frame_ms.clone()),
    );
    let (pt, ht) = (
        median(perch.table_ms.clone()),
        median(htop.table_ms.clone()),
    );
    println!(
        "start to first full frame:  perch {pf:.0} ms, htop {hf:.0} ms (medians of {}); \
         perch/htop {:.2} (target < 300 ms)",
        o.rounds,
        pf / hf
    );
    println!(
        "  table complete:           perch {pt:.0} ms, htop {ht:.0} ms; perch/htop {:.2}",
        pt / ht
    );
    let both = perch.cpu_ns + perch.collector_cpu_ns;
    println!(
        "CPU over {} s:              perch {:.2} s + perchd {:.2} s = {:.2} s; htop {:.2} s; \
         (perch+perchd)/htop {:.3} (target <= 0.5)",
        o.seconds,
        secs(perch.cpu_ns),
        secs(perch.collector_cpu_ns),
        secs(both),
        secs(htop.cpu_ns),
        both as f64 / htop.cpu_ns.max(1) as f64
    );
    println!(
        "  perch alone / htop:       {:.3}; terminal output perch {:.0} KiB/s, htop {:.0} KiB/s",
        perch.cpu_ns as f64 / htop.cpu_ns.max(1) as f64,
        perch.bytes as f64 / 1024.0 / o.seconds as f64,
        htop.bytes as f64 / 1024.0 / o.seconds as f64
    );
    println!(
        "console RSS at {} procs:  perch {:.1} MiB, htop {:.1} MiB; perch/htop {:.2} (target < 60 MB)",
        o.procs,
        mib(perch.rss),
        mib(htop.rss),
        perch.rss as f64 / htop.rss.max(1) as f64
    );
    println!("perchd RSS:                 {:.1} MiB", mib(perchd_rss));
}
