//! The audit log can always be trusted, end to end with the real perchd:
//! no record, no action (a full disk, a log damaged while perchd runs);
//! `ListAudit` costs what it returns and shows viewers only their own
//! requests; a cut at a line boundary is found against the head file and
//! a running perchd; rotation; logs perchd must not use.
#![expect(
    clippy::expect_used,
    reason = "helpers of end-to-end tests: a broken environment should fail the test loudly"
)]
use std::{os::unix::fs::PermissionsExt as _, path::Path, process::Command, time::Duration};

use perch_audit::{AuditLog, ROTATED_CODE};
use perch_e2e::{
    Perchd, alive, binary,
    fs::Tmpfs,
    have_root_or_skip,
    procs::{ChildGuard, Finished, run_bounded},
    rss_bytes, start_time_ns,
};
use perch_proto::v1::{
    ActRequest, ActionKind, ActionMode, AffectedProcess, AuditLogStatus, AuditRecord, AuditStage,
    GetInfoRequest, ListAuditRequest, ProcessKey,
};
use tonic::Code;

const WAIT: Duration = Duration::from_secs(30);

fn sleeper() -> ChildGuard {
    ChildGuard::spawn(Command::new("/bin/sleep").arg("300"))
}

fn kill(pid: u32, mode: ActionMode) -> ActRequest {
    ActRequest {
        action: ActionKind::Kill.into(),
        target: Some(ProcessKey {
            pid,
            start_time_ns: start_time_ns(pid),
        }),
        reason: "e2e: audit integrity".to_owned(),
        mode: mode.into(),
        ..ActRequest::default()
    }
}

fn records(path: &Path) -> Vec<AuditRecord> {
    perch_audit::read(path)
        .expect("read the audit log")
        .map(|e| e.expect("every line verifies").record)
        .collect()
}

fn perch(args: &[&str]) -> Finished {
    run_bounded(Command::new(binary("perch")).args(args), WAIT)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_disk_refuses_live_actions_and_touches_nothing() {
    if !have_root_or_skip("a_full_disk_refuses_live_actions_and_touches_nothing") {
        return;
    }
    let fs = Tmpfs::mount(1 << 20);
    let log = fs.path().join("audit.log");
    let perchd = Perchd::start(&["--audit-log", log.to_str().expect("utf-8")]).await;
    let mut target = sleeper();
    let pid = target.pid();
    perchd.wait_known(pid, "/bin/sleep").await;
    let filler = fs.fill();
    let mut client = perchd.client().await.expect("client");
    for attempt in 0..3 {
        let err = client
            .act(kill(pid, ActionMode::Live))
            .await
            .expect_err("no room for the intent: refused");
        assert_eq!(err.code(), Code::FailedPrecondition, "{attempt}: {err:?}");
        assert!(
            err.message().to_lowercase().contains("no space"),
            "{attempt}: names the cause: {}",
            err.message()
        );
        assert!(alive(pid), "{attempt}: the target was touched");
    }
    assert_eq!(fs.files_containing(".torn-"), Vec::<String>::new());
    assert_eq!(
        std::fs::metadata(&log).expect("log").len(),
        0,
        "no partial line left behind"
    );

    // Room again: the same request goes through, intent first.
    std::fs::remove_file(filler).expect("free the space");
    let done = client
        .act(kill(pid, ActionMode::Live))
        .await
        .expect("recorded and done")
        .into_inner()
        .record
        .expect("record");
    assert_eq!(done.code, "ok", "{done:?}");
    target.wait();
    let log = records(&log);
    assert_eq!(log.len(), 2, "{log:?}");
    assert_eq!(log[0].stage(), AuditStage::Intent);
    assert_eq!(log[0].reason, "e2e: audit integrity");
    assert_eq!(log[1].stage(), AuditStage::Result);
    assert_eq!(log[1].intent_id, log[0].id);
    assert_eq!(log[1].id, done.id);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_log_damaged_while_perchd_runs_refuses_the_next_action() {
    if !have_root_or_skip("a_log_damaged_while_perchd_runs_refuses_the_next_action") {
        return;
    }
    let perchd = Perchd::start(&[]).await;
    let target = sleeper();
    let pid = target.pid();
    perchd.wait_known(pid, "/bin/sleep").await;
    let mut client = perchd.client().await.expect("client");
    for _ in 0..3 {
        client
            .act(kill(pid, ActionMode::DryRun))
            .await
            .expect("dry run");
    }
    // One byte in the middle of line 2, a moment after perchd's last write.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mut bytes = std::fs::read(&perchd.audit_log).expect("read log");
    let first_nl = bytes.iter().position(|&b| b == b'\n').expect("line 1");
    bytes[first_nl + 40] ^= 0x01;
    std::fs::write(&perchd.audit_log, &bytes).expect("damage the log");

    let err = client
        .act(kill(pid, ActionMode::Live))
        .await
        .expect_err("refused");
    assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
    assert!(
        err.message().contains("line 2"),
        "names the damaged line: {}",
        err.message()
    );
    assert!(alive(pid), "the target was touched");
    let info = client
        .get_info(GetInfoRequest {})
        .await
        .expect("GetInfo")
        .into_inner();
    assert_eq!(info.audit_log_status(), AuditLogStatus::Broken);
    assert!(
        info.audit_log_detail.starts_with("line 2 "),
        "{}",
        info.audit_log_detail
    );
    assert_eq!(std::fs::read(&perchd.audit_log).expect("read"), bytes);
    let dir = perchd.audit_log.parent().expect("dir");
    let torn = std::fs::read_dir(dir)
        .expect("dir")
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.file_name().to_string_lossy().contains(".torn-"))
        })
        .count();
    assert_eq!(torn, 0);
}

/// Appends records of ~40 KB until the log holds `bytes`; returns the
/// last one's detail.
fn write_big_log(path: &Path, bytes: u64) -> String {
    let mut log = AuditLog::open(path).expect("open");
    let mut record = AuditRecord {
        action: ActionKind::KillTree.into(),
        mode: ActionMode::Live.into(),
        reason: "bulk".to_owned(),
        processes: (0..300)
            .map(|i| AffectedProcess {
                key: Some(ProcessKey {
                    pid: 10_000 + i,
                    start_time_ns: u64::from(i),
                }),
                comm: "worker".to_owned(),
                exe: format!("/opt/some/rather/long/path/to/the/worker/binary-{i}"),
                detail: "signalled".to_owned(),
                ..AffectedProcess::default()
            })
            .collect(),
        ..AuditRecord::default()
    };
    let mut n = 0;
    while std::fs::metadata(path).expect("log").len() < bytes {
        n += 1;
        record.detail = format!("record {n}");
        log.append(&record).expect("append");
    }
    record.detail
}

#[tokio::test(flavor = "multi_thread")]
async fn list_audit_costs_what_it_returns() {
    if !have_root_or_skip("list_audit_costs_what_it_returns") {
        return;
    }
    // On a tmpfs, so that 50 MB of fsynced appends take seconds, not minutes.
    let fs = Tmpfs::mount(128 << 20);
    let log = fs.path().join("audit.log");
    let last = write_big_log(&log, 50 << 20);
    let perchd = Perchd::start(&["--procfs", "--audit-log", log.to_str().expect("utf-8")]).await;
    let client = perchd.client().await.expect("client");
    let before = rss_bytes(perchd.pid());
    // Ten calls at once, each held open until all have answered.
    let calls: Vec<_> = (0..10)
        .map(|_| {
            let mut c = client.clone();
            tokio::spawn(async move {
                let mut stream = c
                    .list_audit(ListAuditRequest { limit: 1 })
                    .await
                    .expect("ListAudit")
                    .into_inner();
                let first = stream.message().await.expect("chunk").expect("one");
                (stream, first)
            })
        })
        .collect();
    let mut answered = Vec::new();
    for call in calls {
        answered.push(call.await.expect("call"));
    }
    let after = rss_bytes(perchd.pid());
    // For BENCHMARKS.md: a measurement, asserted against a bound below.
    eprintln!(
        "ListAudit limit 1, ten calls held open, 50 MB log: perchd RSS {:.1} -> {:.1} MB",
        mb(before),
        mb(after)
    );
    for (_, first) in &answered {
        assert_eq!(first.records.len(), 1);
        assert_eq!(first.records[0].detail, last);
    }
    assert!(
        after < before + (10 << 20),
        "perchd grew from {} to {} MB for ten one-record calls",
        before >> 20,
        after >> 20
    );
}

#[expect(clippy::cast_precision_loss, reason = "a size in MB, for people")]
fn mb(bytes: u64) -> f64 {
    bytes as f64 / f64::from(1 << 20)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_viewer_lists_only_its_own_records() {
    if !have_root_or_skip("a_viewer_lists_only_its_own_records") {
        return;
    }
    let perchd = Perchd::start(&[]).await;
    let dir = perchd.socket.parent().expect("socket dir");
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).expect("chmod dir");
    std::fs::set_permissions(&perchd.socket, std::fs::Permissions::from_mode(0o666))
        .expect("chmod socket");
    let target = sleeper();
    let pid = target.pid();
    perchd.wait_known(pid, "/bin/sleep").await;
    let mut client = perchd.client().await.expect("client");
    client
        .act(kill(pid, ActionMode::DryRun))
        .await
        .expect("root's dry run");
    let socket = perchd.socket.display().to_string();
    let as_nobody = |args: &[&str]| {
        run_bounded(
            Command::new("setpriv")
                .args(["--reuid", "65534", "--regid", "65534", "--clear-groups"])
                .arg(binary("perch"))
                .args(args),
            WAIT,
        )
    };
    let refused = as_nobody(&[
        "kill",
        "--socket",
        &socket,
        "--pid",
        &pid.to_string(),
        "--reason",
        "mine",
    ]);
    assert!(!refused.status.success(), "{refused:?}");

    let mine = as_nobody(&["audit", "list", "--perchd", "--json", "--socket", &socket]);
    assert!(mine.status.success(), "{mine:?}");
    let lines: Vec<serde_json::Value> = mine
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .collect();
    assert_eq!(
        lines.len(),
        1,
        "only the viewer's own request: {}",
        mine.stdout
    );
    assert_eq!(lines[0]["actor_uid"], 65534);
    assert_eq!(lines[0]["reason"], "mine");
    let all = perch(&["audit", "list", "--perchd", "--json", "--socket", &socket]);
    assert_eq!(all.stdout.lines().count(), 2, "{all:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_finds_a_cut_against_the_head_file_and_a_running_perchd() {
    if !have_root_or_skip("verify_finds_a_cut_against_the_head_file_and_a_running_perchd") {
        return;
    }
    let mut perchd = Perchd::start(&[]).await;
    let target = sleeper();
    perchd.wait_known(target.pid(), "/bin/sleep").await;
    let mut client = perchd.client().await.expect("client");
    for _ in 0..3 {
        client
            .act(kill(target.pid(), ActionMode::DryRun))
            .await
            .expect("dry run");
    }
    let info = client
        .get_info(GetInfoRequest {})
        .await
        .expect("GetInfo")
        .into_inner();
    let log = records(&perchd.audit_log);
    assert_eq!(info.audit_log_records, 3);
    assert_eq!(info.audit_log_head_hash, log[2].hash);
    let path = perchd.audit_log.display().to_string();
    let socket = perchd.socket.display().to_string();
    let ok = perch(&["audit", "verify", "--socket", &socket, &path]);
    assert!(ok.status.success(), "{ok:?}");
    assert_eq!(ok.stdout, "ok: 3 records, chain intact\n");
    assert!(
        ok.stderr.contains("head file")
            && ok
                .stderr
                .contains(&format!("perchd (pid {})", perchd.pid())),
        "says what it compared: {}",
        ok.stderr
    );

    // The last line cut off at its start: every remaining line is sound.
    let text = std::fs::read(&perchd.audit_log).expect("read");
    let keep = text[..text.len() - 1]
        .iter()
        .rposition(|&b| b == b'\n')
        .expect("two lines")
        + 1;
    std::fs::write(&perchd.audit_log, &text[..keep]).expect("cut");
    let cut = perch(&["audit", "verify", "--socket", &socket, &path]);
    assert_eq!(cut.status.code(), Some(1), "{cut:?}");
    assert!(
        cut.stderr.contains("line 3") && cut.stderr.contains("the log was cut"),
        "{}",
        cut.stderr
    );
    // Without the head file, the running perchd still knows.
    std::fs::remove_file(perch_audit::head::path_of(&perchd.audit_log)).expect("rm head");
    let cut = perch(&["audit", "verify", "--socket", &socket, &path]);
    assert_eq!(cut.status.code(), Some(1), "{cut:?}");
    assert!(cut.stderr.contains("perchd (pid"), "{}", cut.stderr);
    // With neither, it verifies what is there and says what it could not do.
    perchd.crash();
    let alone = perch(&["audit", "verify", "--socket", &socket, &path]);
    assert!(alone.status.success(), "{alone:?}");
    assert_eq!(alone.stdout, "ok: 2 records, chain intact\n");
    assert!(
        alone.stderr.contains("no head file") && alone.stderr.contains("no perchd answered"),
        "{}",
        alone.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rotated_log_continues_in_a_new_file_after_sighup() {
    if !have_root_or_skip("a_rotated_log_continues_in_a_new_file_after_sighup") {
        return;
    }
    let perchd = Perchd::start(&[]).await;
    let target = sleeper();
    perchd.wait_known(target.pid(), "/bin/sleep").await;
    let mut client = perchd.client().await.expect("client");
    let before = client
        .act(kill(target.pid(), ActionMode::DryRun))
        .await
        .expect("dry run")
        .into_inner()
        .record
        .expect("record");
    let old = perchd.audit_log.with_extension("log.1");
    std::fs::rename(&perchd.audit_log, &old).expect("mv");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(perchd.pid()).expect("pid")),
        nix::sys::signal::Signal::SIGHUP,
    )
    .expect("SIGHUP");
    let mut first = None;
    for _ in 0..300 {
        if let Ok(mut r) = perch_audit::read(&perchd.audit_log)
            && let Some(Ok(e)) = r.next()
        {
            first = Some(e.record);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let first = first.expect("perchd started a new log after SIGHUP");
    assert_eq!(first.code, ROTATED_CODE);
    assert_eq!(first.prev_hash, before.hash);
    let pred = first.predecessor.expect("names its predecessor");
    assert_eq!(pred.path, old.display().to_string());
    assert_eq!((pred.records, pred.last_hash), (1, before.hash));
    let after = client
        .act(kill(target.pid(), ActionMode::DryRun))
        .await
        .expect("dry run")
        .into_inner()
        .record
        .expect("record");
    assert_eq!(after.line, 2);
    for p in [&perchd.audit_log, &old] {
        let v = perch(&[
            "audit",
            "verify",
            "--socket",
            "/nonexistent",
            &p.display().to_string(),
        ]);
        assert!(v.status.success(), "{}: {v:?}", p.display());
    }
}

#[test]
fn perchd_refuses_a_log_others_could_rewrite() {
    if !have_root_or_skip("perchd_refuses_a_log_others_could_rewrite") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("audit.log");
    std::fs::write(&log, "").expect("create");
    std::os::unix::fs::chown(&log, Some(65534), Some(65534)).expect("chown");
    std::fs::set_permissions(&log, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let start = || {
        run_bounded(
            Command::new(binary("perchd"))
                .arg("--procfs")
                .arg("--socket")
                .arg(dir.path().join("perchd.sock"))
                .arg("--audit-log")
                .arg(&log),
            WAIT,
        )
    };
    let out = start();
    assert!(!out.status.success(), "{out:?}");
    let line = out
        .stderr
        .lines()
        .find(|l| l.starts_with("perchd: "))
        .expect("one error line");
    assert!(
        line.contains(&log.display().to_string())
            && line.contains("owned by uid 65534")
            && line.contains("mode 0600"),
        "{line}"
    );
    std::os::unix::fs::chown(&log, Some(0), Some(0)).expect("chown");
    std::fs::set_permissions(&log, std::fs::Permissions::from_mode(0o666)).expect("chmod");
    let out = start();
    assert!(!out.status.success(), "{out:?}");
    assert!(
        out.stderr.contains("mode 0666") && out.stderr.contains("group or others"),
        "{}",
        out.stderr
    );
}

#[test]
fn errors_name_their_cause_once() {
    let out = run_bounded(
        Command::new(binary("perchd")).args(["--config", "/nonexistent/perchd.toml"]),
        WAIT,
    );
    assert!(!out.status.success(), "{out:?}");
    assert_eq!(
        out.stderr.trim_end(),
        "perchd: config /nonexistent/perchd.toml: No such file or directory (os error 2)"
    );
}

#[test]
fn verify_stops_on_endless_input() {
    let out = run_bounded(
        Command::new(binary("perch")).args(["audit", "verify", "/dev/zero"]),
        Duration::from_secs(10),
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        out.stderr.contains("line 1") && out.stderr.contains("1048576 bytes"),
        "{}",
        out.stderr
    );
}
