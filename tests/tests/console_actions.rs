//! Response actions in the real console, in a real terminal (tmux) against
//! a real perchd: `k` on a searched-for process, a reason, the confirm
//! button — the process dies, the result shows, the audit log has it.  And
//! `--read-only` shows no action at all.
use std::{os::unix::process::CommandExt as _, process::Command};

use perch_e2e::{
    Perchd, binary, have_root_or_skip,
    procs::{ChildGuard, random_hex},
    tmux::Tmux,
};

/// Opens the console on `perchd` and selects a fresh sleeper by searching
/// for its unique name; returns the tmux session and the sleeper.
fn console_on_sleeper(perchd: &Perchd, extra: &str) -> (Tmux, ChildGuard, String) {
    let cmd = format!(
        "{} --socket {} {extra}",
        binary("perch").display(),
        perchd.socket.display()
    );
    let tmux = Tmux::start(&cmd);
    tmux.wait_for("the console", |s| {
        s.contains("CPU%") && s.contains("connected")
    });
    let marker = format!("zqxj-act-{}", random_hex(6));
    let sleeper = ChildGuard::spawn(Command::new("/bin/sleep").arg0(&marker).arg("300"));
    // Only our process in the list, then select it by search.
    tmux.keys(&["\\"]);
    tmux.keys(&["-l", &marker]);
    tmux.keys(&["Enter"]);
    tmux.wait_for("the sleeper on screen", |s| {
        s.lines()
            .any(|l| l.contains(&marker) && !l.contains("Filter"))
    });
    tmux.keys(&["/"]);
    tmux.keys(&["-l", &marker]);
    tmux.keys(&["Enter"]);
    (tmux, sleeper, marker)
}

#[tokio::test]
async fn kill_through_the_dialog() {
    if !have_root_or_skip("kill_through_the_dialog") {
        return;
    }
    let perchd = Perchd::start(&[]).await;
    let (tmux, mut sleeper, _marker) = console_on_sleeper(&perchd, "");
    let pid = sleeper.pid().to_string();

    tmux.keys(&["k"]);
    tmux.wait_for("the action menu", |s| {
        s.contains(&format!("Act on {pid}")) && s.contains("Kill process")
    });
    tmux.keys(&["Enter"]);
    tmux.wait_for("the kill dialog", |s| s.contains("YES, KILL PROCESS"));
    // Enter without a reason sends nothing.
    tmux.keys(&["Enter", "Enter"]);
    tmux.wait_for("the reason demanded", |s| s.contains("YES, KILL PROCESS"));
    assert!(
        sleeper.child.try_wait().expect("try_wait").is_none(),
        "killed without a reason"
    );
    // The dialog starts at TERM (issue 10); KILL is one Right away.
    tmux.keys(&["Right"]);
    tmux.wait_for("KILL chosen", |s| s.contains("◀ KILL ▶"));
    tmux.keys(&["-l", "e2e: the dialog kills it"]);
    tmux.keys(&["Enter"]);
    tmux.keys(&["Enter"]);
    let screen = tmux.wait_for("the result", |s| s.contains("Action result"));
    assert!(screen.contains("SUCCESS"), "{screen}");
    let status = sleeper.wait();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(9),
        "{screen}"
    );

    let log: Vec<_> = perch_audit::read(&perchd.audit_log)
        .expect("audit log")
        .map(|e| e.expect("verifies").record)
        .collect();
    let rec = log.last().expect("a record");
    assert_eq!(rec.reason, "e2e: the dialog kills it");
    assert_eq!(rec.code, "ok");
    assert_eq!(
        rec.processes
            .first()
            .and_then(|p| p.key)
            .map(|k| k.pid.to_string()),
        Some(pid)
    );
    assert!(
        rec.origin.contains("unix pid"),
        "the console's origin: {}",
        rec.origin
    );
}

#[tokio::test]
async fn read_only_shows_no_action() {
    if !have_root_or_skip("read_only_shows_no_action") {
        return;
    }
    let perchd = Perchd::start(&[]).await;
    let (tmux, mut sleeper, _marker) = console_on_sleeper(&perchd, "--read-only");
    let pid = sleeper.pid().to_string();
    let screen = tmux.wait_for("the list", |s| s.contains("F1Help"));
    assert!(!screen.contains("F9Act"), "{screen}");
    tmux.keys(&["k"]);
    tmux.keys(&["F9"]);
    tmux.keys(&["F7"]);
    tmux.keys(&["?"]);
    let help = tmux.wait_for("the help", |s| s.contains("this help"));
    assert!(!help.contains(&format!("Act on {pid}")), "{help}");
    assert!(
        !help.contains("Action menu"),
        "the help lists actions:\n{help}"
    );
    assert!(!help.contains("renice"), "the help lists actions:\n{help}");
    assert!(sleeper.child.try_wait().expect("try_wait").is_none());
    assert!(
        perch_audit::read(&perchd.audit_log)
            .expect("audit log")
            .next()
            .is_none(),
        "a read-only console sent a request"
    );
}
