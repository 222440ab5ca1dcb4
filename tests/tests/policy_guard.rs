//! Workload policies as a new user would run them, against a real perchd
//! (root) and a real service: a python HTTP server in a cgroup of its own
//! (a linux-service) answering curl from a loop and calling an upstream.
//! `perch policy learn` learns its policy from perchd's history; applied
//! (audit), a rerun of the same service gives no deviation; the server
//! spawning `sh` gives one process deviation and an egress to a new port
//! one network deviation; `perch policy test` finds both in the history;
//! in audit mode the shell is left alone and the audit log says what would
//! have been initiated; switched to enforce with agentKillProcess, the
//! next shell is killed, recorded with actor `policy:NAME`, and the log
//! verifies.
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
    policies::{alive, audit_records, deviations, outcome, perch, wait_answered},
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

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

fn curl(port: u16, path: &str) -> String {
    let out = run_bounded(
        Command::new("curl").args(["-sf", &format!("http://127.0.0.1:{port}{path}")]),
        WAIT,
    );
    assert!(out.status.success(), "curl {path}: {out:?}");
    out.stdout
}

/// The service in the test's cgroup: `python server.py PORT`.
fn service(
    leaf: &std::path::Path,
    python: &str,
    script: &std::path::Path,
    port: u16,
) -> ChildGuard {
    let start = format!(
        "echo $$ > {}/cgroup.procs && exec {python} {} {port}",
        leaf.display(),
        script.display()
    );
    ChildGuard::spawn(Command::new("/bin/sh").args(["-c", &start]))
}

async fn listening(port: u16) {
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the server never listened on {port}");
}

/// What the service does in normal use: pages from a loop, one upstream call.
fn normal_use(port: u16, upstream: &TcpListener) {
    for _ in 0..5 {
        curl(port, "/");
    }
    curl(
        port,
        &format!(
            "/fetch?port={}",
            upstream.local_addr().expect("addr").port()
        ),
    );
    drop(upstream.accept().expect("the upstream connection"));
}

/// Waits until perchd's store holds everything up to now.
async fn stored(perchd: &Perchd) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_nanos();
    let mut client = perchd.client().await.expect("client");
    for _ in 0..300 {
        let info = client
            .get_info(pb::GetInfoRequest {})
            .await
            .expect("info")
            .into_inner();
        if info
            .history
            .is_some_and(|h| u128::from(h.newest_unix_ns) >= now)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the store never caught up");
}

#[tokio::test(flavor = "multi_thread")]
#[expect(
    clippy::too_many_lines,
    reason = "one story: learn, apply, rerun, deviate, test, enforce, on one service"
)]
async fn learn_apply_test_enforce_a_service() {
    if !have_root_or_skip("learn_apply_test_enforce_a_service") {
        return;
    }
    let me = std::process::id();
    let name = format!("e2e-web-{me}");
    let cg = Cgroups::make(&format!("perch-e2e-web-{me}.service"));
    let cgroup = format!("/perch-e2e-web-{me}.service");
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
    let port = free_port();
    let upstream = TcpListener::bind("127.0.0.1:0").expect("bind upstream");

    // ---- learn: the service in normal use, then its policy from history.
    let start = run_bounded(Command::new("date").arg("+%s"), WAIT)
        .stdout
        .trim()
        .to_owned();
    let first = service(&cg.leaf, &python, &script, port);
    listening(port).await;
    normal_use(port, &upstream);
    stored(&perchd).await;
    drop(first);
    let learned = work.path().join("learned.yaml");
    let learned_s = learned.display().to_string();
    let from = format!("@{start}");
    perch(
        &perchd,
        &[
            "policy",
            "learn",
            "--service",
            &cgroup,
            "--name",
            &name,
            "--from",
            &from,
            "-o",
            &learned_s,
        ],
    );
    let text = fs::read_to_string(&learned).expect("the learned policy");
    assert!(
        text.contains("type: linux-service") && text.contains("mode: audit"),
        "{text}"
    );
    assert!(
        text.contains(&format!("port: {port}")),
        "the listening socket is learned: {text}"
    );
    eprintln!("learned:\n{text}");
    perch(&perchd, &["policy", "apply", "-f", &learned_s]);

    // ---- a rerun of the same service in normal use: no deviation.
    let _server = service(&cg.leaf, &python, &script, port);
    listening(port).await;
    normal_use(port, &upstream);

    // ---- a shell: one process deviation, left alone in audit mode.
    let shell: u32 = curl(port, "/run").trim().parse().expect("the shell's pid");
    let d = wait_answered(&mut log, &name, pb::DeviationKind::Process, Some(shell)).await;
    assert!(!d.enforced && !d.dry_run, "{d:#?}");
    assert!(d.summary.starts_with("sh ("), "{d:#?}");
    assert!(
        d.document.contains("kind: GuardianDeviation"),
        "{}",
        d.document
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
        "the rerun in normal use is covered; the shell (and what it runs) is one deviation:\n{text}\n{:#?}",
        deviations(&log.events, &name)
    );

    // ---- an egress to a port the policy does not name: one network deviation.
    let stray = TcpListener::bind("127.0.0.1:0").expect("bind");
    let other = stray.local_addr().expect("addr").port();
    curl(port, &format!("/fetch?port={other}"));
    drop(stray.accept().expect("the stray connection"));
    let e = wait_answered(&mut log, &name, pb::DeviationKind::Egress, None).await;
    assert!(
        e.summary.contains(&format!("to 127.0.0.1 port {other}")),
        "{e:#?}"
    );

    // ---- perch policy test finds both in the history, touching nothing.
    stored(&perchd).await;
    let tested = perch(
        &perchd,
        &[
            "policy", "test", "-f", &learned_s, "--from", &from, "--json",
        ],
    );
    let found: Vec<serde_json::Value> = tested
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .collect();
    let kinds: Vec<&str> = found.iter().filter_map(|f| f["kind"].as_str()).collect();
    assert_eq!(
        kinds,
        ["DEVIATION_KIND_PROCESS", "DEVIATION_KIND_EGRESS"],
        "{tested}"
    );
    assert!(alive(shell), "perch policy test touches nothing");

    // ---- enforce, with agentKillProcess for shells: the next one is killed.
    let enforcing = text.replace("mode: audit", "mode: enforce").replace(
        "actions: []",
        "actions: [{agentKillProcess: {processSelector: {name: sh}}}]",
    );
    assert_ne!(enforcing, text, "{text}");
    let doc = work.path().join("enforce.yaml");
    fs::write(&doc, &enforcing).expect("write");
    perch(
        &perchd,
        &["policy", "apply", "-f", &doc.display().to_string()],
    );
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

    // ---- the history holds the killed shell and its deviation as of the
    // sighting (what the console's Enter on the deviation travels to).
    stored(&perchd).await;
    let info = perchd
        .client()
        .await
        .expect("client")
        .get_info(pb::GetInfoRequest {})
        .await
        .expect("info")
        .into_inner();
    let mut history = pb::history_client::HistoryClient::new(
        perch_e2e::channel(&perchd.socket).await.expect("channel"),
    );
    let mut stream = history
        .get_state_at(pb::GetStateAtRequest {
            at_unix_ns: info.boot_time_unix_ns + d.last_ns,
            chunk_size: 0,
        })
        .await
        .expect("the sighting lies in the stored range")
        .into_inner();
    let mut then = pb::GetStateAtResponse::default();
    while let Some(chunk) = stream.message().await.expect("chunk") {
        then.processes.extend(chunk.processes);
        then.deviations.extend(chunk.deviations);
    }
    assert!(
        then.processes
            .iter()
            .any(|p| p.key.is_some_and(|k| k.pid == shell2)),
        "the killed shell, alive at its sighting"
    );
    let seen = then
        .deviations
        .iter()
        .find(|x| x.id == d.id)
        .unwrap_or_else(|| panic!("its deviation as of then: {:#?}", then.deviations));
    assert_eq!(seen.process.map(|k| k.pid), Some(shell2));
}
