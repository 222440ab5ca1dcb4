//! perchd's history store against the real perchd and `perch`: a process
//! tree found with `perch ps --at` after a restart (argv, parent, exit
//! status), `perch events --from --to --json` with a known exec, the
//! window written by `perch record` and read back by `perch replay`, a time
//! outside the store naming the range, the size bound under an exec storm
//! (oldest gone, newest there), a SIGKILL during writes, and an unwritable
//! store reported BROKEN while perchd serves live.
#![expect(
    clippy::panic,
    reason = "helpers of end-to-end tests: a broken environment should fail the test loudly"
)]
use std::{path::Path, process::Command, time::Duration};

use perch_e2e::{
    Perchd, binary,
    events::{self, WAIT, history_info},
    procs::{ChildGuard, run_bounded, unique},
};
use perch_proto::v1::HistoryStatus;
use serde_json::Value;

fn perch(socket: &Path) -> Command {
    let mut cmd = Command::new(binary("perch"));
    cmd.arg("--socket").arg(socket).arg("--timeout").arg("30");
    cmd
}

fn now_secs() -> u64 {
    perch_e2e::procs::unix_now_ns() / 1_000_000_000
}

/// Waits until the store has written everything up to `unix_secs`.
async fn stored_until(perchd: &Perchd, unix_secs: u64) {
    events::stored_until(perchd, unix_secs * 1_000_000_000).await;
}

/// `perch ARGS` (bounded), its stdout as JSON lines.
fn json_lines(socket: &Path, args: &[&str]) -> Vec<Value> {
    let out = tokio::task::block_in_place(|| run_bounded(perch(socket).args(args), WAIT));
    assert!(out.status.success(), "perch {args:?}: {out:?}");
    out.stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn argv(v: &Value) -> Vec<String> {
    v["argv"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// `--pid` and `--comm` filter stored events as they do live ones: the
/// parent's exit alone, with its status; the child's exec by its name.
fn filters_hold_on_stored_events(
    socket: &Path,
    (from, to): (&str, &str),
    parent: u32,
    marker: &str,
) {
    let parent_text = parent.to_string();
    let exits = json_lines(
        socket,
        &[
            "events",
            "--json",
            "--from",
            from,
            "--to",
            to,
            "--kind",
            "exit",
            "--pid",
            &parent_text,
        ],
    );
    assert_eq!(exits.len(), 1, "{exits:?}");
    assert_eq!(
        exits[0]["exit"]["key"]["pid"].as_u64(),
        Some(u64::from(parent))
    );
    assert_eq!(
        exits[0]["exit"]["exit"]["code"].as_i64(),
        Some(7),
        "{exits:?}"
    );
    let sleeps = json_lines(
        socket,
        &[
            "events", "--json", "--from", from, "--to", to, "--kind", "exec", "--comm", "sleep",
        ],
    );
    assert!(
        sleeps
            .iter()
            .any(|e| argv(&e["exec"]["process"]) == ["sleep", "3"]),
        "{sleeps:?}"
    );
    assert!(
        !sleeps.iter().any(|e| e.to_string().contains(marker)),
        "--comm sleep printed the shell: {sleeps:?}"
    );
    // An exit named by --comm: the name comes from the stored exec.
    let sleep_exits = json_lines(
        socket,
        &[
            "events", "--json", "--from", from, "--to", to, "--kind", "exit", "--comm", "sleep",
        ],
    );
    assert_eq!(sleep_exits.len(), 1, "{sleep_exits:?}");
    assert_eq!(sleep_exits[0]["exit"]["exit"]["code"].as_i64(), Some(0));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tree_is_found_at_its_time_after_a_restart() {
    if !perch_e2e::have_root_or_skip("a_tree_is_found_at_its_time_after_a_restart") {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("history.db");
    let mut perchd = Perchd::start(&["--history", db.to_str().expect("utf-8")]).await;
    let marker = unique("hist-tree");
    let before = now_secs();
    // A parent that lives 3 s, with a child, and exits 7.
    let mut tree =
        ChildGuard::spawn(Command::new("/bin/sh").args(["-c", "sleep 3; exit 7", &marker]));
    let parent = tree.pid();
    // A whole second that lies inside its life, however late it started.
    let inside = now_secs() + 1;
    let status = tokio::task::block_in_place(|| tree.wait());
    assert_eq!(status.code(), Some(7));
    let after = now_secs();
    stored_until(&perchd, after + 1).await;
    perchd.stop();
    perchd.respawn().await;

    // Inside the window: the parent and its sleeping child, alive.
    let at = format!("@{inside}");
    let rows = json_lines(&perchd.socket, &["ps", "--json", "--at", &at]);
    let p = rows
        .iter()
        .find(|v| v["key"]["pid"].as_u64() == Some(u64::from(parent)))
        .unwrap_or_else(|| panic!("pid {parent} not in `ps --at {at}`"));
    assert_eq!(argv(p), vec!["/bin/sh", "-c", "sleep 3; exit 7", &marker]);
    assert!(p["exit"].is_null(), "alive then: {p}");
    let child = rows
        .iter()
        .find(|v| v["ppid"].as_u64() == Some(u64::from(parent)))
        .unwrap_or_else(|| panic!("no child of {parent} at {at}"));
    assert_eq!(argv(child), vec!["sleep", "3"]);

    // Just after: with -a, the parent with its exit status.
    let later = format!("@{}", after + 1);
    let rows = json_lines(&perchd.socket, &["ps", "-a", "--json", "--at", &later]);
    let p = rows
        .iter()
        .find(|v| v["key"]["pid"].as_u64() == Some(u64::from(parent)))
        .unwrap_or_else(|| panic!("pid {parent} not in `ps -a --at {later}`"));
    assert_eq!(p["exit"]["code"].as_i64(), Some(7), "{p}");

    // The exec among the stored events, as JSON.
    let from = format!("@{before}");
    let to = format!("@{}", after + 1);
    let events = json_lines(
        &perchd.socket,
        &[
            "events", "--json", "--from", &from, "--to", &to, "--kind", "exec",
        ],
    );
    assert!(
        events.iter().any(|e| e.to_string().contains(&marker)),
        "the exec of {marker} not in `perch events --from {from} --to {to}`"
    );
    filters_hold_on_stored_events(&perchd.socket, (&from, &to), parent, &marker);

    // The window recorded to a file (Spyderbat NDJSON, gzip) and opened
    // with no collector: the tree is there a second later (a recording
    // holds whole states at sample instants, one per second: the newest
    // sample at or before `inside` may predate the exec; the one before
    // inside + 1 is after `inside`, and before the exit).
    let replay_at = format!("@{}", inside + 1);
    let file = dir.path().join("window.ndjson.gz");
    let out = tokio::task::block_in_place(|| {
        run_bounded(
            perch(&perchd.socket)
                .args(["record", "--from", &from, "--to", &to, "-o"])
                .arg(&file),
            WAIT,
        )
    });
    assert!(out.status.success(), "perch record: {out:?}");
    let out = tokio::task::block_in_place(|| {
        run_bounded(
            Command::new(binary("perch"))
                .arg("replay")
                .arg(&file)
                .args(["--print", "--json", "--top", "10000", "--at", &replay_at]),
            WAIT,
        )
    });
    assert!(out.status.success(), "perch replay: {out:?}");
    let state: Value = serde_json::from_str(&out.stdout).expect("one JSON object");
    let text = state.to_string();
    assert!(
        text.contains(&marker) && text.contains(&format!("\"pid\":{parent}")),
        "the tree of {marker} (pid {parent}) not in the replayed state at {replay_at}: marker {}, pid {}, state at {}, {} processes, import {}",
        text.contains(&marker),
        text.contains(&format!("\"pid\":{parent}")),
        state["at_unix_ns"],
        state["processes"].as_array().map_or(0, Vec::len),
        state["import"]
    );

    // A time before anything was stored: the range, not a crash.
    let out = tokio::task::block_in_place(|| {
        run_bounded(perch(&perchd.socket).args(["ps", "--at", "@1000"]), WAIT)
    });
    assert!(!out.status.success(), "{out:?}");
    assert!(
        out.stderr.contains("no history at @1000: the store holds"),
        "{}",
        out.stderr
    );
}

/// `n` lines of `len` characters each that LZ4 finds nothing to repeat in
/// (xorshift over 64 characters).
fn incompressible_lines(n: usize, len: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_";
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut out = String::with_capacity(n * (len + 1));
    for _ in 0..n {
        for _ in 0..len {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            out.push(char::from(ALPHABET[usize::try_from(x % 64).unwrap_or(0)]));
        }
        out.push('\n');
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn the_size_bound_holds_under_a_storm() {
    if !perch_e2e::have_root_or_skip("the_size_bound_holds_under_a_storm") {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let config = dir.path().join("perchd.toml");
    let db = dir.path().join("history.db");
    std::fs::write(
        &config,
        format!(
            "[history]\npath = \"{}\"\nmax_bytes = 1048576\n",
            db.display()
        ),
    )
    .expect("config");
    let perchd = Perchd::start(&[
        "--config",
        config.to_str().expect("utf-8"),
        "--history",
        db.to_str().expect("utf-8"),
    ])
    .await;
    let first = unique("hist-first");
    let t0 = now_secs();
    tokio::task::block_in_place(|| run_bounded(Command::new("/bin/true").arg(&first), WAIT));
    // ~3000 execs with 1 KiB command lines that do not compress (the
    // store compresses its batches): several times the bound.
    let pads = dir.path().join("pads");
    std::fs::write(&pads, incompressible_lines(3000, 1024)).expect("pads");
    let storm = format!(
        "while read -r pad; do /bin/true \"$pad\"; done < {}",
        pads.display()
    );
    let out = tokio::task::block_in_place(|| {
        run_bounded(
            Command::new("/bin/sh").args(["-c", &storm]),
            Duration::from_mins(5),
        )
    });
    assert!(out.status.success());
    let last = unique("hist-last");
    tokio::task::block_in_place(|| run_bounded(Command::new("/bin/true").arg(&last), WAIT));
    let t1 = now_secs() + 1;
    stored_until(&perchd, t1).await;
    // A bound check runs every few seconds.
    let mut info = history_info(&perchd).await;
    for _ in 0..100 {
        if info.bytes <= info.max_bytes && info.oldest_unix_ns > t0 * 1_000_000_000 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        info = history_info(&perchd).await;
    }
    assert_eq!(info.status(), HistoryStatus::Ok, "{info:?}");
    assert!(info.events_written > 3000, "{info:?}");
    assert!(info.bytes <= info.max_bytes, "{info:?}");
    assert!(
        info.oldest_unix_ns > t0 * 1_000_000_000,
        "the oldest went: {info:?}"
    );
    // The files themselves: the database and its log, within the bound
    // plus the log's share (a quarter), once the writer has caught up.
    let on_disk = || -> Vec<u64> {
        ["", "-wal"]
            .iter()
            .map(|s| std::fs::metadata(format!("{}{s}", db.display())).map_or(0, |m| m.len()))
            .collect()
    };
    let mut sizes = on_disk();
    for _ in 0..100 {
        if sizes.iter().sum::<u64>() <= info.max_bytes * 3 / 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        sizes = on_disk();
    }
    assert!(
        sizes.iter().sum::<u64>() <= info.max_bytes * 3 / 2,
        "db and log on disk: {sizes:?}"
    );
    let events = json_lines(
        &perchd.socket,
        &[
            "events",
            "--json",
            "--from",
            &format!("@{}", t0.saturating_sub(5)),
            "--kind",
            "exec",
        ],
    );
    let has = |m: &str| events.iter().any(|e| e.to_string().contains(m));
    assert!(!has(&first), "the oldest exec is still stored");
    assert!(
        has(&last),
        "the newest exec is not stored: {info:?}, {} exec events, the last: {:?}",
        events.len(),
        events.iter().rev().take(2).collect::<Vec<_>>()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sigkill_during_writes_leaves_a_store_that_answers() {
    if !perch_e2e::have_root_or_skip("a_sigkill_during_writes_leaves_a_store_that_answers") {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("history.db");
    let mut perchd = Perchd::start(&["--history", db.to_str().expect("utf-8")]).await;
    // A second that is surely stored before the crash.
    stored_until(&perchd, now_secs() + 1).await;
    let t0 = history_info(&perchd).await.oldest_unix_ns / 1_000_000_000 + 1;
    stored_until(&perchd, t0 + 1).await;
    let mut storm =
        ChildGuard::spawn(Command::new("/bin/sh").args(["-c", "while :; do /bin/true; done"]));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    perchd.crash();
    storm.kill();
    perchd.respawn().await;
    let info = history_info(&perchd).await;
    assert_eq!(info.status(), HistoryStatus::Ok, "{info:?}");
    assert!(info.oldest_unix_ns <= (t0 + 1) * 1_000_000_000, "{info:?}");
    let rows = json_lines(
        &perchd.socket,
        &["ps", "--json", "--at", &format!("@{}", t0 + 1)],
    );
    assert!(
        rows.iter().any(|v| v["key"]["pid"].as_u64() == Some(1)),
        "init not in the state before the crash"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unwritable_store_is_broken_and_perchd_serves_live() {
    if !perch_e2e::have_root_or_skip("an_unwritable_store_is_broken_and_perchd_serves_live") {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    // A regular file where the store's directory should be.
    let blocker = dir.path().join("not-a-dir");
    std::fs::write(&blocker, b"x").expect("blocker");
    let db = blocker.join("history.db");
    let perchd = Perchd::start(&["--history", db.to_str().expect("utf-8")]).await;
    let info = history_info(&perchd).await;
    assert_eq!(info.status(), HistoryStatus::Broken, "{info:?}");
    assert!(info.detail.contains("not-a-dir"), "{info:?}");
    // Live calls answer.
    let rows = json_lines(&perchd.socket, &["ps", "--json"]);
    let me = u64::from(std::process::id());
    assert!(rows.iter().any(|v| v["key"]["pid"].as_u64() == Some(me)));
    // History calls say why they cannot.
    let out = tokio::task::block_in_place(|| {
        run_bounded(
            perch(&perchd.socket).args(["ps", "--at", &format!("@{}", now_secs())]),
            WAIT,
        )
    });
    assert!(!out.status.success(), "{out:?}");
    assert!(out.stderr.contains("broken"), "{}", out.stderr);
}
