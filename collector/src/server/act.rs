//! The glue between the gRPC handlers and [`crate::respond`]: the
//! collector seen as an action's context, and the audit log as
//! `ListAudit` chunks.
use perch_proto::v1::{self as pb, AuditLogStatus, ListAuditResponse};
use tonic::Status;

use super::CollectorApi;
use crate::{
    audit,
    respond::{self, Context, Responder},
};

/// Records per `ListAudit` message: a record is at most a few KiB (argv,
/// reason, up to some hundred affected processes), far under the limit.
const RECORDS_PER_CHUNK: usize = 200;

/// A collector as the context of an action.
pub struct Ctx<'a, A: CollectorApi>(pub &'a A);

impl<A: CollectorApi> Context for Ctx<'_, A> {
    fn describe(&self, key: pb::ProcessKey) -> Option<pb::Process> {
        let (candidates, _) = self.0.snapshot(true, &[key.pid]);
        respond::find(candidates, key)
    }

    fn publish(&self, event: pb::Event) {
        self.0.hub().publish(vec![event]);
    }

    fn host(&self) -> String {
        self.0.info().host
    }

    fn now_boot_ns(&self) -> u64 {
        crate::clock::now_boot_ns()
    }
}

/// The log, newest first, at most `limit` records (0: all), in chunks; the
/// last chunk says whether the chain verified as far as it was read.
pub fn list_audit(responder: &Responder, limit: u32) -> Vec<Result<ListAuditResponse, Status>> {
    let path = {
        let log = responder
            .audit()
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        log.path().to_owned()
    };
    let mut records = Vec::new();
    let (mut status, mut detail) = (AuditLogStatus::Ok, String::new());
    match audit::read(&path) {
        Ok(scanner) => {
            for entry in scanner {
                match entry {
                    Ok(entry) => records.push(entry.record),
                    Err(e) => {
                        status = AuditLogStatus::Broken;
                        detail = e.to_string();
                        break;
                    }
                }
            }
        }
        Err(e) => {
            status = AuditLogStatus::Broken;
            detail = e.to_string();
        }
    }
    if status == AuditLogStatus::Ok {
        let log = responder
            .audit()
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        status = log.status();
        log.status_detail().clone_into(&mut detail);
    }
    records.reverse();
    if limit > 0 {
        records.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    }
    let path = path.display().to_string();
    let mut out = Vec::new();
    let mut chunks = records.chunks(RECORDS_PER_CHUNK).peekable();
    if chunks.peek().is_none() {
        return vec![Ok(ListAuditResponse {
            records: Vec::new(),
            status: status.into(),
            status_detail: detail,
            path,
            last: true,
        })];
    }
    while let Some(chunk) = chunks.next() {
        let last = chunks.peek().is_none();
        out.push(Ok(ListAuditResponse {
            records: chunk.to_vec(),
            status: status.into(),
            status_detail: detail.clone(),
            path: path.clone(),
            last,
        }));
    }
    out
}
