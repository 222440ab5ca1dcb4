//! perchd's memory is bounded in bytes, whatever an unprivileged user
//! makes it hold: an exec storm of command lines at the contract's 8 KiB
//! cap, and event streams opened and never read.  Each test resets
//! perchd's peak RSS once it is up (start-up parses BTF), then reads the
//! peak (`VmHWM`) afterwards and asserts on bytes.
#![expect(
    clippy::expect_used,
    reason = "helpers of end-to-end tests: a broken environment should fail the test loudly"
)]
use std::{
    io::{BufRead as _, BufReader},
    os::unix::fs::PermissionsExt as _,
    process::{Command, Stdio},
};

use perch_e2e::{
    Perchd, binary, have_root_or_skip,
    memory::{ArgvStorm, NOBODY, peak_rss_bytes, reset_peak_rss},
    procs::ChildGuard,
    rss_bytes,
    tmux::Tmux,
};

const MIB: u64 = 1 << 20;
/// What perchd's default bounds keep it under (BENCHMARKS.md, "memory").
const BOUND: u64 = 100 * MIB;

#[tokio::test(flavor = "multi_thread")]
async fn argv_heavy_exec_storm_keeps_perchd_under_its_bound() {
    if !have_root_or_skip("argv_heavy_exec_storm_keeps_perchd_under_its_bound") {
        return;
    }
    let perchd = Perchd::start(&[]).await;
    let idle = rss_bytes(perchd.pid());
    reset_peak_rss(perchd.pid());
    tokio::task::block_in_place(|| ArgvStorm::start(2, 4_000, Some(NOBODY)).wait());
    let peak = peak_rss_bytes(perchd.pid());
    eprintln!("perchd: idle {} MiB, peak {} MiB", idle / MIB, peak / MIB);
    assert!(peak < BOUND, "perchd peaked at {} MiB", peak / MIB);
}

/// `perch-bench stall-streams` as `uid`: `n` streams opened and never
/// read.  Returns the helper (it holds them until dropped) and its line
/// ("opened A refused B: ...").
fn stall_as(uid: u32, socket: &std::path::Path, n: usize) -> (ChildGuard, String) {
    let mut helper = ChildGuard::spawn(
        Command::new("setpriv")
            .args([
                &format!("--reuid={uid}"),
                &format!("--regid={uid}"),
                "--clear-groups",
            ])
            .arg(binary("perch-bench"))
            .arg("stall-streams")
            .arg(socket)
            .arg(n.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped()),
    );
    let mut line = String::new();
    let stdout = helper.child.stdout.take().expect("stdout");
    BufReader::new(stdout).read_line(&mut line).expect("read");
    (helper, line)
}

#[tokio::test(flavor = "multi_thread")]
async fn stalled_streams_keep_perchd_under_its_bound() {
    if !have_root_or_skip("stalled_streams_keep_perchd_under_its_bound") {
        return;
    }
    let perchd = Perchd::start(&[]).await;
    // Unprivileged users may connect (perchd decides what they may do).
    let dir = perchd.socket.parent().expect("socket dir");
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    std::fs::set_permissions(&perchd.socket, std::fs::Permissions::from_mode(0o666))
        .expect("chmod");
    let idle = rss_bytes(perchd.pid());
    reset_peak_rss(perchd.pid());
    // Five users ask for 100 streams each: 500 in all.
    let helpers: Vec<_> = (0..5)
        .map(|i| stall_as(NOBODY - i, &perchd.socket, 100))
        .collect();
    tokio::task::block_in_place(|| ArgvStorm::start(2, 2_000, Some(NOBODY)).wait());
    let peak = peak_rss_bytes(perchd.pid());
    eprintln!("perchd: idle {} MiB, peak {} MiB", idle / MIB, peak / MIB);
    assert!(peak < BOUND, "perchd peaked at {} MiB", peak / MIB);
    let opened: Vec<usize> = helpers
        .iter()
        .map(|(_, line)| {
            line.split_whitespace()
                .nth(1)
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("helper said {line:?}"))
        })
        .collect();
    // Eight per user (max_streams_per_caller), 32 in all (max_streams).
    assert!(opened.iter().all(|&n| n <= 8), "{opened:?}");
    assert_eq!(opened.iter().sum::<usize>(), 32, "{opened:?}");
    let (_, first) = &helpers[0];
    assert!(first.contains("max_streams_per_caller"), "{first}");
    let (_, last) = &helpers[4];
    assert!(last.contains("max_streams = 32"), "{last}");
    drop(helpers);
    // Root's own console is never refused.
    let mut client = perchd.client().await.expect("connect");
    client
        .watch_events(perch_proto::v1::WatchEventsRequest::default())
        .await
        .expect("root's stream");
    // The helpers are gone: their slots are free again.
    let freed = tokio::task::block_in_place(|| {
        (0..100).any(|_| {
            let (_helper, line) = stall_as(NOBODY, &perchd.socket, 8);
            line.starts_with("opened 8 ") || {
                std::thread::sleep(std::time::Duration::from_millis(100));
                false
            }
        })
    });
    assert!(freed, "slots not given back after the clients left");
}

/// The console watching an argv-heavy storm keeps its process rows within
/// `process_memory_mib` (default 48): exited rows leave early, and the
/// footer says so; the whole console stays under 100 MiB.
#[tokio::test(flavor = "multi_thread")]
async fn the_console_watching_a_storm_stays_under_its_bound() {
    if !have_root_or_skip("the_console_watching_a_storm_stays_under_its_bound") {
        return;
    }
    let perchd = Perchd::start(&[]).await;
    let cmd = format!(
        "{} --socket {}",
        binary("perch").display(),
        perchd.socket.display()
    );
    let tmux = Tmux::start(&cmd);
    tmux.wait_for("the process list", |s| s.contains(" processes"));
    let pid = tmux.program_pid("perch").expect("the console's pid");
    let idle = rss_bytes(pid);
    reset_peak_rss(pid);
    tokio::task::block_in_place(|| ArgvStorm::start(2, 3_000, Some(NOBODY)).wait());
    // The events still queued reach the console within the wait below.
    let screen = tmux.wait_for("the storm's end shown", |s| s.contains("dropped early"));
    let peak = peak_rss_bytes(pid);
    eprintln!("console: idle {} MiB, peak {} MiB", idle / MIB, peak / MIB);
    assert!(peak < BOUND, "the console peaked at {} MiB", peak / MIB);
    assert!(screen.contains("(process_memory_mib)"), "{screen}");
}
