//! Workload policy helpers for the end-to-end tests: the CLI, the
//! deviations on a `WatchEvents` stream, and the audit log's records.
use std::{fs, process::Command, time::Duration};

use perch_proto::v1 as pb;

use crate::{Perchd, binary, events::EventLog, procs::run_bounded};

/// How long a policy's deviation and responses may take.
pub const WAIT: Duration = Duration::from_secs(30);

/// `perch ARGS --socket S`, which must succeed; its stdout.
#[expect(
    clippy::must_use_candidate,
    reason = "called for its checks as often as for its output"
)]
pub fn perch(perchd: &Perchd, args: &[&str]) -> String {
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

#[must_use]
pub fn deviations(events: &[pb::Event], policy: &str) -> Vec<pb::Deviation> {
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
#[must_use]
pub fn answered(
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
pub async fn wait_answered(
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

#[must_use]
pub fn outcome(d: &pb::Deviation, action: &str) -> pb::PolicyResponse {
    d.responses
        .iter()
        .find(|r| r.action == action)
        .cloned()
        .unwrap_or_else(|| panic!("no {action} response: {d:#?}"))
}

#[must_use]
pub fn audit_records(perchd: &Perchd) -> Vec<serde_json::Value> {
    perch(perchd, &["audit", "list", "--perchd", "--json"])
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .collect()
}

#[must_use]
pub fn alive(pid: u32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        !s.rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z')
    })
}
