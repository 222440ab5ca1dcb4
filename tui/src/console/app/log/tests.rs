//! The action log through the reducer: fetching, its own filter, the
//! record view, the column chooser, refreshes.
use std::time::Instant;

use perch_proto::v1::{ActionKind, ActionResult, AuditRecord, GetInfoResponse, event::Kind};

use super::super::tests::{H, app, event};
use crate::console::{
    App, Overlay, Screen,
    actions::Request,
    audit::AuditPage,
    input::{Action, InputMode},
    model::HostId,
};

/// 2026-11-23 14:05:09 UTC.
const T: u64 = 1_795_442_709;

fn rec(id: &str, action: ActionKind, result: ActionResult, who: &str, secs: u64) -> AuditRecord {
    AuditRecord {
        id: id.into(),
        time_unix_ns: secs * 1_000_000_000,
        action: action.into(),
        result: result.into(),
        actor_user: who.into(),
        reason: format!("reason {id}"),
        ..AuditRecord::default()
    }
}

fn audits(app: &mut App) -> Vec<HostId> {
    app.take_outbox()
        .into_iter()
        .filter(|o| matches!(o.request, Request::ListAudit(_)))
        .map(|o| o.host)
        .collect()
}

fn typed(app: &mut App, s: &str) {
    for c in s.chars() {
        app.update(Action::Input(c));
    }
}

fn shown(app: &App) -> Vec<String> {
    app.action_log()
        .shown()
        .map(|(_, r)| r.id.clone())
        .collect()
}

fn log_app() -> App {
    let mut app = app(Instant::now());
    app.ingest_info(
        HostId(1),
        GetInfoResponse {
            host: "db".into(),
            ..GetInfoResponse::default()
        },
    );
    app.update(Action::SwitchView);
    assert_eq!(app.screen(), Screen::ActionLog);
    assert_eq!(app.input_mode(), InputMode::ActionLog);
    assert_eq!(
        audits(&mut app),
        [HostId(0), HostId(1)],
        "every host is asked"
    );
    let page = |records| AuditPage {
        records,
        ..AuditPage::default()
    };
    app.ingest_audit(
        H,
        Ok(page(vec![
            rec(
                "k2",
                ActionKind::KillTree,
                ActionResult::Partial,
                "root",
                T + 600,
            ),
            rec("r1", ActionKind::Renice, ActionResult::Success, "alice", T),
        ])),
    );
    app.ingest_audit(
        HostId(1),
        Ok(page(vec![rec(
            "k1",
            ActionKind::Kill,
            ActionResult::NotSuccessful,
            "bob",
            T + 300,
        )])),
    );
    app
}

#[test]
fn the_log_filters_with_its_own_filter() {
    let mut app = log_app();
    assert_eq!(shown(&app), ["k2", "k1", "r1"]);
    app.update(Action::Filter);
    typed(&mut app, "action:kill");
    assert_eq!(shown(&app), ["k2", "k1"]);
    typed(&mut app, " !result:partial");
    assert_eq!(shown(&app), ["k1"]);
    // A bad term keeps the last good filter and says why.
    typed(&mut app, " \"");
    assert!(app.filter().1.is_some());
    assert_eq!(shown(&app), ["k1"]);
    app.update(Action::Cancel);
    assert_eq!(shown(&app).len(), 3);
    // Times: 14:10 UTC (the test clock runs at UTC) and on.
    app.update(Action::Filter);
    typed(&mut app, "since:2026-11-23T14:10 host:db");
    app.update(Action::Confirm);
    assert_eq!(shown(&app), ["k1"]);
    // The process list's filter is untouched; Esc in the log clears its own.
    app.update(Action::SwitchView);
    assert!(!app.filter_active());
    assert_eq!(app.filter().0, "");
    app.update(Action::SwitchView);
    assert_eq!(app.filter().0, "since:2026-11-23T14:10 host:db");
    app.update(Action::Cancel);
    assert_eq!(shown(&app).len(), 3);
}

#[test]
fn enter_shows_the_record_and_columns_toggle() {
    let mut app = log_app();
    app.update(Action::Down);
    app.update(Action::Confirm);
    assert_eq!(app.overlay(), Overlay::Record { scroll: 0 });
    assert_eq!(app.action_log().selected().unwrap().1.id, "k1");
    app.update(Action::Cancel);
    assert_eq!(app.input_mode(), InputMode::ActionLog);
    app.update(Action::Columns);
    app.update(Action::Down);
    app.update(Action::Confirm);
    assert!(!app.action_log().columns[1], "STATUS hidden");
    app.update(Action::Confirm);
    assert!(app.action_log().columns[1]);
    app.update(Action::Cancel);
    app.update(Action::Refresh);
    assert_eq!(audits(&mut app).len(), 2);
}

#[test]
fn action_events_refresh_the_open_log() {
    let mut app = log_app();
    let record = rec(
        "new",
        ActionKind::Kill,
        ActionResult::Success,
        "root",
        T + 900,
    );
    app.ingest_events(HostId(1), &[event(5, Kind::Action(record.clone()))]);
    assert_eq!(audits(&mut app), [HostId(1)]);
    // Not while the processes show: entering the log fetches anyway.
    app.update(Action::SwitchView);
    app.ingest_events(H, &[event(6, Kind::Action(record))]);
    assert!(audits(&mut app).is_empty());
}

#[test]
fn a_cut_log_says_so() {
    let mut app = log_app();
    let many = (0..crate::console::audit::FETCH_LIMIT)
        .map(|i| {
            rec(
                &i.to_string(),
                ActionKind::Kill,
                ActionResult::Success,
                "root",
                T,
            )
        })
        .collect();
    app.ingest_audit(
        H,
        Ok(AuditPage {
            records: many,
            ..AuditPage::default()
        }),
    );
    let mut term = ratatui::Terminal::new(ratatui::backend::TestBackend::new(120, 30)).unwrap();
    term.draw(|f| crate::console::draw(f, &app)).unwrap();
    let buf = term.backend().buffer();
    let footer: String = (0..120).map(|x| buf[(x, 28)].symbol()).collect();
    assert!(
        footer.contains("5001 records · only the newest 5000 per host"),
        "{footer}"
    );
}
