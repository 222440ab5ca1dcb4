//! `Act`: from a request to an audited result.  Validation, the caller's
//! role, the audit log's health, then the executor; every request — done,
//! refused or malformed — ends as one fsynced audit record, published to
//! every watching console, before the answer goes back.
//!
//! Blocking throughout (the executor reads /proc and signals, the log
//! fsyncs): the gRPC handler runs [`Responder::act`] on a blocking thread.
mod validate;

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use perch_proto::{
    limits, same_start_time,
    v1::{
        self as pb, ActRequest, ActResponse, ActionResult, ActionTarget, AuditLogStatus,
        AuditRecord, Role,
    },
};
use tonic::Status;

use crate::{
    actions::{Executor, Outcome, Protected, Request},
    audit::AuditLog,
    roles::Identity,
};
use validate::ActArgs;

/// `actor_uid` of callers without a uid (TLS peers): `(uid_t)-1`, which
/// no account has.
pub const NO_UID: u32 = u32::MAX;

/// Executes actions for one collector and records them.
pub struct Responder {
    /// `Err` when this host cannot act at all (no pidfd, no /proc): every
    /// request is then refused with that reason, and audited.
    executor: Result<Executor, String>,
    audit: Arc<Mutex<AuditLog>>,
}

/// What the handler needs from the collector around an action.
pub trait Context {
    /// The target as the process model knows it (any process with that pid
    /// and start time, exited or not).
    fn describe(&self, key: pb::ProcessKey) -> Option<pb::Process>;
    /// Sends the record to every `WatchEvents` client, in order with the
    /// process events.
    fn publish(&self, event: pb::Event);
    /// The host name for the record.
    fn host(&self) -> String;
    /// `CLOCK_BOOTTIME` now, for the event's time.
    fn now_boot_ns(&self) -> u64;
}

impl Responder {
    #[must_use]
    pub fn new(executor: Result<Executor, String>, audit: Arc<Mutex<AuditLog>>) -> Self {
        Self { executor, audit }
    }

    #[must_use]
    pub fn audit(&self) -> &Arc<Mutex<AuditLog>> {
        &self.audit
    }

    fn log(&self) -> MutexGuard<'_, AuditLog> {
        self.audit.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// One request from `who` (holding `role`), start to audited finish.
    /// `Err` for malformed requests (`INVALID_ARGUMENT`), callers without
    /// the role (`PERMISSION_DENIED`) and an unusable audit log
    /// (`FAILED_PRECONDITION`, nothing done); every other outcome, refused
    /// or not, is an `ActResponse` carrying its record.
    pub fn act(
        &self,
        ctx: &dyn Context,
        who: &Identity,
        role: Role,
        req: &ActRequest,
    ) -> Result<ActResponse, Status> {
        let mut record = base_record(ctx, who, role, req);
        // Nothing happens without a sound record to write it into.
        {
            let log = self.log();
            if log.status() == AuditLogStatus::Broken {
                return Err(Status::failed_precondition(format!(
                    "actions are refused: {}; move the log aside (perchd --audit-log) to act again",
                    log.status_detail()
                )));
            }
        }
        let args = match validate::act(req) {
            Ok(args) => args,
            Err(invalid) => {
                refuse(&mut record, "invalid_argument", &invalid.0);
                self.finish(ctx, &record)?;
                return Err(invalid.into());
            }
        };
        if let Some(target) = ctx.describe(args.target) {
            record.target = Some(action_target(&target));
        }
        if let Err(why) = permitted(role, who, &args, record.target.as_ref()) {
            refuse(&mut record, "permission_denied", &why);
            self.finish(ctx, &record)?;
            return Err(Status::permission_denied(why));
        }
        let outcome = match &self.executor {
            Ok(executor) => executor.execute(&request(&args, who, req)),
            Err(why) => Outcome::not_done("os_error", why.clone()),
        };
        let (done, already_gone) = (outcome.done, outcome.already_gone);
        record.result = outcome.result.into();
        record.code = outcome.code;
        record.detail = outcome.detail;
        record.processes = outcome.processes;
        let record = self.finish(ctx, &record)?;
        Ok(ActResponse {
            record: Some(record),
            done,
            already_gone,
        })
    }

    /// Appends (fsynced) and publishes the record.
    fn finish(&self, ctx: &dyn Context, record: &AuditRecord) -> Result<AuditRecord, Status> {
        let written = self.log().append(record).map_err(|e| {
            tracing::error!(action = record.action, "audit write failed: {e}");
            Status::internal(format!(
                "the action's audit record could not be written ({e}); \
                 its result is in perchd's log only"
            ))
        })?;
        ctx.publish(pb::Event {
            seq: 0,
            time_ns: ctx.now_boot_ns(),
            kind: Some(pb::event::Kind::Action(written.clone())),
        });
        Ok(written)
    }
}

/// Everything known before the request is checked: who, from where, what
/// they asked for.
fn base_record(ctx: &dyn Context, who: &Identity, role: Role, req: &ActRequest) -> AuditRecord {
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

fn refuse(record: &mut AuditRecord, code: &str, detail: &str) {
    record.result = ActionResult::NotSuccessful.into();
    code.clone_into(&mut record.code);
    detail.clone_into(&mut record.detail);
}

/// Whether `role` may run this action on this target.  Viewers may not act;
/// operators may not act on processes running as root nor raise priority
/// (negative nice); admins may do everything.
fn permitted(
    role: Role,
    who: &Identity,
    args: &ActArgs,
    target: Option<&ActionTarget>,
) -> Result<(), String> {
    let caller = who.caller();
    match role {
        Role::Admin => Ok(()),
        Role::Operator => {
            if target.is_some_and(|t| t.uid == 0) {
                return Err(format!(
                    "{caller} is an operator: processes running as root need the admin role"
                ));
            }
            if args.priority.is_some_and(|p| p < 0) {
                return Err(format!(
                    "{caller} is an operator: raising priority (negative nice) needs the admin role"
                ));
            }
            Ok(())
        }
        Role::Viewer | Role::Unspecified => Err(format!(
            "{caller} is a viewer: actions need the operator or admin role \
             (perchd's config, [roles])"
        )),
    }
}

/// The executor's request: the caller's own process (the Unix peer, and
/// the console's own report of itself) is never a target.
fn request(args: &ActArgs, who: &Identity, req: &ActRequest) -> Request {
    let mut protected = Vec::new();
    if let Some(pid) = who.pid {
        protected.push(Protected {
            pid,
            code: "refused_requester",
            why: format!("pid {pid} is the process that sent this request"),
        });
    }
    if let Some(me) = req.client_process.filter(|k| k.pid != 0)
        && who.pid != Some(me.pid)
    {
        protected.push(Protected {
            pid: me.pid,
            code: "refused_requester",
            why: format!("pid {} is the requesting console", me.pid),
        });
    }
    Request {
        kind: args.kind,
        target: args.target,
        signal: args.signal,
        priority: args.priority,
        dry_run: args.dry_run,
        protected,
    }
}

/// The audit record's view of the target.
fn action_target(p: &pb::Process) -> ActionTarget {
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

/// The process with `key` among `candidates` (a pid's processes).
#[must_use]
pub fn find(candidates: Vec<pb::Process>, key: pb::ProcessKey) -> Option<pb::Process> {
    candidates.into_iter().find(|p| {
        p.key.is_some_and(|k| {
            k.pid == key.pid && same_start_time(k.start_time_ns, key.start_time_ns)
        })
    })
}
