//! The `perch.v1.History` service: the state at an instant and the events
//! in a range, from the history store.  Same endpoint and the same rules as
//! the Collector's read-only calls: any caller may read (a viewer's right),
//! streaming calls take a stream slot, and the store's work runs off the
//! async workers.
use std::sync::Arc;

use perch_proto::civil::rfc3339_utc;
use perch_proto::v1::{
    GetStateAtRequest, GetStateAtResponse, ListHistoryRequest, ListHistoryResponse,
    WatchEventsRequest, history_server,
};
use tonic::{Request, Response, Status};

use super::{
    CollectorApi, DEFAULT_CHUNK_SIZE, MAX_CHUNK_SIZE, Slotted, StreamSlots, calls::Reached,
    validate,
};
use crate::{
    history::{ListQuery, QueryError, State, StateQuery},
    hub::MAX_BYTES_PER_MESSAGE,
    roles::identify,
};

/// Events per `ListHistory` answer when the request says 0, and the most.
pub const DEFAULT_LIMIT: u32 = 10_000;
pub const MAX_LIMIT: u32 = 1_000_000;
/// Events per `ListHistoryResponse` message.
const EVENTS_PER_MESSAGE: usize = 512;

/// The generated `History` trait over a [`CollectorApi`].
pub struct HistoryService<A: CollectorApi> {
    api: Arc<A>,
    slots: Arc<StreamSlots>,
}

impl<A: CollectorApi> HistoryService<A> {
    /// Shares the Collector service's stream slots, so history calls count
    /// against the same limits.
    #[must_use]
    pub fn new(api: Arc<A>, slots: Arc<StreamSlots>) -> Self {
        Self { api, slots }
    }

    fn slot<T>(&self, request: &Request<T>, rpc: &str) -> Result<super::slots::Slot, Status> {
        let who = identify(request);
        let role = self.api.roles().role_of(&who);
        self.slots.acquire(&who, role, rpc)
    }
}

/// A store that cannot answer, or an instant it does not hold, as a status.
fn status(e: QueryError) -> Status {
    match e {
        QueryError::Unavailable(u) => Status::unavailable(u.0),
        QueryError::OutOfRange { oldest: 0, .. } => {
            Status::out_of_range("at_unix_ns: nothing is stored yet".to_owned())
        }
        QueryError::OutOfRange { oldest, newest } => Status::out_of_range(format!(
            "at_unix_ns: outside the stored range {} .. {} ({oldest}..={newest} Unix ns)",
            rfc3339_utc(oldest),
            rfc3339_utc(newest)
        )),
        QueryError::Store(e) => Status::internal(e.to_string()),
    }
}

fn unavailable_without_store() -> Status {
    Status::unavailable("this collector keeps no history")
}

/// Checks a `ListHistoryRequest` (to = 0 means now).
pub fn list_query(req: &ListHistoryRequest, now: u64) -> Result<ListQuery, Status> {
    let to = if req.to_unix_ns == 0 {
        now
    } else {
        req.to_unix_ns
    };
    if req.from_unix_ns >= to {
        return Err(Status::invalid_argument(format!(
            "from_unix_ns must be before to_unix_ns (got {} and {to})",
            req.from_unix_ns
        )));
    }
    if req.limit > MAX_LIMIT {
        return Err(Status::invalid_argument(format!(
            "limit: must be in 0..={MAX_LIMIT} (0 for {DEFAULT_LIMIT}; got {})",
            req.limit
        )));
    }
    let mut pids = req.pids.clone();
    if pids.len() > super::MAX_PIDS {
        return Err(Status::invalid_argument(format!(
            "pids: at most {} entries (got {})",
            super::MAX_PIDS,
            pids.len()
        )));
    }
    pids.sort_unstable();
    pids.dedup();
    // The kinds follow WatchEvents' rules (and its messages).
    let kinds = if req.kinds.is_empty() {
        Vec::new()
    } else {
        let watch = WatchEventsRequest {
            kinds: req.kinds.clone(),
            ..WatchEventsRequest::default()
        };
        validate::watch(&watch, 0)?.kinds
    };
    Ok(ListQuery {
        from_unix_ns: req.from_unix_ns,
        to_unix_ns: to,
        kinds,
        pids,
        limit: if req.limit == 0 {
            DEFAULT_LIMIT
        } else {
            req.limit
        },
    })
}

/// A state cut into messages: scalars and everything but processes in the
/// first, processes in chunks of at most `size` (and about
/// [`MAX_BYTES_PER_MESSAGE`]), `last` on the final one.
#[must_use]
pub fn state_chunks(
    state: State,
    (host_name, boot_time_unix_ns): (String, u64),
    size: usize,
) -> Vec<GetStateAtResponse> {
    let mut first = GetStateAtResponse {
        boot_time_unix_ns,
        at_unix_ns: state.at_unix_ns,
        oldest_unix_ns: state.oldest_unix_ns,
        newest_unix_ns: state.newest_unix_ns,
        connections: state.connections,
        listening: state.listening,
        flags: state.flags,
        traces: state.traces,
        host: state.host,
        actions: state.actions,
        deviations: state.deviations,
        host_name,
        ..GetStateAtResponse::default()
    };
    let mut out = Vec::new();
    let mut current = Vec::new();
    let mut bytes = 0;
    for p in state.processes {
        if current.len() >= size.max(1) || bytes >= MAX_BYTES_PER_MESSAGE {
            out.push(std::mem::take(&mut current));
            bytes = 0;
        }
        bytes += p.wire_len();
        current.push(p);
    }
    out.push(current);
    let mut msgs: Vec<GetStateAtResponse> = Vec::with_capacity(out.len());
    for (i, processes) in out.into_iter().enumerate() {
        if i == 0 {
            first.encoded_processes = processes;
            msgs.push(std::mem::take(&mut first));
        } else {
            msgs.push(GetStateAtResponse {
                encoded_processes: processes,
                ..GetStateAtResponse::default()
            });
        }
    }
    if let Some(last) = msgs.last_mut() {
        last.last = true;
    }
    msgs
}

type Iter<T> = futures::stream::Iter<std::vec::IntoIter<Result<T, Status>>>;

#[tonic::async_trait]
impl<A: CollectorApi> history_server::History for HistoryService<A> {
    type GetStateAtStream = Slotted<Iter<GetStateAtResponse>>;

    async fn get_state_at(
        &self,
        request: Request<GetStateAtRequest>,
    ) -> Result<Response<Self::GetStateAtStream>, Status> {
        Reached::mark(request.extensions());
        let req = request.get_ref();
        if req.chunk_size > MAX_CHUNK_SIZE {
            return Err(Status::invalid_argument(format!(
                "chunk_size: must be in 0..={MAX_CHUNK_SIZE} (0 for {DEFAULT_CHUNK_SIZE}; got {})",
                req.chunk_size
            )));
        }
        let size = match req.chunk_size {
            0 => DEFAULT_CHUNK_SIZE,
            n => n as usize,
        };
        let q = StateQuery {
            at_unix_ns: req.at_unix_ns,
        };
        let history = self
            .api
            .history()
            .cloned()
            .ok_or_else(unavailable_without_store)?;
        let slot = self.slot(&request, "GetStateAt")?;
        let info = self.api.info();
        let host = (info.host, info.boot_time_unix_ns);
        let state = tokio::task::spawn_blocking(move || history.state_at(q))
            .await
            .map_err(|e| Status::internal(format!("the history query failed: {e}")))?
            .map_err(status)?;
        let msgs: Vec<_> = state_chunks(state, host, size)
            .into_iter()
            .map(Ok)
            .collect();
        Ok(Response::new(Slotted::new(
            futures::stream::iter(msgs),
            slot,
        )))
    }

    type ListHistoryStream = Slotted<Iter<ListHistoryResponse>>;

    async fn list_history(
        &self,
        request: Request<ListHistoryRequest>,
    ) -> Result<Response<Self::ListHistoryStream>, Status> {
        Reached::mark(request.extensions());
        let q = list_query(request.get_ref(), crate::history::now_unix_ns())?;
        let history = self
            .api
            .history()
            .cloned()
            .ok_or_else(unavailable_without_store)?;
        let slot = self.slot(&request, "ListHistory")?;
        let (events, truncated) = tokio::task::spawn_blocking(move || history.list(&q))
            .await
            .map_err(|e| Status::internal(format!("the history query failed: {e}")))?
            .map_err(status)?;
        let mut msgs: Vec<Result<ListHistoryResponse, Status>> = events
            .chunks(EVENTS_PER_MESSAGE)
            .map(|c| {
                Ok(ListHistoryResponse {
                    events: c.to_vec(),
                    ..ListHistoryResponse::default()
                })
            })
            .collect();
        if msgs.is_empty() {
            msgs.push(Ok(ListHistoryResponse::default()));
        }
        if let Some(Ok(last)) = msgs.last_mut() {
            last.truncated = truncated;
            last.last = true;
        }
        Ok(Response::new(Slotted::new(
            futures::stream::iter(msgs),
            slot,
        )))
    }
}
