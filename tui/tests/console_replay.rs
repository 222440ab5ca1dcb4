//! The console on a Spyderbat/Spydertop recording (`perch replay FILE`):
//! the public minikube-node example from shared/fixtures/spydertop (MIT,
//! read in place, never copied), imported by `perch::replay::Recording`
//! and shown through the same time-travel path as a collector's history.
//! The processes and flags screens at an instant in the middle of the
//! recording, at 80x24 and 160x48; the wall clock is injected and the data
//! is the file's, so the screens come out the same on every run.
#![expect(clippy::panic, reason = "test: a missing fixture should fail loudly")]
mod common;

use std::{path::PathBuf, time::Instant};

use common::{SIZES, run, screen, text};
use futures::executor::block_on;
use perch::{
    console::{App, Config, Msg, Screen},
    live::answer,
    replay::Recording,
};
use perch_proto::NS_PER_SEC;

/// A Spydertop example recording (missing: the test fails, never skips).
fn fixture(name: &str) -> PathBuf {
    perch::replay::fixture::spydertop(name).unwrap_or_else(|e| panic!("{e}"))
}

fn pump(app: &mut App, rec: &Recording) {
    while let Some(q) = app.take_time_query() {
        let a = block_on(answer(rec, q));
        app.ingest_time(a);
    }
}

#[test]
fn a_spydertop_recording_in_the_console() {
    let rec = Recording::open(&fixture("minikube-node.json.gz")).expect("import");
    let (oldest, newest) = rec.span();
    let at = oldest + (newest - oldest) / 2;
    let mut app = App::new(Config::default(), Instant::now());
    app.enable_travel(false);
    app.set_wall_clock(newest + 60 * NS_PER_SEC);
    app.travel_to(at);
    pump(&mut app, &rec);
    app.refresh();
    let want = rec.state(at).expect("in range");
    assert!(!want.processes.is_empty());
    assert_eq!(
        app.store().iter().count(),
        want.processes.len(),
        "the console holds the recording's processes at that instant"
    );
    for size in SIZES {
        let shot = text(&screen(&app, size));
        assert!(shot.contains("REPLAY"), "{shot}");
        insta::assert_snapshot!(format!("replay_processes_{}x{}", size.0, size.1), shot);
    }
    run(&mut app, &[Msg::Show(Screen::Flags)]);
    for size in SIZES {
        let shot = text(&screen(&app, size));
        insta::assert_snapshot!(format!("replay_flags_{}x{}", size.0, size.1), shot);
    }
}
