//! Snapshots of the real console, fed from a recording of a real perchd
//! (tests/fixtures/host.bin, made by tests/fixtures/record.sh), rendered on
//! ratatui's `TestBackend` at 80x24 and 160x48.
//!
//! Deterministic by construction: the recording is fixed, the console's
//! clock is an `Instant` the test injects (only differences matter), local
//! time is UTC, and nothing reads the machine's clock, so times and pids
//! come out the same on every run.  Styles are not in the text; the tests
//! that are about a style (dimmed exited rows) check it on the buffer.
mod common;

use std::time::{Duration, Instant};

use common::{SIZES, app, app_with, feed, key_of, recording, run, screen, text, typed};
use perch::console::{App, Config, ConnectionState, HostId, Msg};
use ratatui::style::Modifier;

/// Snapshots `app` at both sizes as `name_WxH`.
fn snap(name: &str, app: &App) {
    for size in SIZES {
        let screen = text(&screen(app, size));
        insta::assert_snapshot!(format!("{name}_{}x{}", size.0, size.1), screen);
    }
}

#[test]
fn tree_view() {
    snap("tree_with_kernel_threads", &app_with(true));
    snap("tree", &app());
}

#[test]
fn table_view() {
    let mut app = app();
    run(&mut app, &[Msg::ToggleTree]);
    snap("table", &app);
}

/// htop's `H`: the threads of a multi-threaded process as rows right under
/// it, each with its own tid, name, state and CPU.
#[test]
fn thread_rows() {
    use perch_proto::v1 as pb;
    let mut app = app();
    let master = key_of(&app, "nginx: master");
    let thread = |tid: u32, comm: &str, cpu: f64| pb::ThreadSample {
        tid,
        comm: comm.to_owned(),
        state: "S".to_owned(),
        cpu_percent: cpu,
        cpu_time_ns: 1_500_000_000,
        nice: 0,
        priority: 20,
    };
    let sample = pb::Event {
        seq: 0,
        time_ns: 0,
        kind: Some(pb::event::Kind::ThreadSamples(pb::ThreadSamples {
            processes: vec![pb::ProcessThreads {
                key: Some(pb::ProcessKey {
                    pid: master.pid,
                    start_time_ns: master.start_tick * 10_000_000,
                }),
                threads: vec![
                    thread(90001, "nginx-aio", 12.5),
                    thread(90002, "nginx-log", 0.0),
                ],
            }],
            interval_ns: 1_000_000_000,
        })),
    };
    run(&mut app, &[Msg::ToggleThreads]);
    app.ingest_events(HostId(0), &[sample]);
    run(&mut app, &[Msg::Select(master)]);
    assert!(app.rows().rows.iter().any(|r| r.thread == Some(90001)));
    snap("thread_rows", &app);
    // Off again: the rows go.
    run(&mut app, &[Msg::ToggleThreads]);
    assert!(app.rows().rows.iter().all(|r| r.thread.is_none()));
}

#[test]
fn collapsed_node_shows_its_subtree_sum() {
    let mut app = app();
    let master = key_of(&app, "nginx: master");
    run(&mut app, &[Msg::Select(master), Msg::Collapse]);
    assert!(app.rows().rows.iter().any(|r| r.collapsed));
    snap("collapsed", &app);
}

#[test]
fn search_with_matches() {
    let mut app = app();
    run(&mut app, &[Msg::Search]);
    run(&mut app, &typed("ngwk"));
    // Both workers, and the master whose script mentions "worker process".
    assert_eq!(app.search().match_count(), 3);
    snap("search", &app);
    // Enter keeps the highlights, n moves on.
    run(&mut app, &[Msg::Confirm, Msg::NextMatch]);
    snap("search_next", &app);
}

#[test]
fn filter_active() {
    let mut app = app();
    run(&mut app, &[Msg::Filter]);
    run(&mut app, &typed("user:root rss>1500K !is:exited"));
    run(&mut app, &[Msg::Confirm]);
    snap("filter", &app);
}

#[test]
fn filter_parse_error() {
    let mut app = app();
    run(&mut app, &[Msg::Filter]);
    run(&mut app, &typed("usr:root"));
    assert!(app.filter().1.is_some());
    snap("filter_error", &app);
}

#[test]
fn detail_view() {
    let mut app = app();
    let worker = key_of(&app, "nginx: worker");
    run(&mut app, &[Msg::Select(worker), Msg::Confirm]);
    snap("detail", &app);
    // Down, Enter: jump to the next link (the worker's grandparent).
    run(&mut app, &[Msg::Down, Msg::Confirm]);
    snap("detail_jumped", &app);
}

#[test]
fn help_overlay() {
    let mut app = app();
    run(&mut app, &[Msg::Help]);
    snap("help", &app);
}

/// A configuration file's columns and keys as the console draws them: the
/// table narrows, the footer and the help show the rebound keys.
#[test]
fn configured_columns_and_keys() {
    let text = "columns = [\"PID\", \"USER\", \"CPU%\"]\n\
                [keys]\nquit = [\"x\"]\nsearch = [\"s\", \"F3\"]\n";
    let settings = perch::config::parse_text(std::path::Path::new("perch.toml"), text, false)
        .expect("a valid configuration");
    let t0 = Instant::now();
    let mut app = App::new(settings.console, t0);
    feed(&mut app, HostId(0), &recording(), "web-1");
    app.tick(t0 + Duration::from_secs(1));
    snap("configured_table", &app);
    run(&mut app, &[Msg::Help]);
    snap("configured_help", &app);
}

#[test]
fn sort_menu() {
    let mut app = app();
    // PID, USER, AUSER, S, PRI, NI, then CPU%.
    run(&mut app, &[Msg::SortMenu]);
    run(&mut app, &[Msg::Down; 6]);
    snap("sort_menu", &app);
    run(&mut app, &[Msg::Confirm]);
    assert_eq!(app.sort().column.title(), "CPU%");
}

#[test]
fn exited_processes_are_dimmed_with_their_status() {
    let app = app();
    snap("exited_tree", &app);
    // NO_COLOR: dim only.
    let mut app = App::new(
        Config {
            color: false,
            ..Config::default()
        },
        Instant::now(),
    );
    feed(&mut app, HostId(0), &recording(), "web-1");
    run(&mut app, &[Msg::ToggleTree, Msg::Filter]);
    run(&mut app, &typed("is:exited"));
    run(&mut app, &[Msg::Confirm]);
    snap("exited", &app);
    let buf = screen(&app, (80, 24));
    let rows: Vec<u16> = (0..24)
        .filter(|&y| {
            let line: String = (0..80).map(|x| buf[(x, y)].symbol()).collect();
            line.contains("[exit ") || line.contains("[SIGKILL]")
        })
        .collect();
    assert!(rows.len() >= 3, "{}", text(&buf));
    // The selected row is reversed instead; every other exited row is dim.
    let dim = rows
        .iter()
        .filter(|&&y| buf[(0, y)].modifier.contains(Modifier::DIM))
        .count();
    assert!(dim >= rows.len() - 1, "{dim} of {} dim", rows.len());
}

#[test]
fn several_hosts() {
    let t0 = Instant::now();
    let mut app = App::new(
        Config {
            color: false,
            ..Config::default()
        },
        t0,
    );
    let rec = recording();
    feed(&mut app, HostId(0), &rec, "web-1");
    feed(&mut app, HostId(1), &rec, "db-2");
    app.set_connection(
        HostId(1),
        ConnectionState::Reconnecting {
            attempt: 3,
            reason: "connection refused".to_owned(),
        },
    );
    app.tick(t0 + Duration::from_secs(1));
    run(&mut app, &[Msg::ToggleTree]);
    snap("multi_host", &app);
}

#[test]
fn every_size_renders() {
    let mut app = app_with(true);
    for actions in [
        vec![],
        vec![Msg::Help],
        vec![Msg::Cancel, Msg::SortMenu],
        vec![Msg::Cancel, Msg::Confirm],
    ] {
        run(&mut app, &actions);
        for w in [1, 2, 5, 20, 40, 59, 60, 79, 80, 119, 120, 200] {
            for h in [1, 2, 3, 5, 8, 12, 24, 48] {
                let _ = screen(&app, (w, h));
            }
        }
    }
}
