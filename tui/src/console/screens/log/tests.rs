//! The action log through the reducer: fetching, its own filter, the
//! record view, the column chooser, refreshes.
use std::time::Instant;

use perch_proto::v1::{ActionKind, ActionResult, AuditRecord, GetInfoResponse, event::Kind};

use crate::console::{
    App, Overlay, Screen,
    overlays::record::Record,
    actions::Request,
    app::tests::{H, app, event},
    audit::AuditPage,
    input::{Focus, Msg},
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
        app.update(Msg::Input(c));
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
    app.update(Msg::Show(Screen::ActionLog));
    assert_eq!(app.screen(), Screen::ActionLog);
    assert_eq!(app.focus(), Focus::Screen(Screen::ActionLog));
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
    app.update(Msg::Filter);
    typed(&mut app, "action:kill");
    assert_eq!(shown(&app), ["k2", "k1"]);
    typed(&mut app, " !result:partial");
    assert_eq!(shown(&app), ["k1"]);
    // A bad term keeps the last good filter and says why.
    typed(&mut app, " \"");
    assert!(app.filter().1.is_some());
    assert_eq!(shown(&app), ["k1"]);
    app.update(Msg::Cancel);
    assert_eq!(shown(&app).len(), 3);
    // Times: 14:10 UTC (the test clock runs at UTC) and on.
    app.update(Msg::Filter);
    typed(&mut app, "since:2026-11-23T14:10 host:db");
    app.update(Msg::Confirm);
    assert_eq!(shown(&app), ["k1"]);
    // The process list's filter is untouched; Esc in the log clears its own.
    app.update(Msg::Show(Screen::Processes));
    assert!(!app.filter_active());
    assert_eq!(app.filter().0, "");
    app.update(Msg::Show(Screen::ActionLog));
    assert_eq!(app.filter().0, "since:2026-11-23T14:10 host:db");
    app.update(Msg::Cancel);
    assert_eq!(shown(&app).len(), 3);
}

#[test]
fn enter_shows_the_record_and_columns_toggle() {
    let mut app = log_app();
    app.update(Msg::Down);
    app.update(Msg::Confirm);
    assert_eq!(app.overlay(), Some(&Overlay::Record(Record::default())));
    assert_eq!(app.action_log().selected().unwrap().1.id, "k1");
    app.update(Msg::Cancel);
    assert_eq!(app.focus(), Focus::Screen(Screen::ActionLog));
    app.update(Msg::Columns);
    app.update(Msg::Down);
    app.update(Msg::Confirm);
    assert!(!app.action_log().columns[1], "STATUS hidden");
    app.update(Msg::Confirm);
    assert!(app.action_log().columns[1]);
    app.update(Msg::Cancel);
    app.update(Msg::Refresh);
    assert_eq!(audits(&mut app).len(), 2);
}

/// Issue 8: streamed action records go into the log as they come, once
/// each, newest first; no event asks for the whole log again.
#[test]
fn action_events_go_into_the_log_without_a_refetch() {
    let mut app = log_app();
    app.update(Msg::Down);
    assert_eq!(app.action_log().selected().unwrap().1.id, "k1");
    let record = rec(
        "new",
        ActionKind::Kill,
        ActionResult::Success,
        "root",
        T + 900,
    );
    app.ingest_events(HostId(1), &[event(5, Kind::Action(record.clone()))]);
    assert!(audits(&mut app).is_empty(), "no refetch");
    assert_eq!(shown(&app), ["new", "k2", "k1", "r1"]);
    assert_eq!(
        app.action_log().selected().unwrap().1.id,
        "k1",
        "the cursor stays on its record"
    );
    // The same record again (our own answer, a second stream): once.
    app.ingest_events(HostId(1), &[event(6, Kind::Action(record))]);
    assert_eq!(shown(&app), ["new", "k2", "k1", "r1"]);
    // While the processes show, records still arrive; coming back to the
    // log asks for nothing it already holds whole.
    app.update(Msg::Show(Screen::Processes));
    let older = rec("old", ActionKind::Renice, ActionResult::Success, "bob", T - 60);
    app.ingest_events(H, &[event(7, Kind::Action(older))]);
    app.update(Msg::Show(Screen::ActionLog));
    assert_eq!(app.screen(), Screen::ActionLog);
    assert!(audits(&mut app).is_empty());
    assert_eq!(shown(&app), ["new", "k2", "k1", "r1", "old"]);
    // A host that reconnected may have missed records: fetched again.
    app.set_connection(HostId(1), crate::console::ConnectionState::Reconnecting {
        attempt: 1,
        reason: String::new(),
    });
    app.set_connection(HostId(1), crate::console::ConnectionState::Connected);
    app.update(Msg::Show(Screen::Processes));
    app.update(Msg::Show(Screen::ActionLog));
    assert_eq!(audits(&mut app), [HostId(1)]);
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

mod state {
    //! The screen's state on its own: merging hosts newest first, keeping
    //! the cursor on its record, the columns.
    use crate::console::{
        audit::{
            AuditLog,
            tests::{page, rec},
        },
        model::HostId,
        screens::log::ActionLog,
    };

    fn ids(log: &ActionLog, audit: &AuditLog) -> Vec<String> {
        log.rows(audit).shown().map(|(_, r)| r.id.clone()).collect()
    }

    /// The cursor moved by `delta`, as the screen's keys do.
    fn move_by(log: &mut ActionLog, audit: &AuditLog, delta: isize) {
        log.list.move_by(delta);
        log.note_cursor(audit);
    }

    #[test]
    fn hosts_merge_newest_first_and_the_cursor_stays_on_its_record() {
        let mut log = ActionLog::default();
        let mut audit = AuditLog::default();
        let names = ["a".to_owned(), "b".to_owned()];
        audit.set_loading(HostId(0));
        assert!(audit.loading());
        audit.ingest(
            HostId(0),
            Ok(page(vec![rec("a2", 20, 2), rec("a1", 10, 1)])),
        );
        audit.ingest(HostId(1), Ok(page(vec![rec("b1", 15, 1)])));
        log.rebuild(&audit, &names);
        assert!(!audit.loading());
        assert_eq!(ids(&log, &audit), ["a2", "b1", "a1"]);
        move_by(&mut log, &audit, 1);
        assert_eq!(
            log.rows(&audit).selected().map(|(h, r)| (h, r.id.as_str())),
            Some((HostId(1), "b1"))
        );
        // A newer record arrives on top: the cursor follows b1.
        audit.ingest(
            HostId(0),
            Ok(page(vec![
                rec("a3", 30, 3),
                rec("a2", 20, 2),
                rec("a1", 10, 1),
            ])),
        );
        log.rebuild(&audit, &names);
        assert_eq!(ids(&log, &audit), ["a3", "a2", "b1", "a1"]);
        assert_eq!(log.rows(&audit).selected().unwrap().1.id, "b1");
        // A failed refetch keeps what was there and says why.
        audit.ingest(HostId(1), Err("audit: not reachable".into()));
        log.rebuild(&audit, &names);
        assert_eq!(audit.total(), 4);
        assert_eq!(audit.hosts[1].error.as_deref(), Some("audit: not reachable"));
        move_by(&mut log, &audit, isize::MAX);
        assert_eq!(log.rows(&audit).cursor, 3);
        move_by(&mut log, &audit, -100);
        assert_eq!(log.rows(&audit).cursor, 0);
    }

    /// The cursor keeps its record when that record's own page is
    /// replaced (its index moves) or a record is streamed in above it.
    #[test]
    fn the_cursor_keeps_its_record_when_indexes_move() {
        let mut log = ActionLog::default();
        let mut audit = AuditLog::default();
        let names = ["a".to_owned()];
        audit.ingest(HostId(0), Ok(page(vec![rec("a2", 20, 2), rec("a1", 10, 1)])));
        log.rebuild(&audit, &names);
        move_by(&mut log, &audit, 1);
        audit.ingest(
            HostId(0),
            Ok(page(vec![rec("a3", 30, 3), rec("a2", 20, 2), rec("a1", 10, 1)])),
        );
        log.rebuild(&audit, &names);
        assert_eq!(log.rows(&audit).selected().unwrap().1.id, "a1");
        audit.insert(HostId(0), rec("a4", 40, 4));
        log.rebuild(&audit, &names);
        assert_eq!(log.rows(&audit).selected().unwrap().1.id, "a1");
        assert_eq!(log.rows(&audit).cursor, 3);
    }

    #[test]
    fn the_last_visible_column_stays() {
        let mut log = ActionLog::default();
        for i in 0..7 {
            log.toggle_column(i);
        }
        assert_eq!(log.columns.iter().filter(|c| **c).count(), 1);
        assert!(log.columns[6]);
        log.toggle_column(0);
        assert!(log.columns[0]);
        log.toggle_column(99);
    }
}
