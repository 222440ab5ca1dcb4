//! Refusals: init, kernel threads, perchd itself (here: the test process)
//! and protected pids are never acted on — also as members of a tree or
//! group — and a refused request touches nothing.
use perch_proto::v1::{ActionKind, ActionResult};
use perchd::actions::Protected;

use crate::support::{
    Cgroups, Proc, WAIT, alive, comm, descendants, enter, executor, have_root_or_skip, key_of,
    request, stat, wait_until,
};

#[test]
fn init_kernel_threads_and_perchd_are_refused() {
    if !have_root_or_skip("init_kernel_threads_and_perchd_are_refused") {
        return;
    }
    let me = std::process::id();
    let parent = std::os::unix::process::parent_id();
    // Spawned without a group of its own: in the test process's group.
    let sibling = Proc::sh("exec sleep 1000");
    let cases = [
        (ActionKind::Kill, 1, false, "refused_init"),
        (ActionKind::FreezeTree, 1, true, "refused_init"),
        (ActionKind::Kill, 2, false, "refused_kernel_thread"),
        (ActionKind::Renice, 2, false, "refused_kernel_thread"),
        (ActionKind::Kill, me, false, "refused_collector"),
        (ActionKind::FreezeTree, me, false, "refused_collector"),
        // The tree of our parent includes perchd (the test process).
        (ActionKind::KillTree, parent, true, "refused_collector"),
        (
            ActionKind::KillGroup,
            sibling.pid(),
            false,
            "refused_collector",
        ),
    ];
    for (kind, pid, dry_run, code) in cases {
        let mut req = request(kind, key_of(pid));
        req.dry_run = dry_run;
        req.priority = Some(0);
        let o = executor().execute(&req);
        assert_eq!(
            (o.result, o.code.as_str()),
            (ActionResult::NotSuccessful, code),
            "{kind:?} {pid}: {o:?}"
        );
        assert!(o.detail.starts_with("refused: "), "{}", o.detail);
        assert!(o.processes.is_empty(), "{o:?}");
    }
    assert_eq!(stat(2).map(|s| s.state), Some('S'));
    assert_eq!(
        stat(sibling.pid()).map(|s| s.state),
        Some('S'),
        "refused group was touched"
    );
}

#[test]
fn protected_pids_are_refused_alone_and_inside_a_tree() {
    if !have_root_or_skip("protected_pids_are_refused_alone_and_inside_a_tree") {
        return;
    }
    let mut cgs = Cgroups::new("refuse");
    let cg = cgs.make("t");
    let root = Proc::sh(&format!(
        "{}; sleep 1000 & sh -c 'sleep 1000 & wait' & wait",
        enter(&cg)
    ));
    assert!(wait_until(WAIT, || descendants(root.pid()).len() == 3));
    let tree: Vec<u32> = descendants(root.pid());
    // The grandchild: the sleep under the inner sh.
    let grandchild = tree
        .iter()
        .copied()
        .find(|&p| stat(p).is_some_and(|s| s.ppid != root.pid()))
        .expect("grandchild");
    // Forked by the inner shell: wait for its exec of sleep.
    assert!(wait_until(WAIT, || comm(grandchild) == "sleep"));
    let guard = Protected {
        pid: grandchild,
        code: "refused_requester",
        why: "the requesting console".to_owned(),
    };
    for (kind, target) in [
        (ActionKind::Kill, grandchild),
        (ActionKind::KillTree, root.pid()),
        (ActionKind::FreezeTree, root.pid()),
    ] {
        let mut req = request(kind, key_of(target));
        req.protected.push(guard.clone());
        let o = executor().execute(&req);
        assert_eq!(
            (o.result, o.code.as_str()),
            (ActionResult::NotSuccessful, "refused_requester"),
            "{kind:?}: {o:?}"
        );
        assert!(
            o.detail
                .contains(&format!("pid {grandchild} (sleep): the requesting console")),
            "{}",
            o.detail
        );
        for &p in tree.iter().chain([&root.pid()]) {
            assert!(alive(p), "{kind:?} refused, yet pid {p} is gone");
            assert_ne!(
                stat(p).map(|s| s.state),
                Some('T'),
                "{kind:?} refused, yet pid {p} is stopped"
            );
        }
    }
}
