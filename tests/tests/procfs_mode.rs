//! The /proc polling fallback: forced with `--procfs`, and chosen on its own
//! by a perchd that runs unprivileged.  Processes are seeded at start, new
//! ones appear as execs (source PROCFS) and a zombie's exit code is read
//! before the parent reaps it.
use std::{
    os::unix::fs::PermissionsExt as _, os::unix::process::CommandExt as _, process::Command,
};

use perch_e2e::{
    Perchd, binary,
    events::{EventLog, WAIT, find_exec, find_exit, info, key, listed, pid},
    have_root_or_skip,
    procs::{ChildGuard, unique},
};
use perch_proto::v1::{self as pb, Process};

#[tokio::test(flavor = "multi_thread")]
async fn forced_procfs_mode_sees_exec_and_zombie_exit() {
    let me = std::process::id();
    let my_uid = nix::unistd::getuid().as_raw();
    let marker = unique("procfs-seeded");
    let seeded = ChildGuard::spawn(Command::new("/bin/sleep").arg0(&marker).arg("30"));

    let perchd = Perchd::start(&["--procfs", "--poll-interval-ms", "100"]).await;
    let mut client = perchd.client().await.expect("connect");
    let start = info(&mut client).await;
    assert_eq!(start.mode(), pb::CollectorMode::Procfs, "{start:?}");
    assert!(
        start.mode_reason.contains("--procfs"),
        "mode_reason: {:?}",
        start.mode_reason
    );

    let p = listed(&mut client, seeded.pid()).await;
    assert_eq!(p.source(), pb::ProcessSource::Seeded, "{p:?}");
    assert_eq!(p.argv, [marker.as_str(), "30"], "{p:?}");

    // Not reaped until perchd has reported its exit: the poller reads the
    // exit status of the zombie.
    let mut log = EventLog::watch(&mut client, Some(start.head_seq), &[])
        .await
        .expect("WatchEvents");
    let script = format!("sleep 1; exit 3; {}", unique("procfs-sh"));
    let mut sh = ChildGuard::spawn(Command::new("/bin/sh").args(["-c", &script]));
    let sh_pid = sh.pid();
    let is_sh = |p: &Process| pid(p) == sh_pid;
    let done = log
        .until(WAIT, |ev| {
            find_exec(ev, is_sh).is_some_and(|(_, p)| find_exit(ev, &key(p)).is_some())
        })
        .await;
    assert!(
        done,
        "no exec+exit of pid {sh_pid} within {WAIT:?}; stream end: {:?}",
        log.ended
    );
    let (exec_ev, exec) = find_exec(&log.events, is_sh).expect("exec of sh");
    assert_eq!(exec.source(), pb::ProcessSource::Procfs, "{exec:?}");
    assert_eq!(exec.ppid, me, "{exec:?}");
    assert_eq!(exec.argv, ["/bin/sh", "-c", script.as_str()], "{exec:?}");
    assert_eq!(exec.uid, my_uid, "{exec:?}");
    // /proc reports the resolved executable (/bin/sh is a symlink to dash).
    let real_sh = std::fs::canonicalize("/bin/sh").expect("canonicalize /bin/sh");
    assert_eq!(exec.exe, real_sh.to_string_lossy(), "{exec:?}");
    let (exit_ev, exit) = find_exit(&log.events, &key(exec)).expect("exit of sh");
    assert_eq!((exit.code, exit.signal), (Some(3), None), "{exit:?}");
    assert!(exec_ev.seq < exit_ev.seq);
    let status = tokio::task::block_in_place(|| sh.wait());
    assert_eq!(status.code(), Some(3));
}

#[tokio::test(flavor = "multi_thread")]
async fn unprivileged_perchd_falls_back_to_procfs() {
    if !have_root_or_skip("unprivileged_perchd_falls_back_to_procfs") {
        return;
    }
    // `nobody` cannot create its socket in a root-only temp dir.
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).expect("chmod");
    let mut cmd = Command::new("setpriv");
    cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(binary("perchd"));
    let perchd = Perchd::start_in(cmd, dir, &[]).await;
    let mut client = perchd.client().await.expect("connect");
    let got = info(&mut client).await;
    assert_eq!(got.mode(), pb::CollectorMode::Procfs, "{got:?}");
    assert!(
        got.mode_reason.starts_with("eBPF unavailable"),
        "mode_reason: {:?}",
        got.mode_reason
    );
    assert_eq!(
        got.collector_pid,
        perchd.pid(),
        "setpriv must exec perchd in place"
    );
}
