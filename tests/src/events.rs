//! Reading what a collector says: `GetInfo`, the whole `ListProcesses`
//! snapshot, and a `WatchEvents` stream gathered into a `Vec` until a
//! condition holds.  Plus small lookups over gathered events, so tests can
//! pick out the processes they spawned by pid.
#![expect(
    clippy::expect_used,
    clippy::panic,
    reason = "test support: a broken fixture or environment should fail the test loudly"
)]
use std::time::Duration;

use perch_proto::v1::{
    self as pb, Event, Exit, Notice, NoticeKind, Process, ProcessExit, ProcessFork, ProcessKey,
    collector_client::CollectorClient, event::Kind,
};
use tokio::time::Instant;
use tonic::{Status, Streaming, transport::Channel};

pub type Client = CollectorClient<Channel>;

/// How long a test waits for something the collector should report.  A
/// bound on waiting, never a measured expectation.
pub const WAIT: Duration = Duration::from_secs(15);

/// A perchd started with `args`, checked to be in eBPF mode, a client of
/// it, and a watch of `kinds` (every kind when empty) from its head.
pub async fn ebpf_watch(
    args: &[&str],
    kinds: &[pb::EventKind],
) -> (crate::Perchd, Client, EventLog) {
    let perchd = crate::Perchd::start(args).await;
    let mut client = perchd.client().await.expect("connect");
    let start = info(&mut client).await;
    assert_eq!(
        start.mode(),
        pb::CollectorMode::Ebpf,
        "{}",
        start.mode_reason
    );
    let log = EventLog::watch(&mut client, Some(start.head_seq), kinds)
        .await
        .expect("WatchEvents");
    (perchd, client, log)
}

/// `GetInfo`, panicking on an RPC error.
pub async fn info(client: &mut Client) -> pb::GetInfoResponse {
    client
        .get_info(pb::GetInfoRequest {})
        .await
        .expect("GetInfo")
        .into_inner()
}

/// `GetInfo.history`: the collector's history store as it reports it.
pub async fn history_info(perchd: &crate::Perchd) -> pb::HistoryInfo {
    let mut client = perchd.client().await.expect("connect");
    info(&mut client).await.history.expect("GetInfo.history")
}

/// Waits until `perchd`'s history store has written everything up to
/// `unix_ns` (its batches reach the disk about once a second); returns the
/// newest instant it holds then.
pub async fn stored_until(perchd: &crate::Perchd, unix_ns: u64) -> u64 {
    let deadline = Instant::now() + 2 * WAIT;
    loop {
        let newest = history_info(perchd).await.newest_unix_ns;
        if newest >= unix_ns {
            return newest;
        }
        assert!(
            Instant::now() < deadline,
            "the store never reached {unix_ns} (newest {newest})"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The whole `ListProcesses` snapshot and its `snapshot_seq`.  Checks the
/// chunking contract on the way: every chunk carries the same
/// `snapshot_seq`, and only the final one is `last`.
pub async fn list_processes(
    client: &mut Client,
    include_exited: bool,
    pids: &[u32],
) -> Result<(Vec<Process>, u64), Status> {
    let mut chunks = client
        .list_processes(pb::ListProcessesRequest {
            include_exited,
            pids: pids.to_vec(),
            chunk_size: 0,
        })
        .await?
        .into_inner();
    let mut all = Vec::new();
    let mut seq = None;
    while let Some(chunk) = chunks.message().await? {
        let first = *seq.get_or_insert(chunk.snapshot_seq);
        assert_eq!(chunk.snapshot_seq, first, "chunks disagree on snapshot_seq");
        all.extend(chunk.processes);
        if chunk.last {
            assert!(chunks.message().await?.is_none(), "a chunk after `last`");
            return Ok((all, first));
        }
    }
    panic!("ListProcesses ended without a `last` chunk");
}

/// The live process `pid` from `ListProcesses`, which must list it.
pub async fn listed(client: &mut Client, wanted: u32) -> Process {
    let (procs, _) = list_processes(client, false, &[wanted])
        .await
        .expect("ListProcesses");
    procs
        .into_iter()
        .find(|p| pid(p) == wanted)
        .unwrap_or_else(|| panic!("pid {wanted} is not listed"))
}

/// One `WatchEvents` stream and everything read from it so far.
pub struct EventLog {
    stream: Streaming<pb::WatchEventsResponse>,
    pub events: Vec<Event>,
    /// How many response messages carried them.
    pub messages: usize,
    /// Why the stream stopped, once it has: `Ok` for a clean end.
    pub ended: Option<Result<(), Status>>,
}

impl EventLog {
    /// Opens the stream; the call's own refusal (`INVALID_ARGUMENT` ...) is
    /// returned as is.
    pub async fn watch(
        client: &mut Client,
        resume_after_seq: Option<u64>,
        kinds: &[pb::EventKind],
    ) -> Result<Self, Status> {
        let req = pb::WatchEventsRequest {
            resume_after_seq,
            kinds: kinds.iter().map(|k| i32::from(*k)).collect(),
            threads: false,
        };
        Self::watch_with(client, req).await
    }

    /// Opens the stream with any request (e.g. `threads`).
    pub async fn watch_with(
        client: &mut Client,
        req: pb::WatchEventsRequest,
    ) -> Result<Self, Status> {
        let stream = client.watch_events(req).await?.into_inner();
        Ok(Self {
            stream,
            events: Vec::new(),
            messages: 0,
            ended: None,
        })
    }

    /// Reads until `done(events)` holds, the stream ends, or `timeout`
    /// passes; says whether `done` held.
    pub async fn until(
        &mut self,
        timeout: Duration,
        mut done: impl FnMut(&[Event]) -> bool,
    ) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if done(&self.events) {
                return true;
            }
            if self.ended.is_some() {
                return false;
            }
            match tokio::time::timeout_at(deadline, self.stream.message()).await {
                Err(_) => return false,
                Ok(Ok(Some(msg))) => {
                    self.messages += 1;
                    self.events.extend(msg.events);
                }
                Ok(Ok(None)) => self.ended = Some(Ok(())),
                Ok(Err(status)) => self.ended = Some(Err(status)),
            }
        }
    }

    /// Reads until the stream ends (or `timeout` passes); says whether it ended.
    pub async fn until_end(&mut self, timeout: Duration) -> bool {
        self.until(timeout, |_| false).await;
        self.ended.is_some()
    }
}

/// Equal keys: same pid, same start at clock-tick granularity.
#[must_use]
pub fn same_key(a: &ProcessKey, b: &ProcessKey) -> bool {
    a.pid == b.pid && perch_proto::same_start_time(a.start_time_ns, b.start_time_ns)
}

/// A process's key (a default, all-zero key if the collector left it out).
#[must_use]
pub fn key(p: &Process) -> ProcessKey {
    p.key.unwrap_or_default()
}

#[must_use]
pub fn pid(p: &Process) -> u32 {
    key(p).pid
}

/// Exec events as (event, process).
pub fn execs(events: &[Event]) -> impl Iterator<Item = (&Event, &Process)> {
    events.iter().filter_map(|e| match &e.kind {
        Some(Kind::Exec(x)) => x.process.as_ref().map(|p| (e, p)),
        _ => None,
    })
}

/// The first exec whose process matches.
pub fn find_exec(events: &[Event], f: impl Fn(&Process) -> bool) -> Option<(&Event, &Process)> {
    execs(events).find(|(_, p)| f(p))
}

/// The first fork whose child has this pid.
#[must_use]
pub fn find_fork(events: &[Event], child_pid: u32) -> Option<(&Event, &ProcessFork)> {
    events.iter().find_map(|e| match &e.kind {
        Some(Kind::Fork(f)) if f.child.as_ref().is_some_and(|c| pid(c) == child_pid) => {
            Some((e, f))
        }
        _ => None,
    })
}

/// The exit of the process with this key.
#[must_use]
pub fn find_exit<'a>(events: &'a [Event], k: &ProcessKey) -> Option<(&'a Event, &'a Exit)> {
    events.iter().find_map(|e| match &e.kind {
        Some(Kind::Exit(ProcessExit {
            key: Some(ek),
            exit: Some(x),
        })) if same_key(ek, k) => Some((e, x)),
        _ => None,
    })
}

/// Per-client notices (sequence 0).
pub fn notices(events: &[Event]) -> impl Iterator<Item = &Notice> {
    events.iter().filter_map(|e| match &e.kind {
        Some(Kind::Notice(n)) => Some(n),
        _ => None,
    })
}

/// The last event, if it is a notice of this kind.
#[must_use]
pub fn ends_with_notice(events: &[Event], kind: NoticeKind) -> Option<&Notice> {
    match events.last().and_then(|e| e.kind.as_ref()) {
        Some(Kind::Notice(n)) if n.kind == i32::from(kind) => Some(n),
        _ => None,
    }
}

/// The sequence numbers of the non-notice events, in stream order.
#[must_use]
pub fn seqs(events: &[Event]) -> Vec<u64> {
    events
        .iter()
        .filter(|e| !matches!(e.kind, Some(Kind::Notice(_))))
        .map(|e| e.seq)
        .collect()
}

/// Asserts `seqs` are consecutive (each one more than the previous) and
/// start right after `after` when given.
pub fn assert_contiguous(seqs: &[u64], after: Option<u64>) {
    if let (Some(after), Some(first)) = (after, seqs.first()) {
        assert_eq!(*first, after + 1, "first seq does not follow {after}");
    }
    for w in seqs.windows(2) {
        assert_eq!(
            w[1],
            w[0] + 1,
            "gap or disorder between seqs {} and {}",
            w[0],
            w[1]
        );
    }
}
