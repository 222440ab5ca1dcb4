//! The action command's parts: the pid lookup against a real perchd server
//! (perchd's gRPC service on a temp socket), the request it builds, and
//! what it prints for constructed answers.  Sending `Act` end to end is
//! tested once perchd's handler exists (tests/).
use clap::Parser as _;
use perch_client::DEFAULT_TIMEOUT;
use perch_proto::v1::{
    ActionKind, ActionTarget, AffectedProcess, AuditRecord, ProcessOutcome, Signal,
};

use super::*;
use crate::cli::{Cli, Command};
use crate::cmd::tests::{process, serve};

fn command(args: &[&str]) -> ActCommand {
    match Cli::try_parse_from(std::iter::once("perch").chain(args.iter().copied())) {
        Ok(Cli {
            command: Some(Command::Act(c)),
            ..
        }) => c,
        other => panic!("{args:?}: {other:?}"),
    }
}

#[tokio::test]
async fn a_pid_without_start_time_is_looked_up() {
    let mut running = process(4242, false);
    running.key = Some(ProcessKey {
        pid: 4242,
        start_time_ns: 81_230_000_000,
    });
    let server = serve(vec![process(7, false), running, process(9, true)], 10).await;
    let mut client = perch_client::connect(&server.target).await.unwrap();
    assert_eq!(
        lookup(&mut client, DEFAULT_TIMEOUT, 4242).await.unwrap(),
        ProcessKey {
            pid: 4242,
            start_time_ns: 81_230_000_000
        }
    );
    // Exited and unknown pids are refused before anything is sent.
    for pid in [9, 5] {
        let e = lookup(&mut client, DEFAULT_TIMEOUT, pid).await.unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("no running process has pid {pid} (the collector does not know it)")
        );
    }
}

#[test]
fn the_request_carries_everything_the_dialog_would() {
    let cmd = command(&[
        "kill-group",
        "--pid",
        "42",
        "--signal",
        "term",
        "--reason",
        "  miner  ",
        "--dry-run",
    ]);
    let me = ClientIdentity {
        pid: 99,
        start_time_ns: 5,
        origin: "tty pts/1".into(),
    };
    let key = ProcessKey {
        pid: 42,
        start_time_ns: 7,
    };
    let r = build(&cmd.request(), key, &me);
    assert_eq!(r.action(), ActionKind::KillGroup);
    assert_eq!(r.target, Some(key));
    assert_eq!(r.reason, "miner");
    assert_eq!(r.mode(), ActionMode::DryRun);
    assert_eq!(r.signal(), Signal::Term);
    assert_eq!(r.priority, None);
    assert_eq!(r.client_origin, "tty pts/1");
    assert_eq!(r.client_process.map(|k| k.pid), Some(99));
    let r = build(
        &command(&["renice", "--pid", "42", "--priority", "19", "--reason", "x"]).request(),
        key,
        &me,
    );
    assert_eq!((r.priority, r.mode()), (Some(19), ActionMode::Live));
}

fn answer(result: ActionResult, code: &str, detail: &str, done: u32) -> ActResponse {
    ActResponse {
        record: Some(AuditRecord {
            id: "r1".into(),
            action: ActionKind::Kill.into(),
            mode: ActionMode::Live.into(),
            target: Some(ActionTarget {
                key: Some(ProcessKey {
                    pid: 4242,
                    start_time_ns: 81_230_000_000,
                }),
                exe: "/usr/bin/python3".into(),
                ..ActionTarget::default()
            }),
            processes: vec![AffectedProcess {
                outcome: ProcessOutcome::Done.into(),
                ..AffectedProcess::default()
            }],
            result: result.into(),
            code: code.into(),
            detail: detail.into(),
            ..AuditRecord::default()
        }),
        done,
        already_gone: 0,
    }
}

#[test]
fn one_line_or_the_record_as_json() {
    let cmd = command(&["kill", "--pid", "4242", "--reason", "x"]);
    let req = cmd.request();
    let key = ProcessKey {
        pid: 4242,
        start_time_ns: 81_230_000_000,
    };
    let ok = answer(ActionResult::Success, "ok", "", 1);
    let mut out = Vec::new();
    write_result(&req, key, KeySource::LookedUp, &ok, &mut out).unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "kill pid 4242 (/usr/bin/python3, start looked up 81230000000): SUCCESS ok — 1 process signalled\n"
    );
    let gone = answer(
        ActionResult::NotSuccessful,
        "no_such_process",
        "no such process",
        0,
    );
    assert_eq!(
        line(&req, key, KeySource::Given, &gone),
        "kill pid 4242 (/usr/bin/python3, start 81230000000): NOT SUCCESSFUL no_such_process — no such process"
    );
    let cmd = command(&["kill", "--pid", "4242", "--reason", "x", "--json"]);
    let mut out = Vec::new();
    write_result(&cmd.request(), key, KeySource::LookedUp, &ok, &mut out).unwrap();
    let v: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["result"], "success");
    assert_eq!(v["action"], "kill");
    assert_eq!(v["target"]["key"]["pid"], 4242);
    assert_eq!(v["requested_key"]["start_time_ns"], 81_230_000_000u64);
    assert_eq!(v["key_looked_up"], true);
    assert_eq!(v["done"], 1);
    assert!(out.ends_with(b"}\n") && !out[..out.len() - 1].contains(&b'\n'));
}

#[test]
fn exit_status_follows_the_result() {
    let code = |result| Unsuccessful { result }.exit_code();
    assert_eq!(code(ActionResult::Partial), 3);
    assert_eq!(code(ActionResult::NotSuccessful), 1);
    assert_eq!(code(ActionResult::Unspecified), 1);
}
