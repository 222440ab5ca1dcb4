//! The glue between the gRPC handlers and [`crate::respond`]: the
//! collector seen as an action's context, and the audit log as `ListAudit`
//! pages, read newest first straight from the file (a call costs what it
//! returns), one entry per action, produced as the client reads them.
use std::sync::Arc;

use futures::{Stream, StreamExt as _};
use perch_proto::{
    limits,
    v1::{self as pb, AuditLogStatus, AuditRecord, ListAuditResponse, Role},
};
use prost::Message as _;
use tonic::Status;

use super::CollectorApi;
use crate::{
    audit::{Backward, NewestFirst},
    hub::MAX_BYTES_PER_MESSAGE,
    respond::{self, Context, NO_UID, Responder},
    roles::Identity,
};

/// Records per `ListAudit` message at most; messages also stop at about
/// [`MAX_BYTES_PER_MESSAGE`] (a record lists up to thousands of processes).
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

/// Whose records a caller may read: operators and admins every record,
/// anyone else (viewers) only their own requests — the log is 0600 for a
/// reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Readable {
    All,
    /// Records whose actor is this Unix uid.
    Uid(u32),
    /// Records whose actor is this TLS client certificate.
    Cert(String),
    /// A caller without an identity (TLS without a certificate): none.
    Nothing,
}

impl Readable {
    #[must_use]
    pub fn of(who: &Identity, role: Role) -> Self {
        match (role, who.uid, &who.cert_cn) {
            (Role::Operator | Role::Admin, _, _) => Self::All,
            (_, Some(uid), _) => Self::Uid(uid),
            (_, None, Some(cn)) => Self::Cert(format!("cert:{cn}")),
            (_, None, None) => Self::Nothing,
        }
    }

    fn allows(&self, r: &AuditRecord) -> bool {
        match self {
            Self::All => true,
            Self::Uid(uid) => r.actor_uid == *uid,
            Self::Cert(user) => r.actor_uid == NO_UID && r.actor_user == *user,
            Self::Nothing => false,
        }
    }
}

/// `ListAudit`'s response stream.
pub type AuditStream =
    std::pin::Pin<Box<dyn Stream<Item = Result<ListAuditResponse, Status>> + Send>>;

/// The log, newest first, at most `limit` entries (0: all) that `readable`
/// allows, in messages made one at a time on a blocking thread as the
/// client takes them: a slow client holds one message, never the log.
pub fn list_audit<A: CollectorApi>(
    api: Arc<A>,
    limit: u32,
    readable: Readable,
) -> Result<AuditStream, Status> {
    let responder = api.responder().ok_or_else(super::no_actions)?;
    let (pages, path) = {
        let log = responder
            .audit()
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (file, len, lines) = log
            .snapshot()
            .map_err(|e| Status::internal(e.to_string()))?;
        let pages = Pages {
            rows: Backward::new(file, len, lines),
            pair: NewestFirst::default(),
            readable,
            left: if limit == 0 {
                u64::MAX
            } else {
                u64::from(limit)
            },
            status: log.status(),
            detail: log.status_detail().to_owned(),
            path: log.path().display().to_string(),
            next: None,
            done: false,
        };
        (pages, log.path().to_owned())
    };
    tracing::debug!(path = %path.display(), limit, "ListAudit");
    let stream = futures::stream::unfold(Some(pages), move |state| {
        let api = Arc::clone(&api);
        async move {
            let pages = state?;
            let (chunk, pages) = tokio::task::spawn_blocking(move || {
                let mut pages = pages;
                let chunk = api.responder().map(|r| pages.chunk(r));
                (chunk, pages)
            })
            .await
            .ok()?;
            let chunk = chunk?;
            let more = (!chunk.last).then_some(pages);
            Some((Ok(chunk), more))
        }
    });
    Ok(stream.boxed())
}

/// Where a `ListAudit` call stands in the log.
struct Pages {
    rows: Backward,
    pair: NewestFirst,
    readable: Readable,
    /// Entries still to send.
    left: u64,
    status: AuditLogStatus,
    detail: String,
    path: String,
    /// The entry read ahead (to know whether a message is the last).
    next: Option<AuditRecord>,
    done: bool,
}

impl Pages {
    /// The next entry to send, if any.
    fn entry(&mut self, responder: &Responder) -> Option<AuditRecord> {
        if self.done || self.left == 0 {
            return None;
        }
        for row in self.rows.by_ref() {
            match row {
                Ok(mut e) => {
                    let shown = self
                        .pair
                        .keep(&mut e.record, |id| responder.in_progress(id));
                    if shown && self.readable.allows(&e.record) {
                        self.left -= 1;
                        return Some(e.record);
                    }
                }
                Err(e) => {
                    // Shown as far as it verifies, and said so.
                    self.status = AuditLogStatus::Broken;
                    self.detail = e.to_string();
                    break;
                }
            }
        }
        self.done = true;
        None
    }

    /// The next message.
    fn chunk(&mut self, responder: &Responder) -> ListAuditResponse {
        let mut records = Vec::new();
        let mut bytes = 0;
        if self.next.is_none() {
            self.next = self.entry(responder);
        }
        while records.len() < RECORDS_PER_CHUNK && bytes < MAX_BYTES_PER_MESSAGE {
            let Some(r) = self.next.take() else { break };
            bytes += r.encoded_len();
            records.push(r);
            self.next = self.entry(responder);
        }
        ListAuditResponse {
            records,
            status: self.status.into(),
            status_detail: limits::clipped(&self.detail, limits::DETAIL_BYTES).to_owned(),
            path: self.path.clone(),
            last: self.next.is_none(),
        }
    }
}
