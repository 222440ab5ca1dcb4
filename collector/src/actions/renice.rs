//! Renice: Linux nice values belong to threads, so every thread of the
//! target is set (threads created meanwhile too, by re-listing until no
//! new one appears), then every value is read back.
//!
//! setpriority takes a thread id, not a pidfd.  The target's identity is
//! checked before (`Target::resolve`) and after: if it is still the same
//! process afterwards it was alive throughout, so its pid and the thread
//! ids listed under /proc/PID/task could not have been reused meanwhile
//! (a thread that exits and whose id is reused by another process within
//! the few microseconds between listing and setpriority is the one gap).
use std::collections::HashSet;
use std::io;

use perch_proto::v1::ProcessOutcome;
use rustix::process::{Pid, getpriority_process, setpriority_process};

use super::report::{Verb, affected, summarize};
use super::target::Target;
use super::{Executor, Outcome, Request};

/// Rounds of "list threads, set the new ones".
const MAX_ROUNDS: usize = 50;

fn pid_of(tid: u32) -> io::Result<Pid> {
    i32::try_from(tid)
        .ok()
        .and_then(Pid::from_raw)
        .ok_or_else(|| io::Error::from_raw_os_error(libc::ESRCH))
}

fn get_nice(tid: u32) -> io::Result<i32> {
    Ok(getpriority_process(Some(pid_of(tid)?))?)
}

fn set_nice(tid: u32, nice: i32) -> io::Result<()> {
    Ok(setpriority_process(Some(pid_of(tid)?), nice)?)
}

pub(super) fn renice(ex: &Executor, req: &Request, target: &Target) -> Outcome {
    let Some(nice) = req.priority else {
        return Outcome::not_done(
            "invalid_argument",
            "priority is required for renice (-20..19)",
        );
    };
    let pid = target.stat.pid;
    let verb = |v: &str| format!("{v} nice to {nice} on");
    let (present, past) = (verb("set"), verb("set"));
    let verb = Verb {
        present: &present,
        past: &past,
    };
    let before = get_nice(pid).map_or_else(|_| "?".to_owned(), |n| n.to_string());
    let Ok(tids) = ex.procfs.threads(pid) else {
        let line = affected(target, ProcessOutcome::Gone, "exited before renice");
        return summarize(vec![line], verb, None);
    };
    if req.dry_run {
        let detail = format!("would set nice {before} → {nice} on {} threads", tids.len());
        return summarize(
            vec![affected(target, ProcessOutcome::WouldAct, detail)],
            verb,
            None,
        );
    }
    let mut set: HashSet<u32> = HashSet::new();
    let mut failure: Option<String> = None;
    for _ in 0..MAX_ROUNDS {
        let Ok(tids) = ex.procfs.threads(pid) else {
            break;
        };
        let fresh: Vec<u32> = tids.into_iter().filter(|t| !set.contains(t)).collect();
        if fresh.is_empty() {
            break;
        }
        for tid in fresh {
            set.insert(tid);
            match set_nice(tid, nice) {
                Ok(()) => {}
                // The thread exited: nothing left to renice.
                Err(e) if e.raw_os_error() == Some(libc::ESRCH) => {}
                Err(e) => {
                    failure.get_or_insert_with(|| format!("setpriority on thread {tid}: {e}"));
                }
            }
        }
    }
    if target.now(&ex.procfs).is_none() {
        let line = affected(target, ProcessOutcome::Gone, "exited while being reniced");
        return summarize(vec![line], verb, None);
    }
    let line = if let Some(f) = failure {
        affected(target, ProcessOutcome::Failed, f)
    } else {
        read_back(ex, target, nice, &before)
    };
    summarize(vec![line], verb, None)
}

/// Reads every thread's nice value back; one line for the process.
fn read_back(
    ex: &Executor,
    target: &Target,
    nice: i32,
    before: &str,
) -> perch_proto::v1::AffectedProcess {
    let tids = ex.procfs.threads(target.stat.pid).unwrap_or_default();
    let wrong: Vec<String> = tids
        .iter()
        .filter_map(|&t| match get_nice(t) {
            Ok(n) if n == nice => None,
            Ok(n) => Some(format!("thread {t} has nice {n}")),
            // Exited since: not wrong.
            Err(_) => None,
        })
        .collect();
    if wrong.is_empty() {
        let detail = format!(
            "nice {before} → {nice} on {} threads (read back)",
            tids.len()
        );
        affected(target, ProcessOutcome::Done, detail)
    } else {
        let detail = format!("read back after setting nice {nice}: {}", wrong.join(", "));
        affected(target, ProcessOutcome::Failed, detail)
    }
}
