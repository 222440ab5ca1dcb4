//! Kill one process, or a process and all its descendants.
use perch_proto::v1::ProcessOutcome;

use super::pidfd::{is_gone, signal_name};
use super::report::{Verb, affected, summarize_watched};
use super::sweep::{Scope, Sweep};
use super::target::Target;
use super::watch::watch;
use super::{Executor, Outcome, Request, kill_signal};

/// Signals the target alone, through its pidfd, and watches what it does.
pub(super) fn kill_one(ex: &Executor, req: &Request, target: &Target) -> Outcome {
    let sig = kill_signal(req);
    let name = signal_name(sig);
    let mut line = if req.dry_run {
        affected(
            target,
            ProcessOutcome::WouldAct,
            format!("would send {name}"),
        )
    } else {
        match target.fd.signal(sig) {
            Ok(()) => affected(target, ProcessOutcome::Done, format!("sent {name}")),
            Err(e) if is_gone(&e) => affected(
                target,
                ProcessOutcome::Gone,
                format!("exited before {name}"),
            ),
            Err(e) => affected(target, ProcessOutcome::Failed, format!("{name}: {e}")),
        }
    };
    let watched = watch(ex, sig, &[target], std::slice::from_mut(&mut line));
    let (present, past) = (format!("send {name} to"), format!("sent {name} to"));
    summarize_watched(
        vec![line],
        Verb {
            present: &present,
            past: &past,
        },
        None,
        watched,
    )
}

/// Stops the whole tree to a fixed point, then signals every member.
pub(super) fn kill_tree(ex: &Executor, req: &Request, target: Target) -> Outcome {
    sweep_and_signal(ex, req, target, Scope::Tree, kill_signal(req))
}

/// Shared by trees and groups: collect (stopping unless dry), signal, report.
pub(super) fn sweep_and_signal(
    ex: &Executor,
    req: &Request,
    target: Target,
    scope: Scope,
    sig: i32,
) -> Outcome {
    let mut sweep = Sweep::new(ex, req, target, scope);
    if let Err(refused) = sweep.collect(!req.dry_run) {
        return refused;
    }
    let mut lines = sweep.finish(sig);
    let members: Vec<_> = sweep.members().collect();
    let watched = watch(ex, sig, &members, &mut lines);
    let name = signal_name(sig);
    let (present, past) = (format!("send {name} to"), format!("sent {name} to"));
    summarize_watched(
        lines,
        Verb {
            present: &present,
            past: &past,
        },
        sweep.note(sig).as_deref(),
        watched,
    )
}
