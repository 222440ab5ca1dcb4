//! Kill group: every process of the target's process group dies — also
//! one that is no descendant of the leader — and a descendant that moved
//! to a group of its own is left alone.
use std::os::unix::process::CommandExt as _;
use std::process::Command;

use perch_proto::v1::{ActionKind, ActionResult, ProcessOutcome};

use crate::helpers::helper;
use crate::support::{
    Cgroups, Proc, WAIT, alive, descendants, enter, executor, have_root_or_skip, key_of, request,
    stat, wait_until,
};

#[test]
fn kill_group_kills_the_group_and_only_the_group() {
    if !have_root_or_skip("kill_group_kills_the_group_and_only_the_group") {
        return;
    }
    let mut cgs = Cgroups::new("group");
    let cg = cgs.make("g");
    let script = format!(
        "{}; sleep 1000 & sleep 1000 & {} & wait",
        enter(&cg),
        helper("own-group")
    );
    let mut leader = Proc::spawn(
        Command::new("/bin/sh")
            .args(["-c", &script])
            .process_group(0),
    );
    let pgid = leader.pid();
    // A process of the same group that is not the leader's descendant.
    let mut joiner = Proc::spawn(
        Command::new("/bin/sh")
            .args(["-c", &format!("{}; exec sleep 1000", enter(&cg))])
            .process_group(i32::try_from(pgid).expect("pid")),
    );
    let outsider = || {
        descendants(pgid)
            .into_iter()
            .find(|&p| stat(p).is_some_and(|s| s.pgid == p && p != pgid))
    };
    assert!(wait_until(WAIT, || outsider().is_some()
        && descendants(pgid).len() >= 3));
    let outsider = outsider().expect("own-group helper");
    let members = |pgid: u32| -> Vec<u32> {
        let mut v: Vec<u32> = descendants(pgid)
            .into_iter()
            .chain([pgid, joiner.pid()])
            .filter(|&p| stat(p).is_some_and(|s| s.pgid == pgid))
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    let before = members(pgid);
    assert_eq!(before.len(), 4, "leader, two sleeps, joiner: {before:?}");

    // Target the joiner: the group is found from its pgid.
    let o = executor().execute(&request(ActionKind::KillGroup, key_of(joiner.pid())));
    assert_eq!(
        (o.result, o.code.as_str(), o.done),
        (ActionResult::Success, "ok", 4),
        "{o:?}"
    );
    let mut acted: Vec<u32> = o
        .processes
        .iter()
        .filter_map(|p| p.key.map(|k| k.pid))
        .collect();
    acted.sort_unstable();
    assert_eq!(acted, before, "{o:?}");
    assert!(
        o.processes
            .iter()
            .all(|p| p.outcome == i32::from(ProcessOutcome::Done))
    );
    assert!(leader.wait().is_some() && joiner.wait().is_some());
    assert!(
        wait_until(WAIT, || before.iter().all(|&p| !alive(p))),
        "group members left: {:?}",
        before.iter().filter(|&&p| alive(p)).collect::<Vec<_>>()
    );
    let st = stat(outsider).expect("the own-group process survives");
    assert!(
        !matches!(st.state, 'T' | 'Z' | 'X'),
        "outsider touched: {st:?}"
    );
}
