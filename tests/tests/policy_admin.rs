//! `perch policy` end to end against a real perchd (root): a trace policy
//! applied through the CLI is listed (mode, enabled, applied by), stored
//! in the policies dir, applied by the detector at once (a real flag from
//! a binary run from a temp dir is excepted), kept across a restart;
//! disabled (the file says so, the detector stops applying it), deleted
//! (file removed); a bad document refused with its line and field and
//! nothing written; a viewer refused; every change audited and the log
//! verifies.  Applied as a dry run it is listed so and excepts nothing.
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
const NAME: &str = "e2e-allow-temp-exec";

/// Selects every trace and allows every flag class: only this test's
/// perchd sees it.
fn policy(extra: &str) -> String {
    format!(
        "apiVersion: spyderbat/v1\nkind: SpyderbatPolicy\nmetadata:\n  name: {NAME}\n  \
         type: trace\nspec:\n  traceSelector:\n    triggerClass: [\"*\"]\n  allowedFlags:\n    \
         - class: \"*\"\n  mode: enforce\n{extra}"
    )
}

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

/// `perch policy list --json`.
fn listed(perchd: &Perchd) -> Vec<serde_json::Value> {
    let out = perch(perchd, false, &["policy", "list", "--json"]);
    assert!(out.status.success(), "{out:?}");
    out.stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .collect()
}

/// Runs a fresh copy of /bin/true from `dir` and waits for its flag.
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
#[expect(
    clippy::too_many_lines,
    reason = "one story: each step needs the state the previous one left (file, restart, audit log)"
)]
async fn manage_a_policy_end_to_end() {
    if !have_root_or_skip("manage_a_policy_end_to_end") {
        return;
    }
    let policies = tempfile::tempdir().expect("tempdir");
    let dir = policies.path().display().to_string();
    let mut perchd = Perchd::start(&["--policies", &dir]).await;
    open_to_all(&perchd.socket).expect("open the socket");
    let mut client = perchd.client().await.expect("connect");
    let bins = tempfile::tempdir().expect("tempdir");
    fs::set_permissions(bins.path(), fs::Permissions::from_mode(0o755)).expect("chmod");
    let docs = tempfile::tempdir().expect("tempdir");
    fs::set_permissions(docs.path(), fs::Permissions::from_mode(0o755)).expect("chmod");
    let good = docs.path().join("good.yaml");
    fs::write(&good, policy("")).expect("write");
    fs::set_permissions(&good, fs::Permissions::from_mode(0o644)).expect("chmod");
    let good_s = good.display().to_string();
    let stored = policies.path().join(format!("{NAME}.yaml"));

    // ---- before: the flag is not excepted.
    let before = tmp_exec(&mut client, bins.path(), "dropped-a").await;
    assert!(!before.excepted, "{before:?}");

    // ---- a bad document: refused with its line and field, nothing written.
    let bad = docs.path().join("bad.yaml");
    fs::write(&bad, policy("  colour: red\n")).expect("write");
    let bad_s = bad.display().to_string();
    let refused = perch(&perchd, false, &["policy", "apply", "-f", &bad_s]);
    assert_eq!(refused.status.code(), Some(1), "{refused:?}");
    assert!(
        refused.stderr.contains("request line 12: colour:"),
        "{refused:?}"
    );
    assert!(!stored.exists());
    let checked = perch(&perchd, false, &["policy", "check", &good_s, &bad_s]);
    assert_eq!(checked.status.code(), Some(1), "{checked:?}");
    assert!(
        checked.stderr.contains(&format!("{bad_s}:12: colour: ")),
        "{checked:?}"
    );
    assert!(
        checked.stdout.contains(&format!("ok: {good_s}")),
        "{checked:?}"
    );

    // ---- a viewer may not apply (nothing written).
    let viewer = perch(&perchd, true, &["policy", "apply", "-f", &good_s]);
    assert_eq!(viewer.status.code(), Some(1), "{viewer:?}");
    assert!(
        viewer.stderr.contains("viewer") && viewer.stderr.contains("PermissionDenied"),
        "{viewer:?}"
    );
    assert!(!stored.exists());
    // A viewer may list.
    assert!(perch(&perchd, true, &["policy", "list"]).status.success());

    // ---- root applies it: listed, stored, in force at once.
    let out = perch(&perchd, false, &["policy", "apply", "-f", &good_s]);
    assert!(out.status.success(), "{out:?}");
    assert!(
        out.stdout
            .starts_with(&format!("policy {NAME} applied (trace, enforce)")),
        "{out:?}"
    );
    let list = listed(&perchd);
    assert_eq!(list.len(), 1, "{list:?}");
    let p = &list[0];
    assert_eq!(
        (
            &p["name"],
            &p["mode"],
            &p["enabled"],
            &p["dry_run"],
            &p["applied_by"]
        ),
        (
            &NAME.into(),
            &"enforce".into(),
            &true.into(),
            &false.into(),
            &"root".into()
        ),
        "{p}"
    );
    assert_eq!(p["source"], stored.display().to_string());
    assert!(stored.exists());
    let during = tmp_exec(&mut client, bins.path(), "dropped-b").await;
    assert!(during.excepted, "{during:?}");
    assert_eq!(during.exception_reason, format!("policy {NAME}"));

    // ---- a restart keeps it.
    perchd.stop();
    perchd.respawn().await;
    open_to_all(&perchd.socket).expect("open the socket");
    let mut client = perchd.client().await.expect("reconnect");
    let list = listed(&perchd);
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(
        (&list[0]["name"], &list[0]["applied_by"]),
        (&NAME.into(), &"root".into())
    );

    // ---- disabled: listed so, the file says so, no longer applied.
    let out = perch(&perchd, false, &["policy", "disable", NAME]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(listed(&perchd)[0]["enabled"], false);
    let text = fs::read_to_string(&stored).expect("the policy file");
    assert!(text.contains("enabled: false"), "{text}");
    let after = tmp_exec(&mut client, bins.path(), "dropped-c").await;
    assert!(!after.excepted, "{after:?}");

    // ---- deleted: gone, and its file.
    let out = perch(&perchd, false, &["policy", "delete", NAME]);
    assert!(out.status.success(), "{out:?}");
    assert!(listed(&perchd).is_empty());
    assert!(!stored.exists());
    let gone = perch(&perchd, false, &["policy", "delete", NAME]);
    assert_eq!(gone.status.code(), Some(1), "{gone:?}");
    assert!(gone.stderr.contains("NotFound"), "{gone:?}");

    // ---- a dry run: listed as one, acts on nothing (enforce or not).
    let out = perch(
        &perchd,
        false,
        &["policy", "apply", "-f", &good_s, "--dry-run"],
    );
    assert!(out.stdout.contains("(trace, enforce, dry run)"), "{out:?}");
    let list = listed(&perchd);
    assert_eq!(
        (&list[0]["dry_run"], &list[0]["mode"]),
        (&true.into(), &"enforce".into())
    );
    let dry = tmp_exec(&mut client, bins.path(), "dropped-d").await;
    assert!(!dry.excepted, "{dry:?}");

    // ---- every change audited; the log verifies.
    let audit = perch(&perchd, false, &["audit", "list", "--perchd", "--json"]);
    assert!(audit.status.success(), "{audit:?}");
    let records: Vec<serde_json::Value> = audit
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .collect();
    let done: Vec<&str> = records
        .iter()
        .filter(|r| r["code"] == "policy_changed" && r["action"] == "policy_change")
        .filter_map(|r| r["detail"].as_str())
        .collect();
    assert_eq!(done.len(), 4, "{records:#?}");
    let verbs = [
        "apply policy",
        "disable policy",
        "delete policy",
        "apply policy",
    ];
    for (d, verb) in done.iter().zip(verbs) {
        assert!(
            d.starts_with(&format!("{verb} {NAME}")) && d.contains("sha256 "),
            "{d}"
        );
    }
    assert!(
        records
            .iter()
            .any(|r| r["code"] == "permission_denied" && r["actor_uid"] == 65534),
        "the viewer's refusal is audited: {records:#?}"
    );
    let path = perchd.audit_log.display().to_string();
    let verify = run_bounded(
        Command::new(binary("perch")).args(["audit", "verify", &path]),
        WAIT,
    );
    assert!(verify.status.success(), "{verify:?}");
}
