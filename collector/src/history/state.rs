//! The state at an instant, read from the store: processes with their
//! usage then, connections, listening sockets, flags, traces, host meters,
//! actions and deviations.  Everything but the processes is read first and
//! the processes are handed on one by one as they are read, so that an
//! answer's first messages go out while the rest is still being read.
use std::ops::Range;

use perch_proto::v1::{
    AuditRecord, Connection as PbConnection, Deviation, EncodedProcess, Event, Flag, HostSample,
    ListeningSocket, Process, Trace, event::Kind,
};
use prost::Message as _;
use rusqlite::{Connection, OptionalExtension as _, params};

use super::splice::{Found, Samples, spliced};
use super::wire;
use super::{
    History, QueryError, batch,
    schema::{KIND_DEVIATION, KIND_HOST_SAMPLE, KIND_PROCESS_SAMPLES},
    sql, unsql,
    write::KEYFRAME_NS,
};

/// Flags and actions raised this long before the instant are part of its
/// state (the console's flag and action lists).
const RECENT_NS: u64 = 3_600 * perch_proto::NS_PER_SEC;
/// At most this many flags, traces or actions in one state.
const MAX_ROWS: u32 = 10_000;

/// `GetStateAt`, checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StateQuery {
    pub at_unix_ns: u64,
}

/// The state at an instant.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct State {
    /// The newest sample at or before the instant.
    pub at_unix_ns: u64,
    pub oldest_unix_ns: u64,
    pub newest_unix_ns: u64,
    /// As stored, with their usage then spliced in (see [`spliced`]).
    pub processes: Vec<EncodedProcess>,
    pub connections: Vec<PbConnection>,
    pub listening: Vec<ListeningSocket>,
    pub flags: Vec<Flag>,
    pub traces: Vec<Trace>,
    pub host: Option<HostSample>,
    pub actions: Vec<AuditRecord>,
    /// Deviations sighted in the last hour, each as of its latest sighting.
    pub deviations: Vec<Deviation>,
}

impl State {
    /// The processes decoded (tests and in-process readers; the server
    /// sends them as they are).
    ///
    /// # Errors
    /// A stored process does not decode.
    pub fn decoded_processes(&self) -> Result<Vec<Process>, prost::DecodeError> {
        self.processes.iter().map(EncodedProcess::decode).collect()
    }
}

/// Where a state goes as it is read: [`head`](Self::head) once, with
/// everything but the processes, then each process.  A `false` from
/// either stops the read (whoever asked has gone).
pub trait StateSink {
    fn head(&mut self, state: State) -> bool;
    fn process(&mut self, process: EncodedProcess) -> bool;
}

/// The whole state in memory.
impl StateSink for Option<State> {
    fn head(&mut self, state: State) -> bool {
        *self = Some(state);
        true
    }

    fn process(&mut self, process: EncodedProcess) -> bool {
        if let Some(s) = self {
            s.processes.push(process);
        }
        true
    }
}

impl History {
    /// The state at `q.at_unix_ns`.
    pub fn state_at(&self, q: StateQuery) -> Result<State, QueryError> {
        let mut state = None;
        self.state_into(q, &mut state)?;
        Ok(state.unwrap_or_default())
    }

    /// The state at `q.at_unix_ns` into `sink`, the processes as they are
    /// read.  An error after the head leaves the sink with part of them.
    pub fn state_into(&self, q: StateQuery, sink: &mut impl StateSink) -> Result<(), QueryError> {
        let conn = self.reader()?;
        let (oldest, newest) = self.range();
        let at = q.at_unix_ns;
        if oldest == 0 || at < oldest || at > newest {
            return Err(QueryError::OutOfRange { oldest, newest });
        }
        let (head, usage) = head_at(&conn, at)?;
        let head = State {
            oldest_unix_ns: oldest,
            newest_unix_ns: newest,
            ..head
        };
        if sink.head(head) {
            processes_at(&conn, at, self.exited_retention_ns, &usage, sink)?;
        }
        Ok(())
    }
}

/// Process versions alive at `at`, and those that exited within
/// `retention` before it, each with its sample from `usage` spliced in,
/// into `sink` until it says stop.
fn processes_at(
    conn: &Connection,
    at: u64,
    retention: u64,
    usage: &Samples,
    sink: &mut impl StateSink,
) -> Result<(), QueryError> {
    let since = at.saturating_sub(retention);
    let mut stmt = conn.prepare_cached(
        "SELECT blob, valid_to, exit_ns, pid FROM processes WHERE valid_to > ?1 AND valid_from <= ?2 \
         UNION ALL \
         SELECT blob, valid_to, exit_ns, pid FROM processes WHERE valid_to IS NULL AND valid_from <= ?2",
    )?;
    let mut rows = stmt.query(params![sql(since), sql(at)])?;
    let mut scratch = Vec::new();
    let mut arena = bytes::BytesMut::new();
    while let Some(row) = rows.next()? {
        let valid_to: Option<i64> = row.get(1)?;
        let exit_ns: Option<i64> = row.get(2)?;
        let (valid_to, exit_ns) = (valid_to.map(unsql), exit_ns.map(unsql));
        let ended = valid_to.is_some_and(|v| v <= at);
        if ended && exit_ns.is_none() {
            // Replaced by a later version (exec) or the run ended: not an exit.
            continue;
        }
        let pid = row.get(3)?;
        let found = Found {
            // Alive then: its exit came later.
            alive: !ended,
            // Borrowed from the row: spliced without a copy of its own.
            blob: row.get_ref(0)?.as_blob().map_err(rusqlite::Error::from)?,
        };
        if !sink.process(spliced(&found, usage.get(pid), &mut scratch, &mut arena)?) {
            return Ok(());
        }
    }
    // The versions that opened and closed within a batch, by the same
    // rule: those replaced by `at` are not part of the state.
    let keep = |from: u64, to: u64, exited: bool| from <= at && to > since && (exited || to > at);
    batch::each_overlapping(conn, since.saturating_add(1), at, |_, events| {
        for closed in batch::closed_within(&events, keep)? {
            let pid = closed.process.key.map_or(0, |k| k.pid);
            let found = Found {
                alive: closed.to > at,
                blob: &closed.process.encode_to_vec(),
            };
            if !sink.process(spliced(&found, usage.get(pid), &mut scratch, &mut arena)?) {
                return Ok(false);
            }
        }
        Ok(true)
    })?;
    Ok(())
}

/// `Event.process_samples` (collector.proto).
const EVENT_PROCESS_SAMPLES: u32 = 14;

/// Where an event's `ProcessSamples` lies in its encoding, if it has one.
fn samples_in(event: &[u8]) -> Result<Option<Range<usize>>, prost::DecodeError> {
    let mut rest = event;
    let mut found = None;
    while !rest.is_empty() {
        let f = wire::next(&mut rest)?;
        if f.tag == EVENT_PROCESS_SAMPLES {
            found = Some(wire::body_range(event, rest, &f));
        }
    }
    Ok(found)
}

/// Usage of every process as of `at` (the last keyframe and the deltas
/// after it, kept as stored), and the time of the newest of them.
fn usage_at(conn: &Connection, at: u64) -> Result<(Samples, u64), QueryError> {
    let frame: Option<(i64, Vec<u8>)> = conn
        .prepare_cached(
            "SELECT unix_ns, blob FROM keyframes WHERE unix_ns <= ?1 ORDER BY unix_ns DESC LIMIT 1",
        )?
        .query_row([sql(at)], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let mut usage = Samples::default();
    let mut newest = 0;
    let since = match frame {
        Some((t, blob)) => {
            // A keyframe is a `ProcessSamples`.
            let all = 0..blob.len();
            usage.add(blob, all)?;
            newest = unsql(t);
            unsql(t)
        }
        None => at.saturating_sub(2 * KEYFRAME_NS),
    };
    // The kind written into the statement: its partial index is used only
    // for a literal (a bound parameter does not imply the index's WHERE).
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT unix_ns, blob FROM events WHERE kind = {KIND_PROCESS_SAMPLES} \
         AND unix_ns > ?1 AND unix_ns <= ?2 ORDER BY unix_ns"
    ))?;
    let mut rows = stmt.query(params![sql(since), sql(at)])?;
    while let Some(row) = rows.next()? {
        let blob: Vec<u8> = row.get(1)?;
        if let Some(range) = samples_in(&blob)? {
            newest = unsql(row.get(0)?);
            usage.add(blob, range)?;
        }
    }
    Ok((usage, newest))
}

/// Everything of the state at `at` but its processes, and the usage to
/// splice into them.
fn head_at(conn: &Connection, at: u64) -> Result<(State, Samples), QueryError> {
    let (usage, usage_t) = usage_at(conn, at)?;
    let host: Option<(i64, Vec<u8>)> = conn
        .prepare_cached(&format!(
            "SELECT unix_ns, blob FROM events WHERE kind = {KIND_HOST_SAMPLE} AND unix_ns <= ?1 \
             ORDER BY unix_ns DESC LIMIT 1"
        ))?
        .query_row(params![sql(at)], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let (host_t, host) = match host {
        Some((t, blob)) => match Event::decode(blob.as_slice())?.kind {
            Some(Kind::HostSample(h)) => (unsql(t), Some(h)),
            _ => (unsql(t), None),
        },
        None => (0, None),
    };
    let mut connections = Vec::new();
    let mut listening = Vec::new();
    for (is_listening, blob) in valid_at(conn, "net", "listening", at)? {
        if is_listening != 0 {
            listening.push(ListeningSocket::decode(blob.as_slice())?);
        } else {
            connections.push(PbConnection::decode(blob.as_slice())?);
        }
    }
    let traces = valid_at(conn, "traces", "0", at)?
        .into_iter()
        .map(|(_, b)| Trace::decode(b.as_slice()))
        .collect::<Result<_, _>>()?;
    let since = at.saturating_sub(RECENT_NS);
    let flags = recent(conn, "flags", since, at)?
        .iter()
        .map(|b| Flag::decode(b.as_slice()))
        .collect::<Result<_, _>>()?;
    let actions = recent(conn, "actions", since, at)?
        .iter()
        .map(|b| AuditRecord::decode(b.as_slice()))
        .collect::<Result<_, _>>()?;
    let deviations = deviations_at(conn, since, at)?;
    let sampled = usage_t.max(host_t);
    let head = State {
        at_unix_ns: if sampled == 0 { at } else { sampled },
        connections,
        listening,
        flags,
        traces,
        host,
        actions,
        deviations,
        ..State::default()
    };
    Ok((head, usage))
}

/// The deviations sighted in `(since, at]`, each as of its latest sighting
/// (a deviation is published again, count grown, at every sighting), in
/// the order of those sightings.
fn deviations_at(conn: &Connection, since: u64, at: u64) -> Result<Vec<Deviation>, QueryError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT blob FROM events WHERE kind = {KIND_DEVIATION} AND unix_ns > ?1 AND unix_ns <= ?2 \
         ORDER BY unix_ns, seq LIMIT {MAX_ROWS}"
    ))?;
    let mut rows = stmt.query(params![sql(since), sql(at)])?;
    let mut sightings: Vec<Deviation> = Vec::new();
    while let Some(row) = rows.next()? {
        let blob: Vec<u8> = row.get(0)?;
        if let Some(Kind::Deviation(raised)) = Event::decode(blob.as_slice())?.kind {
            sightings.extend(raised.deviation);
        }
    }
    // Newest first, the first of each id kept, then back to oldest first.
    let mut seen = std::collections::HashSet::new();
    let mut latest: Vec<Deviation> = sightings
        .into_iter()
        .rev()
        .filter(|d| seen.insert(d.id.clone()))
        .collect();
    latest.reverse();
    Ok(latest)
}

/// `(extra column, blob)` of the versions in `table` valid at `at`.
fn valid_at(
    conn: &Connection,
    table: &str,
    extra: &str,
    at: u64,
) -> Result<Vec<(i64, Vec<u8>)>, QueryError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {extra}, blob FROM {table} WHERE valid_to > ?1 AND valid_from <= ?1 \
         UNION ALL SELECT {extra}, blob FROM {table} WHERE valid_to IS NULL AND valid_from <= ?1 \
         LIMIT {MAX_ROWS}"
    ))?;
    let rows = stmt.query_map([sql(at)], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Blobs of `table` rows in `(since, at]`, oldest first.
fn recent(conn: &Connection, table: &str, since: u64, at: u64) -> Result<Vec<Vec<u8>>, QueryError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT blob FROM (SELECT unix_ns, blob FROM {table} WHERE unix_ns > ?1 AND unix_ns <= ?2 \
         ORDER BY unix_ns DESC LIMIT {MAX_ROWS}) ORDER BY unix_ns"
    ))?;
    let rows = stmt.query_map(params![sql(since), sql(at)], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}
