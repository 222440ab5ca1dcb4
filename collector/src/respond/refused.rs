//! Refusals and their rate limit: every refused request's record goes
//! through [`Responder::refused`], which writes it while the caller has
//! tokens and otherwise counts it into the caller's next aggregate record
//! ([`crate::refusals`]); [`Responder::flush_refusals`] writes those as
//! they fall due and at shutdown.  Requests that never reached `act`
//! (undecodable, too large) are refusals too ([`Responder::malformed`]).
use std::{sync::PoisonError, time::Instant};

use perch_proto::v1::{ActRequest, AuditRecord, Role};
use tonic::Status;

use super::{Context, Responder, base_record, publish, refuse};
use crate::{
    refusals::{RefusalLimit, Refusals, Verdict},
    roles::Identity,
};

impl Responder {
    /// The same responder, with `limit` on each caller's refusals.
    #[must_use]
    pub fn with_refusal_limit(self, limit: RefusalLimit) -> Self {
        Self {
            refusals: std::sync::Mutex::new(Refusals::new(limit)),
            ..self
        }
    }

    /// Every refusal's record goes through here: written (and published)
    /// while `who` has tokens, else held for an aggregate.  Returns
    /// `status`, saying so when the refusal could not be recorded (nothing
    /// was done either way).
    pub(super) fn refused(
        &self,
        ctx: &dyn Context,
        who: &Identity,
        record: &AuditRecord,
        status: Status,
    ) -> Status {
        let verdict = self
            .refusals
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .admit(&who.limit_key(), record, Instant::now());
        if verdict == Verdict::Held {
            return status;
        }
        match self.append(record) {
            Ok(written) => {
                publish(ctx, written);
                status
            }
            Err(e) => {
                tracing::error!(code = record.code, "refusal not audited: {e}");
                Status::new(
                    status.code(),
                    format!(
                        "{} (this refusal could not be audited: {e})",
                        status.message()
                    ),
                )
            }
        }
    }

    /// A request from `who` that never reached [`act`](Self::act): its
    /// body could not be decoded, or was over the size limit.  Audited as
    /// `invalid_argument` like any malformed request (rate-limited like
    /// every refusal); the status to answer with.
    pub fn malformed(&self, ctx: &dyn Context, who: &Identity, role: Role, detail: &str) -> Status {
        let mut record = base_record(ctx, who, role, &ActRequest::default());
        refuse(&mut record, "invalid_argument", detail);
        self.refused(ctx, who, &record, Status::invalid_argument(detail))
    }

    /// Writes the aggregate records of refusals held back: those due now,
    /// or, with `all` (at shutdown), every one.
    pub fn flush_refusals(&self, ctx: &dyn Context, all: bool) {
        let due = {
            let mut r = self.refusals.lock().unwrap_or_else(PoisonError::into_inner);
            if all {
                r.drain()
            } else {
                r.due(Instant::now())
            }
        };
        for record in due {
            match self.append(&record) {
                Ok(written) => publish(ctx, written),
                // Never lost silently: perchd's own log says what it was.
                Err(e) => tracing::error!("refusals not audited ({e}): {}", record.detail),
            }
        }
    }
}
