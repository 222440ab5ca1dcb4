//! Workload policies judged by a real perchd (root) on a real service: a
//! python HTTP server in a cgroup of its own (a linux-service), answering
//! curl.  Its policy gives no deviation for what it does; the same server
//! spawning `sh` gives one process deviation and an egress to a new port
//! one network deviation.  In audit mode the shell is left alone and the
//! audit log says what would have been initiated; in enforce mode
//! agentKillProcess kills it, recorded with actor `policy:NAME`, and the
//! log verifies.
#![expect(
    clippy::expect_used,
    clippy::panic,
    reason = "end-to-end tests: a broken environment should fail the test loudly"
)]
use std::{fs, net::TcpListener, process::Command, time::Duration};

use perch_e2e::{
    Perchd, binary,
    cgroups::Cgroups,
    events::EventLog,
    have_root_or_skip,
    procs::{ChildGuard, run_bounded},
};
use perch_proto::v1 as pb;

const WAIT: Duration = Duration::from_secs(30);

/// The service: `/` answers, `/run` spawns `sh -c 'id; sleep 30; true'` (kept,
/// so a test can see whether it was killed), `/fetch?port=N` connects to
/// 127.0.0.1:N.
const SERVER: &str = r#"
import http.server, socket, subprocess, sys
kids = []
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_GET(self):
        body = b"ok"
        if self.path == "/run":
            p = subprocess.Popen(["/bin/sh", "-c", "id >/dev/null; sleep 30; true"])
            kids.append(p)
            body = str(p.pid).encode()
        elif self.path.startswith("/fetch?port="):
            s = socket.create_connection(("127.0.0.1", int(self.path.split("=")[1])))
            s.close()
        self.send_response(200)
        self.end_headers()
        self.wfile.write(body)
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
"#;

fn policy(name: &str, cgroup: &str, python: &str, port: u16, allowed: u16, mode: &str) -> String {
    format!(
        "apiVersion: spyderbat/v1
kind: SpyderbatPolicy
metadata:
  name: {name}
  type: linux-service
spec:
  serviceSelector:
    cgroup: \"systemd:{cgroup}\"
  mode: {mode}
  processPolicy:
  - name: python3*
    exe: [\"{python}\"]
    id: python3_0
    euser: [root]
    listeningSockets: [{{protocol: TCP, port: {port}}}]
  networkPolicy:
    ingress:
    - from: [{{ipBlock: {{cidr: 127.0.0.0/8}}}}]
      processes: [python3_0]
      ports: [{{protocol: TCP, port: {port}}}]
    egress:
    - to: [{{ipBlock: {{cidr: 127.0.0.1/32}}}}]
      processes: [python3_0]
      ports: [{{protocol: TCP, port: {allowed}}}]
  response:
    default: [{{makeRedFlag: {{severity: high, impact: a shell from the web server}}}}]
    actions:
    - agentKillProcess: {{processSelector: {{name: sh}}}}
"
    )
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

fn perch(perchd: &Perchd, args: &[&str]) -> String {
    let socket = perchd.socket.display().to_string();
    let out = run_bounded(
        Command::new(binary("perch"))
            .args(args)
            .args(["--socket", &socket]),
        WAIT,
    );
    assert!(out.status.success(), "perch {args:?}: {out:?}");
    out.stdout
}

fn curl(port: u16, path: &str) -> String {
    let out = run_bounded(
        Command::new("curl").args(["-sf", &format!("http://127.0.0.1:{port}{path}")]),
        WAIT,
    );
    assert!(out.status.success(), "curl {path}: {out:?}");
    out.stdout
}

fn deviations(events: &[pb::Event], policy: &str) -> Vec<pb::Deviation> {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            Some(pb::event::Kind::Deviation(d)) => d.deviation.clone(),
            _ => None,
        })
        .filter(|d| d.policy == policy)
        .collect()
}

/// The latest sighting of deviation `id` once its responses are in.
fn answered(
    events: &[pb::Event],
    policy: &str,
    kind: pb::DeviationKind,
    pid: Option<u32>,
) -> Option<pb::Deviation> {
    deviations(events, policy).into_iter().rev().find(|d| {
        d.kind == i32::from(kind)
            && !d.responses.is_empty()
            && pid.is_none_or(|p| d.process.as_ref().is_some_and(|k| k.pid == p))
    })
}

/// Waits for the answered deviation of `kind` (for process `pid`).
async fn wait_answered(
    log: &mut EventLog,
    policy: &str,
    kind: pb::DeviationKind,
    pid: Option<u32>,
) -> pb::Deviation {
    let found = log
        .until(WAIT, |ev| answered(ev, policy, kind, pid).is_some())
        .await;
    assert!(
        found,
        "no {kind:?} deviation: {:#?}",
        deviations(&log.events, policy)
    );
    answered(&log.events, policy, kind, pid).expect("found")
}

fn outcome(d: &pb::Deviation, action: &str) -> pb::PolicyResponse {
    d.responses
        .iter()
        .find(|r| r.action == action)
        .cloned()
        .unwrap_or_else(|| panic!("no {action} response: {d:#?}"))
}

fn audit_records(perchd: &Perchd) -> Vec<serde_json::Value> {
    perch(perchd, &["audit", "list", "--perchd", "--json"])
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .collect()
}

fn alive(pid: u32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        !s.rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z')
    })
}

#[tokio::test(flavor = "multi_thread")]
#[expect(
    clippy::too_many_lines,
    reason = "one story: audit, then enforce, on one service"
)]
async fn a_service_policy_audits_then_enforces() {
    if !have_root_or_skip("a_service_policy_audits_then_enforces") {
        return;
    }
    let name = format!("e2e-web-{}", std::process::id());
    let cg = Cgroups::make(&format!("perch-e2e-web-{}.service", std::process::id()));
    let cgroup = format!("/perch-e2e-web-{}.service", std::process::id());
    let policies = tempfile::tempdir().expect("tempdir");
    let dir = policies.path().display().to_string();
    let perchd = Perchd::start(&["--policies", &dir]).await;
    let mut client = perchd.client().await.expect("connect");
    let mut log = EventLog::watch(&mut client, None, &[pb::EventKind::Deviation])
        .await
        .expect("watch");

    let work = tempfile::tempdir().expect("tempdir");
    let script = work.path().join("server.py");
    fs::write(&script, SERVER).expect("write");
    let (port, allowed) = (free_port(), free_port());
    // The interpreter's real path, as perchd sees the exec (pyenv, a venv
    // or /usr/bin: whichever python3 this machine runs).
    let python = run_bounded(
        Command::new("python3").args([
            "-c",
            "import os, sys; print(os.path.realpath(sys.executable))",
        ]),
        WAIT,
    )
    .stdout
    .trim()
    .to_owned();
    let upstream = TcpListener::bind(("127.0.0.1", allowed)).expect("bind upstream");
    let doc = work.path().join("web.yaml");
    fs::write(
        &doc,
        policy(&name, &cgroup, &python, port, allowed, "audit"),
    )
    .expect("write");
    let doc_s = doc.display().to_string();
    perch(&perchd, &["policy", "apply", "-f", &doc_s]);

    let start = format!(
        "echo $$ > {}/cgroup.procs && exec {python} {} {port}",
        cg.leaf.display(),
        script.display()
    );
    let _server = ChildGuard::spawn(Command::new("/bin/sh").args(["-c", &start]));
    let mut up = false;
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(up, "the server listens");

    // ---- what the policy allows: pages, the allowed upstream.
    for _ in 0..3 {
        curl(port, "/");
    }
    curl(port, &format!("/fetch?port={allowed}"));
    drop(upstream.accept().expect("the allowed connection"));

    // ---- audit: a shell is one process deviation, left alone.
    let shell: u32 = curl(port, "/run").trim().parse().expect("the shell's pid");
    let d = wait_answered(&mut log, &name, pb::DeviationKind::Process, Some(shell)).await;
    assert!(!d.enforced && !d.dry_run, "{d:#?}");
    assert!(d.summary.starts_with("sh ("), "{d:#?}");
    assert!(d.summary.contains("under python3_0"), "{d:#?}");
    assert!(
        d.document.contains("kind: GuardianDeviation"),
        "{}",
        d.document
    );
    let kill = outcome(&d, "agentKillProcess");
    assert_eq!(
        kill.outcome,
        i32::from(pb::ResponseOutcome::Audit),
        "{kill:?}"
    );
    let flag = outcome(&d, "makeRedFlag");
    assert_eq!(
        flag.outcome,
        i32::from(pb::ResponseOutcome::Audit),
        "{flag:?}"
    );
    assert!(alive(shell), "audit mode touches nothing");
    let distinct: std::collections::BTreeSet<String> = deviations(&log.events, &name)
        .into_iter()
        .map(|d| d.id)
        .collect();
    assert_eq!(
        distinct.len(),
        1,
        "pages and the allowed upstream are covered; the shell (and what it runs) is one deviation: {:#?}",
        deviations(&log.events, &name)
    );
    let records = audit_records(&perchd);
    let would = records
        .iter()
        .find(|r| r["audit_id"] == kill.audit_id || r["id"] == kill.audit_id)
        .unwrap_or_else(|| panic!("the audit record {}: {records:#?}", kill.audit_id));
    assert_eq!(would["actor_user"], format!("policy:{name}"), "{would}");
    let reason = would["reason"].as_str().expect("reason");
    assert!(
        reason.starts_with(&format!(
            "(audit mode) would have initiated agentKillProcess for pid {shell}, not initiated due to audit mode"
        )),
        "{reason}"
    );

    // ---- an egress to a port the policy does not name: one network deviation.
    let other = free_port();
    let stray = TcpListener::bind(("127.0.0.1", other)).expect("bind");
    curl(port, &format!("/fetch?port={other}"));
    drop(stray.accept().expect("the stray connection"));
    let e = wait_answered(&mut log, &name, pb::DeviationKind::Egress, None).await;
    assert!(
        e.summary.contains(&format!("to 127.0.0.1 port {other}")),
        "{e:#?}"
    );
    assert!(
        e.document.contains(&format!("port: {other}")),
        "{}",
        e.document
    );

    // ---- enforce: the next shell is killed by the policy.
    fs::write(
        &doc,
        policy(&name, &cgroup, &python, port, allowed, "enforce"),
    )
    .expect("write");
    perch(&perchd, &["policy", "apply", "-f", &doc_s]);
    let shell2: u32 = curl(port, "/run").trim().parse().expect("the shell's pid");
    let d = wait_answered(&mut log, &name, pb::DeviationKind::Process, Some(shell2)).await;
    assert!(d.enforced, "{d:#?}");
    let kill = outcome(&d, "agentKillProcess");
    assert_eq!(
        kill.outcome,
        i32::from(pb::ResponseOutcome::Success),
        "{kill:?}"
    );
    let flag = outcome(&d, "makeRedFlag");
    assert_eq!(
        flag.outcome,
        i32::from(pb::ResponseOutcome::Success),
        "{flag:?}"
    );
    let mut gone = false;
    for _ in 0..100 {
        if !alive(shell2) {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(gone, "the enforcing policy killed the shell");
    assert!(alive(shell), "the first shell (audit mode) still runs");
    let records = audit_records(&perchd);
    let acted = records
        .iter()
        .find(|r| r["actor_user"] == format!("policy:{name}") && r["mode"] == "live")
        .unwrap_or_else(|| panic!("a live record by the policy: {records:#?}"));
    assert!(
        acted["reason"]
            .as_str()
            .is_some_and(|r| r.starts_with(&format!("policy {name}: sh ("))),
        "{acted}"
    );
    let path = perchd.audit_log.display().to_string();
    let verify = run_bounded(
        Command::new(binary("perch")).args(["audit", "verify", &path]),
        WAIT,
    );
    assert!(verify.status.success(), "{verify:?}");
}
