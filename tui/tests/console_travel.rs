//! Time travel in the real console, on a `TimeSource` built from the
//! recorded fixture (tests/fixtures/host.bin: a real perchd's snapshot and
//! nine seconds of its events): the state at an instant is the snapshot
//! with the events up to it applied, as a history store would have it.
//! Rendered on `TestBackend` at 80x24 and 160x48; the wall clock and local
//! time (UTC) are injected, so times come out the same on every run.
#![expect(
    clippy::expect_used,
    reason = "test: a broken fixture should fail loudly"
)]
mod common;

use std::{collections::HashMap, time::Instant};

use common::{SIZES, feed, recording, run, screen, text, typed};
use futures::{executor::block_on, future::BoxFuture};
use perch::{
    console::{
        App, Config, HostId, Msg, Overlay, app::ACTIONS_DISABLED, recording::Recording,
        timeline::Mode,
    },
    live::answer,
    travel::{SourceError, StateAt, TimeSource},
};
use perch_proto::{
    NS_PER_SEC,
    v1::{HistoryInfo, HistoryStatus, HostSample, Process, ProcessKey, event::Kind},
};

/// The recording as a history: every instant from its first event to its
/// last.
struct FixtureHistory {
    rec: Recording,
}

impl FixtureHistory {
    fn new() -> FixtureHistory {
        FixtureHistory { rec: recording() }
    }

    fn boot(&self) -> u64 {
        self.rec.info.boot_time_unix_ns
    }

    fn times(&self) -> impl Iterator<Item = u64> + '_ {
        self.rec
            .events
            .iter()
            .flat_map(|b| &b.events)
            .map(|e| self.boot() + e.time_ns)
    }

    fn bounds(&self) -> (u64, u64) {
        let oldest = self.times().min().expect("events");
        let newest = self.times().max().expect("events");
        (oldest, newest)
    }

    /// The snapshot with every event up to `at` applied.
    fn state(&self, at: u64) -> Result<StateAt, SourceError> {
        let (oldest, newest) = self.bounds();
        if !(oldest..=newest).contains(&at) {
            return Err(SourceError::OutOfRange {
                oldest_unix_ns: oldest,
                newest_unix_ns: newest,
            });
        }
        let key = |k: &Option<ProcessKey>| k.map(|k| (k.pid, k.start_time_ns));
        let mut procs: HashMap<_, Process> = self
            .rec
            .processes
            .iter()
            .map(|p| (key(&p.key), p.clone()))
            .collect();
        let mut host: Option<HostSample> = None;
        let mut sampled = oldest;
        for e in self.rec.events.iter().flat_map(|b| &b.events) {
            let t = self.boot() + e.time_ns;
            if t > at {
                continue;
            }
            sampled = sampled.max(t);
            match &e.kind {
                Some(Kind::Exec(x)) => {
                    if let Some(p) = &x.process {
                        procs.insert(key(&p.key), p.clone());
                    }
                }
                Some(Kind::Fork(x)) => {
                    if let Some(p) = &x.child {
                        procs.insert(key(&p.key), p.clone());
                    }
                }
                Some(Kind::Exit(x)) => {
                    if let Some(p) = procs.get_mut(&key(&x.key)) {
                        p.exit = x.exit;
                    }
                }
                Some(Kind::ProcessSamples(s)) => {
                    for s in &s.samples {
                        if let Some(p) = procs.get_mut(&key(&s.key)) {
                            p.usage.clone_from(&s.usage);
                            p.threads = s.threads;
                            p.state.clone_from(&s.state);
                            p.frozen = s.frozen;
                        }
                    }
                }
                Some(Kind::HostSample(s)) => host = Some(s.clone()),
                _ => {}
            }
        }
        let mut processes: Vec<Process> = procs.into_values().collect();
        processes.sort_by_key(|p| key(&p.key));
        Ok(StateAt {
            at_unix_ns: sampled,
            oldest_unix_ns: oldest,
            newest_unix_ns: newest,
            host_name: "web-1".to_owned(),
            processes,
            host,
            ..StateAt::default()
        })
    }
}

impl TimeSource for FixtureHistory {
    fn name(&self) -> String {
        "web-1".to_owned()
    }

    fn range(&self) -> BoxFuture<'_, Result<(u64, u64), SourceError>> {
        let r = self.bounds();
        Box::pin(async move { Ok(r) })
    }

    fn state_at(&self, at_unix_ns: u64) -> BoxFuture<'_, Result<StateAt, SourceError>> {
        let r = self.state(at_unix_ns);
        Box::pin(async move { r })
    }
}

/// Sends the console's queries to `src` and hands the answers back, as
/// the loop does.
fn pump(app: &mut App, src: &FixtureHistory) {
    while let Some(q) = app.take_time_query() {
        let a = block_on(answer(src, q));
        app.ingest_time(a);
    }
}

/// A console that has seen the first `events` batches of the recording,
/// with time travel over the whole of it, two minutes after its end.
fn console(events: usize, has_live: bool) -> (App, FixtureHistory) {
    let src = FixtureHistory::new();
    let mut rec = src.rec.clone();
    rec.events.truncate(events);
    let mut app = App::new(Config::default(), Instant::now());
    feed(&mut app, HostId(0), &rec, "web-1");
    app.enable_travel(has_live);
    app.set_wall_clock(src.bounds().1 + 125 * NS_PER_SEC);
    app.refresh();
    (app, src)
}

fn snap(name: &str, app: &App) {
    for size in SIZES {
        let screen = text(&screen(app, size));
        insta::assert_snapshot!(format!("{name}_{}x{}", size.0, size.1), screen);
    }
}

fn commands(app: &App) -> Vec<String> {
    let mut c: Vec<String> = app
        .store()
        .iter()
        .map(|(_, p)| p.command.to_string())
        .collect();
    c.sort();
    c
}

/// The instant `secs` seconds into the recording.
fn into_recording(src: &FixtureHistory, secs: u64) -> u64 {
    src.bounds().0 + secs * NS_PER_SEC
}

#[test]
fn a_past_state_shows_on_the_screens_and_live_comes_back_at_once() {
    let (mut app, src) = console(usize::MAX, true);
    let live = commands(&app);
    assert_eq!(app.timeline().header_text(0), "LIVE");
    app.travel_to(into_recording(&src, 2));
    assert!(
        app.timeline().header_text(0).ends_with("loading…"),
        "{}",
        app.timeline().header_text(0)
    );
    pump(&mut app, &src);
    let past = commands(&app);
    let want = src.state(into_recording(&src, 2)).expect("in range");
    assert_eq!(
        past.len(),
        want.processes.len(),
        "the screens hold the state at that instant"
    );
    assert_ne!(past, live, "the recording execs and forks after 2 s");
    assert!(past.len() < live.len());
    // The detail view's graphs end at the instant shown: the live rows'
    // history up to it, then the state's sample.
    assert!(!busy(&app).history.is_empty());
    let busy = busy(&app).key;
    snap("travel_past_processes", &app);
    // Later, once sampled: its detail view, graphs up to then.
    app.travel_to(into_recording(&src, 6));
    pump(&mut app, &src);
    run(&mut app, &[Msg::Select(busy), Msg::Confirm]);
    snap("travel_past_detail", &app);
    run(&mut app, &[Msg::Cancel]);
    app.travel_to(into_recording(&src, 2));
    pump(&mut app, &src);
    // Another screen shows the same past (its own data: the host's).
    run(&mut app, &[Msg::Show(perch::console::Screen::Flags)]);
    snap("travel_past_flags", &app);
    run(&mut app, &[Msg::Show(perch::console::Screen::Processes)]);
    // Back to LIVE from the time menu: no query, the live data at once.
    run(&mut app, &[Msg::TimeMenu]);
    snap("travel_time_menu", &app);
    // LIVE is the last entry, under the jumps and the go-to line.
    run(&mut app, &[Msg::Down; 9]);
    run(&mut app, &[Msg::Confirm]);
    assert_eq!(app.take_time_query(), None);
    assert!(app.is_live());
    assert_eq!(commands(&app), live);
}

#[test]
fn live_events_keep_arriving_while_in_the_past() {
    let (mut app, src) = console(4, true);
    let rest = src.rec.events[4..].to_vec();
    app.travel_to(into_recording(&src, 1));
    pump(&mut app, &src);
    let past = commands(&app);
    for batch in &rest {
        app.ingest_events(HostId(0), &batch.events);
    }
    app.refresh();
    assert_eq!(commands(&app), past, "the past does not move");
    app.go_live();
    let (mut full, _) = console(usize::MAX, true);
    full.refresh();
    assert_eq!(commands(&app), commands(&full), "LIVE has every event");
}

#[test]
fn steps_stale_answers_and_past_the_newest() {
    let (mut app, src) = console(usize::MAX, true);
    let (oldest, newest) = src.bounds();
    app.travel_to(newest - 3 * NS_PER_SEC);
    pump(&mut app, &src);
    // `[` twice before any answer: two seconds back from the target, and
    // the first answer is stale.
    run(&mut app, &[Msg::TimeStep(-1)]);
    let first = app.take_time_query().expect("query");
    run(&mut app, &[Msg::TimeStep(-1)]);
    let second = app.take_time_query().expect("query");
    assert_eq!(second.at_unix_ns, newest - 5 * NS_PER_SEC);
    app.ingest_time(block_on(answer(&src, first)));
    assert_eq!(app.timeline().mode(), Mode::At(newest - 5 * NS_PER_SEC));
    assert!(app.timeline().header_text(0).ends_with("loading…"));
    app.ingest_time(block_on(answer(&src, second)));
    assert!(!app.timeline().header_text(0).ends_with("loading…"));
    // `}` past the newest stored instant: LIVE.
    run(&mut app, &[Msg::TimeStep(60)]);
    pump(&mut app, &src);
    assert!(app.is_live());
    // `{` from LIVE, then before the oldest: the error names the range.
    run(&mut app, &[Msg::TimeStep(-1)]);
    pump(&mut app, &src);
    assert_eq!(
        app.timeline().mode(),
        Mode::At(newest),
        "back from LIVE: the newest stored"
    );
    run(&mut app, &[Msg::TimeStep(-60)]);
    pump(&mut app, &src);
    assert_eq!(app.timeline().mode(), Mode::At(newest));
    let flash = app.flash().expect("error on the status line");
    let range = |ns: u64| perch::when::date_time(i64::try_from(ns / NS_PER_SEC).expect("secs"), 0);
    assert_eq!(
        flash,
        format!(
            "no history at that time: web-1's history holds {} to {}",
            range(oldest),
            range(newest)
        )
    );
    snap("travel_out_of_range", &app);
}

#[test]
fn actions_are_refused_while_not_live() {
    let (mut app, src) = console(usize::MAX, true);
    run(&mut app, &[Msg::ActMenu]);
    assert!(
        matches!(app.overlay(), Some(Overlay::ActMenu(_))),
        "LIVE acts"
    );
    run(&mut app, &[Msg::Cancel]);
    app.travel_to(into_recording(&src, 3));
    pump(&mut app, &src);
    for m in [Msg::ActMenu, Msg::Renice(1), Msg::Renice(-1)] {
        run(&mut app, &[m]);
        assert!(app.overlay().is_none(), "{m:?} opened something");
        assert_eq!(app.flash(), Some(ACTIONS_DISABLED));
    }
    assert!(app.take_outbox().is_empty());
    snap("travel_actions_refused", &app);
    // The action log shows the past's records; `r` does not fetch today's.
    run(
        &mut app,
        &[Msg::Show(perch::console::Screen::ActionLog), Msg::Refresh],
    );
    assert!(app.flash().is_some_and(|f| f.contains("shows the past")));
    assert!(app.take_outbox().is_empty());
}

#[test]
fn the_time_menu_takes_a_typed_time_and_says_what_is_wrong() {
    let (mut app, src) = console(usize::MAX, true);
    let (_, newest) = src.bounds();
    run(&mut app, &[Msg::TimeMenu]);
    run(&mut app, &typed("yesterday-ish"));
    run(&mut app, &[Msg::Confirm]);
    let Some(Overlay::TimeMenu(menu)) = app.overlay() else {
        panic!("the menu stays open on an error");
    };
    let e = menu.error().expect("error shown");
    assert!(
        e.contains("is not a time") && e.contains("10 minutes ago"),
        "{e}"
    );
    snap("travel_time_menu_error", &app);
    // An absolute time (bare Unix seconds), then offsets from it.
    run(&mut app, &[Msg::DeleteLine]);
    let secs = newest / NS_PER_SEC - 4;
    run(&mut app, &typed(&secs.to_string()));
    run(&mut app, &[Msg::Confirm]);
    assert!(app.overlay().is_none());
    pump(&mut app, &src);
    assert_eq!(app.timeline().mode(), Mode::At(secs * NS_PER_SEC));
    run(&mut app, &[Msg::TimeMenu]);
    run(&mut app, &typed("+2s"));
    run(&mut app, &[Msg::Confirm]);
    pump(&mut app, &src);
    assert_eq!(app.timeline().mode(), Mode::At((secs + 2) * NS_PER_SEC));
    // −15 s from the menu (the fourth entry).
    run(
        &mut app,
        &[Msg::TimeMenu, Msg::Down, Msg::Down, Msg::Down, Msg::Confirm],
    );
    pump(&mut app, &src);
    assert_eq!(app.timeline().mode(), Mode::At((secs + 2) * NS_PER_SEC));
    assert!(
        app.flash()
            .is_some_and(|f| f.contains("no history at that time"))
    );
    // Space plays: the clock moves it forward at the chosen speed.
    run(&mut app, &[Msg::Play, Msg::Play]);
    assert_eq!(
        app.timeline().mode(),
        Mode::Playing {
            at: (secs + 2) * NS_PER_SEC,
            speed: perch::console::timeline::Speed::X2
        }
    );
}

#[test]
fn a_recording_has_no_live_and_no_actions() {
    let (mut app, src) = console(0, false);
    app.travel_to(into_recording(&src, 5));
    pump(&mut app, &src);
    run(&mut app, &[Msg::TimeStep(60)]);
    pump(&mut app, &src);
    assert_eq!(
        app.timeline().mode(),
        Mode::At(src.bounds().1),
        "clamped to the recording's end, not LIVE"
    );
    run(&mut app, &[Msg::ActMenu]);
    assert_eq!(app.flash(), Some(ACTIONS_DISABLED));
    run(&mut app, &[Msg::TimeMenu]);
    snap("travel_replay_menu", &app);
}

#[test]
fn the_header_says_when_the_collector_keeps_no_history() {
    let (mut app, _src) = console(0, true);
    let mut info = recording().info;
    "web-1".clone_into(&mut info.host);
    info.history = Some(HistoryInfo {
        status: HistoryStatus::Broken.into(),
        detail: "disk full".to_owned(),
        ..HistoryInfo::default()
    });
    app.ingest_info(HostId(0), info);
    let s = text(&screen(&app, (160, 48)));
    assert!(s.contains("Time: LIVE  history broken: disk full"), "{s}");
}

#[test]
fn time_keys_step_in_the_detail_view() {
    let (mut app, src) = console(usize::MAX, true);
    let (_, newest) = src.bounds();
    app.travel_to(newest - 3 * NS_PER_SEC);
    pump(&mut app, &src);
    // Enter on the process list: the detail view.
    run(&mut app, &[Msg::Confirm]);
    assert!(matches!(app.overlay(), Some(Overlay::Detail(_))));
    let key = |c| {
        crossterm::event::KeyEvent::new(
            crossterm::event::KeyCode::Char(c),
            crossterm::event::KeyModifiers::NONE,
        )
    };
    let msg = app
        .msg_for(key('['))
        .expect("[ steps back in the detail view");
    assert_eq!(msg, Msg::TimeStep(-1));
    app.update(msg);
    pump(&mut app, &src);
    assert_eq!(app.timeline().mode(), Mode::At(newest - 4 * NS_PER_SEC));
    assert!(
        matches!(app.overlay(), Some(Overlay::Detail(_))),
        "the detail view stays open"
    );
    // The time menu is a screen's: not from the detail view.
    assert_eq!(app.msg_for(key('@')), None);
}

/// The busy row (stress) as the screens show it.
fn busy(app: &App) -> &perch::console::model::Proc {
    app.store()
        .iter()
        .map(|(_, p)| p)
        .find(|p| p.command.starts_with("stress"))
        .expect("stress runs then")
}

#[test]
fn a_seek_carries_earlier_seeks_points_up_to_its_instant_only() {
    // No live samples: the graphs hold only what seeks brought.
    let (mut app, src) = console(0, true);
    // The host second a state stands at (its newest event at or before).
    let secs = |s: u64| {
        let at = src
            .state(into_recording(&src, s))
            .expect("in range")
            .at_unix_ns;
        u32::try_from((at - src.boot()) / NS_PER_SEC).expect("seconds fit")
    };
    app.travel_to(into_recording(&src, 6));
    pump(&mut app, &src);
    assert_eq!(busy(&app).history.len(), 1, "the state's own sample");
    // Back before it: nothing from after the instant shown.
    app.travel_to(into_recording(&src, 3));
    pump(&mut app, &src);
    assert_eq!(busy(&app).history.len(), 1);
    // Forward again: the point seen at 3 leads up to 6's.
    app.travel_to(into_recording(&src, 6));
    pump(&mut app, &src);
    let row = busy(&app);
    let at3 = secs(3);
    assert_eq!(row.history.len_until(at3), 1, "3's point carried");
    assert_eq!(row.history.len_until(at3 - 1), 0, "nothing before it");
}
