//! The `perch.v1.Collector` gRPC service.  It knows nothing about eBPF or
//! /proc: whatever runs the collector hands it a [`CollectorApi`], and
//! [`bind`] / [`Bound::serve`] put it on a Unix socket and/or TLS over TCP.
pub mod act;
mod calls;
mod conns;
mod detect;
mod history;
mod listen;
mod policies;
mod slots;
pub mod validate;

use std::sync::Arc;

use futures::{StreamExt as _, future::BoxFuture, stream::TakeUntil};
use perch_proto::limits;
use perch_proto::v1::{
    ActRequest, ActResponse, Connection, GetInfoRequest, GetInfoResponse, ListAuditRequest,
    ListConnectionsRequest, ListFlagsRequest, ListFlagsResponse, ListProcessesRequest,
    ListProcessesResponse, ListRulesRequest, ListRulesResponse, ListTracesRequest,
    ListTracesResponse, ListeningSocket, Process, SuppressTraceRequest, SuppressTraceResponse,
    WatchEventsRequest, collector_server::Collector,
};
use prost::Message as _;
use tokio::sync::watch;
use tonic::{Request, Response, Status};

pub use history::{Chunker, HistoryService, list_query};
pub use listen::{
    Bound, MAX_REQUEST_BYTES, ServeError, ServeOptions, TcpPeer, TlsFiles, bind,
    default_socket_group, fit_to_fd_limit, raise_fd_limit, serve,
};
pub use policies::{MAX_YAML_BYTES, PoliciesService, check_apply, check_name};
pub use slots::{Slotted, StreamLimits, StreamSlots};
pub use validate::{DEFAULT_CHUNK_SIZE, MAX_CHUNK_SIZE, MAX_PIDS};

use self::calls::Reached;
use crate::{
    hub::{Hub, MAX_BYTES_PER_MESSAGE, Subscription},
    respond::Responder,
    roles::{Roles, identify},
};

/// What the service needs from the collector.
pub trait CollectorApi: Send + Sync + 'static {
    /// Identity and counters for `GetInfo`.
    fn info(&self) -> GetInfoResponse;
    /// The processes (only `pids` when not empty; `pids` is sorted and
    /// free of duplicates) and the hub sequence the snapshot is consistent
    /// with: every event up to it is reflected, none after it.  The
    /// processes may be converted lazily, as the response is sent.
    fn snapshot(&self, include_exited: bool, pids: &[u32]) -> (Snapshot, u64);
    /// The connections and listening sockets (owned by `pids` when not
    /// empty; sorted, no duplicates) and the hub sequence they are
    /// consistent with.  A collector without a network model has none.
    fn connections(
        &self,
        _include_closed: bool,
        _pids: &[u32],
    ) -> (Vec<Connection>, Vec<ListeningSocket>, u64) {
        (Vec::new(), Vec::new(), self.hub().head_seq())
    }
    /// The hub that `WatchEvents` subscribes to.
    fn hub(&self) -> &Arc<Hub>;
    /// Who may do what (`GetInfo.caller_role`, and actions).
    fn roles(&self) -> &Roles;
    /// Response actions and their audit log; `None` for a collector that
    /// takes no actions (`Act` and `ListAudit` then answer
    /// `FAILED_PRECONDITION`).
    fn responder(&self) -> Option<&Responder> {
        None
    }
    /// The detection engine; `None` when detections are off (`ListFlags`,
    /// `ListTraces` and `ListRules` then answer `FAILED_PRECONDITION`).
    fn detector(&self) -> Option<&std::sync::Mutex<crate::detect::Detector>> {
        None
    }
    /// How many streaming calls may be open at once.
    fn stream_limits(&self) -> StreamLimits {
        StreamLimits::default()
    }
    /// The history store; `None` for a collector that keeps none (the
    /// History calls then answer `UNAVAILABLE`, `GetInfo` says DISABLED).
    fn history(&self) -> Option<&Arc<crate::history::History>> {
        None
    }
    /// The stored policies; `None` for a collector that keeps none (the
    /// Policies calls then answer `FAILED_PRECONDITION`).
    fn policies(&self) -> Option<&std::sync::Mutex<crate::policy::registry::Registry>> {
        None
    }
    /// The stored policies changed: put the workload policies in force.
    fn policies_changed(&self, _registry: &crate::policy::registry::Registry) {}
}

/// A snapshot's processes, converted as they are taken.
pub type Snapshot = Box<dyn Iterator<Item = Process> + Send>;

/// The generated `Collector` trait implemented over a [`CollectorApi`].
pub struct CollectorService<A: CollectorApi> {
    api: Arc<A>,
    /// Becomes `true` when the server shuts down; open `WatchEvents` streams
    /// end then, or graceful shutdown would wait for them forever.
    shutdown: Option<watch::Receiver<bool>>,
    /// Open streaming calls, counted against `api.stream_limits()`.
    slots: Arc<StreamSlots>,
}

impl<A: CollectorApi> CollectorService<A> {
    /// A service whose event streams only end when their clients leave.
    #[must_use]
    pub fn new(api: Arc<A>) -> Self {
        let slots = StreamSlots::new(api.stream_limits());
        Self {
            api,
            shutdown: None,
            slots,
        }
    }

    /// A service whose event streams also end once `shutdown` turns `true`
    /// (or its sender is dropped).
    #[must_use]
    pub fn with_shutdown(api: Arc<A>, shutdown: watch::Receiver<bool>) -> Self {
        let slots = StreamSlots::new(api.stream_limits());
        Self {
            api,
            shutdown: Some(shutdown),
            slots,
        }
    }

    /// A stream slot for this request's caller (see [`StreamSlots`]).
    fn slot<T>(&self, request: &Request<T>, rpc: &str) -> Result<slots::Slot, Status> {
        let who = identify(request);
        let role = self.api.roles().role_of(&who);
        self.slots.acquire(&who, role, rpc)
    }

    fn shutdown_signal(&self) -> BoxFuture<'static, ()> {
        match self.shutdown.clone() {
            Some(mut rx) => Box::pin(async move {
                let _ = rx.wait_for(|stop| *stop).await;
            }),
            None => Box::pin(std::future::pending()),
        }
    }
}

/// `ListProcesses`' response stream.
pub type ListStream = Slotted<futures::stream::Iter<Chunks>>;
/// `WatchEvents`' response stream: the hub subscription, cut at shutdown.
pub type WatchStream = Slotted<TakeUntil<Subscription, BoxFuture<'static, ()>>>;

#[tonic::async_trait]
impl<A: CollectorApi> Collector for CollectorService<A> {
    async fn get_info(
        &self,
        request: Request<GetInfoRequest>,
    ) -> Result<Response<GetInfoResponse>, Status> {
        Reached::mark(request.extensions());
        let caller = identify(&request);
        let mut info = self.api.info();
        info.caller_role = self.api.roles().role_of(&caller).into();
        info.caller = caller.caller();
        info.history = Some(
            self.api
                .history()
                .map_or_else(crate::history::History::disabled_info, |h| h.info()),
        );
        // A TLS client chooses its certificate's CN.
        limits::clip(&mut info.caller, limits::ORIGIN_BYTES);
        Ok(Response::new(info))
    }

    type ListProcessesStream = ListStream;

    async fn list_processes(
        &self,
        request: Request<ListProcessesRequest>,
    ) -> Result<Response<ListStream>, Status> {
        Reached::mark(request.extensions());
        let args = validate::list(request.get_ref())?;
        let slot = self.slot(&request, "ListProcesses")?;
        let req = request.into_inner();
        let api = Arc::clone(&self.api);
        // The snapshot copies the whole model under its lock: keep that off
        // the async workers that serve everyone else.
        let (processes, seq) =
            tokio::task::spawn_blocking(move || api.snapshot(req.include_exited, &args.pids))
                .await
                .map_err(|e| Status::internal(format!("taking the snapshot failed: {e}")))?;
        let chunks = Chunks::new(processes, args.chunk_size, seq);
        Ok(Response::new(Slotted::new(
            futures::stream::iter(chunks),
            slot,
        )))
    }

    type ListConnectionsStream = Slotted<futures::stream::Iter<conns::ConnChunks>>;

    async fn list_connections(
        &self,
        request: Request<ListConnectionsRequest>,
    ) -> Result<Response<Self::ListConnectionsStream>, Status> {
        Reached::mark(request.extensions());
        let args = validate::list_connections(request.get_ref())?;
        let slot = self.slot(&request, "ListConnections")?;
        let req = request.into_inner();
        let api = Arc::clone(&self.api);
        // Copies the model under its lock: off the async workers.
        let (conns, listening, seq) =
            tokio::task::spawn_blocking(move || api.connections(req.include_closed, &args.pids))
                .await
                .map_err(|e| Status::internal(format!("taking the snapshot failed: {e}")))?;
        let chunks = conns::ConnChunks::new(conns, listening, args.chunk_size, seq);
        Ok(Response::new(Slotted::new(
            futures::stream::iter(chunks),
            slot,
        )))
    }

    type WatchEventsStream = WatchStream;

    async fn watch_events(
        &self,
        request: Request<WatchEventsRequest>,
    ) -> Result<Response<WatchStream>, Status> {
        Reached::mark(request.extensions());
        let hub = self.api.hub();
        let args = validate::watch(request.get_ref(), hub.head_seq())?;
        let slot = self.slot(&request, "WatchEvents")?;
        let stream = hub.subscribe(args.resume_after, args.kinds);
        Ok(Response::new(Slotted::new(
            stream.take_until(self.shutdown_signal()),
            slot,
        )))
    }

    async fn act(&self, request: Request<ActRequest>) -> Result<Response<ActResponse>, Status> {
        Reached::mark(request.extensions());
        // Who is asking comes from the transport, never from the request.
        let who = identify(&request);
        let role = self.api.roles().role_of(&who);
        let req = request.into_inner();
        let api = Arc::clone(&self.api);
        // The executor reads /proc and signals; the audit log fsyncs.
        tokio::task::spawn_blocking(move || {
            let responder = api.responder().ok_or_else(no_actions)?;
            responder.act(&act::Ctx(&*api), &who, role, &req)
        })
        .await
        .map_err(|e| Status::internal(format!("the action's worker failed: {e}")))?
        .map(Response::new)
    }

    type ListAuditStream = Slotted<act::AuditStream>;

    async fn list_audit(
        &self,
        request: Request<ListAuditRequest>,
    ) -> Result<Response<Self::ListAuditStream>, Status> {
        Reached::mark(request.extensions());
        let slot = self.slot(&request, "ListAudit")?;
        let who = identify(&request);
        let readable = act::Readable::of(&who, self.api.roles().role_of(&who));
        let limit = request.get_ref().limit;
        act::list_audit(Arc::clone(&self.api), limit, readable)
            .map(|stream| Response::new(Slotted::new(stream, slot)))
    }

    async fn list_flags(
        &self,
        request: Request<ListFlagsRequest>,
    ) -> Result<Response<ListFlagsResponse>, Status> {
        Reached::mark(request.extensions());
        let q = validate::flags(request.get_ref())?;
        detect::with(&*self.api, |d| d.list_flags(&q)).map(Response::new)
    }

    async fn list_traces(
        &self,
        request: Request<ListTracesRequest>,
    ) -> Result<Response<ListTracesResponse>, Status> {
        Reached::mark(request.extensions());
        let q = validate::traces(request.get_ref())?;
        detect::with(&*self.api, |d| d.list_traces(&q)).map(Response::new)
    }

    async fn list_rules(
        &self,
        request: Request<ListRulesRequest>,
    ) -> Result<Response<ListRulesResponse>, Status> {
        Reached::mark(request.extensions());
        detect::with(&*self.api, |d| ListRulesResponse { rules: d.rules() }).map(Response::new)
    }

    async fn suppress_trace(
        &self,
        request: Request<SuppressTraceRequest>,
    ) -> Result<Response<SuppressTraceResponse>, Status> {
        Reached::mark(request.extensions());
        let who = identify(&request);
        let role = self.api.roles().role_of(&who);
        let req = request.into_inner();
        let api = Arc::clone(&self.api);
        // The audit log fsyncs and the policy file is written.
        tokio::task::spawn_blocking(move || {
            let responder = api.responder().ok_or_else(no_actions)?;
            let detector = api.detector().ok_or_else(detect::off)?;
            let done = responder.suppress_trace(&act::Ctx(&*api), detector, &who, role, &req);
            // The policy written joins the registry, or its next change
            // would hand the detector a set without it.
            if let (Ok(r), Some(reg)) = (&done, api.policies()) {
                reg.lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .adopt(std::path::Path::new(&r.path));
            }
            done
        })
        .await
        .map_err(|e| Status::internal(format!("the suppression's worker failed: {e}")))?
        .map(Response::new)
    }
}

fn no_actions() -> Status {
    Status::failed_precondition("this collector takes no actions and keeps no audit log")
}

/// A snapshot cut into response messages of at most `size` processes (and
/// about [`MAX_BYTES_PER_MESSAGE`]); an empty snapshot still yields one
/// (empty, last) message.  Processes are converted as messages are taken,
/// so a client that stops reading holds the model's compact copy, not
/// every process as a message.
pub struct Chunks {
    rest: std::iter::Peekable<Snapshot>,
    size: usize,
    snapshot_seq: u64,
    done: bool,
}

impl Chunks {
    fn new(processes: Snapshot, size: usize, snapshot_seq: u64) -> Self {
        Self {
            rest: processes.peekable(),
            size: size.max(1),
            snapshot_seq,
            done: false,
        }
    }
}

impl Iterator for Chunks {
    type Item = Result<ListProcessesResponse, Status>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let mut processes = Vec::new();
        let mut bytes = 0;
        // Stop early at the byte limit too: clients reject messages over
        // 4 MiB by default and processes with long command lines add up.
        while processes.len() < self.size && bytes < MAX_BYTES_PER_MESSAGE {
            let Some(p) = self.rest.next() else { break };
            bytes += p.encoded_len();
            processes.push(p);
        }
        self.done = self.rest.peek().is_none();
        Some(Ok(ListProcessesResponse {
            processes,
            snapshot_seq: self.snapshot_seq,
            last: self.done,
        }))
    }
}

#[cfg(test)]
mod tests;
