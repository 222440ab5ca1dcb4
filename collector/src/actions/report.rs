//! Turning per-process results into the request's outcome: the result
//! (success / partial / not successful), its code, one sentence of detail
//! and the done / already-gone counts.
use std::fmt::Write as _;

use perch_proto::v1::{ActionResult, AffectedProcess, ProcessKey, ProcessOutcome};

use super::Outcome;
use super::target::Pinned;

/// What the action does, in both tenses: ("send TERM to", "sent TERM to").
#[derive(Clone, Copy, Debug)]
pub(super) struct Verb<'a> {
    pub present: &'a str,
    pub past: &'a str,
}

/// One process's line in the outcome.
pub(super) fn affected(
    p: &Pinned,
    outcome: ProcessOutcome,
    detail: impl Into<String>,
) -> AffectedProcess {
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

/// The outcome of an action that acted on (or would act on) `processes`.
/// `note`, if any, is appended to the detail.
pub(super) fn summarize(
    processes: Vec<AffectedProcess>,
    verb: Verb<'_>,
    note: Option<&str>,
) -> Outcome {
    let done = count(&processes, ProcessOutcome::Done);
    let gone = count(&processes, ProcessOutcome::Gone);
    let failed = count(&processes, ProcessOutcome::Failed);
    let would = count(&processes, ProcessOutcome::WouldAct);
    let total = u32::try_from(processes.len()).unwrap_or(u32::MAX);
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
        let d = format!("{} {}", verb.past, object(&processes, done));
        (ActionResult::Success, "ok", d)
    } else if done > 0 {
        let mut d = format!("{} {done} of {total} processes", verb.past);
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
    }
}
