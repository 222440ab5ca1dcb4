//! Freeze then thaw a tree: with a cgroup of its own the cgroup is frozen
//! (read back from cgroup.events), without one every member is stopped
//! (read back from /proc state `T`) and a bystander in the same cgroup is
//! left running.
use perch_proto::v1::{ActionKind, ActionResult};

use crate::support::{
    Cgroups, Proc, WAIT, descendants, enter, event, executor, have_root_or_skip, key_of, request,
    stat, wait_until,
};

fn tree_of(root: &Proc) -> Vec<u32> {
    let mut v = descendants(root.pid());
    v.push(root.pid());
    v
}

fn all_in_state(pids: &[u32], want_stopped: bool) -> bool {
    pids.iter()
        .all(|&p| stat(p).is_some_and(|s| (s.state == 'T') == want_stopped))
}

#[test]
fn freeze_tree_with_its_own_cgroup_uses_cgroup_freeze() {
    if !have_root_or_skip("freeze_tree_with_its_own_cgroup_uses_cgroup_freeze") {
        return;
    }
    let mut cgs = Cgroups::new("freeze-own");
    let cg = cgs.make("t");
    let root = Proc::sh(&format!(
        "{}; sleep 1000 & sh -c 'sleep 1000 & wait' & wait",
        enter(&cg)
    ));
    assert!(wait_until(WAIT, || descendants(root.pid()).len() == 3));
    let key = key_of(root.pid());
    let o = executor().execute(&request(ActionKind::FreezeTree, key));
    assert_eq!(
        (o.result, o.code.as_str(), o.done),
        (ActionResult::Success, "ok", 4),
        "{o:?}"
    );
    assert!(o.detail.contains("cgroup.freeze"), "{}", o.detail);
    assert!(event(&cg, "frozen"), "cgroup.events says not frozen");
    // Frozen by the cgroup, not stopped by signals.
    assert!(all_in_state(&tree_of(&root), false));

    let o = executor().execute(&request(ActionKind::ThawTree, key));
    assert_eq!(
        (o.result, o.code.as_str(), o.done),
        (ActionResult::Success, "ok", 4),
        "{o:?}"
    );
    assert!(o.detail.contains("cgroup.freeze"), "{}", o.detail);
    assert!(!event(&cg, "frozen"), "cgroup.events says still frozen");
}

#[test]
fn freeze_tree_sharing_its_cgroup_stops_the_tree_only() {
    if !have_root_or_skip("freeze_tree_sharing_its_cgroup_stops_the_tree_only") {
        return;
    }
    let mut cgs = Cgroups::new("freeze-shared");
    let cg = cgs.make("t");
    let root = Proc::sh(&format!(
        "{}; sleep 1000 & sh -c 'sleep 1000 & wait' & wait",
        enter(&cg)
    ));
    let bystander = Proc::sh(&format!("{}; exec sleep 1000", enter(&cg)));
    assert!(wait_until(WAIT, || descendants(root.pid()).len() == 3));
    assert!(wait_until(WAIT, || stat(bystander.pid())
        .is_some_and(|s| s.state == 'S')));
    let tree = tree_of(&root);
    let key = key_of(root.pid());

    let mut dry = request(ActionKind::FreezeTree, key);
    dry.dry_run = true;
    let o = executor().execute(&dry);
    assert_eq!(
        (o.result, o.done, o.processes.len()),
        (ActionResult::Success, 0, 4),
        "{o:?}"
    );
    assert!(all_in_state(&tree, false), "dry run stopped something");

    let o = executor().execute(&request(ActionKind::FreezeTree, key));
    assert_eq!(
        (o.result, o.code.as_str(), o.done),
        (ActionResult::Success, "ok", 4),
        "{o:?}"
    );
    assert!(o.detail.contains("SIGSTOP"), "{}", o.detail);
    assert!(
        wait_until(WAIT, || all_in_state(&tree, true)),
        "tree not stopped"
    );
    assert!(!event(&cg, "frozen"));
    assert!(
        stat(bystander.pid()).is_some_and(|s| s.state == 'S'),
        "bystander touched"
    );

    let o = executor().execute(&request(ActionKind::ThawTree, key));
    assert_eq!(
        (o.result, o.code.as_str(), o.done),
        (ActionResult::Success, "ok", 4),
        "{o:?}"
    );
    assert!(o.detail.contains("SIGCONT"), "{}", o.detail);
    assert!(
        wait_until(WAIT, || all_in_state(&tree, false)),
        "tree still stopped"
    );
}
