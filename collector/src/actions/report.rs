//! Turning per-process results into the request's outcome: the result
//! (success / partial / not successful), its code, one sentence of detail,
//! the done / already-gone counts and what the signals achieved.
use std::fmt::Write as _;
use std::time::Duration;

use perch_proto::{
    limits::{AFFECTED_ARGV_BYTES, clip_argv_to},
    v1::{ActionOutcome, ActionResult, AffectedProcess, ProcessKey, ProcessOutcome},
};

use super::target::Pinned;
use super::{Effect, Outcome};

/// What the action does, in both tenses: ("send TERM to", "sent TERM to").
#[derive(Clone, Copy, Debug)]
pub(super) struct Verb<'a> {
    pub present: &'a str,
    pub past: &'a str,
}

/// One process's line in the outcome: who it is (pid, start time, user,
/// command line, root or not) and what happened to it.  The user name is
/// filled in by the executor.
pub(super) fn affected(
    p: &Pinned,
    outcome: ProcessOutcome,
    detail: impl Into<String>,
) -> AffectedProcess {
    let mut argv = p.argv.clone();
    let argv_truncated = clip_argv_to(&mut argv, AFFECTED_ARGV_BYTES);
    AffectedProcess {
        key: Some(ProcessKey {
            pid: p.stat.pid,
            start_time_ns: p.stat.start_ns,
        }),
        ppid: p.stat.ppid,
        comm: p.stat.comm.clone(),
        exe: p.exe.clone(),
        outcome: outcome.into(),
        detail: detail.into(),
        uid: p.ids.map(|(uid, _)| uid),
        euid: p.ids.map(|(_, euid)| euid),
        root: p.ids.is_some_and(|(uid, euid)| uid == 0 || euid == 0),
        argv,
        argv_truncated,
        ..AffectedProcess::default()
    }
}

fn count(ps: &[AffectedProcess], o: ProcessOutcome) -> u32 {
    let n = ps.iter().filter(|p| p.outcome == i32::from(o)).count();
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// "pid 42 (sleep)" for one process, "3 processes" for more.
fn object(ps: &[AffectedProcess], n: u32) -> String {
    match (ps, n) {
        ([p], 1) => format!("pid {} ({})", p.key.map_or(0, |k| k.pid), p.comm),
        (_, 1) => "1 process".to_owned(),
        _ => format!("{n} processes"),
    }
}

/// A duration as people say it: "2 s", "300 ms", "1.5 s".
pub(super) fn span(d: Duration) -> String {
    let ms = d.as_millis();
    if ms.is_multiple_of(1000) {
        format!("{} s", ms / 1000)
    } else if ms < 1000 {
        format!("{ms} ms")
    } else {
        format!("{}.{} s", ms / 1000, ms % 1000 / 100)
    }
}

/// The outcome of an action that acted on (or would act on) `processes`,
/// none of them watched.  `note`, if any, is appended to the detail.
pub(super) fn summarize(
    processes: Vec<AffectedProcess>,
    verb: Verb<'_>,
    note: Option<&str>,
) -> Outcome {
    summarize_watched(processes, verb, note, Duration::ZERO)
}

/// The effect over all processes acted on, watched for `watched`.
fn effect(ps: &[AffectedProcess], watched: Duration) -> Effect {
    let done = count(ps, ProcessOutcome::Done);
    let exited = count(ps, ProcessOutcome::Exited);
    let still_running = count(ps, ProcessOutcome::StillRunning);
    let stopped = count(ps, ProcessOutcome::Stopped);
    let acted = done + exited + still_running + stopped;
    let outcome = if acted == 0 {
        ActionOutcome::Unspecified
    } else if still_running > 0 {
        ActionOutcome::StillRunning
    } else if stopped > 0 && done == 0 {
        ActionOutcome::Stopped
    } else if exited == acted {
        ActionOutcome::Exited
    } else {
        ActionOutcome::Done
    };
    Effect {
        outcome,
        watched,
        exited,
        still_running,
        stopped,
    }
}

/// What the watch saw, for the detail: "exited (signal 15)" for one
/// process, "2 exited, 1 still running after 2 s" for more; `None` when
/// nothing was seen (not watched).
fn seen(ps: &[AffectedProcess], e: &Effect) -> Option<String> {
    if e.exited + e.still_running + e.stopped == 0 {
        return None;
    }
    let watched = ps.iter().filter(|p| {
        [
            ProcessOutcome::Exited,
            ProcessOutcome::StillRunning,
            ProcessOutcome::Stopped,
        ]
        .iter()
        .any(|&o| p.outcome == i32::from(o))
    });
    if let [only] = watched.collect::<Vec<_>>()[..] {
        // Its own detail says it after "SIG delivered; ".
        let d = &only.detail;
        return Some(d.split_once("; ").map_or(d.as_str(), |(_, s)| s).to_owned());
    }
    let mut parts = Vec::new();
    if e.exited > 0 {
        parts.push(format!("{} exited", e.exited));
    }
    if e.still_running > 0 {
        parts.push(format!(
            "{} still running after {}",
            e.still_running,
            span(e.watched)
        ));
    }
    if e.stopped > 0 {
        parts.push(format!("{} stopped", e.stopped));
    }
    Some(parts.join(", "))
}

/// [`summarize`] for processes watched for `watched` after their signal.
pub(super) fn summarize_watched(
    processes: Vec<AffectedProcess>,
    verb: Verb<'_>,
    note: Option<&str>,
    watched: Duration,
) -> Outcome {
    let gone = count(&processes, ProcessOutcome::Gone);
    let failed = count(&processes, ProcessOutcome::Failed);
    let would = count(&processes, ProcessOutcome::WouldAct);
    let effect = effect(&processes, watched);
    let done = count(&processes, ProcessOutcome::Done)
        + effect.exited
        + effect.still_running
        + effect.stopped;
    let total = u32::try_from(processes.len()).unwrap_or(u32::MAX);
    let seen = seen(&processes, &effect).map(|s| format!(": {s}"));
    let seen = seen.as_deref().unwrap_or_default();
    let first_failure = processes
        .iter()
        .find(|p| p.outcome == i32::from(ProcessOutcome::Failed))
        .map(|p| format!("pid {}: {}", p.key.map_or(0, |k| k.pid), p.detail));
    let (result, code, mut detail) = if would > 0 {
        let d = format!(
            "dry run: would {} {}",
            verb.present,
            object(&processes, would)
        );
        (ActionResult::Success, "ok", d)
    } else if total > 0 && done == total {
        let d = format!("{} {}{seen}", verb.past, object(&processes, done));
        let code = if effect.outcome == ActionOutcome::StillRunning {
            "still_running"
        } else {
            "ok"
        };
        (ActionResult::Success, code, d)
    } else if done > 0 {
        let mut d = format!("{} {done} of {total} processes{seen}", verb.past);
        if gone > 0 {
            let _ = write!(d, "; {gone} had already exited");
        }
        if let Some(f) = &first_failure {
            let _ = write!(d, "; {failed} failed, first {f}");
        }
        (ActionResult::Partial, "partial", d)
    } else if let Some(f) = first_failure {
        (
            ActionResult::NotSuccessful,
            "os_error",
            format!("could not {}: {f}", verb.present),
        )
    } else {
        let d = format!(
            "no such process: {} exited before perchd acted",
            object(&processes, gone)
        );
        (ActionResult::NotSuccessful, "no_such_process", d)
    };
    if let Some(n) = note {
        detail.push_str("; ");
        detail.push_str(n);
    }
    Outcome {
        result,
        code: code.to_owned(),
        detail,
        processes,
        done,
        already_gone: gone,
        effect,
    }
}
