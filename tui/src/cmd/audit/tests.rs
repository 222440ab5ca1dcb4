//! `perch audit` on logs written by perchd's audit library in temp dirs.
use std::path::{Path, PathBuf};

use clap::Parser as _;
use perch_audit::AuditLog;
use perch_proto::v1::{
    ActionKind, ActionMode, ActionResult, ActionTarget, AuditRecord, ProcessKey, Role,
};

use super::{list, verify};
use crate::cli::{AuditCommand, AuditListArgs, Cli, Command};

fn record(
    action: ActionKind,
    user: &str,
    result: ActionResult,
    reason: &str,
    time_s: u64,
) -> AuditRecord {
    AuditRecord {
        time_unix_ns: time_s * 1_000_000_000,
        actor_uid: if user == "root" { 0 } else { 1000 },
        actor_user: user.into(),
        actor_role: Role::Admin.into(),
        origin: "unix pid 1".into(),
        action: action.into(),
        mode: ActionMode::Live.into(),
        target: Some(ActionTarget {
            key: Some(ProcessKey {
                pid: 4242,
                start_time_ns: 1,
            }),
            exe: "/usr/bin/xmrig".into(),
            pod_namespace: "default".into(),
            pod_name: "web-0".into(),
            ..ActionTarget::default()
        }),
        reason: reason.into(),
        result: result.into(),
        code: if result == ActionResult::Success {
            "ok"
        } else {
            "no_such_process"
        }
        .into(),
        ..AuditRecord::default()
    }
}

/// Three records: 2023-11-14 22:13:20, +1 h, +2 h.
fn sample_log(dir: &Path) -> PathBuf {
    let path = dir.join("audit.log");
    let mut log = AuditLog::open(&path).unwrap();
    let t = 1_700_000_000;
    log.append(&record(
        ActionKind::Kill,
        "root",
        ActionResult::Success,
        "miner",
        t,
    ))
    .unwrap();
    log.append(&record(
        ActionKind::KillPod,
        "alice",
        ActionResult::NotSuccessful,
        "pod gone\x1b[31m",
        t + 3600,
    ))
    .unwrap();
    let mut dry = record(
        ActionKind::KillTree,
        "alice",
        ActionResult::Success,
        "check first",
        t + 7200,
    );
    dry.mode = ActionMode::DryRun.into();
    log.append(&dry).unwrap();
    path
}

fn args(extra: &[&str]) -> AuditListArgs {
    let argv = ["perch", "audit", "list"].iter().chain(extra);
    match Cli::try_parse_from(argv).unwrap().command {
        Some(Command::Audit(AuditCommand::List(a))) => a,
        other => panic!("{other:?}"),
    }
}

fn run_list(path: &Path, extra: &[&str]) -> (String, String, Result<(), String>) {
    let mut a = args(extra);
    a.path = path.to_owned();
    let (mut out, mut warn) = (Vec::new(), Vec::new());
    let result = list(&a, &mut out, &mut warn).map_err(|e| format!("{e:#}"));
    (
        String::from_utf8(out).unwrap(),
        String::from_utf8(warn).unwrap(),
        result,
    )
}

#[test]
fn verify_says_ok_or_names_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = sample_log(dir.path());
    let mut out = Vec::new();
    verify(&path, &mut out).unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "ok: 3 records, chain intact\n"
    );

    let mut bytes = std::fs::read(&path).unwrap();
    let second = bytes.iter().position(|&b| b == b'\n').unwrap() + 10;
    bytes[second] ^= 0x04;
    std::fs::write(&path, &bytes).unwrap();
    let e = verify(&path, &mut Vec::new()).unwrap_err().to_string();
    let want = format!("audit log {}: broken at line 2 (byte ", path.display());
    assert!(e.starts_with(&want), "{e}");
    assert!(e.contains("hash mismatch"), "{e}");
    let e = verify(&dir.path().join("none.log"), &mut Vec::new())
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("cannot read ") && e.contains("No such file"),
        "{e}"
    );
}

#[test]
fn list_prints_local_time_unless_utc() {
    let dir = tempfile::tempdir().unwrap();
    let path = sample_log(dir.path());
    let (out, _, result) = run_list(&path, &[]);
    result.unwrap();
    let offset = perch::when::local_utc_offset_secs();
    let head = out.lines().next().unwrap_or_default().to_owned();
    let first = out.lines().nth(1).unwrap_or_default().to_owned();
    assert_eq!(head.contains("(UTC)"), offset == 0, "{out}");
    let want = super::when::format_at(1_700_000_000_000_000_000, offset);
    assert!(first.contains(&want), "{want} not in {first}");
}

#[test]
fn list_prints_a_table() {
    let dir = tempfile::tempdir().unwrap();
    let path = sample_log(dir.path());
    let (out, warn, result) = run_list(&path, &["--utc"]);
    result.unwrap();
    assert!(warn.is_empty());
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}");
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        [
            "LINE", "TIME", "(UTC)", "ACTOR", "ACTION", "TARGET", "RESULT", "CODE", "REASON"
        ]
    );
    assert!(
        lines[1].starts_with("   1  2023-11-14 22:13:20  root "),
        "{out}"
    );
    assert!(
        lines[1].contains("  kill  ") && lines[1].contains("4242 xmrig"),
        "{out}"
    );
    assert!(
        lines[1].ends_with("  success         ok               miner"),
        "{out}"
    );
    assert!(
        lines[2].contains("pod default/web-0") && lines[2].contains("not_successful"),
        "{out}"
    );
    // A terminal escape in a reason is shown, not obeyed.
    assert!(lines[2].ends_with("pod gone\\u{1b}[31m"), "{out}");
    assert!(!out.contains('\x1b'));
    assert!(lines[3].contains("kill_tree (dry run)"), "{out}");
    // Columns line up: every row has RESULT where the header has it.
    let col = lines[0].find("RESULT").unwrap();
    for l in &lines[1..] {
        assert!(
            l[col..].starts_with("success") || l[col..].starts_with("not_successful"),
            "{out}"
        );
    }
}

#[test]
fn list_json_is_the_log_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = sample_log(dir.path());
    let (out, _, result) = run_list(&path, &["--json"]);
    result.unwrap();
    assert_eq!(out, std::fs::read_to_string(&path).unwrap());
}

#[test]
fn list_filters() {
    let dir = tempfile::tempdir().unwrap();
    let path = sample_log(dir.path());
    let lines = |extra: &[&str]| -> Vec<u64> {
        let (out, _, result) = run_list(&path, &[&["--json"], extra].concat());
        result.unwrap();
        out.lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                v["time_unix_ns"].as_u64().unwrap() / 1_000_000_000 - 1_700_000_000
            })
            .map(|s| s / 3600 + 1)
            .collect()
    };
    assert_eq!(lines(&[]), [1, 2, 3]);
    assert_eq!(lines(&["--action", "kill_pod"]), [2]);
    assert_eq!(lines(&["--result", "success"]), [1, 3]);
    assert_eq!(lines(&["--actor", "alice"]), [2, 3]);
    assert_eq!(lines(&["--actor", "0"]), [1]);
    assert_eq!(lines(&["--since", "2023-11-14T23:13:20Z"]), [2, 3]);
    assert_eq!(lines(&["--until", "@1700003600"]), [1]);
    assert_eq!(
        lines(&["--since", "@1700000001", "--until", "2023-11-15"]),
        [2]
    );
    assert_eq!(lines(&["--grep", "CHECK FIRST"]), [3]);
    assert_eq!(lines(&["--limit", "2"]), [2, 3]);
    assert_eq!(lines(&["--actor", "alice", "--limit", "1"]), [3]);
    assert_eq!(lines(&["--actor", "bob"]), Vec::<u64>::new());
    let (_, _, result) = run_list(&path, &["--since", "@5", "--until", "@5"]);
    assert_eq!(result.unwrap_err(), "--since must be before --until");
}

#[test]
fn list_leaves_out_bad_lines_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let path = sample_log(dir.path());
    let mut bytes = std::fs::read(&path).unwrap();
    let at = bytes.windows(5).position(|w| w == b"miner").unwrap();
    bytes[at] = b'M';
    std::fs::write(&path, &bytes).unwrap();
    let (out, warn, result) = run_list(&path, &["--json"]);
    assert_eq!(
        out.lines().count(),
        2,
        "lines 2 and 3 still verify on their own"
    );
    assert!(warn.contains("line 1 (byte 0): hash mismatch"), "{warn}");
    let e = result.unwrap_err();
    assert!(
        e.contains("1 line(s) do not verify, the first at line 1"),
        "{e}"
    );
}

#[test]
fn bad_flags_are_clear_errors() {
    let err = |argv: &[&str]| {
        let argv = ["perch", "audit", "list"].iter().chain(argv);
        Cli::try_parse_from(argv).unwrap_err().to_string()
    };
    let e = err(&["--action", "nuke"]);
    assert!(
        e.contains("unknown value \"nuke\" (one of: kill, kill_tree, kill_group, renice, kill_pod, freeze_tree, thaw_tree, freeze_pod, thaw_pod, suppress_trace, policy_change)"),
        "{e}"
    );
    assert!(err(&["--result", "ok"]).contains("one of: success, partial, not_successful"));
    assert!(err(&["--limit", "0"]).contains("--limit"));
    assert!(err(&["--since", "yesterday"]).contains("expected RFC 3339"));
    let verify = Cli::try_parse_from(["perch", "audit", "verify"]).unwrap();
    assert!(matches!(
        verify.command,
        Some(Command::Audit(AuditCommand::Verify { path })) if path == Path::new("/var/lib/perch/audit.log")
    ));
}

#[test]
fn list_shows_one_entry_per_action() {
    use perch_proto::v1::AuditStage;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let mut log = AuditLog::open(&path).unwrap();
    let t = 1_700_000_000;
    let mut intent = record(
        ActionKind::Kill,
        "root",
        ActionResult::Unspecified,
        "miner",
        t,
    );
    intent.set_stage(AuditStage::Intent);
    intent.code = "intent".into();
    let intent = log.append(&intent).unwrap();
    let mut done = record(
        ActionKind::Kill,
        "root",
        ActionResult::Success,
        "miner",
        t + 1,
    );
    done.set_stage(AuditStage::Result);
    done.intent_id = intent.id;
    log.append(&done).unwrap();
    // Its writer stopped before the result: the file alone cannot tell more.
    let mut open = record(
        ActionKind::KillTree,
        "alice",
        ActionResult::Unspecified,
        "stuck",
        t + 2,
    );
    open.set_stage(AuditStage::Intent);
    open.code = "intent".into();
    log.append(&open).unwrap();

    let (out, _, result) = run_list(&path, &[]);
    result.unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "one row per action: {out}");
    assert!(
        lines[1].starts_with("   2  ") && lines[1].contains("  success  "),
        "{out}"
    );
    assert!(
        lines[2].starts_with("   3  ") && lines[2].contains("  outcome_unknown  "),
        "{out}"
    );
    let (json, _, result) = run_list(&path, &["--json"]);
    result.unwrap();
    let file = std::fs::read_to_string(&path).unwrap();
    let want: Vec<&str> = file.lines().skip(1).collect();
    assert_eq!(json.lines().collect::<Vec<_>>(), want);
    // The limit counts actions, not lines.
    let (one, _, _) = run_list(&path, &["--json", "--limit", "1"]);
    assert_eq!(one.lines().collect::<Vec<_>>(), want[1..]);
}
