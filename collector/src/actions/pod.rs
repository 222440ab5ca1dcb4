//! Pod actions on the pod's cgroup: kill (`cgroup.kill`) and freeze / thaw
//! (`cgroup.freeze`).  The kernel applies both to every process in the
//! cgroup sub-tree, including ones forked while it happens.
//!
//! Before a kill the pod is frozen (unless it already is), so the list of
//! members reported is the list killed: a frozen process cannot fork.  The
//! freeze is lifted after the kill, since the runtime may start new
//! containers in the same pod cgroup.
use std::collections::HashSet;
use std::time::Duration;

use perch_proto::v1::{AffectedProcess, ProcessOutcome};

use super::cgroup::{Cgroup, pod_of};
use super::report::{Verb, affected, summarize};
use super::target::{Pinned, Target};
use super::{Executor, Outcome, Request};

/// Bounds on waiting for `cgroup.events` to confirm.
const FREEZE_WAIT: Duration = Duration::from_secs(5);
const KILL_WAIT: Duration = Duration::from_secs(5);

/// The target's pod cgroup and the pod's uid, or the `no_pod` outcome.
fn pod_cgroup(ex: &Executor, target: &Target) -> Result<(Cgroup, String), Outcome> {
    let who = format!("pid {} ({})", target.stat.pid, target.stat.comm);
    let Some(cg) = ex.cgroup_of(target.stat.pid) else {
        return Err(Outcome::not_done(
            "no_pod",
            format!("{who} is in no cgroup2 cgroup perchd can see"),
        ));
    };
    let Some((rel, uid)) = pod_of(&cg.rel) else {
        return Err(Outcome::not_done(
            "no_pod",
            format!("{who} belongs to no pod (cgroup {})", cg.rel),
        ));
    };
    match ex.cgroup_at(&rel) {
        Some(pod) => Ok((pod, uid)),
        None => Err(Outcome::not_done(
            "no_pod",
            format!("pod cgroup {rel} is gone"),
        )),
    }
}

/// Pins the processes of `pod` not in `have` yet; a refused one ends the
/// action.
fn pin_members(
    ex: &Executor,
    req: &Request,
    pod: &Cgroup,
    what: &str,
    have: &mut Vec<Pinned>,
) -> Result<(), Outcome> {
    let known: HashSet<u32> = have.iter().map(|p| p.stat.pid).collect();
    for pid in pod.procs().into_iter().filter(|p| !known.contains(p)) {
        let Ok(st) = ex.procfs.stat(pid) else {
            continue;
        };
        if let Some((code, why)) = ex.refusal(&st, req) {
            return Err(Outcome::not_done(
                code,
                format!("refused: {what} includes {why}"),
            ));
        }
        if let Some(p) = Pinned::adopt(&ex.procfs, &st) {
            have.push(p);
        }
    }
    Ok(())
}

fn would(members: &[Pinned], detail: &str) -> Vec<AffectedProcess> {
    members
        .iter()
        .map(|p| affected(p, ProcessOutcome::WouldAct, detail))
        .collect()
}

pub(super) fn kill_pod(ex: &Executor, req: &Request, target: &Target) -> Outcome {
    let (pod, uid) = match pod_cgroup(ex, target) {
        Ok(p) => p,
        Err(o) => return o,
    };
    let what = format!("pod {uid} (cgroup {})", pod.rel);
    let verb = Verb {
        present: "kill",
        past: "killed",
    };
    let mut members = Vec::new();
    if let Err(o) = pin_members(ex, req, &pod, &what, &mut members) {
        return o;
    }
    if req.dry_run {
        return summarize(
            would(&members, "would kill (cgroup.kill)"),
            verb,
            Some(&what),
        );
    }
    let was_frozen = pod.freeze_setting() == Some(true);
    let thaw = |pod: &Cgroup| {
        if !was_frozen {
            let _ = pod.write("cgroup.freeze", "0");
        }
    };
    if !was_frozen {
        if let Err(e) = pod.write("cgroup.freeze", "1") {
            return Outcome::not_done("os_error", e.to_string());
        }
        pod.wait(FREEZE_WAIT, |e| e.frozen);
    }
    // Frozen: whoever was forked before is in the cgroup now, and stays;
    // nobody execs, so the credentials checked now hold for the kill.
    if let Err(o) = pin_members(ex, req, &pod, &what, &mut members)
        .and_then(|()| ex.recheck(&members, req, &what))
    {
        thaw(&pod);
        return o;
    }
    let alive: Vec<bool> = members
        .iter()
        .map(|p| p.now(&ex.procfs).is_some())
        .collect();
    if let Err(e) = pod.write("cgroup.kill", "1") {
        thaw(&pod);
        return Outcome::not_done("os_error", e.to_string());
    }
    let drained = pod.wait(KILL_WAIT, |e| !e.populated);
    thaw(&pod);
    let lines = members
        .iter()
        .zip(alive)
        .map(|(p, was_alive)| {
            if !was_alive {
                affected(p, ProcessOutcome::Gone, "exited before the kill")
            } else if p.now(&ex.procfs).is_none() {
                affected(p, ProcessOutcome::Done, "killed (cgroup.kill)")
            } else {
                let d = format!("still running {} s after cgroup.kill", KILL_WAIT.as_secs());
                affected(p, ProcessOutcome::Failed, d)
            }
        })
        .collect();
    let note = if drained {
        what
    } else {
        format!(
            "{what} still populated {} s after cgroup.kill",
            KILL_WAIT.as_secs()
        )
    };
    summarize(lines, verb, Some(&note))
}

/// Freeze (`freeze`) or thaw the pod, waiting for `cgroup.events` to agree.
pub(super) fn set_frozen(ex: &Executor, req: &Request, target: &Target, freeze: bool) -> Outcome {
    let (pod, uid) = match pod_cgroup(ex, target) {
        Ok(p) => p,
        Err(o) => return o,
    };
    let what = format!("pod {uid} (cgroup {})", pod.rel);
    let (present, past) = if freeze {
        ("freeze", "froze")
    } else {
        ("thaw", "thawed")
    };
    let verb = Verb { present, past };
    let mut members = Vec::new();
    if let Err(o) = pin_members(ex, req, &pod, &what, &mut members) {
        return o;
    }
    if req.dry_run {
        let d = format!("would {present} (cgroup.freeze)");
        return summarize(would(&members, &d), verb, Some(&what));
    }
    if let Err(e) = pod.write("cgroup.freeze", if freeze { "1" } else { "0" }) {
        return Outcome::not_done("os_error", e.to_string());
    }
    let ok = pod.wait(FREEZE_WAIT, |e| e.frozen == freeze);
    if freeze
        && let Err(o) = pin_members(ex, req, &pod, &what, &mut members)
            .and_then(|()| ex.recheck(&members, req, &what))
    {
        // Someone refused was moved in (or exec'd a setuid binary)
        // meanwhile: undo.
        let _ = pod.write("cgroup.freeze", "0");
        return o;
    }
    let state = if freeze { "frozen" } else { "thawed" };
    let lines = members
        .iter()
        .map(|p| {
            if p.now(&ex.procfs).is_none() {
                affected(p, ProcessOutcome::Gone, "exited")
            } else if ok {
                affected(p, ProcessOutcome::Done, format!("{state} (cgroup.freeze)"))
            } else {
                let d = format!(
                    "cgroup.events did not report {state} within {} s (a task in uninterruptible sleep, or a frozen ancestor?)",
                    FREEZE_WAIT.as_secs()
                );
                affected(p, ProcessOutcome::Failed, d)
            }
        })
        .collect();
    summarize(lines, verb, Some(&what))
}
