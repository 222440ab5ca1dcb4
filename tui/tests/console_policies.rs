//! Snapshots of the Policies screen (issue 14) on a fixed model fed
//! through the console's own ingest paths: a `ListPolicies` answer (a
//! learned service policy in enforce mode, a machine policy applied as a
//! dry run, a trace suppression policy) and `DeviationRaised` events (a
//! shell under the web server, seen twice, killed by the policy; an egress
//! to a new port).  Enter opens the web policy's deviations; Enter on the
//! shell's shows its process.
//!
//! Deterministic: fixed pids and boot-clock times, the console's clock
//! injected.
mod common;

use std::time::Instant;

use common::{screen, text};
use perch::{
    console::{
        App, Config, ConnectionState, HostId, Msg, Screen, actions::Request, timeline::TimeAnswer,
    },
    travel::StateAt,
};
use perch_proto::v1::{
    self, Deviation, DeviationKind, DeviationRaised, Event, GetInfoResponse, PolicyMode,
    PolicyResponse, PolicySummary, ResponseOutcome, event::Kind,
};

const H: HostId = HostId(0);
const S: u64 = 1_000_000_000;
const NOW_S: u64 = 5_000;

fn snap(name: &str, app: &App) {
    for size in common::SIZES {
        let screen = text(&screen(app, size));
        insta::assert_snapshot!(format!("{name}_{}x{}", size.0, size.1), screen);
    }
}

fn proc(pid: u32, start_s: u64, parent: u32, comm: &str) -> v1::Process {
    v1::Process {
        key: Some(v1::ProcessKey {
            pid,
            start_time_ns: start_s * S,
        }),
        ppid: parent,
        user: "www-data".to_owned(),
        comm: comm.to_owned(),
        exe: format!("/usr/bin/{comm}"),
        argv: vec![comm.to_owned()],
        state: "S".to_owned(),
        threads: 1,
        ..v1::Process::default()
    }
}

/// The web policy as perchd stores it.
const WEB: &str = "# perch: applied-unix-ns=1 dry-run=false applied-by=root
apiVersion: spyderbat/v1
kind: SpyderbatPolicy
metadata: {name: web, type: linux-service}
spec:
  serviceSelector: {cgroup: /system.slice/web.service}
  mode: enforce
  processPolicy:
  - {name: python3, exe: [/usr/bin/python3], id: python3_0, euser: [www-data]}
  networkPolicy: {ingress: [], egress: []}
  response:
    default: [{makeRedFlag: {severity: high}}]
    actions: [{agentKillProcess: {processSelector: {name: sh}}}]
";

/// The shell's deviation document, as perchd writes it.
const SHELL_DOC: &str = "apiVersion: spyderbat/v1
kind: GuardianDeviation
metadata: {type: process, policy: web, checksum: 1}
spec:
  processPolicy:
  - policyNode:
      id: python3_0
      children: [{name: sh, exe: [/usr/bin/dash], id: sh_0, euser: [www-data]}]
";

fn summary(name: &str, kind: &str, mode: PolicyMode, dry_run: bool) -> PolicySummary {
    PolicySummary {
        name: name.to_owned(),
        r#type: kind.to_owned(),
        mode: mode.into(),
        enabled: true,
        dry_run,
        yaml: if name == "web" {
            WEB.to_owned()
        } else {
            String::new()
        },
        ..PolicySummary::default()
    }
}

fn deviation(
    id: &str,
    kind: DeviationKind,
    (pid, start_s): (u32, u64),
    count: u64,
    summary: &str,
) -> Deviation {
    Deviation {
        id: id.to_owned(),
        policy: "web".to_owned(),
        kind: kind.into(),
        summary: summary.to_owned(),
        process: Some(v1::ProcessKey {
            pid,
            start_time_ns: start_s * S,
        }),
        ancestor_keys: vec![v1::ProcessKey {
            pid: 500,
            start_time_ns: 100 * S,
        }],
        first_ns: 4_900 * S,
        last_ns: 4_990 * S,
        count,
        enforced: true,
        ..Deviation::default()
    }
}

fn console() -> App {
    let mut app = App::new(Config::default(), Instant::now());
    app.ingest_info(
        H,
        GetInfoResponse {
            host: "web-1".to_owned(),
            boot_time_unix_ns: 1_795_400_000_000_000_000,
            ..GetInfoResponse::default()
        },
    );
    app.set_connection(H, ConnectionState::Connected);
    app.ingest_snapshot(
        H,
        vec![proc(500, 100, 1, "python3"), proc(901, 4_900, 500, "sh")],
    );
    let shell = Deviation {
        document: SHELL_DOC.to_owned(),
        responses: vec![
            PolicyResponse {
                action: "agentKillProcess".to_owned(),
                outcome: ResponseOutcome::Success.into(),
                ..PolicyResponse::default()
            },
            PolicyResponse {
                action: "makeRedFlag".to_owned(),
                outcome: ResponseOutcome::Success.into(),
                ..PolicyResponse::default()
            },
        ],
        ..deviation(
            "dev:web:1",
            DeviationKind::Process,
            (901, 4_900),
            2,
            "sh (/usr/bin/dash, www-data) under python3_0 is not in policy web's process tree",
        )
    };
    let egress = Deviation {
        ancestor_keys: Vec::new(),
        ..deviation(
            "dev:web:2",
            DeviationKind::Egress,
            (500, 100),
            1,
            "python3 (python3_0) TCP to 10.0.0.9 port 6379: no egress rule of policy web covers it",
        )
    };
    let events: Vec<Event> = [egress, shell]
        .into_iter()
        .enumerate()
        .map(|(i, d)| Event {
            seq: i as u64 + 1,
            time_ns: NOW_S * S,
            kind: Some(Kind::Deviation(DeviationRaised { deviation: Some(d) })),
        })
        .collect();
    app.ingest_events(H, &events);
    app.ingest_policies(
        H,
        Ok(vec![
            summary("web", "linux-service", PolicyMode::Enforce, false),
            summary("sshd-tree", "machine", PolicyMode::Audit, true),
            summary("allow-backups", "trace", PolicyMode::Enforce, false),
        ]),
    );
    app
}

#[test]
fn policies_and_their_deviations() {
    let mut app = console();
    app.update(Msg::Show(Screen::Policies));
    snap("policies_list", &app);
    // `web` sorts last: move to it and open its deviations.
    app.update(Msg::End);
    app.update(Msg::Confirm);
    snap("policies_deviations", &app);
    // `m` on the shell's: the policy with it added, to confirm.
    app.update(Msg::AddToPolicy);
    snap("policies_add_deviation", &app);
    let _ = app.take_outbox();
    app.update(Msg::Confirm);
    let applied: Vec<String> = app
        .take_outbox()
        .into_iter()
        .filter_map(|o| match o.request {
            Request::ApplyPolicy { yaml, .. } => Some(yaml),
            _ => None,
        })
        .collect();
    assert_eq!(applied.len(), 1);
    assert!(applied[0].contains("name: sh"), "{}", applied[0]);
    let reread = perchd::policy::workload::parse("web.yaml", &applied[0]).expect("valid");
    assert_eq!(reread.roots[0].children[0].id, "sh_0");
    // The newest deviation (the shell) is first: Enter shows its process.
    app.update(Msg::Confirm);
    assert_eq!(app.screen(), Screen::Processes);
}

/// Boot time of the fixture host, Unix ns.
const BOOT_UNIX: u64 = 1_795_400_000_000_000_000;

/// Enter on a deviation whose process is gone from the live model (killed
/// by the policy, its row past retention) travels to the deviation's
/// latest sighting and selects the process there; the Policies screen in
/// the past shows the deviations as they stood then.
#[test]
fn enter_on_an_exited_deviant_travels_to_it() {
    let mut app = console();
    app.enable_travel(true);
    app.set_wall_clock(BOOT_UNIX + (NOW_S + 60) * S);
    // The shell is gone from the live model: only python3 is left.
    app.ingest_snapshot(H, vec![proc(500, 100, 1, "python3")]);
    app.update(Msg::Show(Screen::Policies));
    app.update(Msg::End);
    app.update(Msg::Confirm);
    app.update(Msg::Confirm);
    let q = app
        .take_time_query()
        .expect("Enter on the exited shell's deviation asks for the past");
    assert_eq!(
        q.at_unix_ns,
        BOOT_UNIX + 4_990 * S,
        "the state at the deviation's latest sighting"
    );
    assert_eq!(app.screen(), Screen::Policies, "not before the answer");
    // The history's answer: the shell alive then, its deviation seen once
    // by then (the second sighting came later).
    let then = Deviation {
        count: 1,
        ..deviation(
            "dev:web:1",
            DeviationKind::Process,
            (901, 4_900),
            1,
            "sh (/usr/bin/dash, www-data) under python3_0 is not in policy web's process tree",
        )
    };
    app.ingest_time(TimeAnswer {
        id: q.id,
        result: Ok(StateAt {
            at_unix_ns: BOOT_UNIX + 4_990 * S,
            oldest_unix_ns: BOOT_UNIX + 4_000 * S,
            newest_unix_ns: BOOT_UNIX + NOW_S * S,
            host_name: "web-1".to_owned(),
            boot_time_unix_ns: BOOT_UNIX,
            processes: vec![proc(500, 100, 1, "python3"), proc(901, 4_900, 500, "sh")],
            deviations: vec![then],
            ..StateAt::default()
        }),
        others: Vec::new(),
        rows: Vec::new(),
    });
    assert!(!app.is_live());
    assert_eq!(app.screen(), Screen::Processes);
    assert_eq!(
        app.selected().map(|p| p.key.pid),
        Some(901),
        "the shell, as it was then, is selected"
    );
    // Its policy's deviations as of then: the shell's alone, seen once.
    app.update(Msg::Show(Screen::Policies));
    let data = app.data();
    let rows = data.policies().rows(|h| {
        data.host_now_ns(h)
            .map_or(0, |n| n.saturating_sub(3_600 * S))
    });
    let web = rows
        .iter()
        .find(|r| r.summary.name == "web")
        .expect("web listed in the past too");
    assert_eq!((web.deviations, web.sightings), (1, 1));
    // The deviations list Enter opened is still open, as of then.
    snap("policies_deviations_in_the_past", &app);
}

/// Without history, Enter on an exited deviant says why it cannot show it.
#[test]
fn enter_on_an_exited_deviant_without_history_says_so() {
    let mut app = console();
    app.ingest_snapshot(H, vec![proc(500, 100, 1, "python3")]);
    app.update(Msg::Show(Screen::Policies));
    app.update(Msg::End);
    app.update(Msg::Confirm);
    app.update(Msg::Confirm);
    assert!(app.take_time_query().is_none());
    assert_eq!(app.screen(), Screen::Policies);
    let shown = text(&screen(&app, (160, 48)));
    assert!(
        shown.contains("pid 901 has exited, and there is no history to show it in"),
        "{shown}"
    );
}
