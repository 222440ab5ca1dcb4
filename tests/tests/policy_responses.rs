//! Every agent response of a workload policy run once for real by a real
//! perchd (root), on real processes in cgroups the test makes:
//! agentReniceProcess (first in audit mode: untouched, and the audit log
//! says what would have been initiated), agentKillProcessTree,
//! agentKillProcessGroup, agentKillProcess on a process that has already
//! exited ("not successful: no such process"), and agentKillPod on a
//! pod-shaped cgroup (every container of the pod, nothing outside it).
#![expect(
    clippy::expect_used,
    clippy::panic,
    reason = "end-to-end tests: a broken environment should fail the test loudly"
)]
use std::{fs, path::Path, process::Command, time::Duration};

use perch_e2e::{
    Perchd,
    cgroups::Cgroups,
    events::EventLog,
    have_root_or_skip,
    policies::{alive, audit_records, outcome, perch, wait_answered},
    procs::{ChildGuard, pod_uid, random_hex},
};
use perch_proto::v1 as pb;

/// `PROGRAM ARGS` started inside the cgroup `leaf` (its parent stays
/// outside, so it is a root of the workload); `setsid` gives it a
/// process group of its own.
fn start_in(leaf: &Path, program: &Path, args: &str, setsid: bool) -> ChildGuard {
    let script = format!(
        "echo $$ > {}/cgroup.procs && exec {} {args}",
        leaf.display(),
        program.display()
    );
    let mut cmd = if setsid {
        let mut c = Command::new("setsid");
        c.args(["/bin/sh", "-c", &script]);
        c
    } else {
        let mut c = Command::new("/bin/sh");
        c.args(["-c", &script]);
        c
    };
    ChildGuard::spawn(&mut cmd)
}

/// A copy of `from` named `name` in `dir`: a process of its own name.
fn named(dir: &Path, from: &str, name: &str) -> std::path::PathBuf {
    let to = dir.join(name);
    fs::copy(from, &to).expect("copy");
    to
}

fn nice(pid: u32) -> i64 {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
    let after = stat.rsplit(')').next().expect("fields");
    after
        .split_whitespace()
        .nth(16)
        .and_then(|n| n.parse().ok())
        .expect("nice")
}

fn procs_in(leaf: &Path) -> Vec<u32> {
    fs::read_to_string(leaf.join("cgroup.procs"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

fn comm(pid: u32) -> String {
    fs::read_to_string(format!("/proc/{pid}/comm"))
        .unwrap_or_default()
        .trim()
        .to_owned()
}

async fn until(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..200 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what}");
}

fn service_policy(name: &str, cgroup: &str, mode: &str) -> String {
    format!(
        "apiVersion: spyderbat/v1
kind: SpyderbatPolicy
metadata: {{name: {name}, type: linux-service}}
spec:
  serviceSelector: {{cgroup: \"{cgroup}\"}}
  mode: {mode}
  processPolicy: []
  networkPolicy: {{ingress: [], egress: []}}
  response:
    default: []
    actions:
    - agentReniceProcess: {{priority: \"10\", processSelector: {{name: perch-nice}}}}
    - agentKillProcessTree: {{processSelector: {{name: perch-tree}}}}
    - agentKillProcessGroup: {{processSelector: {{name: perch-group}}}}
    - agentKillProcess: {{processSelector: {{name: perch-gone}}}}
"
    )
}

fn apply(perchd: &Perchd, dir: &Path, name: &str, text: &str) {
    let file = dir.join(format!("{name}.yaml"));
    fs::write(&file, text).expect("write");
    perch(
        perchd,
        &["policy", "apply", "-f", &file.display().to_string()],
    );
}

#[tokio::test(flavor = "multi_thread")]
#[expect(clippy::too_many_lines, reason = "one perchd, each response in turn")]
async fn each_agent_response_runs_for_real() {
    if !have_root_or_skip("each_agent_response_runs_for_real") {
        return;
    }
    let me = std::process::id();
    let name = format!("e2e-acts-{me}");
    let cg = Cgroups::make(&format!("perch-e2e-acts-{me}.service"));
    let cgroup = format!("/perch-e2e-acts-{me}.service");
    let policies = tempfile::tempdir().expect("tempdir");
    let perchd = Perchd::start(&["--policies", &policies.path().display().to_string()]).await;
    let mut client = perchd.client().await.expect("connect");
    let mut log = EventLog::watch(&mut client, None, &[pb::EventKind::Deviation])
        .await
        .expect("watch");
    let work = tempfile::tempdir().expect("tempdir");
    let docs = work.path();
    let sleep = named(docs, "/bin/sleep", "perch-nice");
    let dash = "/bin/sh";
    let tree = named(docs, dash, "perch-tree");
    let group = named(docs, dash, "perch-group");
    let gone = named(docs, "/bin/true", "perch-gone");

    // ---- audit: the renice is only recorded as what would have been done.
    apply(
        &perchd,
        docs,
        &name,
        &service_policy(&name, &cgroup, "audit"),
    );
    let quiet = start_in(&cg.leaf, &sleep, "1000", false);
    let pid = quiet.child.id();
    let d = wait_answered(&mut log, &name, pb::DeviationKind::Process, Some(pid)).await;
    let r = outcome(&d, "agentReniceProcess");
    assert_eq!(r.outcome, i32::from(pb::ResponseOutcome::Audit), "{r:?}");
    assert_eq!(nice(pid), 0, "audit mode touches nothing");
    let records = audit_records(&perchd);
    let would = records
        .iter()
        .find(|x| x["id"] == r.audit_id)
        .unwrap_or_else(|| panic!("record {}: {records:#?}", r.audit_id));
    assert_eq!(would["actor_user"], format!("policy:{name}"));
    assert!(
        would["reason"].as_str().is_some_and(|s| s.starts_with(&format!(
            "(audit mode) would have initiated agentReniceProcess for pid {pid}, not initiated due to audit mode"
        ))),
        "{would}"
    );

    // ---- enforce: renice.
    apply(
        &perchd,
        docs,
        &name,
        &service_policy(&name, &cgroup, "enforce"),
    );
    let niced = start_in(&cg.leaf, &sleep, "1000", false);
    let pid = niced.child.id();
    let d = wait_answered(&mut log, &name, pb::DeviationKind::Process, Some(pid)).await;
    let r = outcome(&d, "agentReniceProcess");
    assert_eq!(r.outcome, i32::from(pb::ResponseOutcome::Success), "{r:?}");
    assert_eq!(nice(pid), 10);

    // ---- kill the tree: the shell and both its children.
    let tree_run = start_in(
        &cg.leaf,
        &tree,
        "-c 'sleep 1000 & sleep 1000 & wait'",
        false,
    );
    let pid = tree_run.child.id();
    let d = wait_answered(&mut log, &name, pb::DeviationKind::Process, Some(pid)).await;
    let r = outcome(&d, "agentKillProcessTree");
    assert_eq!(r.outcome, i32::from(pb::ResponseOutcome::Success), "{r:?}");
    until("the tree is gone", || {
        procs_in(&cg.leaf).iter().all(|p| comm(*p) == "perch-nice")
    })
    .await;

    // ---- kill the group: a session of its own, every member.
    let group_run = start_in(
        &cg.leaf,
        &group,
        "-c 'sleep 1000 & sleep 1000 & wait'",
        true,
    );
    // setsid execs in place (the spawned child leads no group yet): the
    // leader is the child itself.
    let leader = group_run.child.id();
    let d = wait_answered(&mut log, &name, pb::DeviationKind::Process, Some(leader)).await;
    let r = outcome(&d, "agentKillProcessGroup");
    assert_eq!(r.outcome, i32::from(pb::ResponseOutcome::Success), "{r:?}");
    until("the group is gone", || {
        procs_in(&cg.leaf).iter().all(|p| comm(*p) == "perch-nice")
    })
    .await;

    // ---- a process gone before the response: "no such process".  It
    // exits within microseconds of its exec, so the response nearly always
    // finds it gone; a few tries make "nearly" certain.
    let mut seen = Vec::new();
    for _ in 0..20 {
        let p = start_in(&cg.leaf, &gone, "", false);
        let pid = p.child.id();
        let d = wait_answered(&mut log, &name, pb::DeviationKind::Process, Some(pid)).await;
        let r = outcome(&d, "agentKillProcess");
        if r.outcome == i32::from(pb::ResponseOutcome::NotSuccessful) {
            assert_eq!(
                r.detail,
                format!("unable to agentKillProcess pid {pid}: no such process")
            );
            seen.push(r);
            break;
        }
        assert_eq!(r.outcome, i32::from(pb::ResponseOutcome::Success), "{r:?}");
    }
    assert!(!seen.is_empty(), "no response ever found the process gone");
    assert!(alive(niced.child.id()) && alive(quiet.child.id()));

    // ---- kill the pod: both containers, nothing outside it.
    let pod = format!("perch-e2e-pods-{me}/kubepods/burstable/pod{}", pod_uid());
    // 32 random bytes: a 64-hex container id.
    let (id1, id2) = (random_hex(32), random_hex(32));
    let c1 = Cgroups::make(&format!("{pod}/{id1}"));
    let c2 = Cgroups::make(&format!("{pod}/{id2}"));
    let pod_name = format!("e2e-pod-{me}");
    let pod_policy = format!(
        "apiVersion: spyderbat/v1
kind: SpyderbatPolicy
metadata: {{name: {pod_name}, type: container}}
spec:
  containerSelector: {{containerID: \"{id1}\"}}
  mode: enforce
  processPolicy:
  - {{name: sleep, exe: [\"*/sleep\"], id: sleep_0, euser: [root]}}
  networkPolicy: {{ingress: [], egress: []}}
  response:
    default: []
    actions:
    - agentKillPod: {{containerSelector: {{containerID: \"{id1}\"}}}}
"
    );
    apply(&perchd, docs, &pod_name, &pod_policy);
    let main = start_in(&c1.leaf, Path::new("/bin/sleep"), "1000", false);
    let side = start_in(&c2.leaf, Path::new("/bin/sleep"), "1000", false);
    until("both containers run", || {
        procs_in(&c1.leaf).len() == 1 && procs_in(&c2.leaf).len() == 1
    })
    .await;
    let intruder = named(docs, "/bin/sleep", "perch-pod");
    let bad = start_in(&c1.leaf, &intruder, "1000", false);
    let pid = bad.child.id();
    let d = wait_answered(&mut log, &pod_name, pb::DeviationKind::Process, Some(pid)).await;
    let r = outcome(&d, "agentKillPod");
    assert_eq!(r.outcome, i32::from(pb::ResponseOutcome::Success), "{r:?}");
    until("the pod is gone", || {
        procs_in(&c1.leaf).is_empty() && procs_in(&c2.leaf).is_empty()
    })
    .await;
    assert!(!alive(main.child.id()) && !alive(side.child.id()));
    assert!(alive(niced.child.id()), "nothing outside the pod");
}
