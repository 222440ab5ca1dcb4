//! The glue between the gRPC handlers and [`crate::respond`]: the
//! collector seen as an action's context, and the audit log as
//! `ListAudit` chunks.
use perch_proto::{
    limits,
    v1::{self as pb, AuditLogStatus, ListAuditResponse},
};
use prost::Message as _;
use tonic::Status;

use super::CollectorApi;
use crate::{
    audit,
    respond::{self, Context, Responder},
};

/// Records per `ListAudit` message, at most; a message is also closed once
/// it holds [`limits::CHUNK_BYTES`] (records are capped, see `perch_audit`,
/// but a long list of affected processes still makes one large).
const RECORDS_PER_CHUNK: usize = 200;

/// A collector as the context of an action.
pub struct Ctx<'a, A: CollectorApi>(pub &'a A);

impl<A: CollectorApi> Context for Ctx<'_, A> {
    fn describe(&self, key: pb::ProcessKey) -> Option<pb::Process> {
        let (candidates, _) = self.0.snapshot(true, &[key.pid]);
        respond::find(candidates.collect(), key)
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
    limits::clip(&mut detail, limits::DETAIL_BYTES);
    let mut out: Vec<ListAuditResponse> = Vec::new();
    let mut bytes = 0;
    for record in records {
        let full = out
            .last()
            .is_none_or(|c| c.records.len() >= RECORDS_PER_CHUNK || bytes >= limits::CHUNK_BYTES);
        if full {
            out.push(ListAuditResponse {
                status: status.into(),
                status_detail: detail.clone(),
                path: path.clone(),
                ..ListAuditResponse::default()
            });
            bytes = 0;
        }
        bytes += record.encoded_len();
        if let Some(chunk) = out.last_mut() {
            chunk.records.push(record);
        }
    }
    if out.is_empty() {
        out.push(ListAuditResponse {
            status: status.into(),
            status_detail: detail,
            path,
            ..ListAuditResponse::default()
        });
    }
    if let Some(chunk) = out.last_mut() {
        chunk.last = true;
    }
    out.into_iter().map(Ok).collect()
}
