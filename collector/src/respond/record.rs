//! The audit record of one request: what was asked and by whom (before
//! anything is checked), what the target was, and what the executor did —
//! its outcome, the processes it touched and what their signals achieved.
use perch_proto::{
    limits,
    v1::{self as pb, ActRequest, ActResponse, ActionResult, ActionTarget, AuditRecord, Role},
};

use super::{Context, NO_UID};
use crate::{actions::Outcome, audit, roles::Identity};

/// The executor's outcome into the record; the response's counts (its
/// record still to be set).
pub(super) fn apply(record: &mut AuditRecord, outcome: Outcome) -> ActResponse {
    let effect = outcome.effect;
    record.result = outcome.result.into();
    record.code = outcome.code;
    record.detail = outcome.detail;
    record.processes = outcome.processes;
    record.outcome = effect.outcome.into();
    record.watch_ns = u64::try_from(effect.watched.as_nanos()).unwrap_or(u64::MAX);
    let dropped = audit::fit_processes(record);
    if dropped > 0 {
        record.detail = format!(
            "{} ({dropped} more processes not listed: one audit record holds at most {} KiB)",
            record.detail,
            audit::MAX_LINE_BYTES / 1024
        );
    }
    ActResponse {
        record: None,
        done: outcome.done,
        already_gone: outcome.already_gone,
        outcome: effect.outcome.into(),
        exited: effect.exited,
        still_running: effect.still_running,
        stopped: effect.stopped,
    }
}

/// Everything known before the request is checked: who, from where, what
/// they asked for.
pub(super) fn base_record(
    ctx: &dyn Context,
    who: &Identity,
    role: Role,
    req: &ActRequest,
) -> AuditRecord {
    let client = req.client_origin.trim();
    let origin = if client.is_empty() {
        who.origin.clone()
    } else {
        format!(
            "{} {}",
            who.origin,
            limits::clipped(client, limits::CLIENT_ORIGIN_BYTES)
        )
    };
    let actor_user = match (&who.user, &who.cert_cn) {
        (Some(user), _) => user.clone(),
        (None, Some(cn)) => format!("cert:{cn}"),
        (None, None) => who.uid.map_or_else(String::new, |u| u.to_string()),
    };
    AuditRecord {
        host: ctx.host(),
        actor_uid: who.uid.unwrap_or(NO_UID),
        actor_user,
        actor_role: role.into(),
        origin,
        // Values outside the contract are recorded as UNSPECIFIED; the
        // refusal's detail quotes them.
        action: known::<pb::ActionKind>(req.action),
        signal: known::<pb::Signal>(req.signal),
        priority: req.priority,
        mode: known::<pb::ActionMode>(req.mode),
        target: req.target.map(|key| ActionTarget {
            key: Some(key),
            ..ActionTarget::default()
        }),
        reason: limits::clipped(req.reason.trim(), limits::REASON_MAX_BYTES).to_owned(),
        ..AuditRecord::default()
    }
}

/// `raw` when it is a value of enum `E`, else 0 (UNSPECIFIED).
fn known<E: TryFrom<i32>>(raw: i32) -> i32 {
    if E::try_from(raw).is_ok() { raw } else { 0 }
}

pub(super) fn refuse(record: &mut AuditRecord, code: &str, detail: &str) {
    record.result = ActionResult::NotSuccessful.into();
    code.clone_into(&mut record.code);
    detail.clone_into(&mut record.detail);
}

/// The audit record's view of the target.
pub(super) fn action_target(p: &pb::Process) -> ActionTarget {
    ActionTarget {
        key: p.key,
        exe: p.exe.clone(),
        argv: p.argv.clone(),
        uid: p.uid,
        user: p.user.clone(),
        container_id: p.container_id.clone(),
        pod_uid: p.pod_uid.clone(),
        pod_namespace: p.pod_namespace.clone(),
        pod_name: p.pod_name.clone(),
        cgroup_path: p.cgroup_path.clone(),
    }
}
