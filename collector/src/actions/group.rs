//! Kill a process group: every process whose pgid is the target's, held
//! still to a fixed point like a tree (a stopped member cannot fork a new
//! member into the group).
use super::sweep::Scope;
use super::target::Target;
use super::tree::sweep_and_signal;
use super::{Executor, Outcome, Request, kill_signal};

pub(super) fn kill_group(ex: &Executor, req: &Request, target: Target) -> Outcome {
    let pgid = target.stat.pgid;
    sweep_and_signal(ex, req, target, Scope::Group(pgid), kill_signal(req))
}
