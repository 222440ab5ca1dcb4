//! Issue 10's "done when", in a real terminal (tmux) against a real perchd
//! and real processes, as a new user would do it: a CPU hog that ignores
//! TERM, started through a double fork under a symlinked name (`sshd` ->
//! dash); found with a filter on the name and `P` (at the top); its detail says its
//! real binary, its three names and its whole ancestry (the two shells
//! that forked it, exited); TERM through the dialog with a reason: "still
//! running"; `k` on the result: KILL, the same reason, confirmed; it is
//! killed — and the audit log records every step truthfully (an intent and
//! a result per action, the outcomes perchd saw).
#![expect(
    clippy::expect_used,
    reason = "test support: a broken fixture or environment should fail the test loudly"
)]
use std::{
    os::unix::fs::symlink,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use perch_e2e::{
    Perchd, binary, have_root_or_skip,
    procs::{ChildGuard, random_hex},
    tmux::Tmux,
};
use perch_proto::v1::{ActionOutcome, AuditStage, ProcessOutcome, Signal};

/// Kills `pid` (SIGKILL) on drop: the hog is nobody's child once its
/// parents exit, so no `ChildGuard` can reap it.
struct KillOnDrop(i32);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        // SAFETY: kill(2) with a pid and a signal number has no memory effects.
        unsafe { libc::kill(self.0, libc::SIGKILL) };
    }
}

/// The pid of the hog (`sshd` with `marker` in its command line), waiting for it.
fn find(marker: &str) -> i32 {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
                continue;
            };
            // The shells that start it carry the marker too; the hog's
            // comm is the name it was run under.
            let comm = std::fs::read_to_string(entry.path().join("comm")).unwrap_or_default();
            let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
            if comm.trim() == "sshd" && String::from_utf8_lossy(&cmdline).contains(marker) {
                return pid;
            }
        }
        assert!(Instant::now() < deadline, "the hog never started");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        !s.rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z')
    })
}

#[tokio::test]
async fn term_ignored_escalate_to_kill_and_the_audit_log_says_so() {
    if !have_root_or_skip("term_ignored_escalate_to_kill_and_the_audit_log_says_so") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    // KILL is not watched by default (it cannot be ignored): watching it
    // here lets the result, and the audit log, say how the hog ended.
    // TERM keeps its default watch (2 s).
    let config = dir.path().join("perchd.toml");
    std::fs::write(&config, "[signal_watch_ms]\nKILL = 2000\n").expect("write config");
    let perchd = Perchd::start(&["--config", config.to_str().expect("utf-8 path")]).await;
    let sshd = dir.path().join("sshd");
    symlink("/usr/bin/dash", &sshd).expect("symlink");
    let marker = format!("zqxj-hog-{}", random_hex(6));
    // sh forks a subshell that forks the hog and exits; sh exits too.
    let hog_script = format!("trap '' TERM; while :; do :; done # {marker}");
    let mut starter = ChildGuard::spawn(
        Command::new("/bin/sh")
            .arg("-c")
            .arg("( \"$0\" -c \"$1\" & ) ; exit 0")
            .arg(&sshd)
            .arg(&hog_script)
            .stdin(Stdio::null()),
    );
    assert!(starter.wait().success());
    let hog = find(&marker);
    let _guard = KillOnDrop(hog);
    let pid = hog.to_string();

    let tmux = Tmux::start(&format!(
        "{} --socket {}",
        binary("perch").display(),
        perchd.socket.display()
    ));
    tmux.wait_for("the console", |s| {
        s.contains("CPU%") && s.contains("connected")
    });
    // The suspicious sshd: the flat table (the console starts in the
    // tree, where P sorts siblings), a filter on the name, then P puts the
    // busiest first (the exited shells sort below live processes).
    tmux.keys(&["t", "\\"]);
    tmux.keys(&["-l", "sshd"]);
    tmux.keys(&["Enter", "P"]);
    let screen = tmux.wait_for("the hog at the top, sorted by CPU", |s| {
        let mut rows = s.lines().skip_while(|l| !l.contains("PID"));
        rows.next().is_some_and(|t| t.contains("CPU%▼"))
            && rows.next().is_some_and(|r| r.contains(&pid))
    });
    assert!(screen.contains("[names differ]"), "{screen}");

    check_detail(&tmux, &sshd);

    // TERM through the dialog, with a reason: still running.
    // Esc and k sent together would read as Alt-k: wait for the table.
    tmux.keys(&["Escape"]);
    tmux.wait_for("the table again", |s| {
        !s.contains("Parents (Enter jumps)") && s.contains("CPU%▼")
    });
    tmux.keys(&["k"]);
    tmux.wait_for("the action menu", |s| s.contains(&format!("Act on {pid}")));
    tmux.keys(&["Enter"]);
    tmux.wait_for("the dialog at TERM", |s| {
        s.contains("YES, KILL PROCESS") && s.contains("◀ TERM ▶")
    });
    tmux.keys(&["-l", "e2e: cpu hog disguised as sshd"]);
    tmux.keys(&["Enter", "Enter"]);
    let toast = tmux.wait_for("TERM's result", |s| s.contains("still running after"));
    assert!(
        toast.contains(&format!(
            "TERM delivered to {pid} sshd: still running after 2 s"
        )),
        "{toast}"
    );
    assert!(alive(hog), "TERM is ignored:\n{toast}");

    // k: KILL, the same target and reason, confirmed with Enter.
    tmux.keys(&["k"]);
    let dialog = tmux.wait_for("the KILL dialog", |s| s.contains("◀ KILL ▶"));
    assert!(
        dialog.contains("e2e: cpu hog disguised as sshd"),
        "{dialog}"
    );
    tmux.keys(&["Enter"]);
    let done = tmux.wait_for("KILL's result", |s| s.contains("exited (signal 9)"));
    assert!(done.contains("SUCCESS"), "{done}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while alive(hog) {
        assert!(Instant::now() < deadline, "still alive after KILL");
        std::thread::sleep(Duration::from_millis(50));
    }
    // The row stays, exited, and says how it ended.
    tmux.keys(&["Escape"]);
    tmux.wait_for("the row says killed", |s| {
        s.lines()
            .any(|l| l.contains(&pid) && l.contains("[killed]"))
    });

    check_audit(&perchd, hog);
}

/// Enter on the hog: its real binary, its three names, its whole ancestry.
fn check_detail(tmux: &Tmux, sshd: &std::path::Path) {
    // Its detail: the real binary, the three names, the whole ancestry.
    tmux.keys(&["Enter"]);
    // Waits for the whole view (a capture can catch a frame being drawn).
    let detail = tmux.wait_for("the detail view", |s| {
        s.contains("Parents (Enter jumps)") && s.contains("Binary    ") && s.contains("comm sshd")
    });
    assert!(detail.contains("Binary    /usr/bin/dash"), "{detail}");
    assert!(
        detail.contains(&format!("Exe       {}", sshd.display())),
        "{detail}"
    );
    assert!(
        detail.contains("comm sshd · argv[0] sshd · binary dash"),
        "{detail}"
    );
    // Parents: the subshell and the shell (exited), then this test.
    let me = std::process::id().to_string();
    let parents: Vec<&str> = detail
        .lines()
        .skip_while(|l| !l.contains("Parents (Enter jumps)"))
        .skip(1)
        .take_while(|l| !l.contains("Children ("))
        .collect();
    let exited = parents.iter().filter(|l| l.contains("[exit 0]")).count();
    assert!(exited >= 2, "two exited shells above it:\n{detail}");
    assert!(
        parents.iter().any(|l| l.contains(&me)),
        "the chain reaches this test ({me}):\n{detail}"
    );
}

/// The audit log: the intent and result of each action, with what perchd saw.
fn check_audit(perchd: &Perchd, hog: i32) {
    // The audit log: intent and result of each, with what perchd saw.
    let log: Vec<_> = perch_audit::read(&perchd.audit_log)
        .expect("audit log")
        .map(|e| e.expect("verifies").record)
        .collect();
    let ours: Vec<_> = log
        .iter()
        .filter(|r| r.reason == "e2e: cpu hog disguised as sshd")
        .collect();
    let stages: Vec<(AuditStage, Signal)> = ours.iter().map(|r| (r.stage(), r.signal())).collect();
    assert_eq!(
        stages,
        [
            (AuditStage::Intent, Signal::Term),
            (AuditStage::Result, Signal::Term),
            (AuditStage::Intent, Signal::Kill),
            (AuditStage::Result, Signal::Kill),
        ],
        "{ours:#?}"
    );
    let (term, kill) = (ours[1], ours[3]);
    assert_eq!(term.code, "still_running", "{term:#?}");
    assert_eq!(term.outcome(), ActionOutcome::StillRunning);
    assert_eq!(term.processes[0].outcome(), ProcessOutcome::StillRunning);
    assert_eq!(kill.outcome(), ActionOutcome::Exited, "{kill:#?}");
    assert_eq!(kill.processes[0].outcome(), ProcessOutcome::Exited);
    assert_eq!(
        kill.processes[0].exit.and_then(|x| x.signal),
        Some(9),
        "{kill:#?}"
    );
    for r in [term, kill] {
        assert_eq!(
            r.target.as_ref().and_then(|t| t.key).map(|k| k.pid),
            u32::try_from(hog).ok()
        );
        assert!(
            r.origin.contains("unix pid"),
            "the console's origin: {}",
            r.origin
        );
    }
}
