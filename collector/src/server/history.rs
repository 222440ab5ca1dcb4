//! The `perch.v1.History` service: the state at an instant and the events
//! in a range, from the history store.  Same endpoint and the same rules as
//! the Collector's read-only calls: any caller may read (a viewer's right),
//! streaming calls take a stream slot, and the store's work runs off the
//! async workers.
use std::{sync::Arc, time::Duration};

use futures::{StreamExt as _, stream::BoxStream};
use tokio::sync::mpsc;

use perch_proto::civil::rfc3339_utc;
use perch_proto::v1::{
    EncodedProcess, GetStateAtRequest, GetStateAtResponse, ListHistoryRequest, ListHistoryResponse,
    WatchEventsRequest, history_server,
};
use tonic::{Request, Response, Status};

use super::{
    CollectorApi, DEFAULT_CHUNK_SIZE, MAX_CHUNK_SIZE, Slotted, StreamSlots, calls::Reached,
    validate,
};
use crate::{
    history::{History, ListQuery, QueryError, State, StateQuery, StateSink},
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

/// A state cut into messages as it is read: scalars and everything but
/// processes in the first, processes in chunks of at most `size` (and
/// about [`MAX_BYTES_PER_MESSAGE`]), `last` on the final one.  A message
/// goes to `send` once the next one is begun, so that the final one can be
/// marked; `send` says false when nobody reads any more.
pub struct Chunker<F> {
    host: (String, u64),
    size: usize,
    current: Option<GetStateAtResponse>,
    bytes: usize,
    send: F,
}

impl<F: FnMut(GetStateAtResponse) -> bool> Chunker<F> {
    pub fn new(host: (String, u64), size: usize, send: F) -> Self {
        Self {
            host,
            size: size.max(1),
            current: None,
            bytes: 0,
            send,
        }
    }

    /// Sends the final message, marked `last`; false when it could not.
    pub fn finish(mut self) -> bool {
        match self.current.take() {
            Some(mut m) => {
                m.last = true;
                (self.send)(m)
            }
            None => false,
        }
    }
}

impl<F: FnMut(GetStateAtResponse) -> bool> StateSink for Chunker<F> {
    fn head(&mut self, state: State) -> bool {
        let (host_name, boot_time_unix_ns) = std::mem::take(&mut self.host);
        self.current = Some(GetStateAtResponse {
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
            encoded_processes: state.processes,
            ..GetStateAtResponse::default()
        });
        true
    }

    fn process(&mut self, process: EncodedProcess) -> bool {
        let Some(current) = &mut self.current else {
            return false;
        };
        if current.encoded_processes.len() >= self.size || self.bytes >= MAX_BYTES_PER_MESSAGE {
            self.bytes = 0;
            if !(self.send)(std::mem::take(current)) {
                return false;
            }
        }
        self.bytes += process.wire_len();
        current.encoded_processes.push(process);
        true
    }
}

/// How long a state's reader waits for the caller to take a message
/// before it gives up: the read holds the store's reader connection.
const STALL: Duration = Duration::from_secs(5);

/// Reads the state off the async workers, its messages going out while
/// the rest is read; an error comes as the stream's last item.
fn read_state(
    history: Arc<History>,
    q: StateQuery,
    host: (String, u64),
    size: usize,
) -> mpsc::Receiver<Result<GetStateAtResponse, Status>> {
    // Two messages ahead of the caller: the next is read while one is sent.
    let (tx, rx) = mpsc::channel(2);
    let rt = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        let send = |m| rt.block_on(tx.send_timeout(Ok(m), STALL)).is_ok();
        let mut chunker = Chunker::new(host, size, send);
        match history.state_into(q, &mut chunker) {
            Ok(()) => {
                chunker.finish();
            }
            Err(e) => {
                drop(chunker);
                // Nobody reads any more, or the error is the last item.
                let _ = rt.block_on(tx.send_timeout(Err(status(e)), STALL));
            }
        }
    });
    rx
}

/// The messages after the first, to the one marked `last`; a stream that
/// ends before it (the reader gave up on a stalled caller) ends in an
/// error, so a part of a state is never taken for all of it.
fn rest_of(
    rx: mpsc::Receiver<Result<GetStateAtResponse, Status>>,
) -> BoxStream<'static, Result<GetStateAtResponse, Status>> {
    futures::stream::unfold((rx, false), |(mut rx, done)| async move {
        if done {
            return None;
        }
        let item = rx.recv().await.unwrap_or_else(|| {
            Err(Status::aborted(format!(
                "the state was not read within {} s of its previous message; ask again",
                STALL.as_secs()
            )))
        });
        let done = item.as_ref().map_or(true, |m| m.last);
        Some((item, (rx, done)))
    })
    .boxed()
}

type Iter<T> = futures::stream::Iter<std::vec::IntoIter<Result<T, Status>>>;

#[tonic::async_trait]
impl<A: CollectorApi> history_server::History for HistoryService<A> {
    type GetStateAtStream = Slotted<BoxStream<'static, Result<GetStateAtResponse, Status>>>;

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
        let mut rx = read_state(history, q, host, size);
        // The first message or why there is none: a state outside the
        // stored range is the call's error, not its stream's.
        let first = rx
            .recv()
            .await
            .ok_or_else(|| Status::internal("the history query failed: its reader stopped"))??;
        let done = first.last;
        let first = futures::stream::once(std::future::ready(Ok(first)));
        let stream = if done {
            first.boxed()
        } else {
            first.chain(rest_of(rx)).boxed()
        };
        Ok(Response::new(Slotted::new(stream, slot)))
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

#[cfg(test)]
#[path = "history_tests.rs"]
mod tests;
