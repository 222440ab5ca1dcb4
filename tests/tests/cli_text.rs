//! The `perch` command line's text output against a real perchd: `ps`
//! with the console's filter, `--sort` and `-o`; `events` with wall-clock
//! times, exits named by their command and the `--kind`/`--comm`/`--pid`
//! filters; and the completions and man page the binary generates.
use std::{
    io::{BufRead as _, BufReader},
    process::{Command, Stdio},
    sync::mpsc,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use perch_e2e::{
    Perchd, binary,
    events::WAIT,
    procs::{ChildGuard, run_bounded},
};
use perch_proto::civil::civil_from_days;

fn perch(socket: &std::path::Path) -> Command {
    let mut cmd = Command::new(binary("perch"));
    cmd.arg("--socket").arg(socket);
    cmd
}

#[tokio::test(flavor = "multi_thread")]
async fn ps_filters_sorts_and_picks_columns() {
    // /proc mode: works unprivileged and sees the sleeps started here.
    let perchd = Perchd::start(&["--procfs"]).await;
    let a = ChildGuard::spawn(Command::new("sleep").arg("301"));
    let b = ChildGuard::spawn(Command::new("sleep").arg("302"));
    let (pa, pb) = (a.child.id(), b.child.id());
    let filter = format!("comm:sleep ppid:{}", std::process::id());
    let ps = || {
        run_bounded(
            perch(&perchd.socket).args(["ps", "-o", "pid,comm,state,user", "--sort=-pid", &filter]),
            WAIT,
        )
    };
    // /proc mode finds new processes at its next poll: ask until both show.
    let deadline = Instant::now() + WAIT;
    let out = loop {
        let out = tokio::task::block_in_place(ps);
        if out.stdout.lines().count() >= 3 || Instant::now() > deadline {
            break out;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(out.status.success(), "{out:?}");
    let lines: Vec<Vec<&str>> = out
        .stdout
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    let (hi, lo) = (pa.max(pb).to_string(), pa.min(pb).to_string());
    assert_eq!(lines[0], ["PID", "COMM", "S", "USER"], "{}", out.stdout);
    assert_eq!(lines.len(), 3, "exactly the two sleeps:\n{}", out.stdout);
    assert_eq!((lines[1][0], lines[2][0]), (hi.as_str(), lo.as_str()));
    assert!(
        lines[1][1] == "sleep" && lines[1][2] == "S",
        "{}",
        out.stdout
    );

    let bad = run_bounded(perch(&perchd.socket).args(["ps", "-o", "pid,colour"]), WAIT);
    assert!(!bad.status.success());
    assert!(
        bad.stderr.contains("\"colour\"") && bad.stderr.contains("one of: pid"),
        "{bad:?}"
    );
    let bad = run_bounded(perch(&perchd.socket).args(["ps", "cpu>lots"]), WAIT);
    assert_eq!(bad.status.code(), Some(1), "{bad:?}");
    assert!(
        bad.stderr.starts_with("perch: filter \"cpu>lots\""),
        "{bad:?}"
    );
}

/// Today's UTC date, `2026-11-23`.
fn utc_date() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (y, m, d) = civil_from_days(i64::try_from(secs / 86_400).unwrap_or(0));
    format!("{y:04}-{m:02}-{d:02}")
}

#[tokio::test(flavor = "multi_thread")]
async fn events_print_wall_time_and_name_exits() {
    if !perch_e2e::have_root_or_skip("events_print_wall_time_and_name_exits") {
        return;
    }
    let perchd = Perchd::start(&[]).await;
    let mut events = ChildGuard::spawn(
        perch(&perchd.socket)
            .args(["events", "--utc", "--kind", "exit", "--comm", "true"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped()),
    );
    let stdout = events.child.stdout.take().expect("piped stdout");
    let (tx, rx) = mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    // Keep running `true` until one of its exits shows (the stream starts
    // with the next new event, whenever it subscribed).
    let deadline = Instant::now() + WAIT;
    let mut seen = None;
    let mut others = Vec::new();
    'outer: while Instant::now() < deadline {
        let mut t = ChildGuard::spawn(&mut Command::new("/bin/true"));
        let pid = t.child.id();
        tokio::task::block_in_place(|| t.wait());
        let until = Instant::now() + Duration::from_millis(500);
        while let Some(left) = until.checked_duration_since(Instant::now()) {
            let Ok(line) = rx.recv_timeout(left) else {
                break;
            };
            if line.contains(&format!(" pid={pid} ")) {
                seen = Some(line);
                break 'outer;
            }
            others.push(line);
        }
    }
    let line = seen.unwrap_or_else(|| panic!("no exit of /bin/true; saw {others:?}"));
    // `   SEQ 2026-11-23 15:47:02.123456Z exit  pid=N comm=true code=0`
    let words: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(words[1], utc_date(), "{line}");
    assert!(
        words[2].ends_with('Z') && words[2].len() == "15:47:02.123456Z".len(),
        "{line}"
    );
    assert_eq!(
        &words[3..],
        ["exit", words[4], "comm=true", "code=0"],
        "{line}"
    );
    for other in &others {
        assert!(
            other.contains(" exit ") && other.contains("comm=true"),
            "{other}"
        );
    }
    drop(events);
    reader.join().expect("reader thread");
}

#[test]
fn completions_and_man_page() {
    for shell in ["bash", "zsh", "fish"] {
        let out = run_bounded(
            Command::new(binary("perch")).args(["completions", shell]),
            WAIT,
        );
        assert!(out.status.success(), "{out:?}");
        for sub in ["ps", "events", "kill-tree", "audit", "completions"] {
            assert!(out.stdout.contains(sub), "{shell} completions lack {sub}");
        }
    }
    let roff = run_bounded(Command::new(binary("perch")).arg("man"), WAIT);
    assert!(
        roff.status.success() && roff.stdout.contains(".TH perch"),
        "{roff:?}"
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let page = dir.path().join("perch.1");
    std::fs::write(&page, &roff.stdout).expect("write the page");
    // Rendered by man when it is installed (it is where ./x setup ran).
    let man_here = Command::new("man").arg("--version").output().is_ok();
    if man_here {
        let shown = run_bounded(
            Command::new("man")
                .arg("-l")
                .arg(&page)
                .env("MANPAGER", "cat")
                .env("MANWIDTH", "100"),
            WAIT,
        );
        assert!(shown.status.success(), "{shown:?}");
        for text in ["SYNOPSIS", "PERCH PS", "--sort", "PERCH AUDIT"] {
            assert!(shown.stdout.contains(text), "rendered page lacks {text}");
        }
    } else {
        for text in [".SH SYNOPSIS", "PERCH PS", "\\-\\-sort"] {
            assert!(roff.stdout.contains(text), "roff lacks {text}");
        }
    }
}
