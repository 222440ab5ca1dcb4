//! Kill one process: the default signal is KILL, a chosen one is sent as
//! is, and a dry run leaves the process running.
use std::os::unix::process::ExitStatusExt as _;
use std::process::Command;

use perch_proto::v1::{ActionKind, ActionResult, ProcessOutcome};

use crate::support::{Proc, alive, executor, have_root_or_skip, key_of, request};

fn kill_with(signal: i32) -> (perchd::actions::Outcome, Option<i32>) {
    let mut p = Proc::spawn(Command::new("sleep").arg("1000"));
    let key = key_of(p.pid());
    let mut req = request(ActionKind::Kill, key);
    req.signal = signal;
    let o = executor().execute(&req);
    let status = p.wait().and_then(|s| s.signal());
    (o, status)
}

#[test]
fn kill_sends_kill_by_default_and_the_chosen_signal_otherwise() {
    if !have_root_or_skip("kill_sends_kill_by_default_and_the_chosen_signal_otherwise") {
        return;
    }
    for (asked, delivered) in [(0, 9), (15, 15), (1, 1)] {
        let (o, status) = kill_with(asked);
        assert_eq!(o.result, ActionResult::Success, "{o:?}");
        assert_eq!(
            (o.code.as_str(), o.done, o.already_gone),
            ("ok", 1, 0),
            "{o:?}"
        );
        assert_eq!(o.processes.len(), 1, "{o:?}");
        assert_eq!(o.processes[0].outcome, i32::from(ProcessOutcome::Done));
        assert_eq!(o.processes[0].comm, "sleep");
        assert_eq!(status, Some(delivered), "signal {asked}: {o:?}");
    }
}

#[test]
fn dry_run_kill_reports_and_touches_nothing() {
    if !have_root_or_skip("dry_run_kill_reports_and_touches_nothing") {
        return;
    }
    let p = Proc::spawn(Command::new("sleep").arg("1000"));
    let key = key_of(p.pid());
    let mut req = request(ActionKind::Kill, key);
    req.dry_run = true;
    let o = executor().execute(&req);
    assert_eq!(
        (o.result, o.code.as_str(), o.done),
        (ActionResult::Success, "ok", 0),
        "{o:?}"
    );
    assert_eq!(o.processes.len(), 1);
    assert_eq!(o.processes[0].outcome, i32::from(ProcessOutcome::WouldAct));
    assert_eq!(o.processes[0].key, Some(key));
    assert!(
        o.detail.starts_with("dry run: would send KILL"),
        "{}",
        o.detail
    );
    std::thread::sleep(std::time::Duration::from_millis(50));
    assert!(alive(p.pid()), "dry run killed pid {}", p.pid());
}
