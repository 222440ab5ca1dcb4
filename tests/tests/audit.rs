//! The audit log end to end: `perch audit verify` and `list` on a log
//! written by perchd's audit library (a changed byte is named by its line,
//! with a non-zero exit), and perchd opening its log at start-up: reporting
//! it in `GetInfo`, recovering a torn tail after being killed, and refusing
//! to start when the log cannot be created.
#![expect(
    clippy::expect_used,
    reason = "helpers of end-to-end tests: a broken environment should fail the test loudly"
)]
use std::{path::Path, process::Command, time::Duration};

use perch_audit::{AuditLog, TORN_TAIL_CODE};
use perch_e2e::{
    Perchd, binary, have_root_or_skip,
    procs::{Finished, run_bounded},
};
use perch_proto::v1::{
    ActionKind, ActionMode, ActionResult, ActionTarget, AuditLogStatus, AuditRecord,
    GetInfoRequest, ProcessKey, Role,
};

const WAIT: Duration = Duration::from_secs(30);

fn perch(args: &[&str], path: &Path) -> Finished {
    run_bounded(Command::new(binary("perch")).args(args).arg(path), WAIT)
}

fn record(n: u32) -> AuditRecord {
    AuditRecord {
        actor_uid: 0,
        actor_user: "root".into(),
        actor_role: Role::Admin.into(),
        origin: "unix pid 1 tty pts/0".into(),
        action: ActionKind::Kill.into(),
        mode: ActionMode::Live.into(),
        target: Some(ActionTarget {
            key: Some(ProcessKey {
                pid: 1000 + n,
                start_time_ns: 5,
            }),
            exe: "/usr/bin/sleep".into(),
            ..ActionTarget::default()
        }),
        reason: format!("test {n}"),
        result: ActionResult::Success.into(),
        code: "ok".into(),
        ..AuditRecord::default()
    }
}

#[test]
fn verify_passes_then_names_the_line_of_a_flipped_byte() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("audit.log");
    let mut log = AuditLog::open(&path).expect("open");
    for n in 0..5 {
        log.append(&record(n)).expect("append");
    }
    drop(log);

    let ok = perch(&["audit", "verify"], &path);
    assert!(ok.status.success(), "{ok:?}");
    assert_eq!(ok.stdout, "ok: 5 records, chain intact\n");

    let listed = perch(&["audit", "list", "--json"], &path);
    assert!(listed.status.success(), "{listed:?}");
    let text = std::fs::read_to_string(&path).expect("read");
    assert_eq!(listed.stdout, text);
    let table = perch(&["audit", "list"], &path);
    assert_eq!(table.stdout.lines().count(), 6, "{table:?}");

    // One byte of line 3 ("test 2" becomes "test 3").
    let mut bytes = text.into_bytes();
    let at = bytes
        .windows(6)
        .position(|w| w == b"test 2")
        .expect("line 3's reason");
    bytes[at + 5] = b'3';
    std::fs::write(&path, &bytes).expect("write");
    let bad = perch(&["audit", "verify"], &path);
    assert_eq!(bad.status.code(), Some(1), "{bad:?}");
    assert!(bad.stdout.is_empty(), "{bad:?}");
    let want = format!(
        "perch: audit log {}: broken at line 3 (byte ",
        path.display()
    );
    assert!(bad.stderr.starts_with(&want), "{:?}", bad.stderr);
    assert!(bad.stderr.contains("hash mismatch"), "{:?}", bad.stderr);
    assert_eq!(bad.stderr.lines().count(), 1, "{:?}", bad.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn perchd_reports_its_log_and_recovers_a_torn_tail() {
    if !have_root_or_skip("perchd_reports_its_log_and_recovers_a_torn_tail") {
        return;
    }
    let mut perchd = Perchd::start(&["--procfs"]).await;
    let mut client = perchd.client().await.expect("connect");
    let info = client
        .get_info(GetInfoRequest {})
        .await
        .expect("GetInfo")
        .into_inner();
    assert_eq!(info.audit_log_path, perchd.audit_log.display().to_string());
    assert_eq!(info.audit_log_status(), AuditLogStatus::Ok);
    assert_eq!(info.audit_log_detail, "0 records, chain intact");
    assert_eq!(info.caller_role(), Role::Admin);
    assert_eq!(info.caller, "uid 0 (root)");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&perchd.audit_log)
            .expect("perchd created its log")
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);

    // A crash in the middle of an append: half a line, no newline.
    perchd.crash();
    let line = real_line();
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&perchd.audit_log)
        .expect("open log");
    std::io::Write::write_all(&mut f, &line.as_bytes()[..line.len() / 2]).expect("write");
    drop(f);
    perchd.respawn().await;
    let info = perchd
        .client()
        .await
        .expect("connect")
        .get_info(GetInfoRequest {})
        .await
        .expect("GetInfo")
        .into_inner();
    assert_eq!(
        info.audit_log_status(),
        AuditLogStatus::RecoveredTornTail,
        "{}",
        info.audit_log_detail
    );
    assert!(
        info.audit_log_detail.starts_with("torn last line 1 (")
            && info.audit_log_detail.ends_with("; recorded at line 1"),
        "{}",
        info.audit_log_detail
    );
    let ok = perch(&["audit", "verify"], &perchd.audit_log);
    assert_eq!(ok.stdout, "ok: 1 records, chain intact\n", "{ok:?}");
    let listed = perch(&["audit", "list", "--json"], &perchd.audit_log);
    assert!(listed.stdout.contains(TORN_TAIL_CODE), "{listed:?}");
}

/// A real log line (from a scratch log), to tear.
fn real_line() -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("scratch.log");
    AuditLog::open(&path)
        .expect("open")
        .append(&record(9))
        .expect("append");
    std::fs::read_to_string(&path).expect("read")
}

#[test]
fn perchd_will_not_start_without_its_audit_log() {
    let dir = tempfile::tempdir().expect("tempdir");
    let blocker = dir.path().join("not-a-dir");
    std::fs::write(&blocker, "x").expect("write");
    let log = blocker.join("audit.log");
    let out = run_bounded(
        Command::new(binary("perchd"))
            .arg("--procfs")
            .arg("--socket")
            .arg(dir.path().join("perchd.sock"))
            .arg("--audit-log")
            .arg(&log),
        WAIT,
    );
    assert!(!out.status.success(), "{out:?}");
    let errors: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("perchd: "))
        .collect();
    assert_eq!(
        errors,
        [format!(
            "perchd: starting the collector: audit log {}: cannot create directory {}: \
             a file that is not a directory is in the way",
            log.display(),
            blocker.display()
        )],
        "{}",
        out.stderr
    );
}
