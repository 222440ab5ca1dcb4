//! Snapshots of the Traces and Flags screens and the trace view (issue 12)
//! on a fixed model built here, fed through the console's own ingest
//! paths (a `ListFlags`/`ListTraces` snapshot, then `FlagRaised` and
//! `TraceUpdated` events): alice's ssh session where a python3 started a
//! reverse shell (`bash -i`, high) and an `nc -l` (medium), a trace that
//! becomes notable as its second flag lands; an nginx that ran `sh -c id`
//! three times (low, closed); a suppressed trace (hidden); an excepted
//! flag.  Then `k` from the tree: the dialog with the reason pre-filled.
//!
//! Deterministic: fixed pids and boot-clock times, the console's clock
//! injected.
mod common;

use std::time::{Duration, Instant};

use common::{screen, text, typed};
use perch::console::{
    App, Config, ConnectionState, HostId, Msg, Overlay, Screen,
    columns::{Column, Columns},
};
use perch_proto::v1::{
    self, Event, Flag, FlagRaised, GetInfoResponse, MitreMapping, Severity, Trace, TraceStatus,
    TraceUpdated, event::Kind,
};

const H: HostId = HostId(0);
const S: u64 = 1_000_000_000;
/// Boot-clock seconds when the screens are drawn.
const NOW_S: u64 = 5_000;

fn snap(name: &str, app: &App) {
    for size in common::SIZES {
        let screen = text(&screen(app, size));
        insta::assert_snapshot!(format!("{name}_{}x{}", size.0, size.1), screen);
    }
}

/// (pid, start s, ppid, argv)
type P = (u32, u64, u32, &'static [&'static str]);

const SSHD: P = (600, 10, 1, &["/usr/sbin/sshd", "-D"]);
const SESSION: P = (650, 3_000, 600, &["sshd: alice"]);
const LOGIN: P = (700, 4_000, 650, &["-bash"]);
const PY: P = (701, 4_900, 700, &["python3", "-c", "import socket,os"]);
const SHELL: P = (702, 4_900, 701, &["bash", "-i"]);
const NC: P = (703, 4_950, 700, &["nc", "-l", "127.0.0.1", "9001"]);
const NGINX: P = (800, 100, 1, &["nginx", "-g", "daemon off;"]);
const SH: P = (801, 4_800, 800, &["sh", "-c", "id; uname -a"]);
const CRON: P = (900, 200, 1, &["cron", "-f"]);

fn key(p: P) -> v1::ProcessKey {
    v1::ProcessKey {
        pid: p.0,
        start_time_ns: p.1 * S,
    }
}

fn comm(p: P) -> String {
    let base = p.3[0].rsplit('/').next().unwrap_or("");
    base.split(':').next().unwrap_or("").to_owned()
}

fn proc(p: P) -> v1::Process {
    v1::Process {
        key: Some(key(p)),
        ppid: p.2,
        user: "alice".to_owned(),
        comm: comm(p),
        exe: p.3[0].to_owned(),
        argv: p.3.iter().map(ToString::to_string).collect(),
        state: "S".to_owned(),
        threads: 1,
        ..v1::Process::default()
    }
}

/// A flag on `p` (ancestors: the chain of `up`, nearest first).
fn flag(id: u32, rule: &str, sev: Severity, p: P, up: &[P], at_s: u64) -> Flag {
    Flag {
        id: format!("flag:{id}"),
        rule_id: rule.to_owned(),
        short_name: rule.to_owned(),
        kind: v1::FlagKind::Red.into(),
        severity: sev.into(),
        mitre_mapping: vec![MitreMapping {
            technique: "T1059.004".to_owned(),
            tactic: "TA0002".to_owned(),
            technique_name: "Unix Shell".to_owned(),
            tactic_name: "Execution".to_owned(),
        }],
        description: format!("{} (pid {}) matched {rule}", comm(p), p.0),
        process: Some(key(p)),
        name: comm(p),
        args: p.3.iter().map(ToString::to_string).collect(),
        euser: "alice".to_owned(),
        ancestors: up.iter().map(|a| comm(*a)).collect(),
        ancestor_keys: up.iter().map(|a| key(*a)).collect(),
        time_ns: at_s * S,
        last_time_ns: at_s * S,
        repeat_count: 1,
        trace_id: "trace:1".to_owned(),
        ..Flag::default()
    }
}

fn trace(id: u32, root: P, score: u32, flags: &[&str], sev: Severity, span: (u64, u64)) -> Trace {
    Trace {
        id: format!("trace:{id}"),
        name: format!("trace_from_{}_at_{}", comm(root), span.0),
        trigger: flags.first().map(ToString::to_string).unwrap_or_default(),
        root: Some(key(root)),
        root_proc_name: comm(root),
        status: TraceStatus::Active.into(),
        score,
        notable: score >= 50,
        start_time_ns: span.0 * S,
        last_time_ns: span.1 * S,
        flag_ids: flags.iter().map(ToString::to_string).collect(),
        flag_count: u32::try_from(flags.len()).unwrap_or(0),
        unique_flag_count: u32::try_from(flags.len()).unwrap_or(0),
        max_severity: sev.into(),
        mitre_mapping: vec!["TA0002".to_owned()],
        users: vec!["alice".to_owned()],
        ..Trace::default()
    }
}

fn event(seq: u64, kind: Kind) -> Event {
    Event {
        seq,
        time_ns: NOW_S * S,
        kind: Some(kind),
    }
}

/// The session's trace before and after its second flag.
fn session_trace(score: u32, both: bool) -> Trace {
    let flags: &[&str] = if both {
        &["flag:1", "flag:2"]
    } else {
        &["flag:1"]
    };
    Trace {
        trigger_short_name: "reverse_shell".to_owned(),
        interactive: true,
        login_users: vec!["alice".to_owned()],
        process_count: if both { 5 } else { 4 },
        ..trace(1, SESSION, score, flags, Severity::High, (4_901, 4_951))
    }
}

fn console_with(config: Config) -> App {
    let t0 = Instant::now();
    let mut app = App::new(config, t0);
    app.ingest_info(
        H,
        GetInfoResponse {
            host: "web-1".to_owned(),
            boot_time_unix_ns: 1_795_400_000_000_000_000,
            ..GetInfoResponse::default()
        },
    );
    app.set_connection(H, ConnectionState::Connected);
    let all = [SSHD, SESSION, LOGIN, PY, SHELL, NC, NGINX, SH, CRON];
    app.ingest_snapshot(H, all.iter().map(|p| proc(*p)).collect());
    app.ingest_events(H, &[event(1, Kind::HostSample(v1::HostSample::default()))]);
    // At connect: the reverse shell's flag and its trace, not yet notable;
    // a suppressed trace; an excepted flag.
    let rev = flag(
        1,
        "reverse_shell",
        Severity::High,
        SHELL,
        &[PY, LOGIN, SESSION, SSHD],
        4_901,
    );
    let excepted = Flag {
        excepted: true,
        exception_reason: "exe /usr/sbin/cron".to_owned(),
        trace_id: String::new(),
        ..flag(4, "shadow_read", Severity::Medium, CRON, &[], 4_700)
    };
    let suppressed = Trace {
        suppressed: true,
        trigger_short_name: "ld_preload".to_owned(),
        ..trace(3, CRON, 30, &[], Severity::Medium, (4_500, 4_500))
    };
    app.ingest_detections(
        H,
        vec![rev, excepted],
        vec![session_trace(40, false), suppressed],
        50,
    );
    // Then, as events: nc's flag and the trace growing notable; nginx's
    // recon (three repeats) in a closed trace of its own.
    let nc = flag(
        2,
        "netcat_remote_exec",
        Severity::Medium,
        NC,
        &[LOGIN, SESSION, SSHD],
        4_951,
    );
    let recon = Flag {
        repeat_count: 3,
        last_time_ns: 4_810 * S,
        trace_id: "trace:2".to_owned(),
        ..flag(3, "webserver_recon", Severity::Low, SH, &[NGINX], 4_800)
    };
    let web = Trace {
        status: TraceStatus::Closed.into(),
        closed_time_ns: 4_900 * S,
        trigger_short_name: "webserver_recon".to_owned(),
        process_count: 2,
        users: vec!["www-data".to_owned()],
        ..trace(2, NGINX, 12, &["flag:3"], Severity::Low, (4_800, 4_810))
    };
    app.ingest_events(
        H,
        &[
            event(2, Kind::Flag(FlagRaised { flag: Some(nc) })),
            event(
                3,
                Kind::Trace(TraceUpdated {
                    trace: Some(session_trace(62, true)),
                }),
            ),
            event(4, Kind::Flag(FlagRaised { flag: Some(recon) })),
            event(5, Kind::Trace(TraceUpdated { trace: Some(web) })),
        ],
    );
    app.resize(80, 24);
    app
}

fn console() -> App {
    console_with(Config::default())
}

#[test]
fn traces_screen_by_score_with_the_notable_notice() {
    let mut app = console();
    app.update(Msg::Show(Screen::Traces));
    snap("traces_screen", &app);
    let shown = text(&screen(&app, (160, 48)));
    assert!(shown.contains("Notable trace"), "{shown}");
    assert!(shown.contains("Traces: 1 high"), "{shown}");
    // The suppressed trace is hidden, then shown by S.
    assert!(!shown.contains("ld_preload"), "{shown}");
    app.update(Msg::ToggleSuppressed);
    let shown = text(&screen(&app, (160, 48)));
    assert!(shown.contains("ld_preload"), "{shown}");
}

#[test]
fn trace_view_tree_and_flags() {
    let mut app = console();
    // The notice goes by itself.
    app.tick(Instant::now() + Duration::from_secs(11));
    app.update(Msg::Show(Screen::Traces));
    app.update(Msg::Confirm);
    snap("trace_view", &app);
    // Esc: back to the table, on the same row.
    app.update(Msg::Cancel);
    let shown = text(&screen(&app, (160, 48)));
    assert!(shown.contains("NAME/TRIGGER"), "{shown}");
    assert!(
        shown.lines().any(|l| l.starts_with(">62 ")),
        "the notable trace stays selected: {shown}"
    );
}

#[test]
fn flags_screen_and_a_filter() {
    let mut app = console();
    app.tick(Instant::now() + Duration::from_secs(11));
    app.update(Msg::Show(Screen::Flags));
    snap("flags_screen", &app);
    app.update(Msg::Filter);
    for m in typed("sev:medium !is:excepted") {
        app.update(m);
    }
    app.update(Msg::Confirm);
    let shown = text(&screen(&app, (160, 48)));
    assert!(shown.contains("2 shown, Esc clears"), "{shown}");
    app.update(Msg::Filter);
    for m in typed(" score:x") {
        app.update(m);
    }
    let shown = text(&screen(&app, (160, 48)));
    assert!(
        shown.contains("`score` must be a number in 0..=10000 (got `x`)"),
        "{shown}"
    );
}

#[test]
fn k_in_the_tree_opens_the_dialog_with_the_reason_pre_filled() {
    let mut app = console();
    app.tick(Instant::now() + Duration::from_secs(11));
    app.update(Msg::Show(Screen::Traces));
    app.update(Msg::Confirm);
    // root sshd, bash, python3, bash -i: the shell is the fourth line.
    for _ in 0..3 {
        app.update(Msg::Down);
    }
    let shown = text(&screen(&app, (160, 48)));
    assert!(shown.contains("k acts on 702 bash"), "{shown}");
    app.update(Msg::ActMenu);
    assert!(
        matches!(app.overlay(), Some(Overlay::ActMenu(m)) if m.target.pid == 702),
        "{:?}",
        app.overlay()
    );
    app.update(Msg::Confirm);
    let Some(Overlay::Dialog(d)) = app.overlay() else {
        panic!("no dialog: {:?}", app.overlay());
    };
    assert_eq!(d.target.pid, 702);
    assert_eq!(
        d.reason.text(),
        "trace trace_from_sshd_at_4901: reverse_shell"
    );
    snap("trace_kill_dialog", &app);
    // From the Flags screen: the flag's process and the flag's reason.
    app.update(Msg::Cancel);
    app.update(Msg::Show(Screen::Flags));
    app.update(Msg::ActMenu);
    app.update(Msg::Confirm);
    let Some(Overlay::Dialog(d)) = app.overlay() else {
        panic!("no dialog: {:?}", app.overlay());
    };
    assert_eq!(d.target.pid, 703);
    assert_eq!(
        d.reason.text(),
        "flag netcat_remote_exec: nc (pid 703) matched netcat_remote_exec"
    );
}

#[test]
fn flags_column_and_the_detail_view() {
    let config = Config {
        columns: Columns::new([Column::Pid, Column::User, Column::Flags]),
        ..Config::default()
    };
    let mut app = console_with(config);
    app.tick(Instant::now() + Duration::from_secs(11));
    app.update(Msg::SortOn(Column::Flags));
    snap("flags_column", &app);
    let shell = common::key_of(&app, "bash -i");
    app.update(Msg::Select(shell));
    app.update(Msg::Confirm);
    let shown = text(&screen(&app, (160, 48)));
    assert!(shown.contains("Flags (1) · traces (1)"), "{shown}");
    assert!(
        shown.contains("high reverse_shell T1059.004: bash (pid 702) matched reverse_shell"),
        "{shown}"
    );
    assert!(shown.contains("trace:1 score 62 reverse_shell"), "{shown}");
}
