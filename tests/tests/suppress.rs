//! `perch suppress` end to end: a real flag (a binary copied into a temp
//! dir and run), its trace suppressed by root through the CLI; the policy
//! file perchd writes; a repeat of the behaviour excepted by the policy;
//! `perch traces` hiding the suppressed trace unless `--all`; a restarted
//! perchd reading the policy back; the audit record; a viewer refused.
#![expect(
    clippy::expect_used,
    reason = "end-to-end tests: a broken environment should fail the test loudly"
)]
use std::{fs, os::unix::fs::PermissionsExt as _, process::Command, time::Duration};

use perch_e2e::{
    Perchd, binary,
    events::Client,
    flags::{all_flags, run, under, wait_for},
    have_root_or_skip,
    memory::open_to_all,
    procs::{Finished, run_bounded},
};
use perch_proto::v1 as pb;

const WAIT: Duration = Duration::from_secs(30);
const RULE: &str = "exec_from_temp";

/// `perch ARGS --socket S`, as root or (with `nobody`) as uid 65534.
fn perch(perchd: &Perchd, nobody: bool, args: &[&str]) -> Finished {
    let socket = perchd.socket.display().to_string();
    let mut cmd = if nobody {
        let mut c = Command::new("setpriv");
        c.args(["--reuid", "65534", "--regid", "65534", "--clear-groups"])
            .arg(binary("perch"));
        c
    } else {
        Command::new(binary("perch"))
    };
    run_bounded(cmd.args(args).args(["--socket", &socket]), WAIT)
}

/// The trace ids `perch traces [--all] --json` lists.
fn listed(perchd: &Perchd, all: bool) -> Vec<serde_json::Value> {
    let args: &[&str] = if all {
        &["traces", "--json", "--all"]
    } else {
        &["traces", "--json"]
    };
    let out = perch(perchd, false, args);
    assert!(out.status.success(), "{out:?}");
    out.stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .collect()
}

/// The audit log as `perch audit list --perchd --json` gives it.
fn audit_records(perchd: &Perchd) -> Vec<serde_json::Value> {
    let audit = perch(perchd, false, &["audit", "list", "--perchd", "--json"]);
    assert!(audit.status.success(), "{audit:?}");
    audit
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .collect()
}

/// Runs a fresh copy of /bin/true from `dir` in its own session and waits
/// for its flag (excepted or not); that flag.
async fn tmp_exec(client: &mut Client, dir: &std::path::Path, name: &str) -> pb::Flag {
    let exe = dir.join(name);
    fs::copy("/bin/true", &exe).expect("copy");
    let pid = run(&[&exe.display().to_string()]);
    wait_for(client, &[(RULE, pid)]).await;
    all_flags(client)
        .await
        .into_iter()
        .find(|f| f.rule_id == RULE && under(f, pid))
        .expect("the flag")
}

#[tokio::test(flavor = "multi_thread")]
async fn suppress_a_trace_end_to_end() {
    if !have_root_or_skip("suppress_a_trace_end_to_end") {
        return;
    }
    let policies = tempfile::tempdir().expect("tempdir");
    let dir = policies.path().display().to_string();
    let mut perchd = Perchd::start(&["--policies", &dir]).await;
    open_to_all(&perchd.socket).expect("open the socket");
    let mut client = perchd.client().await.expect("connect");
    let bins = tempfile::tempdir().expect("tempdir");
    fs::set_permissions(bins.path(), fs::Permissions::from_mode(0o755)).expect("chmod");

    // ---- a real flag and its trace.
    let first = tmp_exec(&mut client, bins.path(), "dropped-a").await;
    assert!(!first.excepted, "{first:?}");
    let trace_id = first.trace_id.clone();
    assert!(trace_id.starts_with("trace:"), "{first:?}");
    assert!(
        listed(&perchd, false).iter().any(|t| t["id"] == *trace_id),
        "the trace is listed before it is suppressed"
    );

    // ---- a viewer may not suppress it (and nothing is written).
    let refused = perch(&perchd, true, &["suppress", &trace_id, "--reason", "mine"]);
    assert!(!refused.status.success(), "{refused:?}");
    assert!(refused.stderr.contains("viewer"), "{refused:?}");
    assert_eq!(fs::read_dir(policies.path()).map_or(0, Iterator::count), 0);

    // ---- bad input: named fields, nothing done.
    let blank = perch(&perchd, false, &["suppress", &trace_id, "--reason", " "]);
    assert_eq!(blank.status.code(), Some(1), "{blank:?}");
    assert!(blank.stderr.contains("reason: required"), "{blank:?}");
    let unknown = perch(
        &perchd,
        false,
        &["suppress", "trace:999999", "--reason", "x"],
    );
    assert_eq!(unknown.status.code(), Some(1), "{unknown:?}");
    assert!(unknown.stderr.contains("trace_id: no trace"), "{unknown:?}");

    // ---- root suppresses it through the CLI.
    let reason = "e2e: the build farm's dropper is expected";
    let out = perch(&perchd, false, &["suppress", &trace_id, "--reason", reason]);
    assert!(out.status.success(), "{out:?}");
    let name = format!("suppress-{}", trace_id.replace(':', "-"));
    let path = policies.path().join(format!("{name}.yaml"));
    assert!(
        out.stdout
            .starts_with(&format!("policy {name} written to {}\n", path.display())),
        "{out:?}"
    );
    let text = fs::read_to_string(&path).expect("the policy file");
    assert!(text.contains("kind: SpyderbatPolicy"), "{text}");
    assert!(text.contains("type: trace"), "{text}");
    assert!(out.stdout.contains("kind: SpyderbatPolicy"), "{out:?}");
    let traces = client
        .list_traces(pb::ListTracesRequest {
            id: trace_id.clone(),
            ..pb::ListTracesRequest::default()
        })
        .await
        .expect("ListTraces")
        .into_inner()
        .traces;
    assert!(traces.first().is_some_and(|t| t.suppressed), "{traces:?}");

    // ---- the same behaviour again: excepted by the policy, no new trace.
    let again = tmp_exec(&mut client, bins.path(), "dropped-b").await;
    assert!(again.excepted, "{again:?}");
    assert_eq!(again.exception_reason, format!("policy {name}"));

    // ---- `perch traces` hides the suppressed trace; --all shows it.
    assert!(
        !listed(&perchd, false).iter().any(|t| t["id"] == *trace_id),
        "a suppressed trace is hidden"
    );
    let all = listed(&perchd, true);
    let shown = all
        .iter()
        .find(|t| t["id"] == *trace_id)
        .expect("--all lists it");
    assert_eq!(shown["suppressed"], true, "{shown}");

    // ---- the audit log: intent and result, with who, what and why.
    let records = audit_records(&perchd);
    let done = records
        .iter()
        .find(|r| r["code"] == "trace_suppressed")
        .expect("a suppression record");
    assert_eq!(done["reason"], reason, "{done}");
    assert_eq!(done["result"], "success", "{done}");
    assert_eq!(done["action"], "suppress_trace", "{done}");
    assert_eq!(done["actor_uid"], 0, "{done}");
    let detail = done["detail"].as_str().expect("detail");
    assert!(
        detail.contains(&trace_id) && detail.contains(&name) && detail.contains(&dir),
        "{detail}"
    );
    assert!(
        records
            .iter()
            .any(|r| r["code"] == "permission_denied" && r["actor_uid"] == 65534),
        "the viewer's refusal is audited: {records:#?}"
    );

    // ---- a restarted perchd reads the policy back.
    perchd.stop();
    perchd.respawn().await;
    let mut client = perchd.client().await.expect("reconnect");
    let after = tmp_exec(&mut client, bins.path(), "dropped-c").await;
    assert!(after.excepted, "{after:?}");
    assert_eq!(after.exception_reason, format!("policy {name}"));
}
