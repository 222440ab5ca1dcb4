//! Container and pod identity from real cgroups: the test makes
//! Kubernetes- and Docker-shaped cgroups under the cgroup2 mount, moves a
//! shell into one, and checks that the exec of its `sleep` (and the process
//! list) carry the pod uid, container id and runtime read from the path.
#![expect(
    clippy::expect_used,
    clippy::panic,
    reason = "helpers of end-to-end tests: a broken environment should fail the test loudly"
)]
use std::path::Path;

use perch_e2e::{
    Perchd,
    cgroups::{Cgroups, spawn_into},
    events::{EventLog, WAIT, find_exec, info, list_processes, pid},
    have_root_or_skip,
    procs::{eventually, pod_uid, random_hex},
};
use perch_proto::v1::Process;

struct Expected<'a> {
    cgroup_rel: &'a str,
    container_id: &'a str,
    runtime: &'a str,
    pod_uid: &'a str,
}

fn check(p: &Process, want: &Expected<'_>, what: &str) {
    assert!(
        p.cgroup_path.ends_with(want.cgroup_rel),
        "{what}: cgroup_path {:?} does not end with {}",
        p.cgroup_path,
        want.cgroup_rel
    );
    assert_eq!(p.container_id, want.container_id, "{what}: {p:?}");
    assert_eq!(p.container_runtime, want.runtime, "{what}: {p:?}");
    assert_eq!(p.pod_uid, want.pod_uid, "{what}: {p:?}");
}

/// Starts perchd (after the cgroups exist), runs the shell in `leaf`, and
/// checks the exec of `sleep` and the process list.
async fn run_in_cgroup(leaf: &Path, want: &Expected<'_>) {
    let perchd = Perchd::start(&[]).await;
    let mut client = perchd.client().await.expect("connect");
    let head = info(&mut client).await.head_seq;
    let mut log = EventLog::watch(&mut client, Some(head), &[])
        .await
        .expect("WatchEvents");
    let sh = spawn_into(leaf);
    let sh_pid = sh.pid();
    let is_sleep = |p: &Process| pid(p) == sh_pid && p.argv == ["sleep", "30"];
    let seen = log
        .until(WAIT, |ev| find_exec(ev, is_sleep).is_some())
        .await;
    assert!(seen, "no exec of sleep in pid {sh_pid}: {:?}", log.ended);
    let (_, exec) = find_exec(&log.events, is_sleep).expect("exec of sleep");
    check(exec, want, "exec event");

    let listed = eventually(WAIT, async || {
        let (procs, _) = list_processes(&mut client, false, &[sh_pid]).await.ok()?;
        procs
            .into_iter()
            .find(|p| pid(p) == sh_pid && p.argv == ["sleep", "30"])
    })
    .await
    .unwrap_or_else(|| panic!("pid {sh_pid} running sleep not listed"));
    check(&listed, want, "ListProcesses");
    drop(sh);
}

#[tokio::test(flavor = "multi_thread")]
async fn kubernetes_pod_container() {
    if !have_root_or_skip("kubernetes_pod_container") {
        return;
    }
    let uid = pod_uid();
    let id = random_hex(32);
    let rel = format!(
        "kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod{}.slice/cri-containerd-{id}.scope",
        uid.replace('-', "_")
    );
    let cg = Cgroups::make(&rel);
    let scope = format!("/cri-containerd-{id}.scope");
    let want = Expected {
        cgroup_rel: &rel,
        container_id: &id,
        runtime: "containerd",
        pod_uid: &uid,
    };
    assert!(want.cgroup_rel.ends_with(&scope));
    run_in_cgroup(&cg.leaf, &want).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn docker_container() {
    if !have_root_or_skip("docker_container") {
        return;
    }
    let id = random_hex(32);
    let rel = format!("system.slice/docker-{id}.scope");
    let cg = Cgroups::make(&rel);
    let want = Expected {
        cgroup_rel: &rel,
        container_id: &id,
        runtime: "docker",
        pod_uid: "",
    };
    run_in_cgroup(&cg.leaf, &want).await;
}
