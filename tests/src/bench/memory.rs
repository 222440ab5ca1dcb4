//! `perch-bench memory`: perchd's and the console's peak RSS under what an
//! unprivileged user can do to them, against their idle peaks in the same
//! run: an argv-heavy exec storm (as `nobody`, 8 KiB of one-byte arguments
//! per exec), then the same storm while five users each ask for many event
//! streams and never read them.  The console (`perch`) runs in tmux,
//! watching the same perchd.  Peaks are `VmHWM`, reset before each phase.
use std::time::Duration;

use anyhow::Context as _;
use perch_e2e::{
    Perchd, binary,
    memory::{ArgvStorm, NOBODY, open_to_all, peak_rss_bytes, reset_peak_rss, stall_as},
    tmux::Tmux,
};

use crate::args::{Opt, parse};

pub const USAGE: &str = "perch-bench memory [--execs N] [--streams N]";

/// The targets: what perchd's and the console's default bounds keep them
/// under (BENCHMARKS.md).
const TARGET_MIB: f64 = 100.0;

#[expect(clippy::cast_precision_loss, reason = "mebibytes for display")]
fn mib(bytes: u64) -> f64 {
    bytes as f64 / f64::from(1 << 20)
}

/// Peak RSS of both over `phase`, which runs after the peaks are reset.
fn peaks(
    perchd: u32,
    console: u32,
    phase: impl FnOnce() -> anyhow::Result<()>,
) -> anyhow::Result<(f64, f64)> {
    reset_peak_rss(perchd);
    reset_peak_rss(console);
    phase()?;
    Ok((mib(peak_rss_bytes(perchd)), mib(peak_rss_bytes(console))))
}

pub async fn run(args: Vec<String>) -> anyhow::Result<()> {
    let (mut execs, mut streams) = (5_000, 100);
    parse(
        args,
        &mut [
            Opt {
                name: "--execs",
                value: &mut execs,
                range: 100..=1_000_000,
            },
            Opt {
                name: "--streams",
                value: &mut streams,
                range: 1..=10_000,
            },
        ],
        USAGE,
    )?;
    let loops = 2;
    println!(
        "memory: perchd (defaults) and the console (perch in tmux, defaults); argv-heavy storm: \
         {loops} loops x {execs} execs by nobody, 8 KiB of one-byte arguments each; \
         stalled: 5 users x {streams} WatchEvents streams asked for, never read"
    );
    let perchd = Perchd::start(&["--log", "warn"]).await;
    open_to_all(&perchd.socket).context("chmod the socket")?;
    let tmux = Tmux::start(&format!(
        "{} --socket {}",
        binary("perch").display(),
        perchd.socket.display()
    ));
    tmux.wait_for("the console's list", |s| s.contains(" processes"));
    let console = tmux.program_pid("perch").context("the console's pid")?;
    let pid = perchd.pid();
    let storm = || ArgvStorm::start(loops, execs, Some(NOBODY)).wait();

    let idle = tokio::task::block_in_place(|| {
        peaks(pid, console, || {
            std::thread::sleep(Duration::from_secs(5));
            Ok(())
        })
    })?;
    let stormed = tokio::task::block_in_place(|| peaks(pid, console, storm))?;
    let helpers = tokio::task::block_in_place(|| {
        (0..5)
            .map(|i| stall_as(NOBODY - i, &perchd.socket, streams, false))
            .collect::<anyhow::Result<Vec<_>>>()
    })?;
    let opened: usize = helpers
        .iter()
        .filter_map(|(_, line)| line.split_whitespace().nth(1)?.parse::<usize>().ok())
        .sum();
    let stalled = tokio::task::block_in_place(|| peaks(pid, console, storm))?;
    drop(helpers);
    let screen = tmux.screen();
    let dropped = screen
        .lines()
        .find_map(|l| l.split(" · ").find(|p| p.contains("dropped early")))
        .unwrap_or("none dropped early")
        .trim()
        .to_owned();

    let line = |what: &str, (d, c): (f64, f64)| {
        println!(
            "  {what:<34} perchd {d:6.1} MiB (x{:.2} idle), console {c:6.1} MiB (x{:.2} idle)",
            d / idle.0.max(0.1),
            c / idle.1.max(0.1)
        );
    };
    line("idle (5 s)", idle);
    line("argv-heavy storm", stormed);
    line(&format!("storm + stalled ({opened} opened)"), stalled);
    println!("  console footer after the storms: {dropped}");
    let worst = (stormed.0.max(stalled.0), stormed.1.max(stalled.1));
    println!(
        "peak RSS: perchd {:.1} MiB, console {:.1} MiB (target < {TARGET_MIB} MiB each)",
        worst.0, worst.1
    );
    Ok(())
}
