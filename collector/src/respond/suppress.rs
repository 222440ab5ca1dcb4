//! `SuppressTrace`: an analyst's "suppress this trace's shape" as an
//! audited change.  Validation and the caller's role first, then the audit
//! intent (no record, no change), then the policy file, the policy in
//! force and the trace marked suppressed, then the audited result.
use std::sync::{Mutex, PoisonError};

use perch_proto::v1::{
    self as pb, ActRequest, ActionResult, AuditStage, Role, SuppressTraceRequest,
    SuppressTraceResponse,
};
use tonic::Status;

use super::{
    Context, Responder,
    record::{base_record, refuse},
    validate::{self, Invalid},
};
use crate::{
    detect::Detector,
    policy::{self, Policy},
    roles::Identity,
};

/// Longest trace id accepted ("trace:<n>" is far shorter).
pub const TRACE_ID_MAX_BYTES: usize = 64;

/// A well-formed `SuppressTraceRequest`, trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuppressArgs {
    pub trace_id: String,
    pub reason: String,
}

/// Checks every field; the message names the field and what is allowed.
pub fn validate(req: &SuppressTraceRequest) -> Result<SuppressArgs, Invalid> {
    let id = req.trace_id.trim();
    if id.is_empty() {
        return Err(Invalid(
            "trace_id: required (a trace's id, \"trace:<n>\", as perch traces shows it)".to_owned(),
        ));
    }
    if id.len() > TRACE_ID_MAX_BYTES {
        return Err(Invalid(format!(
            "trace_id: at most {TRACE_ID_MAX_BYTES} bytes (got {})",
            id.len()
        )));
    }
    Ok(SuppressArgs {
        trace_id: id.to_owned(),
        reason: validate::reason(&req.reason)?,
    })
}

impl Responder {
    /// One `SuppressTrace` from `who` (holding `role`), audited like an
    /// action: refusals are recorded, the intent is on disk before the
    /// policy is written or put in force, and its result follows.
    pub fn suppress_trace(
        &self,
        ctx: &dyn Context,
        detector: &Mutex<Detector>,
        who: &Identity,
        role: Role,
        req: &SuppressTraceRequest,
    ) -> Result<SuppressTraceResponse, Status> {
        let act = ActRequest {
            reason: req.reason.clone(),
            ..ActRequest::default()
        };
        let mut record = base_record(ctx, who, role, &act);
        record.action = pb::ActionKind::SuppressTrace.into();
        let id = perch_proto::limits::clipped(req.trace_id.trim(), TRACE_ID_MAX_BYTES);
        record.detail = format!("suppress trace {id:?}");
        let args = self.admitted(ctx, who, role, req, &mut record)?;
        let by = if record.actor_user.is_empty() {
            who.caller()
        } else {
            record.actor_user.clone()
        };
        let now = unix_now_s();
        let lock = || detector.lock().unwrap_or_else(PoisonError::into_inner);
        let (planned, dir) = {
            let d = lock();
            (
                d.trace_policy(&args.trace_id, &by, now),
                d.policies_dir().to_owned(),
            )
        };
        let Some(planned) = planned else {
            return Err(Status::not_found(format!(
                "trace_id: no trace {:?} on this collector (perch traces --all lists them)",
                args.trace_id
            )));
        };
        record.detail = format!(
            "suppress trace {}: policy {} into {}",
            args.trace_id,
            planned.name,
            dir.display()
        );
        let intent = self.write_intent(&record)?;
        let comment = format!("suppressed by {by} from {}", args.trace_id);
        let doc = Policy::Trace(planned.clone());
        let written = policy::write(&dir, &doc, &comment);
        let outcome = written.map(|path| {
            let trace = lock()
                .suppress_trace(&args.trace_id, &by, now)
                .map(|(_, t)| t);
            (path, trace)
        });
        record.set_stage(AuditStage::Result);
        record.intent_id.clone_from(&intent.id);
        let answer = match outcome {
            Ok((path, trace)) => {
                record.result = ActionResult::Success.into();
                "trace_suppressed".clone_into(&mut record.code);
                record.detail = format!(
                    "trace {} suppressed: policy {} written to {}",
                    args.trace_id,
                    planned.name,
                    path.display()
                );
                if let Some(t) = &trace {
                    ctx.publish(pb::Event {
                        seq: 0,
                        time_ns: ctx.now_boot_ns(),
                        kind: Some(pb::event::Kind::Trace(pb::TraceUpdated {
                            trace: Some(t.clone()),
                        })),
                    });
                }
                Ok(SuppressTraceResponse {
                    policy_name: planned.name.clone(),
                    path: path.display().to_string(),
                    yaml: doc.to_yaml(&comment),
                    trace,
                })
            }
            Err(e) => {
                let why = format!(
                    "the policy could not be written into {}: {e}",
                    dir.display()
                );
                refuse(&mut record, "os_error", &why);
                Err(Status::internal(format!("{why}; nothing was suppressed")))
            }
        };
        self.finish(ctx, &intent, &record);
        answer
    }

    /// The request's arguments when the log can record it, it is well
    /// formed and `role` may suppress; refusals are audited.
    fn admitted(
        &self,
        ctx: &dyn Context,
        who: &Identity,
        role: Role,
        req: &SuppressTraceRequest,
        record: &mut pb::AuditRecord,
    ) -> Result<SuppressArgs, Status> {
        if self.log().status() == pb::AuditLogStatus::Broken {
            return Err(Status::failed_precondition(format!(
                "suppressions are refused: {}; move the log aside (perchd --audit-log) first",
                self.log().status_detail()
            )));
        }
        let args = match validate(req) {
            Ok(args) => args,
            Err(invalid) => {
                refuse(record, "invalid_argument", &invalid.0);
                return Err(self.refused(ctx, who, record, invalid.into()));
            }
        };
        if !matches!(role, Role::Operator | Role::Admin) {
            let why = format!(
                "{} is a viewer: suppressing a trace needs the operator or admin role \
                 (perchd's config, [roles])",
                who.caller()
            );
            refuse(record, "permission_denied", &why);
            return Err(self.refused(ctx, who, record, Status::permission_denied(why)));
        }
        Ok(args)
    }

    /// Writes the result of `intent`; a failure is logged (the change is
    /// made, the log holds its intent).
    fn finish(&self, ctx: &dyn Context, intent: &pb::AuditRecord, record: &pb::AuditRecord) {
        let written = self.append(record);
        self.in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&intent.id);
        match written {
            Ok(w) => super::publish(ctx, w),
            Err(e) => tracing::error!(intent = intent.id, "audit result not written: {e}"),
        }
    }
}

/// Seconds since the epoch, for the policy's creation timestamp.
fn unix_now_s() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(id: &str, reason: &str) -> SuppressTraceRequest {
        SuppressTraceRequest {
            trace_id: id.to_owned(),
            reason: reason.to_owned(),
        }
    }

    fn err(r: &SuppressTraceRequest) -> String {
        validate(r).err().map(|e| e.0).unwrap_or_default()
    }

    #[test]
    fn a_good_request_is_trimmed() {
        let a = validate(&req(" trace:3 ", "  known cron job ")).ok();
        assert_eq!(
            a,
            Some(SuppressArgs {
                trace_id: "trace:3".to_owned(),
                reason: "known cron job".to_owned(),
            })
        );
    }

    #[test]
    fn every_bad_field_is_named() {
        let cases = [
            (req("", "why"), "trace_id: required"),
            (req("  ", "why"), "trace_id: required"),
            (
                req(&"t".repeat(65), "why"),
                "trace_id: at most 64 bytes (got 65)",
            ),
            (req("trace:1", ""), "reason: required"),
            (req("trace:1", " \t\u{200b}"), "reason: required"),
            (
                req("trace:1", &"x".repeat(1025)),
                "reason: at most 1024 bytes (got 1025)",
            ),
        ];
        for (r, want) in cases {
            let got = err(&r);
            assert!(got.starts_with(want), "{r:?}: {got}");
        }
        assert!(validate(&req(&"t".repeat(64), "why")).is_ok());
    }

    #[test]
    fn act_refuses_the_suppression_kind() {
        let req = ActRequest {
            action: pb::ActionKind::SuppressTrace.into(),
            reason: "why".to_owned(),
            ..ActRequest::default()
        };
        let e = validate::act(&req).err().map(|e| e.0).unwrap_or_default();
        assert!(
            e.starts_with("action: SUPPRESS_TRACE (10) is recorded by SuppressTrace")
                && e.contains("(1..=9)"),
            "{e}"
        );
    }
}
