//! The `perch` command line against a real perchd: `ps --json` lists this
//! test process, `events --json` streams a fresh exec as NDJSON while it
//! runs, and a missing collector is one line on stderr with exit status 2.
use std::{
    io::{BufRead as _, BufReader},
    process::{Command, Stdio},
    sync::mpsc,
    time::Duration,
};

use perch_e2e::{
    Perchd, binary,
    events::WAIT,
    procs::{ChildGuard, run_bounded, unique},
};
use serde_json::Value;

fn perch(socket: &std::path::Path) -> Command {
    let mut cmd = Command::new(binary("perch"));
    cmd.arg("--socket").arg(socket);
    cmd
}

#[tokio::test(flavor = "multi_thread")]
async fn ps_json_lists_this_process() {
    // /proc mode: works unprivileged, and seeds this (already running) test.
    let perchd = Perchd::start(&["--procfs"]).await;
    let out = tokio::task::block_in_place(|| {
        run_bounded(perch(&perchd.socket).args(["ps", "--json"]), WAIT)
    });
    assert!(out.status.success(), "perch ps --json: {out:?}");
    let me = u64::from(std::process::id());
    let mut found = false;
    for line in out.stdout.lines() {
        let v: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not one JSON object per line ({e}): {line}"));
        assert!(v.is_object(), "{line}");
        if v["key"]["pid"].as_u64() == Some(me) {
            found = true;
            assert_eq!(
                v["ppid"].as_u64(),
                Some(u64::from(std::os::unix::process::parent_id()))
            );
        }
    }
    assert!(found, "pid {me} not in `perch ps --json`:\n{}", out.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn events_json_streams_a_new_exec() {
    if !perch_e2e::have_root_or_skip("events_json_streams_a_new_exec") {
        return;
    }
    let perchd = Perchd::start(&[]).await;
    let mut events = ChildGuard::spawn(
        perch(&perchd.socket)
            .args(["events", "--json"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped()),
    );
    // Lines are read on a thread and handed over, so the wait is bounded.
    let stdout = events.child.stdout.take().expect("piped stdout");
    let (tx, rx) = mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });

    // `perch events` starts with the next new event: keep exec'ing the
    // marker until one shows up, so its subscription time does not matter.
    let marker = unique("cli-events");
    let deadline = std::time::Instant::now() + WAIT;
    let mut seen = None;
    'outer: while std::time::Instant::now() < deadline {
        let mut t = ChildGuard::spawn(Command::new("/bin/true").arg(&marker));
        tokio::task::block_in_place(|| t.wait());
        let until = std::time::Instant::now() + Duration::from_millis(500);
        while let Some(left) = until.checked_duration_since(std::time::Instant::now()) {
            let line = match rx.recv_timeout(left) {
                Ok(line) => line,
                Err(mpsc::RecvTimeoutError::Timeout) => break,
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    panic!("`perch events` ended: {:?}", events.child.try_wait())
                }
            };
            let v: Value =
                serde_json::from_str(&line).unwrap_or_else(|e| panic!("not NDJSON ({e}): {line}"));
            let argv = &v["exec"]["process"]["argv"];
            if v["kind"] == "exec" && argv[0] == "/bin/true" && argv[1] == marker.as_str() {
                seen = Some(v);
                break 'outer;
            }
        }
    }
    let v = seen.unwrap_or_else(|| panic!("no exec of {marker} on `perch events --json`"));
    assert!(v["seq"].as_u64().is_some_and(|s| s > 0), "{v}");
    assert_eq!(v["exec"]["process"]["source"], "ebpf", "{v}");
    drop(events);
    reader.join().expect("reader thread");
}

#[test]
fn missing_collector_is_exit_2_and_one_line() {
    let socket = "/nonexistent/perch-e2e/perchd.sock";
    let out = run_bounded(
        Command::new(binary("perch")).args(["--socket", socket, "ps"]),
        WAIT,
    );
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(out.stdout.is_empty(), "{out:?}");
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "expected one line: {:?}", out.stderr);
    assert!(lines[0].contains(socket), "{:?}", lines[0]);
    assert!(!out.stderr.contains("panicked"), "{:?}", out.stderr);
}
