//! Snapshots of response actions in the real console, fed from the recorded
//! perchd fixture (see `console_snapshots.rs`) plus constructed `ActResponse`
//! and `AuditRecord` messages — what perchd's handlers will send — at 80x24
//! and 160x48: the action menu, the dialog (reason empty, filled, dry run),
//! the renice range error, the result toast, and the action log with a
//! filter, its column chooser and one record.
//!
//! Deterministic like the other snapshots: the records carry fixed times
//! and the fixture's own pids and start times.
#![expect(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    reason = "test support: a broken fixture or environment should fail the test loudly"
)]
mod common;

use common::{SIZES, app, key_of, run, screen, text, typed};
use perch::console::{
    App, HostId, Msg, ProcessKey, Screen,
    actions::{Outgoing, Request},
    audit::AuditPage,
};
use perch_proto::v1::{
    ActRequest, ActResponse, ActionKind, ActionMode, ActionResult, ActionTarget, AffectedProcess,
    AuditLogStatus, AuditRecord, ProcessKey as WireKey, ProcessOutcome, Role, Signal, event::Kind,
};
use ratatui::style::Color;

fn snap(name: &str, app: &App) {
    for size in SIZES {
        let screen = text(&screen(app, size));
        insta::assert_snapshot!(format!("{name}_{}x{}", size.0, size.1), screen);
    }
}

/// 2026-11-23 22:32:10 UTC, just after the fixture's workload started.
const T0: u64 = 1_795_473_130;

fn wire(app: &App, key: ProcessKey) -> WireKey {
    let p = app.store().by_key(&key).expect("in the fixture");
    WireKey {
        pid: p.key.pid,
        start_time_ns: p.start_time_ns,
    }
}

/// The one action request the console queued.
fn sent(app: &mut App) -> (u64, ActRequest) {
    let out = app.take_outbox();
    match &out[..] {
        [
            Outgoing {
                id,
                request: Request::Act(req),
                ..
            },
        ] => (*id, req.clone()),
        other => panic!("expected one action request, got {other:?}"),
    }
}

/// What perchd records for `req`: every listed process with `outcome`.
fn record(
    app: &App,
    req: &ActRequest,
    hit: &[ProcessKey],
    outcome: ProcessOutcome,
    result: ActionResult,
    code: &str,
    detail: &str,
) -> AuditRecord {
    let target = req.target.expect("a target");
    let p = app
        .store()
        .iter()
        .map(|(_, p)| p)
        .find(|p| p.key.pid == target.pid)
        .expect("target in the fixture");
    AuditRecord {
        id: format!("rec-{}", target.pid),
        time_unix_ns: T0 * 1_000_000_000,
        host: "web-1".into(),
        actor_uid: 0,
        actor_user: "root".into(),
        actor_role: Role::Admin.into(),
        origin: "unix pid 999 tty pts/3".into(),
        action: req.action,
        signal: req.signal,
        priority: req.priority,
        mode: req.mode,
        target: Some(ActionTarget {
            key: Some(target),
            exe: p.exe.to_string(),
            argv: p.argv.iter().map(ToString::to_string).collect(),
            uid: p.uid,
            user: p.user.to_string(),
            cgroup_path: p.cgroup_path.to_string(),
            ..ActionTarget::default()
        }),
        processes: hit
            .iter()
            .map(|k| AffectedProcess {
                key: Some(wire(app, *k)),
                ppid: 0,
                comm: "sleep".into(),
                exe: "/usr/bin/sleep".into(),
                outcome: outcome.into(),
                detail: String::new(),
                ..AffectedProcess::default()
            })
            .collect(),
        reason: req.reason.clone(),
        result: result.into(),
        code: code.into(),
        detail: detail.into(),
        prev_hash: "9f2c…".into(),
        hash: "41ab…".into(),
        line: 1,
        ..AuditRecord::default()
    }
}

#[test]
fn action_menu() {
    let mut app = app();
    let master = key_of(&app, "nginx: master");
    run(&mut app, &[Msg::Select(master), Msg::ActMenu]);
    snap("action_menu", &app);
}

#[test]
fn action_menu_in_a_pod() {
    // The fixture has no pod: give the redis container one, as perchd
    // would for a kubepods cgroup, to show the pod entries and counts.
    let mut rec = common::recording();
    let pod = |p: &mut perch_proto::v1::Process| {
        if p.argv.first().is_some_and(|a| a.starts_with("redis")) {
            p.pod_uid = "8d1c7f3e-5b2a-4c9d-a1e0-3f6b2c8d9e7a".into();
            p.pod_namespace = "shop".into();
            p.pod_name = "cache-0".into();
        }
    };
    rec.processes.iter_mut().for_each(pod);
    for e in rec.events.iter_mut().flat_map(|b| b.events.iter_mut()) {
        match &mut e.kind {
            Some(Kind::Exec(x)) => x.process.iter_mut().for_each(pod),
            Some(Kind::Fork(x)) => x.child.iter_mut().for_each(pod),
            Some(Kind::Update(x)) => x.process.iter_mut().for_each(pod),
            _ => {}
        }
    }
    let t0 = std::time::Instant::now();
    let mut app = App::new(perch::console::Config::default(), t0);
    common::feed(&mut app, HostId(0), &rec, "web-1");
    app.tick(t0 + std::time::Duration::from_secs(1));
    let redis = key_of(&app, "redis");
    run(&mut app, &[Msg::Select(redis), Msg::ActMenu]);
    let labels: Vec<ActionKind> = app.menu().unwrap().items.iter().map(|i| i.kind).collect();
    assert!(labels.contains(&ActionKind::KillPod), "{labels:?}");
    snap("action_menu_pod", &app);
}

#[test]
fn kill_tree_dialog_reason_empty_then_filled_dry_run() {
    let mut app = app();
    let master = key_of(&app, "nginx: master");
    // Menu: kill process, kill tree (the master and its two workers).
    run(
        &mut app,
        &[Msg::Select(master), Msg::ActMenu, Msg::Down, Msg::Confirm],
    );
    assert_eq!(app.dialog().unwrap().count, 3);
    snap("kill_dialog_empty", &app);
    // Enter on the button with no reason: nothing is sent, the field says why.
    run(&mut app, &[Msg::Confirm, Msg::Confirm]);
    assert!(app.take_outbox().is_empty());
    snap("kill_dialog_reason_required", &app);
    run(&mut app, &typed("crypto miner spawned by nginx"));
    run(&mut app, &[Msg::NextField, Msg::Input(' '), Msg::NextField]);
    assert_eq!(
        app.dialog().unwrap().confirm_label(),
        "DRY RUN: KILL TREE (3 PROCESSES)"
    );
    snap("kill_dialog_filled_dry_run", &app);
}

#[test]
fn renice_dialog_with_a_range_error() {
    let mut app = app();
    let worker = key_of(&app, "nginx: worker");
    run(&mut app, &[Msg::Select(worker), Msg::Renice(1)]);
    assert_eq!(app.dialog().unwrap().priority.text(), "1");
    run(&mut app, &[Msg::PrevField, Msg::Backspace]);
    run(&mut app, &typed("20"));
    snap("renice_range_error", &app);
}

/// Kills the nginx worker with `reason` and answers with `result`.
fn kill_worker(answer: impl Fn(&App, &ActRequest, ProcessKey) -> ActResponse) -> App {
    let mut app = app();
    let worker = key_of(&app, "nginx: worker");
    run(&mut app, &[Msg::Select(worker), Msg::ActMenu, Msg::Confirm]);
    // TERM by default; Right (the reason still empty): KILL.
    run(&mut app, &[Msg::Increase]);
    run(&mut app, &typed("unexpected outbound traffic"));
    run(&mut app, &[Msg::Confirm, Msg::Confirm]);
    let (id, req) = sent(&mut app);
    assert_eq!(req.signal(), Signal::Kill);
    assert_eq!(req.mode(), ActionMode::Live);
    let resp = answer(&app, &req, worker);
    app.ingest_act_result(id, Ok(resp));
    app
}

#[test]
fn result_toast_success_marks_the_row_signalled() {
    let app = kill_worker(|app, req, worker| ActResponse {
        record: Some(record(
            app,
            req,
            &[worker],
            ProcessOutcome::Done,
            ActionResult::Success,
            "ok",
            "",
        )),
        done: 1,
        already_gone: 0,
        ..ActResponse::default()
    });
    snap("toast_success", &app);
    // Signalled is not exited: the row is not dimmed, it says
    // `[signalled]` until its exit arrives — never `[defunct]` (seen with
    // the selection elsewhere, and the toast gone).
    let mut app = app;
    run(&mut app, &[Msg::Cancel, Msg::Home]);
    assert!(app.toast().is_none());
    let buf = screen(&app, (160, 48));
    let row = (0..48)
        .find(|&y| {
            let line: String = (0..160).map(|x| buf[(x, y)].symbol()).collect();
            assert!(!line.contains("[defunct]"), "{line}");
            line.contains("[signalled]")
        })
        .expect("a signalled row");
    assert_ne!(buf[(3, row)].fg, Color::DarkGray);
}

#[test]
fn result_toast_not_successful() {
    let app = kill_worker(|app, req, _| ActResponse {
        record: Some(record(
            app,
            req,
            &[],
            ProcessOutcome::Unspecified,
            ActionResult::NotSuccessful,
            "target_replaced",
            "pid 22160 now belongs to another process (start time differs)",
        )),
        done: 0,
        already_gone: 0,
        ..ActResponse::default()
    });
    snap("toast_not_successful", &app);
}

/// Five records by three people over half an hour, newest last.
fn audit_page(app: &App) -> AuditPage {
    let master = key_of(app, "nginx: master");
    let worker = key_of(app, "nginx: worker");
    let hog = key_of(app, "/usr/bin/python3");
    let req = |action: ActionKind, key: ProcessKey, mode: ActionMode, reason: &str| ActRequest {
        action: action.into(),
        target: Some(wire(app, key)),
        reason: reason.into(),
        mode: mode.into(),
        ..ActRequest::default()
    };
    let rows = [
        (
            ActionKind::Renice,
            hog,
            ActionMode::Live,
            "memory hog slows the box",
            ActionResult::Success,
            "ok",
            "alice",
            0,
        ),
        (
            ActionKind::KillTree,
            master,
            ActionMode::DryRun,
            "check what a tree kill hits",
            ActionResult::Success,
            "ok",
            "root",
            420,
        ),
        (
            ActionKind::KillTree,
            master,
            ActionMode::Live,
            "crypto miner spawned by nginx",
            ActionResult::Partial,
            "partial",
            "root",
            600,
        ),
        (
            ActionKind::Kill,
            worker,
            ActionMode::Live,
            "stray worker",
            ActionResult::NotSuccessful,
            "no_such_process",
            "bob",
            900,
        ),
        (
            ActionKind::FreezeTree,
            hog,
            ActionMode::Live,
            "keep it for forensics",
            ActionResult::Success,
            "ok",
            "alice",
            1800,
        ),
    ];
    let mut records: Vec<AuditRecord> = rows
        .iter()
        .enumerate()
        .map(|(i, (kind, key, mode, reason, result, code, who, secs))| {
            let r = req(*kind, *key, *mode, reason);
            let (hit, outcome) = match (result, mode) {
                (ActionResult::NotSuccessful, _) => (&[][..], ProcessOutcome::Unspecified),
                (_, ActionMode::DryRun) => (std::slice::from_ref(key), ProcessOutcome::WouldAct),
                _ => (std::slice::from_ref(key), ProcessOutcome::Done),
            };
            let mut rec = record(app, &r, hit, outcome, *result, code, "");
            rec.id = format!("rec-{i}");
            rec.line = u64::try_from(i + 1).unwrap();
            rec.time_unix_ns = (T0 + secs) * 1_000_000_000;
            rec.actor_user = (*who).into();
            rec
        })
        .collect();
    records.reverse();
    AuditPage {
        records,
        status: AuditLogStatus::Ok,
        status_detail: String::new(),
        path: "/var/lib/perch/audit.log".into(),
    }
}

fn action_log() -> App {
    let mut app = app();
    run(&mut app, &[Msg::Show(Screen::ActionLog)]);
    let asked = app.take_outbox();
    assert!(
        matches!(
            &asked[..],
            [Outgoing {
                request: Request::ListAudit(_),
                ..
            }]
        ),
        "{asked:?}"
    );
    let page = audit_page(&app);
    app.ingest_audit(HostId(0), Ok(page));
    app
}

#[test]
fn action_log_with_a_filter() {
    let mut app = action_log();
    assert_eq!(app.action_log().shown_len(), 5);
    snap("action_log", &app);
    run(&mut app, &[Msg::Filter]);
    run(&mut app, &typed("action:kill who:root"));
    run(&mut app, &[Msg::Confirm]);
    assert_eq!(app.action_log().shown_len(), 2);
    snap("action_log_filter", &app);
}

#[test]
fn action_log_column_chooser_and_record() {
    let mut app = action_log();
    // Hide STATUS and CREATED.
    run(
        &mut app,
        &[
            Msg::Columns,
            Msg::Down,
            Msg::Confirm,
            Msg::Down,
            Msg::Confirm,
        ],
    );
    snap("column_chooser", &app);
    run(&mut app, &[Msg::Cancel, Msg::Down, Msg::Confirm]);
    snap("audit_record", &app);
}
