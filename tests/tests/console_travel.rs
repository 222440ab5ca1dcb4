//! Time travel in the real console, in a real terminal: perchd keeps its
//! history in a temporary store; a process lives three seconds and exits;
//! then `perch` in tmux steps back with `{` and `[`, goes to the instant
//! the process ran with the time menu (`@`, a typed Unix time), finds it
//! there alive, is refused an action, and steps forward past the newest
//! stored instant back to LIVE with `}`.
use std::{
    os::unix::process::CommandExt as _,
    process::Command,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use perch_e2e::{
    Perchd, binary, have_root_or_skip,
    procs::{ChildGuard, random_hex},
    tmux::Tmux,
};

fn unix_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[tokio::test]
async fn steps_through_history_and_back_to_live() {
    if !have_root_or_skip("steps_through_history_and_back_to_live") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let store = dir.path().join("history.db");
    let perchd = Perchd::start(&["--history", &store.display().to_string()]).await;

    // A process that lives three seconds, before the console starts.
    let marker = format!("zqxj-past-{}", random_hex(6));
    let mut past = ChildGuard::spawn(Command::new("/bin/sleep").arg0(&marker).arg("300"));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let alive_at = unix_secs();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let _ = past.child.kill();
    let _ = past.child.wait();
    // Its exit stored, and some seconds after it.
    tokio::time::sleep(Duration::from_secs(3)).await;

    let cmd = format!(
        "{} --socket {}",
        binary("perch").display(),
        perchd.socket.display()
    );
    let tmux = Tmux::start(&cmd);
    tmux.wait_for("the console, LIVE", |s| {
        s.contains("CPU%") && s.contains("Time: LIVE")
    });
    // Only this test's process, however busy the host.
    tmux.keys(&["-l", "\\"]);
    tmux.keys(&["-l", "zqxj-past-"]);
    tmux.keys(&["Enter"]);
    // Applied, not still being typed (`_` is the input's cursor): a key
    // sent before Enter lands would be typed into the filter.
    tmux.wait_for("the filter", |s| {
        s.contains("Filter: zqxj-past-") && !s.contains("zqxj-past-_")
    });

    // `{` from LIVE: the newest stored instant less a minute is before the
    // store began, so the console stays on the newest and says why; `[`
    // steps a second back from there.
    tmux.keys(&["["]);
    tmux.wait_for("the past", |s| {
        s.contains(" ago") && s.contains("PAST: actions are disabled")
    });
    tmux.keys(&["{"]);
    tmux.wait_for("the range", |s| s.contains("no history at that time"));

    // The time menu: the instant the process ran, as Unix seconds.
    tmux.keys(&["@"]);
    tmux.wait_for("the time menu", |s| s.contains("go to:"));
    tmux.keys(&["-l", &alive_at.to_string()]);
    tmux.keys(&["Enter"]);
    let screen = tmux.wait_for("the process, alive then", |s| {
        s.contains(&marker) && !s.contains("loading…") && !s.contains("go to:")
    });
    let row = screen
        .lines()
        .find(|l| l.contains(&marker))
        .expect("its row");
    assert!(
        !row.contains("[SIGKILL]") && !row.contains("[exit"),
        "{row}"
    );

    // Actions are refused in the past.
    tmux.keys(&["k"]);
    tmux.wait_for("the refusal", |s| {
        s.contains("actions are disabled while showing the past")
    });

    // `]` a second on, `}` a minute on: past the newest, LIVE again, where
    // the process is gone (its exited row too, after the retention) or
    // shown exited.
    tmux.keys(&["]"]);
    tmux.keys(&["}"]);
    let live = tmux.wait_for("LIVE again", |s| s.contains("Time: LIVE"));
    if let Some(row) = live.lines().find(|l| l.contains(&marker)) {
        assert!(row.contains("[SIGKILL]"), "{row}");
    }
    tmux.keys(&["q"]);
    tmux.wait_for("perch to exit", |s| !s.contains("CPU%"));
}

/// `./x run`'s console, with no perchd answering, embeds a collector: it
/// keeps history in the user's state directory, so time keys work there
/// too; a second such console finds that store locked, says so, and
/// runs live.
#[tokio::test]
async fn the_embedded_collector_keeps_history() {
    if !have_root_or_skip("the_embedded_collector_keeps_history") {
        return;
    }
    let state = tempfile::tempdir().expect("tempdir");
    let cmd = format!(
        "env XDG_STATE_HOME={} {}",
        state.path().display(),
        binary("perch").display()
    );
    let first = Tmux::start(&cmd);
    first.wait_for("the embedded console, LIVE", |s| {
        s.contains("embedded collector") && s.contains("Time: LIVE")
    });
    let store = state.path().join("perch/history.db");
    assert!(store.exists(), "no store at {}", store.display());
    // A few stored seconds, then one back.
    tokio::time::sleep(Duration::from_secs(3)).await;
    first.keys(&["["]);
    let screen = first.wait_for("the past", |s| {
        s.contains(" ago") && s.contains("PAST: actions are disabled")
    });
    assert!(!screen.contains("no history"), "{screen}");

    let second = Tmux::start(&cmd);
    // The reason (in use by another console) is past the header's width:
    // the lock's unit test reads it whole.
    second.wait_for("the second console, live without history", |s| {
        s.contains("embedded collector") && s.contains("history broken") && s.contains("PID")
    });
}
