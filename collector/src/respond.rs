//! `Act`: from a request to an audited result.  Validation, the caller's
//! role, the audit log's health, then the executor.  No record, no action:
//! a live action first writes (and fsyncs) its intent — who, what, target,
//! reason — and only then touches anything; its result follows as a second
//! record naming the intent.  If the intent cannot be written (a full disk,
//! a damaged log) the request is refused with `FAILED_PRECONDITION` and
//! nothing is done.  Refusals and dry runs touch nothing and are one record
//! each.  Every record but an intent is published to every watching
//! console, so a console sees one entry per action.  Refusals go through
//! each caller's rate limit ([`crate::refusals`]): past it they are
//! counted into one aggregate record instead (`refused.rs`).
//!
//! Blocking throughout (the executor reads /proc and signals, the log
//! fsyncs): the gRPC handler runs [`Responder::act`] on a blocking thread.
pub mod policies;
mod record;
mod refused;
pub mod suppress;
pub mod validate;

use std::{
    collections::HashSet,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
};

use perch_proto::{
    limits, same_start_time,
    v1::{
        self as pb, ActRequest, ActResponse, ActionTarget, AuditLogStatus, AuditRecord, AuditStage,
        Role,
    },
};
use tonic::Status;

use crate::{
    actions::{Executor, Outcome, Protected, Request},
    audit::{AuditError, AuditLog},
    refusals::{RefusalLimit, Refusals},
    roles::Identity,
};
use record::{action_target, apply, base_record, refuse};
use validate::ActArgs;

/// `actor_uid` of callers without a uid (TLS peers): `(uid_t)-1`, which
/// no account has.
pub const NO_UID: u32 = u32::MAX;

/// `code` of an intent record.
pub const INTENT_CODE: &str = "intent";

/// Executes actions for one collector and records them.
pub struct Responder {
    /// `Err` when this host cannot act at all (no pidfd, no /proc): every
    /// request is then refused with that reason, and audited.
    executor: Result<Executor, String>,
    audit: Arc<Mutex<AuditLog>>,
    /// Ids of intents written whose result is not yet: actions under way.
    in_flight: Mutex<HashSet<String>>,
    /// Each caller's refusal bucket and held refusals.
    refusals: Mutex<Refusals>,
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
        Self {
            executor,
            audit,
            in_flight: Mutex::new(HashSet::new()),
            refusals: Mutex::new(Refusals::new(RefusalLimit::default())),
        }
    }

    #[must_use]
    pub fn audit(&self) -> &Arc<Mutex<AuditLog>> {
        &self.audit
    }

    /// Whether the intent `id` is an action this collector is running now.
    #[must_use]
    pub fn in_progress(&self, id: &str) -> bool {
        self.in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(id)
    }

    fn log(&self) -> MutexGuard<'_, AuditLog> {
        self.audit.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// One request from `who` (holding `role`), start to audited finish.
    /// `Err` for malformed requests (`INVALID_ARGUMENT`), callers without
    /// the role (`PERMISSION_DENIED`) and an audit log that cannot record
    /// the action (`FAILED_PRECONDITION`, nothing done); every other
    /// outcome, refused or not, is an `ActResponse` carrying its record.
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
                return Err(self.refused(ctx, who, &record, invalid.into()));
            }
        };
        if let Some(target) = ctx.describe(args.target) {
            record.target = Some(action_target(&target));
        }
        if let Err(why) = permitted(role, who, &args, record.target.as_ref()) {
            refuse(&mut record, "permission_denied", &why);
            return Err(self.refused(ctx, who, &record, Status::permission_denied(why)));
        }
        let executor = match &self.executor {
            Ok(executor) => executor,
            Err(why) => {
                let outcome = Outcome::not_done("os_error", why.clone());
                return self.single(ctx, record, outcome);
            }
        };
        let request = request(&args, who, role, req);
        // The set the action would touch, resolved as a dry run resolves
        // it: an operator's action with a process of root's among them is
        // refused before its intent is written, naming that process.
        let probe = (request.refuse_root.is_some() || args.dry_run).then(|| {
            executor.execute(&Request {
                dry_run: true,
                ..request.clone()
            })
        });
        if let Some(probe) = probe {
            if probe.code == BEYOND_ROLE {
                refuse(&mut record, BEYOND_ROLE, &probe.detail);
                let status = Status::permission_denied(probe.detail);
                return Err(self.refused(ctx, who, &record, status));
            }
            if args.dry_run {
                return self.single(ctx, record, probe);
            }
        }
        let intent = self.write_intent(&record)?;
        let outcome = executor.execute(&request);
        Ok(self.write_result(ctx, record, &intent, outcome))
    }

    /// A request that touches nothing (a dry run, or a host that cannot
    /// act): one record, written before the answer.
    fn single(
        &self,
        ctx: &dyn Context,
        mut record: AuditRecord,
        outcome: Outcome,
    ) -> Result<ActResponse, Status> {
        let mut response = apply(&mut record, outcome);
        let written = self.append(&record).map_err(|e| unrecordable(&e))?;
        publish(ctx, written.clone());
        response.record = Some(written);
        Ok(response)
    }

    /// The intent of a live action, on disk before anything is touched.
    fn write_intent(&self, record: &AuditRecord) -> Result<AuditRecord, Status> {
        let mut intent = record.clone();
        intent.set_stage(AuditStage::Intent);
        INTENT_CODE.clone_into(&mut intent.code);
        let written = self.append(&intent).map_err(|e| unrecordable(&e))?;
        self.in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(written.id.clone());
        Ok(written)
    }

    /// The result of the live action whose intent is `intent`.  The action
    /// has happened: when its result cannot be written, the answer still
    /// says what was done, and that the log holds only the intent.
    fn write_result(
        &self,
        ctx: &dyn Context,
        mut record: AuditRecord,
        intent: &AuditRecord,
        outcome: Outcome,
    ) -> ActResponse {
        record.set_stage(AuditStage::Result);
        record.intent_id.clone_from(&intent.id);
        let mut response = apply(&mut record, outcome);
        let written = self.append(&record);
        self.in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&intent.id);
        let record = match written {
            Ok(written) => {
                publish(ctx, written.clone());
                written
            }
            Err(e) => {
                tracing::error!(intent = intent.id, "audit result not written: {e}");
                record.detail = format!(
                    "{}; its result could not be recorded ({e}): the audit log holds \
                     only its intent, line {}",
                    record.detail, intent.line
                );
                record
            }
        };
        response.record = Some(record);
        response
    }

    /// Appends `record` with every string at the contract's cap
    /// (`perch_proto::limits`): a process names itself (argv, exe, comm),
    /// a client its origin, and a line of megabytes would be refused whole
    /// (the log's line limit), leaving the action unrecorded.
    fn append(&self, record: &AuditRecord) -> Result<AuditRecord, AuditError> {
        let mut capped = record.clone();
        limits::cap_record(&mut capped);
        self.log().append(&capped)
    }
}

/// Sends a written record to every watching console.
fn publish(ctx: &dyn Context, record: AuditRecord) {
    ctx.publish(pb::Event {
        seq: 0,
        time_ns: ctx.now_boot_ns(),
        kind: Some(pb::event::Kind::Action(record)),
    });
}

/// Why a request that would need a record is refused when the log cannot
/// take one.
fn unrecordable(e: &AuditError) -> Status {
    tracing::error!("audit write failed, action refused: {e}");
    Status::failed_precondition(format!(
        "actions are refused: the audit log cannot record this one ({e}); nothing was done"
    ))
}

/// Whether `role` may run this action on this target.  Viewers may not act;
/// operators may not act on processes running as root nor raise priority
/// (negative nice); admins may do everything.  The target's uid here is
/// the model's; the executor applies the root rule again to every process
/// the action would touch, with real, effective and saved uids
/// ([`Request::refuse_root`]).
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

/// The result code of an action refused for a process beyond the caller's
/// role (`Request::refuse_root`).
const BEYOND_ROLE: &str = "permission_denied";

/// The executor's request: the caller's own process (the Unix peer, and
/// the console's own report of itself) is never a target, and an
/// operator's action touches no process running as root.
fn request(args: &ActArgs, who: &Identity, role: Role, req: &ActRequest) -> Request {
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
        refuse_root: (role != Role::Admin).then(|| {
            format!(
                "{} is an operator: processes running as root need the admin role",
                who.caller()
            )
        }),
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
