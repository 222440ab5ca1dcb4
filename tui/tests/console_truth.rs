//! Snapshots of what issue 10 made the console say, on a fixed model built
//! here (not the recording: it predates the facts shown): a double-forked
//! CPU hog whose parents exited 60 s earlier, run through a symlink named
//! `sshd`; a deleted binary; what a TERM that was ignored looks like, its
//! escalation to KILL and the killed row; a dry run's list; htop's keys
//! (P M T, E, #, Z, F2, q in the help) and the new columns.
//!
//! Deterministic: fixed pids and boot-clock times, the console's clock
//! injected, local time UTC.
#![expect(
    clippy::panic,
    reason = "test support: a broken fixture should fail the test loudly"
)]
mod common;

use std::time::{Duration, Instant};

use common::{run, screen, text, typed};
use perch::console::{
    App, Config, ConnectionState, HostId, Msg, ProcessKey,
    actions::{Outgoing, Request},
};
use perch_proto::v1::{
    self, ActRequest, ActResponse, ActionKind, ActionMode, ActionOutcome, ActionResult,
    AffectedProcess, AuditRecord, Event, ExecutableFile, Exit, GetInfoResponse, HostSample,
    ProcessExit, ProcessOutcome, ResourceUsage, Signal, event::Kind,
};

const H: HostId = HostId(0);
/// Boot-clock seconds when the snapshot is taken.
const NOW_S: u64 = 5_000;

fn snap(name: &str, app: &App) {
    for size in common::SIZES {
        let screen = text(&screen(app, size));
        insta::assert_snapshot!(format!("{name}_{}x{}", size.0, size.1), screen);
    }
}

fn key(pid: u32, start_s: u64) -> v1::ProcessKey {
    v1::ProcessKey {
        pid,
        start_time_ns: start_s * 1_000_000_000,
    }
}

/// A process started at `start_s`, child of (`ppid`, `pstart_s`).
fn proc(pid: u32, start_s: u64, parent: (u32, u64), argv: &[&str]) -> v1::Process {
    v1::Process {
        key: Some(key(pid, start_s)),
        ppid: parent.0,
        parent_start_time_ns: parent.1 * 1_000_000_000,
        pgid: pid,
        sid: parent.0.max(1),
        uid: 1000,
        euid: 1000,
        user: "alice".to_owned(),
        comm: argv
            .first()
            .map_or("", |a| a.rsplit('/').next().unwrap_or(a))
            .to_owned(),
        exe: argv.first().copied().unwrap_or("").to_owned(),
        argv: argv.iter().map(ToString::to_string).collect(),
        tty: "pts/1".to_owned(),
        state: "S".to_owned(),
        threads: 1,
        usage: Some(ResourceUsage {
            rss_bytes: 4 << 20,
            virtual_bytes: 12 << 20,
            shared_bytes: 2 << 20,
            priority: 20,
            ..ResourceUsage::default()
        }),
        login_user: "alice".to_owned(),
        loginuid: Some(1000),
        ..v1::Process::default()
    }
}

fn exited(mut p: v1::Process, at_s: u64, code: i32) -> v1::Process {
    p.exit = Some(Exit {
        time_ns: at_s * 1_000_000_000,
        code: Some(code),
        signal: None,
        core_dumped: false,
        oom_killed: false,
    });
    p.state = String::new();
    p
}

/// The model: init; alice's bash; under it a shell that double-forked a
/// CPU hog and exited 60 s ago with its intermediate child (kept by perchd
/// as ancestors); the hog runs `/usr/bin/yes` through the symlink
/// `/tmp/.x/sshd` and was reparented to init; a miner whose binary was
/// deleted; a web server's process group.
fn model() -> Vec<v1::Process> {
    let mut init = proc(1, 1, (0, 0), &["/sbin/init"]);
    "root".clone_into(&mut init.user);
    init.uid = 0;
    init.euid = 0;
    init.login_user = String::new();
    init.tty = String::new();
    let bash = proc(900, 100, (1, 1), &["-bash"]);
    let mut sh = exited(
        proc(4000, 4_900, (900, 100), &["/bin/sh", "-c", "./install.sh"]),
        4_940,
        0,
    );
    sh.retained_ancestor = true;
    let mut fork = exited(proc(4001, 4_901, (4000, 4_900), &["/bin/sh"]), 4_940, 0);
    fork.retained_ancestor = true;
    let mut hog = proc(4002, 4_902, (4001, 4_901), &["/tmp/.x/sshd", "-D"]);
    "sshd".clone_into(&mut hog.comm);
    hog.executable = Some(ExecutableFile {
        path: "/usr/bin/yes".to_owned(),
        links: 1,
        ..ExecutableFile::default()
    });
    hog.names_disagree = true;
    hog.reaper = Some(key(1, 1));
    "R".clone_into(&mut hog.state);
    hog.sid = 4000;
    hog.tty = String::new();
    hog.usage = Some(ResourceUsage {
        cpu_percent: 99.5,
        cpu_time_ns: 95_000_000_000,
        rss_bytes: 2 << 20,
        virtual_bytes: 8 << 20,
        shared_bytes: 1 << 20,
        priority: 20,
        ..ResourceUsage::default()
    });
    let mut miner = proc(4100, 4_500, (900, 100), &["./kworker"]);
    "/dev/shm/kworker".clone_into(&mut miner.exe);
    miner.executable = Some(ExecutableFile {
        path: "/dev/shm/kworker".to_owned(),
        deleted: true,
        ..ExecutableFile::default()
    });
    miner.usage = Some(ResourceUsage {
        cpu_percent: 40.0,
        cpu_time_ns: 400_000_000_000,
        rss_bytes: 300 << 20,
        virtual_bytes: 600 << 20,
        shared_bytes: 3 << 20,
        mem_percent: 1.9,
        priority: 20,
        ..ResourceUsage::default()
    });
    let mut web = proc(5000, 200, (1, 1), &["nginx: master process"]);
    "root".clone_into(&mut web.user);
    web.uid = 0;
    web.euid = 0;
    let mut workers: Vec<v1::Process> = (5001..5004)
        .map(|pid| {
            let mut w = proc(pid, 201, (5000, 200), &["nginx: worker process"]);
            w.pgid = 5000;
            "www-data".clone_into(&mut w.user);
            w.uid = 33;
            w.euid = 33;
            w.usage = Some(ResourceUsage {
                rss_bytes: 12 << 20,
                mem_percent: 0.1,
                cpu_time_ns: u64::from(pid - 5000) * 1_000_000_000,
                ..ResourceUsage::default()
            });
            w
        })
        .collect();
    let mut curl = proc(5100, 300, (900, 100), &["curl", "-s", "localhost"]);
    curl.pgid = 5000;
    workers.push(curl);
    let mut all = vec![init, bash, sh, fork, hog, miner, web];
    all.extend(workers);
    all
}

/// The console on the model at boot-clock `NOW_S`, with a host sample.
fn console(config: Config) -> App {
    let t0 = Instant::now();
    let mut app = App::new(config, t0);
    app.ingest_info(
        H,
        GetInfoResponse {
            host: "web-1".to_owned(),
            boot_time_unix_ns: 1_795_400_000_000_000_000,
            memory_total_bytes: 16 << 30,
            cpu_count: 2,
            ..GetInfoResponse::default()
        },
    );
    app.set_connection(H, ConnectionState::Connected);
    app.ingest_snapshot(H, model());
    app.ingest_events(
        H,
        &[Event {
            seq: 1,
            time_ns: NOW_S * 1_000_000_000,
            kind: Some(Kind::HostSample(HostSample {
                cpus: vec![v1::CpuSample::default(); 2],
                memory_total_bytes: 16 << 30,
                memory_used_bytes: 6 << 30,
                tasks_total: 120,
                threads_total: 200,
                tasks_running: 2,
                ..HostSample::default()
            })),
        }],
    );
    // 60 s after the shell exited: past the console's 30 s retention.
    app.tick(t0 + Duration::from_secs(1));
    app.resize(160, 48);
    app
}

fn pk(pid: u32, start_s: u64) -> ProcessKey {
    ProcessKey::new(H, pid, start_s * 1_000_000_000)
}

const HOG: (u32, u64) = (4002, 4_902);

/// The one action request queued.
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

/// perchd's answer to a signal `req` on the hog: `outcome`, with `detail`.
fn answer(req: &ActRequest, outcome: ProcessOutcome, detail: &str) -> ActResponse {
    let (action_outcome, exited, still) = match outcome {
        ProcessOutcome::Exited => (ActionOutcome::Exited, 1, 0),
        _ => (ActionOutcome::StillRunning, 0, 1),
    };
    ActResponse {
        record: Some(AuditRecord {
            id: format!("rec-{}", req.signal),
            action: req.action,
            signal: req.signal,
            mode: req.mode,
            reason: req.reason.clone(),
            result: ActionResult::Success.into(),
            code: if still > 0 { "still_running" } else { "ok" }.to_owned(),
            target: Some(v1::ActionTarget {
                key: req.target,
                ..v1::ActionTarget::default()
            }),
            processes: vec![AffectedProcess {
                key: req.target,
                comm: "sshd".to_owned(),
                exe: "/usr/bin/yes".to_owned(),
                outcome: outcome.into(),
                detail: detail.to_owned(),
                user: "alice".to_owned(),
                uid: Some(1000),
                euid: Some(1000),
                argv: vec!["/tmp/.x/sshd".to_owned(), "-D".to_owned()],
                ..AffectedProcess::default()
            }],
            outcome: action_outcome.into(),
            ..AuditRecord::default()
        }),
        done: 1,
        outcome: action_outcome.into(),
        exited,
        still_running: still,
        ..ActResponse::default()
    }
}

#[test]
fn a_double_forked_hog_keeps_its_ancestry_and_shows_its_disguise() {
    let mut app = console(Config::default());
    // The exited ancestors are kept past the retention: the hog still
    // hangs under them in the tree.
    assert!(app.store().by_key(&pk(4000, 4_900)).is_some());
    snap("ancestry_tree", &app);
    // P: the hog is at the top; Enter: its real binary, its three names
    // and its whole chain of parents.
    run(
        &mut app,
        &[
            Msg::ToggleTree,
            Msg::End,
            Msg::SortOn(perch::console::columns::Column::Cpu),
        ],
    );
    assert_eq!(app.selected().map(|p| p.key.pid), Some(4002));
    run(&mut app, &[Msg::Confirm]);
    snap("ancestry_detail", &app);
    let links = app.links();
    let chain: Vec<u32> = links.parents.iter().map(|k| k.pid).collect();
    assert_eq!(chain, [4001, 4000, 900, 1]);
}

#[test]
fn a_deleted_binary_is_marked() {
    let mut app = console(Config::default());
    run(&mut app, &[Msg::Select(pk(4100, 4_500)), Msg::Confirm]);
    snap("deleted_exe_detail", &app);
}

#[test]
fn term_ignored_then_kill_then_killed() {
    let mut app = console(Config::default());
    run(
        &mut app,
        &[Msg::Select(pk(HOG.0, HOG.1)), Msg::ActMenu, Msg::Confirm],
    );
    run(&mut app, &typed("cpu hog disguised as sshd"));
    run(&mut app, &[Msg::Confirm, Msg::Confirm]);
    let (id, req) = sent(&mut app);
    assert_eq!(req.signal(), Signal::Term);
    app.ingest_act_result(
        id,
        Ok(answer(
            &req,
            ProcessOutcome::StillRunning,
            "still running after 2 s",
        )),
    );
    let toast = app.toast().expect("a result");
    assert_eq!(
        toast.detail,
        "TERM delivered to 4002 sshd: still running after 2 s"
    );
    snap("toast_still_running", &app);
    // k: the dialog again, KILL, same reason, the button focused.
    run(&mut app, &[Msg::Escalate]);
    let d = app.dialog().expect("the dialog");
    assert_eq!(d.signal, Signal::Kill);
    assert_eq!(d.reason.text(), "cpu hog disguised as sshd");
    snap("escalate_dialog", &app);
    run(&mut app, &[Msg::Confirm]);
    let (id, kill) = sent(&mut app);
    assert_eq!(kill.signal(), Signal::Kill);
    assert_eq!(kill.reason, req.reason);
    app.ingest_act_result(
        id,
        Ok(answer(
            &kill,
            ProcessOutcome::Exited,
            "KILL delivered; exited (signal 9)",
        )),
    );
    app.update(Msg::Cancel);
    // Still running until its exit arrives: signalled, not dimmed.
    snap("signalled_row", &app);
    app.ingest_events(
        H,
        &[Event {
            seq: 2,
            time_ns: (NOW_S + 1) * 1_000_000_000,
            kind: Some(Kind::Exit(ProcessExit {
                key: Some(key(HOG.0, HOG.1)),
                exit: Some(Exit {
                    time_ns: (NOW_S + 1) * 1_000_000_000,
                    code: None,
                    signal: Some(9),
                    core_dumped: false,
                    oom_killed: false,
                }),
            })),
        }],
    );
    app.refresh();
    snap("killed_row", &app);
}

#[test]
fn a_dry_run_lists_what_perchd_would_hit() {
    let mut app = console(Config::default());
    // Kill group on a worker: the dialog lists the group, the curl loop
    // included (pid, user, command).
    run(
        &mut app,
        &[
            Msg::Select(pk(5001, 201)),
            Msg::ActMenu,
            Msg::Down,
            Msg::Down,
            Msg::Confirm,
        ],
    );
    assert_eq!(app.dialog().map(|d| d.members.len()), Some(5));
    snap("kill_group_dialog", &app);
    run(&mut app, &typed("what does the group hold"));
    run(
        &mut app,
        &[
            Msg::NextField,
            Msg::Input(' '),
            Msg::NextField,
            Msg::Confirm,
        ],
    );
    let (id, req) = sent(&mut app);
    assert_eq!(req.mode(), ActionMode::DryRun);
    let hit = |pid: u32, start: u64, user: &str, argv: &[&str], root: bool| AffectedProcess {
        key: Some(key(pid, start)),
        outcome: ProcessOutcome::WouldAct.into(),
        user: user.to_owned(),
        root,
        argv: argv.iter().map(ToString::to_string).collect(),
        ..AffectedProcess::default()
    };
    let mut processes: Vec<AffectedProcess> = (5001..5004)
        .map(|p| hit(p, 201, "www-data", &["nginx: worker process"], false))
        .collect();
    processes.push(hit(5100, 300, "alice", &["curl", "-s", "localhost"], false));
    processes.push(hit(5000, 200, "root", &["nginx: master process"], true));
    let resp = ActResponse {
        record: Some(AuditRecord {
            action: ActionKind::KillGroup.into(),
            mode: ActionMode::DryRun.into(),
            result: ActionResult::Success.into(),
            code: "ok".to_owned(),
            processes,
            ..AuditRecord::default()
        }),
        ..ActResponse::default()
    };
    app.ingest_act_result(id, Ok(resp));
    snap("toast_dry_run_list", &app);
}

#[test]
fn htop_keys_and_new_columns() {
    let text_cfg = "columns = [\"PID\", \"PPID\", \"PGRP\", \"SID\", \"USER\", \"AUSER\", \
                    \"S\", \"PRI\", \"NI\", \"VIRT\", \"RES\", \"SHR\", \"THR\", \"TTY\", \
                    \"ELAPSED\", \"TIME+\", \"EXE\"]\n";
    let settings = perch::config::parse_text(std::path::Path::new("perch.toml"), text_cfg, false)
        .expect("a valid configuration");
    let mut app = console(settings.console);
    run(
        &mut app,
        &[
            Msg::ToggleTree,
            Msg::SortOn(perch::console::columns::Column::Mem),
        ],
    );
    snap("columns_sorted_by_memory", &app);
    // T: by CPU time, the top of the new order selected.
    run(
        &mut app,
        &[Msg::End, Msg::SortOn(perch::console::columns::Column::Time)],
    );
    assert_eq!(app.cursor(), 0);
    assert_eq!(app.selected().map(|p| p.key.pid), Some(4100));
    // E hides the exited rows, # the meters, Z pauses.
    run(
        &mut app,
        &[Msg::ToggleExited, Msg::ToggleMeters, Msg::TogglePause],
    );
    snap("exited_hidden_meters_hidden_paused", &app);
    // F2: the column setup.
    run(
        &mut app,
        &[
            Msg::TogglePause,
            Msg::ToggleMeters,
            Msg::ColumnSetup,
            Msg::Down,
        ],
    );
    snap("column_setup", &app);
}

#[test]
fn q_closes_the_help_not_the_console() {
    let mut app = console(Config::default());
    run(&mut app, &[Msg::Help]);
    let q = crossterm::event::KeyEvent::new(
        crossterm::event::KeyCode::Char('q'),
        crossterm::event::KeyModifiers::NONE,
    );
    let msg = app.msg_for(q).expect("q does something in the help");
    app.update(msg);
    assert!(app.overlay().is_none() && !app.should_quit());
}
