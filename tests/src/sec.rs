//! Helpers of the security-event tests: a perchd in eBPF mode with a
//! watch of its security events, and waiting for one event of a process.
#![expect(
    clippy::expect_used,
    reason = "helpers of end-to-end tests: a broken environment should fail the test loudly"
)]
use std::{
    process::{Command, Stdio},
    time::Duration,
};

use perch_proto::v1::{self as pb, SecurityEvent, WatchedPath, event::Kind};

use crate::{
    Perchd,
    events::{EventLog, WAIT, ebpf_watch},
    procs::run_bounded,
};

/// A perchd in eBPF mode (with `args`) and a watch of its security events
/// from its current head.
pub async fn sec_perchd(args: &[&str]) -> (Perchd, EventLog) {
    let (perchd, _, log) = ebpf_watch(args, &[pb::EventKind::Security]).await;
    (perchd, log)
}

pub fn secs(events: &[pb::Event]) -> impl Iterator<Item = &SecurityEvent> {
    events.iter().filter_map(|e| match &e.kind {
        Some(Kind::Security(s)) => Some(s),
        _ => None,
    })
}

#[must_use]
pub fn caller(s: &SecurityEvent) -> u32 {
    s.key.map_or(0, |k| k.pid)
}

/// Waits for a security event of `pid` for which `f` holds.
pub async fn wait_for(
    log: &mut EventLog,
    what: &str,
    pid: u32,
    f: impl Fn(&SecurityEvent) -> bool,
) -> SecurityEvent {
    let ok = |s: &SecurityEvent| caller(s) == pid && f(s);
    let seen = log.until(WAIT, |ev| secs(ev).any(ok)).await;
    assert!(
        seen,
        "no {what} event of pid {pid} within {WAIT:?}; got {:#?}",
        secs(&log.events).collect::<Vec<_>>()
    );
    secs(&log.events).find(|s| ok(s)).expect("found").clone()
}

#[must_use]
pub fn path_of(p: Option<&WatchedPath>) -> &str {
    p.map_or("", |p| p.path.as_str())
}

/// Runs `cmd` to completion (bounded), asserting it succeeded; its pid.
pub fn run_ok(cmd: &mut Command) -> u32 {
    let done = run_bounded(cmd.stdin(Stdio::null()), Duration::from_secs(20));
    assert!(done.status.success(), "{cmd:?}: {done:?}");
    done.pid
}
