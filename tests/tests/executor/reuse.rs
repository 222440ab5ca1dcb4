//! Pid reuse: the target exits and a new process is given its pid (clone3
//! with `set_tid`).  A request carrying the old key must not touch the new
//! process, whatever the action.
use perch_proto::v1::{ActionKind, ActionResult};

use crate::helpers::{RawChild, spawn_with_pid};
use crate::support::{Proc, WAIT, executor, have_root_or_skip, key_of, request, stat, wait_until};

#[test]
fn a_stale_key_never_touches_the_process_that_reused_the_pid() {
    if !have_root_or_skip("a_stale_key_never_touches_the_process_that_reused_the_pid") {
        return;
    }
    let ex = executor();
    // The pid may be taken by someone else between reaping and clone3.
    let (old, new): (_, RawChild) = (0..10)
        .find_map(|_| {
            let mut first = Proc::sh("exec sleep 1000");
            let key = key_of(first.pid());
            // Keys compare at clock-tick granularity (10 ms): let the new
            // process start a few ticks later, as any real reuse does.
            std::thread::sleep(std::time::Duration::from_millis(30));
            let _ = first.child.kill();
            first.wait()?;
            // Gone and not (yet) reused: no such process.
            let o = ex.execute(&request(ActionKind::Kill, key));
            if stat(key.pid).is_none() {
                assert_eq!(
                    (o.result, o.code.as_str()),
                    (ActionResult::NotSuccessful, "no_such_process"),
                    "{o:?}"
                );
                assert!(o.detail.starts_with("no such process"), "{}", o.detail);
            }
            spawn_with_pid(key.pid).ok().map(|c| (key, c))
        })
        .expect("clone3 with set_tid never got the freed pid");
    assert_eq!(new.0, old.pid);
    // Settled in its sleep, so any later change of state is ours.
    assert!(wait_until(WAIT, || stat(new.0).is_some_and(|s| s.state == 'S')));
    let fresh = key_of(new.0);
    assert!(
        !perch_proto::same_start_time(fresh.start_time_ns, old.start_time_ns),
        "the new process started in the same clock tick"
    );

    for kind in [
        ActionKind::Kill,
        ActionKind::KillTree,
        ActionKind::KillGroup,
        ActionKind::Renice,
        ActionKind::FreezeTree,
        ActionKind::KillPod,
    ] {
        let mut req = request(kind, old);
        req.priority = Some(10);
        let o = ex.execute(&req);
        assert_eq!(
            (o.result, o.code.as_str()),
            (ActionResult::NotSuccessful, "target_replaced"),
            "{kind:?}: {o:?}"
        );
        assert!(
            o.detail
                .contains(&format!("pid {} now belongs to a process started", old.pid)),
            "{}",
            o.detail
        );
        assert!(o.processes.is_empty());
    }
    let st = stat(new.0).expect("the new process is alive");
    assert_eq!(st.state, 'S', "the new process was touched: {st:?}");
    assert_eq!(key_of(new.0), fresh);
    // SAFETY: plain syscall wrappers on integers.
    let (nice, ours) = unsafe {
        (
            libc::getpriority(libc::PRIO_PROCESS, new.0),
            libc::getpriority(libc::PRIO_PROCESS, 0),
        )
    };
    assert_eq!(nice, ours, "the new process was reniced");
}
