//! Actions through the reducer: keys, read-only, the dialog's checks, what is
//! queued, and what answers and action events do to the console.
use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use perch_proto::v1::{
    self, ActRequest, ActResponse, ActionKind, ActionMode, ActionResult, ActionTarget,
    AffectedProcess, AuditRecord, Exit, GetInfoResponse, ProcessExit, ProcessOutcome, Role, Signal,
    event::Kind,
};
use ratatui::{Terminal, backend::TestBackend};

use super::super::tests::{H, app, event, key, proc};
use crate::{
    act::{ClientIdentity, InputError},
    console::{
        App, Config, Screen,
        actions::Request,
        draw,
        input::{Focus, Keymap, Msg, msg_for},
        overlays::{OverlayKind, dialog::Field, help::HelpOverlay},
        theme::Theme,
    },
};

/// `app()` with this console's identity, as the live loop sets it.
fn console(t0: Instant) -> App {
    let mut a = app(t0);
    a.config.client = ClientIdentity {
        pid: 4000,
        start_time_ns: 50_000_000_000,
        origin: "ssh 10.0.0.5 51234 22".into(),
    };
    a
}

fn run(app: &mut App, actions: &[Msg]) {
    for a in actions {
        app.update(*a);
    }
}

fn typed(app: &mut App, s: &str) {
    for c in s.chars() {
        app.update(Msg::Input(c));
    }
}

/// The action requests queued, by id.
fn acts(app: &mut App) -> Vec<(u64, ActRequest)> {
    app.take_outbox()
        .into_iter()
        .filter_map(|o| match o.request {
            Request::Act(r) => Some((o.id, r)),
            Request::ListAudit(_)
            | Request::ListPolicies
            | Request::ApplyPolicy { .. }
            | Request::SaveColumns(_) => None,
        })
        .collect()
}

fn screen_text(app: &App, w: u16, h: u16) -> String {
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    term.draw(|f| draw(f, app)).unwrap();
    let buf = term.backend().buffer();
    (0..h)
        .map(|y| (0..w).map(|x| buf[(x, y)].symbol()).collect::<String>() + "\n")
        .collect()
}

#[test]
fn k_and_f9_open_the_menu_but_k_no_longer_moves_up() {
    let n = Focus::Screen(Screen::Processes);
    let key_ev = |c| KeyEvent::new(c, KeyModifiers::NONE);
    assert_eq!(msg_for(key_ev(KeyCode::Char('k')), n), Some(Msg::ActMenu));
    assert_eq!(msg_for(key_ev(KeyCode::F(9)), n), Some(Msg::ActMenu));
    assert_eq!(msg_for(key_ev(KeyCode::F(7)), n), Some(Msg::Renice(-1)));
    assert_eq!(msg_for(key_ev(KeyCode::F(8)), n), Some(Msg::Renice(1)));
    assert_eq!(msg_for(key_ev(KeyCode::Up), n), Some(Msg::Up));
    let ctrl = |c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL);
    assert_eq!(msg_for(ctrl('p'), n), Some(Msg::Up));
    assert_eq!(msg_for(ctrl('n'), n), Some(Msg::Down));
    assert_eq!(msg_for(key_ev(KeyCode::Char('j')), n), Some(Msg::Down));

    let mut app = console(Instant::now());
    run(&mut app, &[Msg::Select(key(20)), Msg::ActMenu]);
    assert_eq!(app.focus(), Focus::Overlay(OverlayKind::ActMenu));
    let menu = app.menu().unwrap();
    assert_eq!(menu.target, key(20));
    let kinds: Vec<_> = menu.items.iter().map(|i| (i.kind, i.count)).collect();
    // nginx and its worker; no pod entries outside a pod; freeze, not
    // thaw: nothing there is frozen.
    assert_eq!(
        kinds,
        [
            (ActionKind::Kill, 1),
            (ActionKind::KillTree, 2),
            (ActionKind::KillGroup, 1),
            (ActionKind::Renice, 1),
            (ActionKind::FreezeTree, 2),
        ]
    );
    app.update(Msg::Cancel);
    assert_eq!(app.focus(), Focus::Screen(Screen::Processes));
}

#[test]
fn read_only_hides_every_action() {
    let t0 = Instant::now();
    let mut flagged = App::new(
        Config {
            read_only: true,
            ..Config::default()
        },
        t0,
    );
    flagged.ingest_snapshot(H, vec![proc(1, 0, &["init"], 0.0), proc(5, 1, &["x"], 0.0)]);
    // A viewer, by the collector's word.
    let mut viewer = console(t0);
    viewer.ingest_info(
        H,
        GetInfoResponse {
            host: "box".into(),
            caller_role: Role::Viewer.into(),
            ..GetInfoResponse::default()
        },
    );
    for app in [&mut flagged, &mut viewer] {
        app.tick(t0);
        assert!(app.read_only());
        run(app, &[Msg::Down, Msg::ActMenu]);
        assert_eq!(
            app.focus(),
            Focus::Screen(Screen::Processes),
            "the menu never opens"
        );
        run(app, &[Msg::Renice(1), Msg::Renice(-1)]);
        assert!(app.dialog().is_none());
        assert!(app.take_outbox().is_empty());
        let text = screen_text(app, 100, 30);
        assert_eq!(text.matches("read-only").count(), 1, "{text}");
        assert!(!text.contains("F9Act"), "{text}");
    }
    // The help lists no action key then; it does otherwise.
    let t = Theme::new(true);
    let help = |ro| {
        HelpOverlay::lines(&t, Keymap::defaults(), ro)
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert!(help(false).contains("k F9") && help(false).contains("Action dialog"));
    for gone in ["k F9", "F7", "F8", "Action dialog", "Action menu"] {
        assert!(!help(true).contains(gone), "{gone}");
    }
    // An operator (or an older perchd that says nothing) may act.
    let mut op = console(t0);
    run(&mut op, &[Msg::ActMenu]);
    assert_eq!(op.focus(), Focus::Overlay(OverlayKind::ActMenu));
}

#[test]
fn esc_cancels_and_nothing_is_sent() {
    let mut app = console(Instant::now());
    run(
        &mut app,
        &[Msg::Select(key(21)), Msg::ActMenu, Msg::Confirm],
    );
    assert_eq!(app.focus(), Focus::Overlay(OverlayKind::Dialog));
    typed(&mut app, "q?jk"); // text, not keys, in the dialog
    assert_eq!(app.dialog().unwrap().reason.text(), "q?jk");
    assert!(!app.should_quit());
    run(&mut app, &[Msg::Cancel]);
    assert!(app.dialog().is_none());
    assert_eq!(app.focus(), Focus::Screen(Screen::Processes));
    assert!(app.take_outbox().is_empty());
}

#[test]
fn an_empty_reason_blocks_the_button() {
    let mut app = console(Instant::now());
    run(
        &mut app,
        &[Msg::Select(key(21)), Msg::ActMenu, Msg::Confirm],
    );
    // Enter on the reason goes to the button; Enter there tries to send.
    run(&mut app, &[Msg::Confirm]);
    assert_eq!(app.dialog().unwrap().focus, Field::Confirm);
    typed(&mut app, "");
    run(&mut app, &[Msg::Confirm]);
    let d = app.dialog().unwrap();
    assert_eq!(d.focus, Field::Reason, "the field to fill is highlighted");
    assert_eq!(d.reason_error, Some(InputError::EmptyReason));
    assert!(app.take_outbox().is_empty());
    // Blanks are no reason either.
    typed(&mut app, "   ");
    run(&mut app, &[Msg::Confirm, Msg::Confirm]);
    assert!(app.take_outbox().is_empty());
    assert_eq!(app.focus(), Focus::Overlay(OverlayKind::Dialog));
}

#[test]
fn the_request_carries_signal_dry_run_reason_and_client() {
    let mut app = console(Instant::now());
    run(
        &mut app,
        &[Msg::Select(key(20)), Msg::ActMenu, Msg::Down, Msg::Confirm],
    );
    // Signal: TERM by default, KILL one Right away, from the reason field
    // too while it is empty; Left twice: TERM then USR2 (wraps).
    assert_eq!(app.dialog().unwrap().signal, Signal::Term);
    run(&mut app, &[Msg::Increase]);
    assert_eq!(app.dialog().unwrap().signal, Signal::Kill);
    run(&mut app, &[Msg::PrevField, Msg::Decrease]);
    assert_eq!(app.dialog().unwrap().signal, Signal::Term);
    run(&mut app, &[Msg::Decrease]);
    assert_eq!(app.dialog().unwrap().signal, Signal::Usr2);
    run(&mut app, &[Msg::Increase]);
    assert_eq!(app.dialog().unwrap().signal, Signal::Term);
    run(&mut app, &[Msg::NextField]);
    typed(&mut app, "  miner  ");
    run(&mut app, &[Msg::NextField, Msg::Input(' ')]);
    let d = app.dialog().unwrap();
    assert!(d.dry_run);
    assert_eq!(d.confirm_label(), "DRY RUN: KILL TREE (2 PROCESSES)");
    run(&mut app, &[Msg::NextField, Msg::Confirm]);
    let sent = acts(&mut app);
    let [(_, r)] = &sent[..] else {
        panic!("{sent:?}")
    };
    assert_eq!(r.action(), ActionKind::KillTree);
    assert_eq!(r.mode(), ActionMode::DryRun);
    assert_eq!(r.signal(), Signal::Term);
    assert_eq!(r.reason, "miner");
    assert_eq!(
        r.target,
        Some(v1::ProcessKey {
            pid: 20,
            start_time_ns: 20_000_000_000
        })
    );
    assert_eq!(r.client_origin, "ssh 10.0.0.5 51234 22");
    assert_eq!(r.client_process.map(|k| k.pid), Some(4000));
    assert!(app.dialog().is_none());
    assert!(app.flash().unwrap().contains("sent"));
}

#[test]
fn renice_names_the_range_and_f7_f8_start_from_the_current_nice() {
    let mut app = console(Instant::now());
    run(&mut app, &[Msg::Select(key(12)), Msg::Renice(-1)]);
    let d = app.dialog().unwrap();
    assert_eq!((d.kind, d.priority.text()), (ActionKind::Renice, "-1"));
    run(&mut app, &[Msg::Cancel, Msg::Renice(1)]);
    assert_eq!(app.dialog().unwrap().priority.text(), "1");
    run(&mut app, &[Msg::PrevField, Msg::Backspace]);
    typed(&mut app, "20");
    let e = app.dialog().unwrap().priority_error().unwrap();
    assert_eq!(e.to_string(), "priority 20 is outside -20..19");
    run(&mut app, &[Msg::NextField]);
    typed(&mut app, "hog");
    run(&mut app, &[Msg::Confirm, Msg::Confirm]);
    assert!(app.take_outbox().is_empty(), "out of range: not sent");
    assert_eq!(app.dialog().unwrap().focus, Field::Priority);
    // Right steps back into the range; then it goes.
    run(&mut app, &[Msg::Increase]);
    assert_eq!(app.dialog().unwrap().priority.text(), "19");
    run(&mut app, &[Msg::Confirm, Msg::Confirm]);
    let sent = acts(&mut app);
    assert_eq!(sent[0].1.priority, Some(19));
    assert_eq!(sent[0].1.signal(), Signal::Unspecified);
}

fn answer(req: &ActRequest, outcome: ProcessOutcome, result: ActionResult) -> ActResponse {
    ActResponse {
        record: Some(AuditRecord {
            id: "r-1".into(),
            actor_user: "root".into(),
            action: req.action,
            signal: req.signal,
            mode: req.mode,
            target: Some(ActionTarget {
                key: req.target,
                ..ActionTarget::default()
            }),
            processes: vec![AffectedProcess {
                key: req.target,
                outcome: outcome.into(),
                ..AffectedProcess::default()
            }],
            reason: req.reason.clone(),
            result: result.into(),
            code: "ok".into(),
            ..AuditRecord::default()
        }),
        done: 1,
        already_gone: 0,
        ..ActResponse::default()
    }
}

/// Kills pid 21 from the menu; returns the request's id and itself.
fn kill_21(app: &mut App) -> (u64, ActRequest) {
    run(app, &[Msg::Select(key(21)), Msg::ActMenu, Msg::Confirm]);
    typed(app, "why");
    run(app, &[Msg::Confirm, Msg::Confirm]);
    acts(app).pop().unwrap()
}

#[test]
fn a_result_shows_a_toast_and_marks_the_row_until_it_exits() {
    let t0 = Instant::now();
    let mut app = console(t0);
    let (id, req) = kill_21(&mut app);
    app.ingest_act_result(
        id,
        Ok(answer(&req, ProcessOutcome::Done, ActionResult::Success)),
    );
    let toast = app.toast().unwrap();
    assert_eq!(toast.result, ActionResult::Success);
    assert_eq!(toast.detail, "1 process signalled");
    assert!(toast.escalate.is_none(), "nothing said it still runs");
    assert!(
        toast.title.starts_with("Kill process 21"),
        "{}",
        toast.title
    );
    // Signalled, not exited: the row says so, and never `[defunct]`.
    assert_eq!(app.signalled(&key(21)), Some(15));
    assert_eq!(app.notes(&key(21)).len(), 1);
    assert_eq!(app.focus(), Focus::Toast);
    let text = screen_text(&app, 100, 30);
    assert!(
        text.contains("[signalled]") && !text.contains("[defunct]"),
        "{text}"
    );
    // The same record from the event stream is not noted twice.
    app.ingest_events(
        H,
        &[event(
            9,
            Kind::Action(
                answer(&req, ProcessOutcome::Done, ActionResult::Success)
                    .record
                    .unwrap(),
            ),
        )],
    );
    assert_eq!(app.notes(&key(21)).len(), 1);
    // It goes by itself after five seconds.
    app.tick(t0 + Duration::from_secs(4));
    assert!(app.toast().is_some());
    app.tick(t0 + Duration::from_secs(5));
    assert!(app.toast().is_none());
    // The exit arrives: killed by the signal sent (TERM).
    app.ingest_events(
        H,
        &[event(
            10,
            Kind::Exit(ProcessExit {
                key: req.target,
                exit: Some(Exit {
                    time_ns: 10_000_000_000,
                    code: None,
                    signal: Some(15),
                    core_dumped: false,
                    oom_killed: false,
                }),
            }),
        )],
    );
    app.tick(t0 + Duration::from_secs(6));
    let text = screen_text(&app, 100, 30);
    assert!(
        text.contains("[killed]") && !text.contains("[signalled]"),
        "{text}"
    );
}

#[test]
fn failures_toast_without_marking_and_any_key_dismisses() {
    let mut app = console(Instant::now());
    let (id, req) = kill_21(&mut app);
    app.ingest_act_result(
        id,
        Ok(answer(
            &req,
            ProcessOutcome::Failed,
            ActionResult::NotSuccessful,
        )),
    );
    assert_eq!(app.toast().unwrap().result, ActionResult::NotSuccessful);
    assert_eq!(app.signalled(&key(21)), None);
    // Any key: gone, and the key does nothing else.
    let before = app.cursor();
    assert_eq!(
        msg_for(
            KeyEvent::new(KeyCode::Char('x'), KeyModifiers::NONE),
            app.focus()
        ),
        Some(Msg::Cancel)
    );
    app.update(Msg::Down);
    assert!(app.toast().is_none());
    assert_eq!(app.cursor(), before);
    // A refused RPC is a result too.
    let (id, _) = kill_21(&mut app);
    app.ingest_act_result(
        id,
        Err(tonic::Status::permission_denied("uid 1000 is a viewer")),
    );
    let t = app.toast().unwrap();
    assert_eq!(
        (t.result, t.code.as_str(), t.detail.as_str()),
        (
            ActionResult::NotSuccessful,
            "permission_denied",
            "uid 1000 is a viewer"
        )
    );
    // Answers to unknown ids are ignored.
    app.update(Msg::Cancel);
    app.ingest_act_result(999, Err(tonic::Status::internal("?")));
    assert!(app.toast().is_none());
}

#[test]
fn action_events_from_the_stream_show_in_the_detail_view() {
    let mut app = console(Instant::now());
    let record = AuditRecord {
        id: "other-console".into(),
        actor_user: "alice".into(),
        action: ActionKind::KillTree.into(),
        mode: ActionMode::Live.into(),
        target: Some(ActionTarget {
            key: Some(v1::ProcessKey {
                pid: 20,
                start_time_ns: 20_000_000_000,
            }),
            ..ActionTarget::default()
        }),
        processes: [20, 21]
            .map(|pid| AffectedProcess {
                key: Some(v1::ProcessKey {
                    pid,
                    start_time_ns: u64::from(pid) * 1_000_000_000,
                }),
                outcome: ProcessOutcome::Done.into(),
                ..AffectedProcess::default()
            })
            .to_vec(),
        reason: "lateral movement".into(),
        result: ActionResult::Partial.into(),
        code: "partial".into(),
        ..AuditRecord::default()
    };
    app.ingest_events(H, &[event(9, Kind::Action(record))]);
    assert!(app.toast().is_none(), "someone else's action: no toast");
    assert!(app.signalled(&key(20)).is_some() && app.signalled(&key(21)).is_some());
    run(&mut app, &[Msg::Select(key(21)), Msg::Confirm]);
    let text = screen_text(&app, 100, 40);
    assert!(
        text.contains("Kill tree by alice: PARTIAL partial \"lateral movement\""),
        "{text}"
    );
    assert!(
        text.contains("signalled (SIGKILL): still running"),
        "{text}"
    );
}

#[test]
fn exited_processes_get_no_menu() {
    let t0 = Instant::now();
    let mut app = console(t0);
    app.ingest_events(
        H,
        &[event(
            10,
            Kind::Exit(ProcessExit {
                key: Some(v1::ProcessKey {
                    pid: 12,
                    start_time_ns: 12_000_000_000,
                }),
                exit: Some(Exit::default()),
            }),
        )],
    );
    app.tick(t0);
    run(&mut app, &[Msg::Select(key(12)), Msg::ActMenu]);
    assert_eq!(app.focus(), Focus::Screen(Screen::Processes));
    assert_eq!(app.flash(), Some("12 has exited: nothing to act on"));
}

#[test]
fn quick_renice_asks_once_then_acts_at_once_with_the_last_reason() {
    let mut app = console(Instant::now());
    // No reason given yet in this console: F8 opens the dialog.
    run(&mut app, &[Msg::Select(key(12)), Msg::Renice(1)]);
    assert_eq!(app.focus(), Focus::Overlay(OverlayKind::Dialog));
    assert_eq!(app.dialog().unwrap().priority.text(), "1");
    typed(&mut app, "vim hogs the box");
    run(&mut app, &[Msg::Confirm, Msg::Confirm]);
    assert_eq!(acts(&mut app).len(), 1);
    // From now on F7/F8 act at once, recording the reason as a quick renice.
    run(&mut app, &[Msg::Select(key(21)), Msg::Renice(1)]);
    assert_eq!(app.focus(), Focus::Screen(Screen::Processes));
    let sent = acts(&mut app);
    let [(_, r)] = &sent[..] else {
        panic!("{sent:?}")
    };
    assert_eq!(r.action(), ActionKind::Renice);
    assert_eq!(r.priority, Some(1));
    assert_eq!(r.reason, "quick renice: vim hogs the box");
    assert_eq!(r.mode(), ActionMode::Live);
    assert!(app.flash().unwrap_or("").contains("quick renice"));
}

#[test]
fn esc_clears_the_prompt_it_is_in_only() {
    let mut app = console(Instant::now());
    run(&mut app, &[Msg::Filter]);
    typed(&mut app, "nginx");
    run(&mut app, &[Msg::Confirm, Msg::Search]);
    typed(&mut app, "wor");
    // Ctrl-W in the prompt, then Esc: the search goes, the filter stays.
    run(&mut app, &[Msg::DeleteWord, Msg::Cancel]);
    assert!(!app.search().is_active());
    assert_eq!(app.filter().0, "nginx");
    // In the list, Esc clears what the footer shows: now the filter.
    run(&mut app, &[Msg::Cancel]);
    assert_eq!(app.filter().0, "");
}
