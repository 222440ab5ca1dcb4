//! Kill tree: the target and every descendant die, including a grandchild
//! that moved to its own process group and the children of a process that
//! forks in a loop while the kill runs; a dry run lists the same tree and
//! stops nothing.
use std::collections::HashSet;
use std::os::unix::process::ExitStatusExt as _;

use perch_proto::v1::{ActionKind, ActionResult, ProcessOutcome};

use crate::helpers::helper;
use crate::support::{
    Cgroups, Proc, WAIT, descendants, enter, event, have_root_or_skip, key_of, request, stat,
    wait_until,
};

/// Root sh → { sh → own-group helper, forker helper → its children, sleep }.
/// Returns the root and, once all are up, (own-group pid, forker pid).
fn spawn_tree(cg: &std::path::Path) -> (Proc, u32, u32) {
    let script = format!(
        "{}; sh -c '{} & wait' & {} & sleep 1000 & wait",
        enter(cg),
        helper("own-group"),
        helper("forker")
    );
    let root = Proc::sh(&script);
    let root_pgid = stat(root.pid()).map(|s| s.pgid);
    let mut found = (0, 0);
    let ready = wait_until(WAIT, || {
        let all = descendants(root.pid());
        let own = all
            .iter()
            .copied()
            .find(|&p| stat(p).is_some_and(|s| s.pgid == p && Some(s.pgid) != root_pgid));
        let forker = all.iter().copied().find(|&p| {
            all.iter()
                .filter(|&&c| stat(c).is_some_and(|s| s.ppid == p))
                .count()
                >= 10
        });
        if let (Some(o), Some(f)) = (own, forker) {
            found = (o, f);
            return true;
        }
        false
    });
    assert!(
        ready,
        "tree of {} never grew: {:?}",
        root.pid(),
        descendants(root.pid())
    );
    (root, found.0, found.1)
}

#[test]
fn kill_tree_leaves_no_survivor() {
    if !have_root_or_skip("kill_tree_leaves_no_survivor") {
        return;
    }
    let mut cgs = Cgroups::new("tree");
    let cg = cgs.make("t");
    let (mut root, own, forker) = spawn_tree(&cg);
    let o = crate::support::executor().execute(&request(ActionKind::KillTree, key_of(root.pid())));
    assert!(
        matches!(o.result, ActionResult::Success | ActionResult::Partial),
        "{o:?}"
    );
    let by_pid = |pid: u32| {
        o.processes
            .iter()
            .find(|p| p.key.is_some_and(|k| k.pid == pid))
    };
    for (what, pid) in [
        ("root", root.pid()),
        ("own-group grandchild", own),
        ("forker", forker),
    ] {
        let line = by_pid(pid).unwrap_or_else(|| panic!("{what} {pid} not in {o:?}"));
        assert_eq!(
            line.outcome,
            i32::from(ProcessOutcome::Done),
            "{what}: {line:?}"
        );
    }
    let forks = o.processes.iter().filter(|p| p.ppid == forker).count();
    assert!(
        forks >= 10,
        "only {forks} children of the forker acted on: {o:?}"
    );
    assert_eq!(
        o.done + o.already_gone,
        u32::try_from(o.processes.len()).unwrap_or(0)
    );
    // Everything the tree ever started lived in its cgroup: empty now.
    let empty = wait_until(WAIT, || !event(&cg, "populated"));
    assert!(
        empty,
        "survivors in {}: {:?}",
        cg.display(),
        crate::support::procs_in(&cg)
    );
    assert_eq!(root.wait().and_then(|s| s.signal()), Some(9));
}

#[test]
fn kill_tree_with_term_continues_the_stopped_tree() {
    if !have_root_or_skip("kill_tree_with_term_continues_the_stopped_tree") {
        return;
    }
    let mut cgs = Cgroups::new("tree-term");
    let cg = cgs.make("t");
    let mut root = Proc::sh(&format!(
        "{}; sleep 1000 & sh -c 'sleep 1000 & wait' & wait",
        enter(&cg)
    ));
    assert!(wait_until(WAIT, || descendants(root.pid()).len() == 3));
    let mut req = request(ActionKind::KillTree, key_of(root.pid()));
    req.signal = 15;
    let o = crate::support::executor().execute(&req);
    assert_eq!(
        (o.result, o.code.as_str(), o.done),
        (ActionResult::Success, "ok", 4),
        "{o:?}"
    );
    // TERM is only acted on once the stopped processes are continued.
    let empty = wait_until(WAIT, || !event(&cg, "populated"));
    assert!(
        empty,
        "TERM not delivered: {:?}",
        crate::support::procs_in(&cg)
    );
    assert_eq!(root.wait().and_then(|s| s.signal()), Some(15));
}

#[test]
fn dry_run_tree_lists_every_member_and_stops_none() {
    if !have_root_or_skip("dry_run_tree_lists_every_member_and_stops_none") {
        return;
    }
    let mut cgs = Cgroups::new("tree-dry");
    let cg = cgs.make("t");
    let root = Proc::sh(&format!(
        "{}; sleep 1000 & sh -c 'sleep 1000 & sleep 1000 & wait' & wait",
        enter(&cg)
    ));
    assert!(wait_until(WAIT, || descendants(root.pid()).len() == 4));
    let mut req = request(ActionKind::KillTree, key_of(root.pid()));
    req.dry_run = true;
    let o = crate::support::executor().execute(&req);
    assert_eq!((o.result, o.done), (ActionResult::Success, 0), "{o:?}");
    let mut want: HashSet<u32> = descendants(root.pid()).into_iter().collect();
    want.insert(root.pid());
    let got: HashSet<u32> = o
        .processes
        .iter()
        .filter_map(|p| p.key.map(|k| k.pid))
        .collect();
    assert_eq!(got, want, "{o:?}");
    assert!(
        o.processes
            .iter()
            .all(|p| p.outcome == i32::from(ProcessOutcome::WouldAct))
    );
    std::thread::sleep(std::time::Duration::from_millis(50));
    for pid in &want {
        let st = stat(*pid).unwrap_or_else(|| panic!("dry run: pid {pid} is gone"));
        assert!(
            !matches!(st.state, 'T' | 'Z'),
            "dry run touched pid {pid}: {st:?}"
        );
    }
}
