//! eBPF mode end to end: a process running before perchd starts is seeded
//! from /proc, and a small process tree spawned afterwards (a shell, its
//! children, a sleeper killed by SIGKILL) shows up as fork, exec and exit events with
//! the right parents, argv, exit codes and signals, and stays listed for a
//! while after it exits.
#![expect(
    clippy::expect_used,
    clippy::panic,
    reason = "helpers of end-to-end tests: a broken environment should fail the test loudly"
)]
use std::{os::unix::process::CommandExt as _, process::Command};

use perch_e2e::{
    Perchd,
    events::{
        EventLog, WAIT, find_exec, find_exit, find_fork, info, key, list_processes, listed, pid,
        same_key,
    },
    have_root_or_skip,
    procs::{ChildGuard, unique},
};
use perch_proto::v1::{self as pb, Event, Exit, Process};

fn exit_code(x: &Exit) -> (Option<i32>, Option<i32>) {
    (x.code, x.signal)
}

/// The exec of a child of `parent` with exactly this argv.
fn exec_with<'a>(
    events: &'a [Event],
    parent: u32,
    argv: &[&str],
) -> Option<(&'a Event, &'a Process)> {
    find_exec(events, |p| p.ppid == parent && p.argv == argv)
}

#[tokio::test(flavor = "multi_thread")]
async fn seeded_process_and_live_process_tree() {
    if !have_root_or_skip("seeded_process_and_live_process_tree") {
        return;
    }
    let me = std::process::id();
    let seeded_marker = unique("seeded");
    let seeded = ChildGuard::spawn(Command::new("/bin/sleep").arg0(&seeded_marker).arg("30"));

    let perchd = Perchd::start(&[]).await;
    let mut client = perchd.client().await.expect("connect");
    let start = info(&mut client).await;
    assert_eq!(
        start.mode(),
        pb::CollectorMode::Ebpf,
        "mode reason: {}",
        start.mode_reason
    );

    // The sleeper was running before perchd: seeded from /proc.
    let p = listed(&mut client, seeded.pid()).await;
    assert_eq!(p.source(), pb::ProcessSource::Seeded, "{p:?}");
    assert_eq!(p.ppid, me, "{p:?}");
    assert_eq!(p.argv, [seeded_marker.as_str(), "30"], "{p:?}");

    // A shell that forks `sleep` and `/bin/true`, then exits 3; and a
    // sleeper killed with SIGKILL.
    let mut log = EventLog::watch(&mut client, Some(start.head_seq), &[])
        .await
        .expect("WatchEvents");
    let true_marker = unique("true");
    let script = format!("sleep 0.3; /bin/true {true_marker}; exit 3");
    let mut sh = ChildGuard::spawn(Command::new("/bin/sh").args(["-c", &script]));
    let sh_pid = sh.pid();
    let status = tokio::task::block_in_place(|| sh.wait());
    assert_eq!(status.code(), Some(3));
    let mut victim = ChildGuard::spawn(Command::new("/bin/sleep").arg("30"));
    let victim_pid = victim.pid();
    tokio::task::block_in_place(|| victim.kill());

    let true_argv = ["/bin/true", true_marker.as_str()];
    let complete = log
        .until(WAIT, |ev| {
            let exited = |pid: u32| {
                find_exec(ev, |p| pid_is(p, pid))
                    .is_some_and(|(_, p)| find_exit(ev, &key(p)).is_some())
            };
            exited(sh_pid)
                && exited(victim_pid)
                && exec_with(ev, sh_pid, &true_argv)
                    .is_some_and(|(_, p)| find_exit(ev, &key(p)).is_some())
        })
        .await;
    let ev = &log.events;
    assert!(
        complete,
        "events incomplete after {WAIT:?}: {:#?}",
        mine(ev, &[sh_pid, victim_pid])
    );

    let sh_proc = check_shell_tree(ev, sh_pid, &script, &true_argv);

    // The victim: killed by signal 9, no exit code.
    let (_, victim_proc) = find_exec(ev, |p| pid_is(p, victim_pid)).expect("exec of victim");
    let (_, victim_exit) = find_exit(ev, &key(victim_proc)).expect("exit of victim");
    assert_eq!(exit_code(victim_exit), (None, Some(9)), "{victim_exit:?}");

    // Exited processes stay listed (30 s retention by default), with their exit.
    let (procs, _) = list_processes(&mut client, true, &[sh_pid])
        .await
        .expect("ListProcesses include_exited");
    let listed = procs
        .iter()
        .find(|p| same_key(&key(p), &key(sh_proc)))
        .unwrap_or_else(|| panic!("exited sh not listed: {procs:?}"));
    let exit = listed.exit.as_ref().expect("listed sh has an exit");
    assert_eq!(exit_code(exit), (Some(3), None), "{listed:?}");

    let end = info(&mut client).await;
    assert_eq!(end.events_lost, 0, "kernel dropped events");
    assert!(end.events_seen > start.events_seen, "{end:?}");
}

/// The shell's events: fork from us, exec of /bin/sh, exit 3, in that
/// order; its two children forked and exec'd with it as parent; `/bin/true`
/// exiting 0.  Returns the shell's exec'd process.
fn check_shell_tree<'a>(
    ev: &'a [Event],
    sh_pid: u32,
    script: &str,
    true_argv: &[&str],
) -> &'a Process {
    let me = std::process::id();
    let my_uid = nix::unistd::getuid().as_raw();
    // The shell: fork from us, exec of /bin/sh, exit 3, in that order.
    let (fork_ev, fork) = find_fork(ev, sh_pid).expect("fork of sh");
    let child = fork.child.as_ref().expect("fork child");
    assert_eq!(child.ppid, me, "{fork:?}");
    assert_eq!(fork.parent.map(|k| k.pid), Some(me), "{fork:?}");
    let (exec_ev, sh_proc) = find_exec(ev, |p| pid_is(p, sh_pid)).expect("exec of sh");
    assert_eq!(sh_proc.exe, "/bin/sh", "{sh_proc:?}");
    assert_eq!(sh_proc.argv, ["/bin/sh", "-c", script], "{sh_proc:?}");
    assert_eq!(sh_proc.uid, my_uid, "{sh_proc:?}");
    assert_eq!(sh_proc.ppid, me, "{sh_proc:?}");
    assert_eq!(sh_proc.source(), pb::ProcessSource::Ebpf, "{sh_proc:?}");
    let (exit_ev, sh_exit) = find_exit(ev, &key(sh_proc)).expect("exit of sh");
    assert_eq!(exit_code(sh_exit), (Some(3), None), "{sh_exit:?}");
    assert!(
        fork_ev.seq < exec_ev.seq && exec_ev.seq < exit_ev.seq,
        "fork, exec, exit out of order"
    );

    // Its children: fork + exec with the shell as parent.
    for argv in [&["sleep", "0.3"][..], true_argv] {
        let (_, p) = exec_with(ev, sh_pid, argv).unwrap_or_else(|| panic!("exec of {argv:?}"));
        let (_, f) = find_fork(ev, pid(p)).unwrap_or_else(|| panic!("fork of {argv:?}"));
        let fc = f.child.as_ref().expect("fork child");
        assert_eq!(fc.ppid, sh_pid, "{f:?}");
        assert!(
            same_key(&key(fc), &key(p)),
            "fork {f:?} and exec {p:?} keys differ"
        );
    }
    let (_, true_proc) = exec_with(ev, sh_pid, true_argv).expect("exec of /bin/true");
    let (_, true_exit) = find_exit(ev, &key(true_proc)).expect("exit of /bin/true");
    assert_eq!(exit_code(true_exit), (Some(0), None), "{true_exit:?}");

    sh_proc
}

fn pid_is(p: &Process, want: u32) -> bool {
    pid(p) == want
}

/// The events about these pids or their children, for failure messages.
fn mine<'a>(events: &'a [Event], pids: &[u32]) -> Vec<&'a Event> {
    use perch_proto::v1::event::Kind;
    events
        .iter()
        .filter(|e| match &e.kind {
            Some(Kind::Exec(x)) => x
                .process
                .as_ref()
                .is_some_and(|p| pids.contains(&pid(p)) || pids.contains(&p.ppid)),
            Some(Kind::Fork(x)) => x
                .child
                .as_ref()
                .is_some_and(|p| pids.contains(&pid(p)) || pids.contains(&p.ppid)),
            Some(Kind::Exit(x)) => x.key.is_some_and(|k| pids.contains(&k.pid)),
            _ => false,
        })
        .collect()
}
