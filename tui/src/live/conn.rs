//! Follows one collector for the console: connect, take a snapshot, stream
//! events; on any loss reconnect with backoff and resume from the last
//! sequence number, re-listing only when the collector cannot replay (it
//! restarted, or too much was missed).  No user action is ever needed.
//! When the console turns thread rows on or off, the stream is opened
//! again from the last sequence number with or without thread samples.
use std::time::Duration;

use perch_proto::v1::{self as pb, Event, NoticeKind, event::Kind};
use tokio::sync::{mpsc, watch};

use perch_client::{Target, connect};

use crate::console::{ConnectionState, HostId, audit::AuditPage};

/// What a follower tells the console loop.
#[derive(Debug)]
pub enum Update {
    Info(HostId, Box<pb::GetInfoResponse>),
    /// A snapshot, and how many of its exited processes were left out to
    /// stay within the console's memory for process rows.
    Snapshot(HostId, Vec<pb::Process>, u64),
    /// Connections and listening sockets, and the sequence number they
    /// are current at (taken after the process snapshot).
    Connections(HostId, Vec<pb::Connection>, Vec<pb::ListeningSocket>, u64),
    /// Flags and traces, and the collector's notable threshold.
    Detections(HostId, Vec<pb::Flag>, Vec<pb::Trace>, u32),
    Events(HostId, Vec<Event>),
    State(HostId, ConnectionState),
    /// The answer to an action the console sent (by its outbox id).
    ActResult(u64, Box<Result<pb::ActResponse, tonic::Status>>),
    /// A host's audit log, or why it could not be read.
    Audit(HostId, Result<AuditPage, String>),
    /// A host's policies, or why they could not be listed.
    Policies(HostId, Result<Vec<pb::PolicySummary>, String>),
    /// A policy the console applied (its answer in words), or why not.
    PolicyApplied(HostId, Result<String, String>),
    /// The columns were saved (where), or why not.
    Saved(Result<String, String>),
    /// A time source's answer to the console's state query.
    Time(Box<crate::console::timeline::TimeAnswer>),
}

/// Where a session stopped and how to continue.
struct Resume {
    /// Last sequence number applied.
    seq: Option<u64>,
    /// The collector instance the sequence numbers belong to (pid + boot).
    instance: Option<(u32, u64)>,
}

/// Follows `target` until the console goes away (the channel closes).
/// `budget`: bytes the snapshot's exited processes may take once decoded
/// (a share of the console's `process_memory_mib`).
pub async fn follow(
    host: HostId,
    target: Target,
    embedded: bool,
    budget: usize,
    tx: mpsc::Sender<Update>,
    mut threads: watch::Receiver<bool>,
) {
    let mut resume = Resume {
        seq: None,
        instance: None,
    };
    let mut attempt = 0u32;
    loop {
        let mut link = Link {
            host,
            target: &target,
            embedded,
            budget,
            tx: &tx,
            threads: &mut threads,
        };
        let reason = match session(&mut link, &mut resume, &mut attempt).await {
            Ok(()) => return,
            Err(reason) => reason,
        };
        attempt = attempt.saturating_add(1);
        let state = ConnectionState::Reconnecting { attempt, reason };
        if tx.send(Update::State(host, state)).await.is_err() {
            return;
        }
        tokio::time::sleep(backoff(attempt)).await;
    }
}

/// 100 ms, doubling, at most 5 s: quick after a blip, gentle when down.
fn backoff(attempt: u32) -> Duration {
    Duration::from_millis((100u64 << (attempt.clamp(1, 7) - 1)).min(5_000))
}

/// What a session talks to and for.
struct Link<'a> {
    host: HostId,
    target: &'a Target,
    embedded: bool,
    budget: usize,
    tx: &'a mpsc::Sender<Update>,
    /// Whether the console shows thread rows (and so wants their samples).
    threads: &'a mut watch::Receiver<bool>,
}

/// One connection.  `Ok` only when the console has gone away.
async fn session(
    link: &mut Link<'_>,
    resume: &mut Resume,
    attempt: &mut u32,
) -> Result<(), String> {
    let (host, target, embedded, budget, tx) =
        (link.host, link.target, link.embedded, link.budget, link.tx);
    let gone = |_| String::new();
    let mut client = connect(target).await.map_err(|e| e.to_string())?;
    let info = client
        .get_info(pb::GetInfoRequest {})
        .await
        .map_err(|e| e.message().to_owned())?
        .into_inner();
    let instance = (info.collector_pid, info.boot_time_unix_ns);
    let replayable = resume.instance == Some(instance)
        && resume
            .seq
            .is_some_and(|s| s <= info.head_seq && s.saturating_add(1) >= info.oldest_seq);
    tx.send(Update::Info(host, Box::new(info)))
        .await
        .map_err(gone)?;
    if !replayable {
        let (processes, seq, dropped) = snapshot(&mut client, budget).await?;
        tx.send(Update::Snapshot(host, processes, dropped))
            .await
            .map_err(gone)?;
        resume.seq = Some(seq);
        resume.instance = Some(instance);
        // After the processes, so every owner it names is held; the stream
        // resumes after the process snapshot, and the console skips the
        // network events this one already holds.
        if let Some((conns, listening, seq)) = connections(&mut client).await? {
            tx.send(Update::Connections(host, conns, listening, seq))
                .await
                .map_err(gone)?;
        }
        // Flag and trace events replayed from the process snapshot's
        // sequence on replace these by id, newer wins.
        if let Some((flags, traces, notable)) = detections(&mut client).await? {
            tx.send(Update::Detections(host, flags, traces, notable))
                .await
                .map_err(gone)?;
        }
    }
    let state = if embedded {
        ConnectionState::Embedded
    } else {
        ConnectionState::Connected
    };
    tx.send(Update::State(host, state)).await.map_err(gone)?;
    *attempt = 0;
    loop {
        let threads = *link.threads.borrow_and_update();
        let stream = client
            .watch_events(pb::WatchEventsRequest {
                resume_after_seq: resume.seq,
                kinds: Vec::new(),
                threads,
            })
            .await
            .map_err(|e| e.message().to_owned())?
            .into_inner();
        if !stream_events(stream, link.threads, host, resume, tx).await? {
            return Ok(());
        }
    }
}

/// Passes the stream's events on until the console changes its mind about
/// thread rows (`Ok(true)`: open the stream again from `resume`), goes
/// away (`Ok(false)`), or the stream ends (`Err`: reconnect).
async fn stream_events(
    mut stream: tonic::Streaming<pb::WatchEventsResponse>,
    threads: &mut watch::Receiver<bool>,
    host: HostId,
    resume: &mut Resume,
    tx: &mpsc::Sender<Update>,
) -> Result<bool, String> {
    let gone = |_| String::new();
    loop {
        let msg = tokio::select! {
            msg = stream.message() => match msg {
                Ok(Some(m)) => m,
                Ok(None) => return Err("the collector closed the stream".into()),
                Err(e) => return Err(e.message().to_owned()),
            },
            // The console has gone when its sender has.
            changed = threads.changed() => return Ok(changed.is_ok()),
        };
        let mut events = msg.events;
        if let Some(restart) = notice(&events) {
            match restart {
                Restart::From(seq) => resume.seq = Some(seq),
                Restart::Relist => resume.instance = None,
            }
            events.retain(|e| !matches!(e.kind, Some(Kind::Notice(_))));
            if !events.is_empty() {
                tx.send(Update::Events(host, events)).await.map_err(gone)?;
            }
            return Err("fell behind; resuming".into());
        }
        if let Some(last) = events.iter().map(|e| e.seq).max() {
            resume.seq = Some(last);
        }
        tx.send(Update::Events(host, events)).await.map_err(gone)?;
    }
}

enum Restart {
    From(u64),
    Relist,
}

/// A per-client notice that ends the stream, if the batch has one.
fn notice(events: &[Event]) -> Option<Restart> {
    events.iter().find_map(|e| match &e.kind {
        Some(Kind::Notice(n)) if n.kind() == NoticeKind::Lagged => {
            Some(Restart::From(n.resume_after_seq))
        }
        Some(Kind::Notice(n)) if n.kind() == NoticeKind::ResyncRequired => Some(Restart::Relist),
        _ => None,
    })
}

/// The whole snapshot, its sequence, and how many exited processes were
/// left out: decoded, a process costs far more than on the wire (8 KiB of
/// one-byte arguments are 4,000 strings, ~200 KiB), and a storm's worth
/// of exited ones must not all be held at once.  Past `budget` the oldest
/// exits go first (perchd lists exited processes oldest first), as the
/// console's store would drop them anyway.
async fn snapshot(
    client: &mut pb::collector_client::CollectorClient<tonic::transport::Channel>,
    budget: usize,
) -> Result<(Vec<pb::Process>, u64, u64), String> {
    let req = pb::ListProcessesRequest {
        include_exited: true,
        pids: Vec::new(),
        chunk_size: 0,
    };
    let mut chunks = client
        .list_processes(req)
        .await
        .map_err(|e| e.message().to_owned())?
        .into_inner();
    let mut live = Vec::new();
    let mut exited = std::collections::VecDeque::new();
    let (mut exited_bytes, mut dropped) = (0, 0);
    while let Some(chunk) = chunks.message().await.map_err(|e| e.message().to_owned())? {
        for p in chunk.processes {
            if p.exit.is_none() {
                live.push(p);
                continue;
            }
            exited_bytes += decoded_bytes(&p);
            exited.push_back(p);
            while exited_bytes > budget
                && let Some(old) = exited.pop_front()
            {
                exited_bytes -= decoded_bytes(&old);
                dropped += 1;
            }
        }
        if chunk.last {
            live.extend(exited);
            return Ok((live, chunk.snapshot_seq, dropped));
        }
    }
    Err("the snapshot ended early".into())
}

/// The whole connection list and its sequence; `None` from a collector
/// without `ListConnections` (older than the network contract).
async fn connections(
    client: &mut pb::collector_client::CollectorClient<tonic::transport::Channel>,
) -> Result<Option<(Vec<pb::Connection>, Vec<pb::ListeningSocket>, u64)>, String> {
    let req = pb::ListConnectionsRequest {
        include_closed: true,
        pids: Vec::new(),
        chunk_size: 0,
    };
    let mut chunks = match client.list_connections(req).await {
        Ok(r) => r.into_inner(),
        Err(e) if e.code() == tonic::Code::Unimplemented => return Ok(None),
        Err(e) => return Err(e.message().to_owned()),
    };
    let (mut conns, mut listening) = (Vec::new(), Vec::new());
    while let Some(chunk) = chunks.message().await.map_err(|e| e.message().to_owned())? {
        conns.extend(chunk.connections);
        listening.extend(chunk.listening);
        if chunk.last {
            return Ok(Some((conns, listening, chunk.snapshot_seq)));
        }
    }
    Err("the connection list ended early".into())
}

/// Every flag (excepted ones too) and trace perchd holds, and its notable
/// threshold; `None` from a collector without detections.
async fn detections(
    client: &mut pb::collector_client::CollectorClient<tonic::transport::Channel>,
) -> Result<Option<(Vec<pb::Flag>, Vec<pb::Trace>, u32)>, String> {
    // perchd's largest page: its default bounds hold fewer.
    const ALL: u32 = 10_000;
    let req = pb::ListFlagsRequest {
        limit: ALL,
        include_excepted: true,
        ..pb::ListFlagsRequest::default()
    };
    let flags = match client.list_flags(req).await {
        Ok(r) => r.into_inner().flags,
        Err(e) if e.code() == tonic::Code::Unimplemented => return Ok(None),
        Err(e) => return Err(e.message().to_owned()),
    };
    let req = pb::ListTracesRequest {
        limit: ALL,
        ..pb::ListTracesRequest::default()
    };
    let traces = client
        .list_traces(req)
        .await
        .map_err(|e| e.message().to_owned())?
        .into_inner();
    Ok(Some((flags, traces.traces, traces.notable_score)))
}

/// About what a decoded process holds: the message, and each string with
/// its allocator block (an argument also costs its `String`).
fn decoded_bytes(p: &pb::Process) -> usize {
    let block = |len: usize| {
        if len == 0 {
            0
        } else {
            (len + 8).next_multiple_of(16).max(32)
        }
    };
    let strings = [
        &p.user,
        &p.comm,
        &p.exe,
        &p.cwd,
        &p.tty,
        &p.cgroup_path,
        &p.container_id,
        &p.container_runtime,
        &p.pod_uid,
        &p.pod_namespace,
        &p.pod_name,
    ];
    size_of::<pb::Process>()
        + strings.iter().map(|s| block(s.len())).sum::<usize>()
        + block(p.argv.len() * size_of::<String>())
        + p.argv.iter().map(|a| block(a.len())).sum::<usize>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_caps() {
        assert_eq!(backoff(1), Duration::from_millis(100));
        assert_eq!(backoff(2), Duration::from_millis(200));
        assert_eq!(backoff(30), Duration::from_secs(5));
        assert!((1..100).all(|a| backoff(a) <= Duration::from_secs(5)));
    }
}
