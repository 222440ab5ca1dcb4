//! Renice: every thread of the target gets the new nice value (read back
//! with getpriority per thread); a dry run and an out-of-range priority
//! change nothing.
use perch_proto::v1::{ActionKind, ActionResult, ProcessOutcome};

use crate::helpers::helper;
use crate::support::{Proc, WAIT, executor, have_root_or_skip, key_of, request, wait_until};

fn threads(pid: u32) -> Vec<u32> {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .map(|d| {
            d.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

fn nice_of(tid: u32) -> i32 {
    // getpriority can return -1 legitimately: clear errno to tell.
    nix::errno::Errno::clear();
    // SAFETY: plain syscall wrapper on integers.
    let n = unsafe { libc::getpriority(libc::PRIO_PROCESS, tid) };
    assert_eq!(nix::errno::Errno::last_raw(), 0, "getpriority({tid})");
    n
}

fn nices(pid: u32) -> Vec<i32> {
    threads(pid).into_iter().map(nice_of).collect()
}

fn renice(pid: u32, prio: i32, dry_run: bool) -> perchd::actions::Outcome {
    let mut req = request(ActionKind::Renice, key_of(pid));
    req.priority = Some(prio);
    req.dry_run = dry_run;
    executor().execute(&req)
}

#[test]
fn renice_sets_every_thread() {
    if !have_root_or_skip("renice_sets_every_thread") {
        return;
    }
    let p = Proc::sh(&format!("exec {}", helper("threads")));
    let pid = p.pid();
    assert!(
        wait_until(WAIT, || threads(pid).len() >= 5),
        "threads: {:?}",
        threads(pid)
    );
    let n = threads(pid).len();
    for prio in [7, -5, 19] {
        let o = renice(pid, prio, false);
        assert_eq!(
            (o.result, o.code.as_str(), o.done),
            (ActionResult::Success, "ok", 1),
            "{o:?}"
        );
        assert_eq!(o.processes[0].outcome, i32::from(ProcessOutcome::Done));
        assert!(o.processes[0].detail.contains("(read back)"), "{o:?}");
        assert_eq!(nices(pid), vec![prio; n], "nice {prio} on every thread");
    }
    let o = renice(pid, 3, true);
    assert_eq!((o.result, o.done), (ActionResult::Success, 0), "{o:?}");
    assert_eq!(o.processes[0].outcome, i32::from(ProcessOutcome::WouldAct));
    assert_eq!(nices(pid), vec![19; n], "dry run changed nice");
    for bad in [20, -21] {
        let o = renice(pid, bad, false);
        assert_eq!(
            (o.result, o.code.as_str()),
            (ActionResult::NotSuccessful, "invalid_argument")
        );
        assert!(o.detail.contains("-20..19"), "{o:?}");
    }
    assert_eq!(nices(pid), vec![19; n]);
}

#[test]
fn a_thread_id_is_not_a_target() {
    if !have_root_or_skip("a_thread_id_is_not_a_target") {
        return;
    }
    let p = Proc::sh(&format!("exec {}", helper("threads")));
    let pid = p.pid();
    assert!(wait_until(WAIT, || threads(pid).len() >= 5));
    let tid = threads(pid)
        .into_iter()
        .find(|&t| t != pid)
        .expect("a thread");
    let key = key_of(tid);
    let o = executor().execute(&request(ActionKind::Kill, key));
    assert_eq!(
        (o.result, o.code.as_str()),
        (ActionResult::NotSuccessful, "invalid_argument"),
        "{o:?}"
    );
    assert!(crate::support::alive(pid));
}
