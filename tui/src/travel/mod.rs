//! Time travel's data: the state of one host at a past instant, from
//! wherever history comes from — a collector's `History` service
//! (perch.v1, history.proto) or a recording opened with `perch replay` (a
//! Perch recording or a Spyderbat/Spydertop NDJSON file).  The console and
//! the `--at` commands only see [`TimeSource`], so every screen works the
//! same on a live collector's past and on a file.
use futures::future::BoxFuture;
use perch_proto::v1::{
    AuditRecord, Connection, Deviation, Flag, GetStateAtResponse, HostSample, ListeningSocket,
    Process, Trace,
};

/// The state at an instant, assembled from a `GetStateAt` stream (or built
/// by a recording).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StateAt {
    /// The instant the figures are of: the newest sample at or before the
    /// asked one.
    pub at_unix_ns: u64,
    /// The range the source holds when it answered.
    pub oldest_unix_ns: u64,
    pub newest_unix_ns: u64,
    pub host_name: String,
    /// The boot the state's `CLOCK_BOOTTIME` stamps count from (0: not
    /// known; the console then keeps the collector's).
    pub boot_time_unix_ns: u64,
    pub processes: Vec<Process>,
    pub connections: Vec<Connection>,
    pub listening: Vec<ListeningSocket>,
    pub flags: Vec<Flag>,
    pub traces: Vec<Trace>,
    pub host: Option<HostSample>,
    pub actions: Vec<AuditRecord>,
    /// Workload policy deviations of the hour before, as of then.
    pub deviations: Vec<Deviation>,
}

impl StateAt {
    /// Adds one chunk of a `GetStateAt` answer: the scalars come with the
    /// first chunk (a later chunk's zero/empty values do not overwrite them),
    /// rows append.
    pub fn absorb(&mut self, chunk: GetStateAtResponse) {
        if chunk.at_unix_ns != 0 {
            self.at_unix_ns = chunk.at_unix_ns;
        }
        if chunk.oldest_unix_ns != 0 {
            self.oldest_unix_ns = chunk.oldest_unix_ns;
        }
        if chunk.newest_unix_ns != 0 {
            self.newest_unix_ns = chunk.newest_unix_ns;
        }
        if chunk.boot_time_unix_ns != 0 {
            self.boot_time_unix_ns = chunk.boot_time_unix_ns;
        }
        if !chunk.host_name.is_empty() {
            self.host_name = chunk.host_name;
        }
        if chunk.host.is_some() {
            self.host = chunk.host;
        }
        self.processes.extend(chunk.processes);
        self.connections.extend(chunk.connections);
        self.listening.extend(chunk.listening);
        self.flags.extend(chunk.flags);
        self.traces.extend(chunk.traces);
        self.actions.extend(chunk.actions);
        self.deviations.extend(chunk.deviations);
    }
}

/// Why a source could not answer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    /// The instant lies outside what the source holds.
    #[error(
        "no history at that time: the store holds {oldest_unix_ns}..{newest_unix_ns} (Unix ns)"
    )]
    OutOfRange {
        oldest_unix_ns: u64,
        newest_unix_ns: u64,
    },
    /// The source cannot answer at all (history disabled or broken, the
    /// collector gone, an unreadable file).
    #[error("{0}")]
    Unavailable(String),
}

/// Where past states come from.
pub trait TimeSource: Send + Sync {
    /// What to call this source in the header ("host-a", "replay
    /// minikube-node.json.gz").
    fn name(&self) -> String;
    /// The range of instants the source can answer for now (a live
    /// collector's grows as it runs).
    fn range(&self) -> BoxFuture<'_, Result<(u64, u64), SourceError>>;
    /// The state at `at_unix_ns`; outside [`TimeSource::range`],
    /// [`SourceError::OutOfRange`] with the range held then (the console
    /// asks for the state first and clamps from that error).
    fn state_at(&self, at_unix_ns: u64) -> BoxFuture<'_, Result<StateAt, SourceError>>;
    /// As [`TimeSource::state_at`], with the state's processes handed to
    /// `parts` as they arrive instead of kept in the state, so the caller
    /// can work on them while the rest comes (the console makes its rows
    /// of the first thousand while the collector reads the next). A source
    /// that has them all at once hands them over in one part.
    fn state_at_parts<'a>(
        &'a self,
        at_unix_ns: u64,
        parts: &'a mut (dyn FnMut(Vec<Process>) + Send),
    ) -> BoxFuture<'a, Result<StateAt, SourceError>> {
        Box::pin(async move {
            let mut state = self.state_at(at_unix_ns).await?;
            parts(std::mem::take(&mut state.processes));
            Ok(state)
        })
    }
}
