//! Outcomes, not intentions: after a signal perchd watches the processes it
//! signalled and says what they did — a process that ignores TERM is
//! "still running", one that dies "exited (signal 15)" — in the result, the
//! audit record and `perch`'s exit status.  And the blast radius is a list:
//! a dry run names every process it would hit, who runs it and its command.
//! Real perchd, real processes, the real `perch` binary.
#![expect(
    clippy::expect_used,
    reason = "helpers of end-to-end tests: a broken environment should fail the test loudly"
)]
use std::{os::unix::process::CommandExt as _, process::Command, time::Duration};

use perch_e2e::{
    Perchd,
    act::{records, sleeper},
    alive, binary,
    cgroups::Cgroups,
    events::list_processes,
    have_root_or_skip,
    procs::{ChildGuard, Finished, eventually, run_bounded, unique},
};
use perch_proto::v1::{
    ActionOutcome, ActionResult, AuditRecord, AuditStage, Process, ProcessOutcome,
};

const WAIT: Duration = Duration::from_secs(30);

/// perchd watching TERM for 300 ms and KILL and STOP for 2 s (both are
/// quick; the bound only matters on a loaded machine).
async fn perchd_watching(dir: &tempfile::TempDir) -> Perchd {
    let config = dir.path().join("perchd.toml");
    std::fs::write(
        &config,
        "[signal_watch_ms]\nTERM = 300\nKILL = 2000\nSTOP = 2000\n",
    )
    .expect("write config");
    Perchd::start(&["--config", config.to_str().expect("utf-8 path")]).await
}

/// `perch kill --signal SIG` on `pid`.
fn perch_kill(perchd: &Perchd, pid: u32, signal: &str) -> Finished {
    perch(
        perchd,
        &["kill", "--pid", &pid.to_string(), "--signal", signal],
    )
}

/// `perch ACTION ARGS --reason ...` against `perchd`.
fn perch(perchd: &Perchd, args: &[&str]) -> Finished {
    let socket = perchd.socket.display().to_string();
    run_bounded(
        Command::new(binary("perch")).args(args).args([
            "--socket",
            &socket,
            "--reason",
            "e2e: outcomes",
        ]),
        WAIT,
    )
}

/// Waits until perchd's model says `check` of `pid` (state, freeze).
async fn until_listed(perchd: &Perchd, pid: u32, what: &str, check: impl Fn(&Process) -> bool) {
    let mut client = perchd.client().await.expect("client");
    let seen = eventually(WAIT, async || {
        let (all, _) = list_processes(&mut client, false, &[pid]).await.ok()?;
        all.into_iter()
            .find(|p| p.key.is_some_and(|k| k.pid == pid) && check(p))
    })
    .await;
    assert!(seen.is_some(), "pid {pid} never {what} in the model");
}

/// The last record of the log: the result of the last action.
fn last_result(perchd: &Perchd) -> AuditRecord {
    let rec = records(perchd).pop().expect("a record");
    assert_eq!(rec.stage(), AuditStage::Result, "{rec:?}");
    rec
}

#[tokio::test(flavor = "multi_thread")]
async fn ignored_term_is_still_running_and_kill_exits_it() {
    if !have_root_or_skip("ignored_term_is_still_running_and_kill_exits_it") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let perchd = perchd_watching(&dir).await;
    // TERM ignored, then exec: the disposition survives exec.
    let mut stubborn = ChildGuard::spawn(
        Command::new("/bin/sh").args(["-c", "trap '' TERM; exec /bin/sleep 300"]),
    );
    let pid = stubborn.pid();
    perchd.wait_known(pid, "/bin/sleep").await;

    let out = tokio::task::block_in_place(|| perch_kill(&perchd, pid, "TERM"));
    assert_eq!(
        out.status.code(),
        Some(4),
        "delivered, still running: {out:?}"
    );
    assert!(out.stdout.contains("still_running"), "{out:?}");
    assert!(alive(pid), "pid {pid} ignores TERM");
    let rec = last_result(&perchd);
    assert_eq!(
        (rec.result(), rec.outcome(), rec.code.as_str()),
        (
            ActionResult::Success,
            ActionOutcome::StillRunning,
            "still_running"
        ),
        "{rec:?}"
    );
    assert_eq!(rec.watch_ns, 300_000_000, "{rec:?}");
    let p = &rec.processes[0];
    assert_eq!(p.outcome(), ProcessOutcome::StillRunning, "{p:?}");
    assert_eq!(
        p.detail, "TERM delivered; still running after 300 ms",
        "{p:?}"
    );
    assert!(
        rec.detail.ends_with("still running after 300 ms"),
        "{}",
        rec.detail
    );

    // Escalate: KILL exits it, and the record says how.
    let out = tokio::task::block_in_place(|| perch_kill(&perchd, pid, "KILL"));
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let rec = last_result(&perchd);
    assert_eq!(rec.outcome(), ActionOutcome::Exited, "{rec:?}");
    let p = &rec.processes[0];
    assert_eq!(p.outcome(), ProcessOutcome::Exited, "{p:?}");
    assert_eq!(p.exit.and_then(|e| e.signal), Some(9), "{p:?}");
    assert_eq!(p.detail, "KILL delivered; exited (signal 9)", "{p:?}");
    let status = stubborn.wait();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(9)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn term_that_ends_the_process_is_exited_signal_15() {
    if !have_root_or_skip("term_that_ends_the_process_is_exited_signal_15") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let perchd = perchd_watching(&dir).await;
    let mut sleeper = sleeper();
    let pid = sleeper.pid();
    perchd.wait_known(pid, "/bin/sleep").await;

    let out = tokio::task::block_in_place(|| perch_kill(&perchd, pid, "TERM"));
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let rec = last_result(&perchd);
    assert_eq!(
        (rec.result(), rec.outcome(), rec.code.as_str()),
        (ActionResult::Success, ActionOutcome::Exited, "ok"),
        "{rec:?}"
    );
    let p = &rec.processes[0];
    assert_eq!(p.outcome(), ProcessOutcome::Exited, "{p:?}");
    assert_eq!(p.exit.and_then(|e| e.signal), Some(15), "{p:?}");
    assert!(rec.detail.ends_with("exited (signal 15)"), "{}", rec.detail);
    let status = sleeper.wait();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(15)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn dry_run_lists_the_group_with_users_and_root_marked() {
    if !have_root_or_skip("dry_run_lists_the_group_with_users_and_root_marked") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let perchd = perchd_watching(&dir).await;
    // One process group: a root leader and a member running as nobody.
    let leader = ChildGuard::spawn(Command::new("/bin/sleep").arg("301").process_group(0));
    let lpid = leader.pid();
    let member = ChildGuard::spawn(
        Command::new("/bin/sleep")
            .arg("302")
            .process_group(i32::try_from(lpid).expect("pid"))
            .uid(65534)
            .gid(65534),
    );
    let mpid = member.pid();
    perchd.wait_known(lpid, "/bin/sleep").await;
    perchd.wait_known(mpid, "/bin/sleep").await;

    let socket = perchd.socket.display().to_string();
    let out = tokio::task::block_in_place(|| {
        run_bounded(
            Command::new(binary("perch")).args([
                "kill-group",
                "--socket",
                &socket,
                "--pid",
                &lpid.to_string(),
                "--dry-run",
                "--reason",
                "e2e: who would this hit",
            ]),
            WAIT,
        )
    });
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let row = |pid: u32| {
        out.stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(&pid.to_string()))
            .unwrap_or_else(|| panic!("pid {pid} not listed: {}", out.stdout))
            .split_whitespace()
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    // PID USER ROOT COMMAND: the root column says "yes" for root only.
    let (l, m) = (lpid.to_string(), mpid.to_string());
    assert_eq!(row(lpid), [l.as_str(), "root", "yes", "/bin/sleep", "301"]);
    assert_eq!(row(mpid), [m.as_str(), "nobody", "/bin/sleep", "302"]);

    let rec = records(&perchd).pop().expect("the dry run's record");
    assert_eq!(rec.processes.len(), 2, "{rec:?}");
    let hit = |pid: u32| {
        rec.processes
            .iter()
            .find(|p| p.key.is_some_and(|k| k.pid == pid))
            .unwrap_or_else(|| panic!("pid {pid} not in {rec:?}"))
    };
    let (l, m) = (hit(lpid), hit(mpid));
    assert_eq!(
        (l.uid, l.user.as_str(), l.root, l.argv.clone()),
        (
            Some(0),
            "root",
            true,
            vec!["/bin/sleep".to_owned(), "301".to_owned()]
        )
    );
    assert_eq!(
        (m.uid, m.euid, m.user.as_str(), m.root, m.argv.clone()),
        (
            Some(65534),
            Some(65534),
            "nobody",
            false,
            vec!["/bin/sleep".to_owned(), "302".to_owned()]
        )
    );
    assert_eq!(
        l.key.map(|k| k.start_time_ns),
        Some(perch_e2e::start_time_ns(lpid))
    );
    assert!(alive(lpid) && alive(mpid), "a dry run touches nothing");
}

#[tokio::test(flavor = "multi_thread")]
async fn stopped_and_frozen_processes_show_as_such() {
    if !have_root_or_skip("stopped_and_frozen_processes_show_as_such") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let perchd = perchd_watching(&dir).await;

    // STOP: the outcome says stopped, the model's state is T; CONT ends it.
    let sleeper = sleeper();
    let pid = sleeper.pid();
    perchd.wait_known(pid, "/bin/sleep").await;
    let out = tokio::task::block_in_place(|| perch_kill(&perchd, pid, "STOP"));
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let rec = last_result(&perchd);
    assert_eq!(rec.outcome(), ActionOutcome::Stopped, "{rec:?}");
    assert_eq!(rec.processes[0].detail, "STOP delivered; stopped");
    until_listed(&perchd, pid, "stopped", |p| p.state == "T").await;
    let out = tokio::task::block_in_place(|| perch_kill(&perchd, pid, "CONT"));
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    until_listed(&perchd, pid, "continued", |p| p.state == "S").await;

    // Freeze by its own cgroup: frozen, although its state stays S; thaw.
    let cg = Cgroups::make(&unique("truth-freeze"));
    let frozen = ChildGuard::spawn(Command::new("/bin/sh").args([
        "-c",
        &format!(
            "echo $$ > {}/cgroup.procs && exec /bin/sleep 300",
            cg.leaf.display()
        ),
    ]));
    let fpid = frozen.pid();
    perchd.wait_known(fpid, "/bin/sleep").await;
    until_listed(&perchd, fpid, "running unfrozen", |p| !p.frozen).await;
    let out =
        tokio::task::block_in_place(|| perch(&perchd, &["freeze", "--pid", &fpid.to_string()]));
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    until_listed(&perchd, fpid, "frozen", |p| p.frozen && p.state == "S").await;
    let out = tokio::task::block_in_place(|| perch(&perchd, &["thaw", "--pid", &fpid.to_string()]));
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    until_listed(&perchd, fpid, "thawed", |p| !p.frozen).await;
}
