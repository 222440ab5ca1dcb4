//! Pod actions on pod-shaped cgroups made under the cgroup2 mount
//! (`.../kubepods/burstable/pod<uid>/<container id>`): kill every process
//! of the pod and nothing outside it, freeze then thaw it, refuse a pod
//! holding a protected process, and answer `no_pod` outside pods.
use std::collections::HashSet;
use std::fs;
use std::os::unix::process::ExitStatusExt as _;
use std::path::PathBuf;

use perch_proto::v1::{ActionKind, ActionResult, ProcessOutcome};
use perchd::actions::Protected;

use crate::support::{
    Cgroups, Proc, WAIT, alive, descendants, enter, event, executor, have_root_or_skip, key_of,
    pod_uid, procs_in, random_hex, request, wait_until,
};

struct Pod {
    cgs: Cgroups,
    dir: PathBuf,
    uid: String,
    /// sh with two sleeps in container 1.
    multi: Proc,
    /// sleep in container 2.
    single: Proc,
    /// sleep in a cgroup next to the pod.
    outside: Proc,
}

impl Pod {
    fn start(tag: &str) -> Self {
        let uid = pod_uid();
        let mut cgs = Cgroups::new(tag);
        let pod = format!("kubepods/burstable/pod{uid}");
        let c1 = cgs.make(&format!("{pod}/{}", random_hex(32)));
        let c2 = cgs.make(&format!("{pod}/{}", random_hex(32)));
        let other = cgs.make("kubepods/burstable/other");
        let multi = Proc::sh(&format!("{}; sleep 1000 & sleep 1000 & wait", enter(&c1)));
        let single = Proc::sh(&format!("{}; exec sleep 1000", enter(&c2)));
        let outside = Proc::sh(&format!("{}; exec sleep 1000", enter(&other)));
        let up = wait_until(WAIT, || {
            procs_in(&c1).len() == 3 && procs_in(&c2).len() == 1 && procs_in(&other).len() == 1
        });
        assert!(up, "pod processes did not start");
        let dir = cgs.root().join(&pod);
        Self {
            cgs,
            dir,
            uid,
            multi,
            single,
            outside,
        }
    }

    /// Every pid in the pod (all containers).
    fn members(&self) -> HashSet<u32> {
        let mut m: HashSet<u32> = descendants(self.multi.pid()).into_iter().collect();
        m.insert(self.multi.pid());
        m.insert(self.single.pid());
        m
    }
}

fn pids(o: &perchd::actions::Outcome) -> HashSet<u32> {
    o.processes
        .iter()
        .filter_map(|p| p.key.map(|k| k.pid))
        .collect()
}

#[test]
fn kill_pod_kills_every_process_of_the_pod_and_nothing_else() {
    if !have_root_or_skip("kill_pod_kills_every_process_of_the_pod_and_nothing_else") {
        return;
    }
    let mut pod = Pod::start("pod-kill");
    let members = pod.members();
    assert_eq!(members.len(), 4);
    let key = key_of(pod.single.pid());

    let mut dry = request(ActionKind::KillPod, key);
    dry.dry_run = true;
    let o = executor().execute(&dry);
    assert_eq!((o.result, o.done), (ActionResult::Success, 0), "{o:?}");
    assert_eq!(pids(&o), members, "{o:?}");
    assert!(
        o.processes
            .iter()
            .all(|p| p.outcome == i32::from(ProcessOutcome::WouldAct))
    );
    assert!(
        members.iter().all(|&p| alive(p)),
        "dry run killed something"
    );

    let o = executor().execute(&request(ActionKind::KillPod, key));
    assert_eq!(
        (o.result, o.code.as_str(), o.done),
        (ActionResult::Success, "ok", 4),
        "{o:?}"
    );
    assert_eq!(pids(&o), members, "{o:?}");
    assert!(o.detail.contains(&pod.uid), "{}", o.detail);
    // The wait for the pod to empty is the watch: every member is seen to
    // exit, and the one this test is the parent of (a zombie until it is
    // waited for) says how.
    assert!(
        o.processes
            .iter()
            .all(|p| p.outcome == i32::from(ProcessOutcome::Exited)),
        "{o:?}"
    );
    let single = o
        .processes
        .iter()
        .find(|p| p.key.is_some_and(|k| k.pid == pod.single.pid()))
        .and_then(|p| p.exit);
    assert_eq!(single.and_then(|e| e.signal), Some(9), "{o:?}");
    assert!(wait_until(WAIT, || !event(&pod.dir, "populated")));
    assert_eq!(pod.multi.wait().and_then(|s| s.signal()), Some(9));
    assert_eq!(pod.single.wait().and_then(|s| s.signal()), Some(9));
    assert!(
        alive(pod.outside.pid()),
        "a process outside the pod was killed"
    );
    // The freeze used to hold the pod still during the kill is lifted.
    let freeze = fs::read_to_string(pod.dir.join("cgroup.freeze")).unwrap_or_default();
    assert_eq!(freeze.trim(), "0");

    let o = executor().execute(&request(ActionKind::KillPod, key_of(pod.outside.pid())));
    assert_eq!(
        (o.result, o.code.as_str()),
        (ActionResult::NotSuccessful, "no_pod"),
        "{o:?}"
    );
    assert!(alive(pod.outside.pid()));
    drop(pod.cgs);
}

#[test]
fn pod_holding_a_protected_process_is_refused() {
    if !have_root_or_skip("pod_holding_a_protected_process_is_refused") {
        return;
    }
    let pod = Pod::start("pod-protected");
    let console = descendants(pod.multi.pid())[0];
    let mut req = request(ActionKind::KillPod, key_of(pod.single.pid()));
    req.protected.push(Protected {
        pid: console,
        code: "refused_requester",
        why: "the requesting console".to_owned(),
    });
    for kind in [ActionKind::KillPod, ActionKind::FreezePod] {
        req.kind = kind;
        let o = executor().execute(&req);
        assert_eq!(
            (o.result, o.code.as_str()),
            (ActionResult::NotSuccessful, "refused_requester"),
            "{o:?}"
        );
        assert!(o.detail.contains(&format!("pid {console}")), "{}", o.detail);
        assert!(o.processes.is_empty());
    }
    assert!(
        pod.members().iter().all(|&p| alive(p)),
        "refused, yet a process died"
    );
    assert!(!event(&pod.dir, "frozen"), "refused, yet the pod froze");
}

#[test]
fn freeze_then_thaw_pod() {
    if !have_root_or_skip("freeze_then_thaw_pod") {
        return;
    }
    let pod = Pod::start("pod-freeze");
    let members = pod.members();
    let key = key_of(pod.multi.pid());
    let o = executor().execute(&request(ActionKind::FreezePod, key));
    assert_eq!(
        (o.result, o.code.as_str(), o.done),
        (ActionResult::Success, "ok", 4),
        "{o:?}"
    );
    assert_eq!(pids(&o), members);
    assert!(event(&pod.dir, "frozen"), "cgroup.events says not frozen");
    assert!(members.iter().all(|&p| alive(p)));
    let o = executor().execute(&request(ActionKind::ThawPod, key));
    assert_eq!(
        (o.result, o.code.as_str(), o.done),
        (ActionResult::Success, "ok", 4),
        "{o:?}"
    );
    assert!(
        !event(&pod.dir, "frozen"),
        "cgroup.events says still frozen"
    );
}
