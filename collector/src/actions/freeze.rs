//! Freeze and thaw a process tree, keeping evidence without killing.
//!
//! When the target has a cgroup of its own — not the root, and holding
//! exactly the target's tree — `cgroup.freeze` is used: it is atomic for
//! the whole sub-tree and invisible to the processes' parents.  Otherwise
//! the tree is stopped with SIGSTOP to a fixed point (see `sweep`), and
//! thawed with SIGCONT.
use std::collections::HashSet;
use std::time::Duration;

use perch_proto::v1::{AffectedProcess, ProcessOutcome};

use super::cgroup::Cgroup;
use super::report::{Verb, affected, summarize};
use super::sweep::{Scope, Sweep};
use super::target::Target;
use super::{Executor, Outcome, Request, SIGCONT, SIGSTOP};

const FREEZE_WAIT: Duration = Duration::from_secs(5);

/// `cg` holds exactly the live members of the tree.
fn holds_exactly(ex: &Executor, cg: &Cgroup, sweep: &Sweep<'_>) -> bool {
    let live: HashSet<u32> = sweep
        .members()
        .filter(|p| p.now(&ex.procfs).is_some())
        .map(|p| p.stat.pid)
        .collect();
    !cg.is_root()
        && cg.freeze_setting().is_some()
        && cg.procs().into_iter().collect::<HashSet<_>>() == live
}

pub(super) fn freeze_tree(ex: &Executor, req: &Request, target: Target) -> Outcome {
    let cg = ex.cgroup_of(target.stat.pid);
    let mut sweep = Sweep::new(ex, req, target, Scope::Tree);
    // The whole tree, refusals checked, nothing touched yet.
    if let Err(refused) = sweep.collect(false) {
        return refused;
    }
    match cg.filter(|cg| holds_exactly(ex, cg, &sweep)) {
        Some(cg) => freeze_cgroup(ex, req, sweep, &cg),
        None => stop_tree(req, sweep, None),
    }
}

/// Freezing by SIGSTOP to a fixed point.
fn stop_tree(req: &Request, mut sweep: Sweep<'_>, why: Option<&str>) -> Outcome {
    if let Err(refused) = sweep.collect(!req.dry_run) {
        return refused;
    }
    let lines = sweep.finish(SIGSTOP);
    let note = [why.map(str::to_owned), sweep.note(SIGSTOP)]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join("; ");
    let verb = Verb {
        present: "stop (SIGSTOP)",
        past: "stopped (SIGSTOP)",
    };
    summarize(lines, verb, (!note.is_empty()).then_some(note.as_str()))
}

fn freeze_cgroup(ex: &Executor, req: &Request, mut sweep: Sweep<'_>, cg: &Cgroup) -> Outcome {
    let via = format!("via cgroup.freeze on {}", cg.rel);
    let verb = Verb {
        present: "freeze",
        past: "froze",
    };
    if req.dry_run {
        return dry_run(&sweep, cg, verb, &via);
    }
    if let Err(e) = cg.write("cgroup.freeze", "1") {
        return Outcome::not_done("os_error", e.to_string());
    }
    let ok = cg.wait(FREEZE_WAIT, |e| e.frozen);
    // Frozen: nobody forks.  Pick up children forked before the freeze and
    // make sure the cgroup still is exactly the tree (a member could have
    // moved itself elsewhere meanwhile); if not, fall back to signals.
    if let Err(refused) = sweep.collect(false).and_then(|()| sweep.recheck()) {
        let _ = cg.write("cgroup.freeze", "0");
        return refused;
    }
    if !holds_exactly(ex, cg, &sweep) {
        let _ = cg.write("cgroup.freeze", "0");
        let why = format!("cgroup {} stopped matching the tree while freezing", cg.rel);
        return stop_tree(req, sweep, Some(&why));
    }
    let lines = frozen_lines(ex, &sweep, cg, ok, "frozen");
    summarize(lines, verb, Some(&via))
}

/// A dry run of freezing or thawing `cg`: every member it would reach.
fn dry_run(sweep: &Sweep<'_>, cg: &Cgroup, verb: Verb<'_>, via: &str) -> Outcome {
    let lines = sweep
        .members()
        .map(|p| {
            affected(
                p,
                ProcessOutcome::WouldAct,
                format!("would {} cgroup {}", verb.present, cg.rel),
            )
        })
        .collect();
    summarize(lines, verb, Some(via))
}

fn frozen_lines(
    ex: &Executor,
    sweep: &Sweep<'_>,
    cg: &Cgroup,
    ok: bool,
    state: &str,
) -> Vec<AffectedProcess> {
    sweep
        .members()
        .map(|p| {
            if p.now(&ex.procfs).is_none() {
                affected(p, ProcessOutcome::Gone, "exited")
            } else if ok {
                affected(
                    p,
                    ProcessOutcome::Done,
                    format!("{state} (cgroup {})", cg.rel),
                )
            } else {
                let d = format!(
                    "cgroup {} not {state} after {} s (a task in uninterruptible sleep?)",
                    cg.rel,
                    FREEZE_WAIT.as_secs()
                );
                affected(p, ProcessOutcome::Failed, d)
            }
        })
        .collect()
}

/// Thaws the target's own cgroup if it is frozen and holds only the tree;
/// otherwise sends SIGCONT to every member of the tree.
pub(super) fn thaw_tree(ex: &Executor, req: &Request, target: Target) -> Outcome {
    let cg = ex.cgroup_of(target.stat.pid);
    let mut sweep = Sweep::new(ex, req, target, Scope::Tree);
    if let Err(refused) = sweep.collect(false) {
        return refused;
    }
    let frozen = cg.filter(|c| !c.is_root() && c.freeze_setting() == Some(true));
    let mut note = None;
    if let Some(cg) = frozen {
        let tree = sweep.pids();
        if cg.procs().iter().all(|p| tree.contains(p)) {
            return thaw_cgroup(ex, req, &sweep, &cg);
        }
        note = Some(format!(
            "cgroup {} stays frozen: it holds processes outside the tree (thaw the pod instead)",
            cg.rel
        ));
    }
    let lines = sweep.finish(SIGCONT);
    let verb = Verb {
        present: "continue (SIGCONT)",
        past: "continued (SIGCONT)",
    };
    summarize(lines, verb, note.as_deref())
}

fn thaw_cgroup(ex: &Executor, req: &Request, sweep: &Sweep<'_>, cg: &Cgroup) -> Outcome {
    let via = format!("via cgroup.freeze on {}", cg.rel);
    let verb = Verb {
        present: "thaw",
        past: "thawed",
    };
    if req.dry_run {
        return dry_run(sweep, cg, verb, &via);
    }
    if let Err(e) = cg.write("cgroup.freeze", "0") {
        return Outcome::not_done("os_error", e.to_string());
    }
    let ok = cg.wait(FREEZE_WAIT, |e| !e.frozen);
    summarize(frozen_lines(ex, sweep, cg, ok, "thawed"), verb, Some(&via))
}
