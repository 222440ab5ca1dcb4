//! The reducer and the state through its public API: selection, search,
//! filter, tree, hosts, and no message or size that panics.
#![expect(
    clippy::many_single_char_names,
    clippy::similar_names,
    reason = "short names in tests"
)]
use std::time::{Duration, Instant};

use perch_proto::v1::{
    self, Event, Exit, GetInfoResponse, ProcessExit, ProcessFork, ProcessSample, ProcessSamples,
    ResourceUsage, event::Kind,
};
use ratatui::{Terminal, backend::TestBackend};

use super::*;
use crate::console::{
    Screen,
    columns::Column,
    draw,
    input::{Focus, Msg},
    model::{HostId, ProcessKey, SECURITY_LINES},
};

pub(crate) const H: HostId = HostId(0);

/// The model tests' process, with its comm and a CPU figure.
pub(crate) fn proc(pid: u32, ppid: u32, argv: &[&str], cpu: f64) -> v1::Process {
    v1::Process {
        comm: argv.first().copied().unwrap_or("").to_owned(),
        usage: Some(ResourceUsage {
            cpu_percent: cpu,
            ..ResourceUsage::default()
        }),
        ..crate::console::model::tests::proto(pid, ppid, argv)
    }
}

pub(crate) fn key(pid: u32) -> ProcessKey {
    ProcessKey::new(H, pid, u64::from(pid) * 1_000_000_000)
}

pub(crate) fn app(t0: Instant) -> App {
    let mut app = App::new(Config::default(), t0);
    app.ingest_info(
        H,
        GetInfoResponse {
            host: "box".to_owned(),
            boot_time_unix_ns: 1_795_400_000_000_000_000,
            ..GetInfoResponse::default()
        },
    );
    app.ingest_snapshot(
        H,
        vec![
            proc(1, 0, &["init"], 0.0),
            proc(10, 1, &["sshd", "-D"], 1.0),
            proc(11, 10, &["bash"], 0.0),
            proc(12, 11, &["vim", "notes.txt"], 5.0),
            proc(20, 1, &["nginx", "-g", "daemon off;"], 2.0),
            proc(21, 20, &["nginx: worker"], 9.0),
        ],
    );
    app.tick(t0);
    app
}

fn pids(app: &App) -> Vec<u32> {
    app.rows()
        .rows
        .iter()
        .map(|r| app.store().get(r.id).unwrap().key.pid)
        .collect()
}

fn selected_pid(app: &App) -> u32 {
    app.selected().unwrap().key.pid
}

pub(crate) fn event(time_s: u64, kind: Kind) -> Event {
    Event {
        seq: 1,
        time_ns: time_s * 1_000_000_000,
        kind: Some(kind),
    }
}

#[test]
fn p_m_t_sort_in_their_usual_direction_and_i_inverts() {
    let mut app = app(Instant::now());
    app.update(Msg::ToggleTree);
    app.update(Msg::End);
    // P on a table already sorted by CPU: still descending (htop), at the top.
    app.update(Msg::SortOn(Column::Cpu));
    assert_eq!(
        (app.sort().column, app.sort().descending),
        (Column::Cpu, true)
    );
    assert_eq!(app.cursor(), 0);
    app.update(Msg::SortOn(Column::Cpu));
    assert!(app.sort().descending, "P again does not invert");
    app.update(Msg::InvertSort);
    assert!(!app.sort().descending);
    app.update(Msg::SortOn(Column::Mem));
    assert_eq!(
        (app.sort().column, app.sort().descending),
        (Column::Mem, true)
    );
    // A click on the sorted column's title inverts (SortBy).
    app.update(Msg::SortBy(Column::Mem));
    assert!(!app.sort().descending);
}

#[test]
fn selection_follows_the_process_not_the_row() {
    let t0 = Instant::now();
    let mut app = app(t0);
    assert_eq!(pids(&app), [1, 10, 11, 12, 20, 21]);
    app.update(Msg::Down);
    app.update(Msg::Down);
    assert_eq!(selected_pid(&app), 11);
    app.update(Msg::ToggleTree);
    // The table sorts by CPU: bash moved, and is still selected.
    assert_eq!(pids(&app), [21, 12, 20, 10, 1, 11]);
    assert_eq!(selected_pid(&app), 11);
    assert_eq!(app.cursor(), 5);
    // A sort shows the top of the new order (htop): the first row.
    app.update(Msg::SortBy(Column::Pid));
    assert_eq!(selected_pid(&app), 1);
    assert_eq!(app.cursor(), 0);
    app.update(Msg::InvertSort);
    assert_eq!(pids(&app), [21, 20, 12, 11, 10, 1]);
    assert_eq!(selected_pid(&app), 21);
    // Following a process, a sort keeps it.
    app.update(Msg::Select(key(11)));
    app.update(Msg::ToggleFollow);
    app.update(Msg::InvertSort);
    app.update(Msg::InvertSort);
    assert_eq!(selected_pid(&app), 11);
    app.update(Msg::ToggleFollow);
    // A new process arriving above keeps the selection on bash.
    app.ingest_events(
        H,
        &[event(
            5,
            Kind::Fork(ProcessFork {
                child: Some(proc(30, 1, &["cron"], 0.0)),
                parent: Some(v1::ProcessKey {
                    pid: 1,
                    start_time_ns: 1_000_000_000,
                }),
            }),
        )],
    );
    app.tick(t0);
    assert_eq!(selected_pid(&app), 11);
    assert_eq!(app.cursor(), 4);
}

#[test]
fn exited_processes_stay_for_the_retention_then_go() {
    let t0 = Instant::now();
    let mut app = app(t0);
    app.ingest_events(
        H,
        &[event(
            100,
            Kind::Exit(ProcessExit {
                key: Some(v1::ProcessKey {
                    pid: 12,
                    start_time_ns: 12_000_000_000,
                }),
                exit: Some(Exit {
                    time_ns: 100_000_000_000,
                    code: Some(3),
                    signal: None,
                    core_dumped: false,
                    oom_killed: false,
                }),
            }),
        )],
    );
    app.tick(t0 + Duration::from_secs(29));
    assert!(app.store().by_key(&key(12)).unwrap().is_exited());
    assert!(pids(&app).contains(&12));
    app.tick(t0 + Duration::from_secs(30));
    assert!(!pids(&app).contains(&12));
}

#[test]
fn samples_update_usage_history_and_event_rates() {
    let t0 = Instant::now();
    let mut app = app(t0);
    let sample = |t: u64, cpu: f64| {
        event(
            t,
            Kind::ProcessSamples(ProcessSamples {
                samples: vec![ProcessSample {
                    key: Some(v1::ProcessKey {
                        pid: 12,
                        start_time_ns: 12_000_000_000,
                    }),
                    usage: Some(ResourceUsage {
                        cpu_percent: cpu,
                        rss_bytes: 1 << 20,
                        ..ResourceUsage::default()
                    }),
                    threads: 2,
                    ..ProcessSample::default()
                }],
                interval_ns: 1_000_000_000,
            }),
        )
    };
    for t in 0..20 {
        app.ingest_events(H, &[sample(1000 + t, if t < 10 { 5.0 } else { 50.0 })]);
    }
    let p = app.store().by_key(&key(12)).unwrap();
    assert!((p.usage.cpu_percent - 50.0).abs() < 1e-9);
    assert_eq!(p.threads, 2);
    assert_eq!(p.history.len(), 2);
    for i in 0..5u32 {
        app.ingest_events(
            H,
            &[event(
                2000,
                Kind::Fork(ProcessFork {
                    child: Some(proc(100 + i, 1, &["job"], 0.0)),
                    parent: None,
                }),
            )],
        );
    }
    app.tick(t0 + Duration::from_secs(2));
    assert!((app.hosts()[0].events_per_sec - 2.5).abs() < 1e-9);
}

#[test]
fn search_jumps_between_matches_and_esc_clears() {
    let t0 = Instant::now();
    let mut app = app(t0);
    app.update(Msg::Search);
    assert_eq!(app.focus(), Focus::Prompt);
    for c in "ngx".chars() {
        app.update(Msg::Input(c));
    }
    assert_eq!(app.search().match_count(), 2);
    assert_eq!(selected_pid(&app), 20);
    app.update(Msg::NextMatch);
    assert_eq!(selected_pid(&app), 21);
    app.update(Msg::NextMatch);
    assert_eq!(selected_pid(&app), 20, "wraps around");
    app.update(Msg::Confirm);
    assert_eq!(app.focus(), Focus::Screen(Screen::Processes));
    app.update(Msg::PrevMatch);
    assert_eq!(selected_pid(&app), 21);
    app.update(Msg::Cancel);
    assert!(!app.search().is_active());
}

#[test]
fn filter_applies_while_typing_and_errors_keep_the_last_good_one() {
    let t0 = Instant::now();
    let mut app = app(t0);
    app.update(Msg::Filter);
    for c in "cpu>4".chars() {
        app.update(Msg::Input(c));
    }
    // Tree mode keeps the ancestors of matches.
    assert_eq!(pids(&app), [1, 10, 11, 12, 20, 21]);
    // Keys are text while typing; Enter returns to the list.
    app.update(Msg::ToggleTree);
    assert!(app.is_tree());
    app.update(Msg::Confirm);
    app.update(Msg::ToggleTree);
    assert_eq!(pids(&app), [21, 12]);
    app.update(Msg::Filter);
    app.update(Msg::Input('x'));
    assert!(app.filter().1.is_some());
    assert_eq!(pids(&app), [21, 12]);
    app.update(Msg::Backspace);
    assert!(app.filter().1.is_none());
    app.update(Msg::Confirm);
    assert!(app.filter_active());
    app.update(Msg::Cancel);
    assert!(!app.filter_active());
    assert_eq!(pids(&app).len(), 6);
}

#[test]
fn collapse_expand_and_all() {
    let t0 = Instant::now();
    let mut app = app(t0);
    app.update(Msg::Select(key(10)));
    app.update(Msg::Collapse);
    assert_eq!(pids(&app), [1, 10, 20, 21]);
    let row = &app.rows().rows[1];
    assert!(row.collapsed);
    assert!((row.subtree.as_ref().unwrap().cpu_percent - 6.0).abs() < 1e-9);
    app.update(Msg::Collapse);
    assert_eq!(
        selected_pid(&app),
        1,
        "collapsing a collapsed node goes to its parent"
    );
    app.update(Msg::Select(key(10)));
    app.update(Msg::Expand);
    assert_eq!(pids(&app).len(), 6);
    app.update(Msg::ToggleAll);
    assert_eq!(pids(&app), [1]);
    app.update(Msg::ToggleAll);
    assert_eq!(pids(&app).len(), 6);
}

#[test]
fn detail_view_jumps_along_the_parent_chain() {
    let t0 = Instant::now();
    let mut app = app(t0);
    app.update(Msg::Select(key(12)));
    app.update(Msg::Confirm);
    assert_eq!(app.focus(), Focus::Overlay(OverlayKind::Detail));
    let links = app.links();
    assert_eq!(links.parents, [key(11), key(10), key(1)]);
    assert!(links.children.is_empty());
    app.update(Msg::Down);
    app.update(Msg::Confirm);
    assert_eq!(selected_pid(&app), 10);
    assert_eq!(app.links().children, [key(11)]);
    app.update(Msg::Cancel);
    assert_eq!(app.focus(), Focus::Screen(Screen::Processes));
}

/// A process's security events are kept (the latest few, escaped),
/// survive an update of the process, and are listed in its detail view.
#[test]
fn security_events_are_listed_in_the_detail_view() {
    use perch_proto::v1::{MemfdCreate, SecurityEvent, security_event::Detail};
    let t0 = Instant::now();
    let mut app = app(t0);
    let memfd = |n: usize| {
        event(
            100,
            Kind::Security(SecurityEvent {
                key: Some(v1::ProcessKey {
                    pid: 12,
                    start_time_ns: 12_000_000_000,
                }),
                syscall: "memfd_create".to_owned(),
                result: 3,
                detail: Some(Detail::MemfdCreate(MemfdCreate {
                    name: format!("m{n}\x1b[2J"),
                    ..MemfdCreate::default()
                })),
                ..SecurityEvent::default()
            }),
        )
    };
    let events: Vec<Event> = (0..SECURITY_LINES + 2).map(memfd).collect();
    app.ingest_events(H, &events);
    app.ingest_events(
        H,
        &[event(
            101,
            Kind::Update(v1::ProcessUpdate {
                process: Some(proc(12, 11, &["worker", "--new"], 1.0)),
            }),
        )],
    );
    let p = app.store().by_key(&key(12)).unwrap();
    assert_eq!(p.security.len(), SECURITY_LINES);
    assert_eq!(
        p.security.back().map(AsRef::as_ref),
        Some("memfd_create memfd_create name=\"m9\\u{1b}[2J\" = 3")
    );
    app.update(Msg::Select(key(12)));
    app.update(Msg::Confirm);
    let mut term = Terminal::new(TestBackend::new(100, 40)).unwrap();
    term.draw(|f| draw(f, &app)).unwrap();
    let screen: String = term
        .backend()
        .buffer()
        .content()
        .iter()
        .map(ratatui::buffer::Cell::symbol)
        .collect();
    assert!(
        screen.contains("Security events (latest first)"),
        "{screen}"
    );
    assert!(screen.contains("name=\"m9"), "{screen}");
    assert!(!screen.contains("name=\"m1\\"), "{screen}");
}

#[test]
fn follow_unfolds_and_drops_when_the_process_goes() {
    let t0 = Instant::now();
    let mut app = app(t0);
    app.update(Msg::Select(key(12)));
    app.update(Msg::ToggleFollow);
    assert!(app.follows());
    app.view.screens.processes.collapsed.insert(key(10));
    app.data.touch();
    app.refresh();
    assert_eq!(selected_pid(&app), 12, "ancestors unfold while following");
    app.ingest_snapshot(H, vec![proc(1, 0, &["init"], 0.0)]);
    app.tick(t0);
    assert!(!app.follows());
    assert_eq!(selected_pid(&app), 1);
}

#[test]
fn several_hosts_keep_their_rows_apart() {
    let t0 = Instant::now();
    let mut app = app(t0);
    let other = HostId(1);
    app.ingest_info(
        other,
        GetInfoResponse {
            host: "db".to_owned(),
            ..GetInfoResponse::default()
        },
    );
    app.ingest_snapshot(
        other,
        vec![proc(1, 0, &["init"], 0.0), proc(10, 1, &["postgres"], 3.0)],
    );
    app.set_connection(
        other,
        ConnectionState::Reconnecting {
            attempt: 2,
            reason: String::new(),
        },
    );
    app.tick(t0);
    assert_eq!(app.store().len(), 8);
    assert!(app.optional_columns().host);
    app.update(Msg::Filter);
    for c in "host:db".chars() {
        app.update(Msg::Input(c));
    }
    assert_eq!(pids(&app), [1, 10]);
    assert!(
        app.rows()
            .rows
            .iter()
            .all(|r| app.store().get(r.id).unwrap().key.host == other)
    );
}

/// A small deterministic generator, so the fuzz test needs no dependency.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
}

#[test]
fn no_action_sequence_or_size_panics() {
    let t0 = Instant::now();
    let mut app = app(t0);
    let actions = [
        Msg::Up,
        Msg::Down,
        Msg::PageUp,
        Msg::PageDown,
        Msg::Home,
        Msg::End,
        Msg::Collapse,
        Msg::Expand,
        Msg::ToggleAll,
        Msg::ToggleTree,
        Msg::SortMenu,
        Msg::SortPrev,
        Msg::SortNext,
        Msg::InvertSort,
        Msg::SortBy(Column::Rss),
        Msg::ToggleKernelThreads,
        Msg::ToggleFollow,
        Msg::Search,
        Msg::Filter,
        Msg::NextMatch,
        Msg::PrevMatch,
        Msg::Input('n'),
        Msg::Input(':'),
        Msg::Input('!'),
        Msg::Input('>'),
        Msg::Backspace,
        Msg::Confirm,
        Msg::Cancel,
        Msg::Help,
        Msg::Scroll(-3),
        Msg::Scroll(3),
        Msg::Select(key(999)),
        Msg::ActMenu,
        Msg::Renice(-1),
        Msg::Renice(1),
        Msg::NextScreen,
        Msg::PrevScreen,
        Msg::Show(Screen::ActionLog),
        Msg::Show(Screen::Processes),
        Msg::NextField,
        Msg::PrevField,
        Msg::Decrease,
        Msg::Increase,
        Msg::Columns,
        Msg::Refresh,
        Msg::Input(' '),
    ];
    let mut rng = Lcg(7);
    let sizes = [
        (1, 1),
        (2, 1),
        (10, 3),
        (80, 24),
        (30, 8),
        (200, 60),
        (59, 12),
        (160, 48),
    ];
    for step in 0..3000 {
        let a = actions[usize::try_from(rng.next()).unwrap() % actions.len()];
        app.update(a);
        // Answer whatever was sent, alternately well and badly.
        for out in app.take_outbox() {
            if step % 2 == 0 {
                app.ingest_act_result(out.id, Err(tonic::Status::unavailable("down")));
            } else {
                app.ingest_act_result(out.id, Ok(v1::ActResponse::default()));
            }
            app.ingest_audit(out.host, Ok(crate::console::audit::AuditPage::default()));
        }
        if step % 97 == 0 {
            app.ingest_snapshot(H, vec![proc(1, 0, &["init"], 0.0), proc(5, 1, &["x"], 1.0)]);
            app.tick(t0 + Duration::from_secs(step));
        }
        if step % 7 == 0 {
            let (w, h) = sizes[usize::try_from(rng.next()).unwrap() % sizes.len()];
            let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
            term.draw(|f| draw(f, &app)).unwrap();
            // Clicks anywhere, including outside the table.
            let (x, y) = (
                u16::try_from(rng.next() % 200).unwrap(),
                u16::try_from(rng.next() % 60).unwrap(),
            );
            if let Some(a) = app.hit(x, y) {
                app.update(a);
            }
        }
    }
}

#[test]
fn hosts_with_one_name_are_told_apart_and_filtered() {
    let t0 = Instant::now();
    let mut app = app(t0);
    let other = HostId(1);
    app.set_host_label(H, "/run/a.sock");
    app.set_host_label(other, "/run/b.sock");
    app.ingest_info(
        other,
        GetInfoResponse {
            host: "box".to_owned(),
            ..GetInfoResponse::default()
        },
    );
    let mut p = proc(7, 0, &["zqxj-remote"], 0.0);
    p.key.as_mut().unwrap().pid = 7;
    app.ingest_snapshot(other, vec![p]);
    let names: Vec<&str> = app.hosts().iter().map(|h| h.name.as_str()).collect();
    assert_eq!(names, ["box#1", "box#2"]);
    assert_eq!(app.hosts()[1].label, "/run/b.sock");

    app.update(Msg::Filter);
    for c in "host:box#2".chars() {
        app.update(Msg::Input(c));
    }
    app.update(Msg::Confirm);
    app.update(Msg::ToggleTree);
    assert_eq!(pids(&app), [7]);

    // A host that reports its own name again is called by it.
    app.ingest_info(
        other,
        GetInfoResponse {
            host: "db1".to_owned(),
            ..GetInfoResponse::default()
        },
    );
    let names: Vec<&str> = app.hosts().iter().map(|h| h.name.as_str()).collect();
    assert_eq!(names, ["box", "db1"]);
}

#[test]
fn search_counts_only_the_rows_the_filter_shows() {
    let t0 = Instant::now();
    let mut app = app(t0);
    app.update(Msg::Search);
    for c in "sshd".chars() {
        app.update(Msg::Input(c));
    }
    assert_eq!(
        (app.search().match_count(), app.shown_match_count()),
        (1, 1)
    );
    app.update(Msg::Confirm);
    app.update(Msg::Filter);
    for c in "comm:nginx".chars() {
        app.update(Msg::Input(c));
    }
    app.update(Msg::Confirm);
    // sshd still matches, but the filter hides it: n/N cannot reach it.
    assert_eq!(
        (app.search().match_count(), app.shown_match_count()),
        (1, 0)
    );
}
