//! Questions to the store by time: the state at an instant (processes with
//! their usage then, connections, listening sockets, flags, traces, host
//! meters, actions) and the events in a range.
use std::ops::Range;

use perch_proto::v1::{
    AuditRecord, Connection as PbConnection, Deviation, EncodedProcess, Event, Flag, HostSample,
    ListeningSocket, Process, StoredEvent, Trace, event::Kind,
};
use prost::Message as _;
use rusqlite::{Connection, OptionalExtension as _, params};

use super::splice::{Found, Samples, spliced};
use super::wire;
use super::{
    History, HistoryError, Unavailable, batch,
    schema::{KIND_DEVIATION, KIND_HOST_SAMPLE, KIND_PROCESS_SAMPLES, kept_in_rows},
    sql, unsql,
    write::KEYFRAME_NS,
    write::event_pid,
};
use perch_proto::v1::EventKind;

use crate::hub::event_kind;

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

/// `ListHistory`, checked.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListQuery {
    pub from_unix_ns: u64,
    /// Exclusive.
    pub to_unix_ns: u64,
    /// Empty: every stored kind.
    pub kinds: Vec<EventKind>,
    /// Empty: every pid.
    pub pids: Vec<u32>,
    pub limit: u32,
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

/// Why a question has no answer.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error(transparent)]
    Unavailable(#[from] Unavailable),
    /// The instant lies outside `oldest..=newest`.
    #[error("outside the stored range")]
    OutOfRange { oldest: u64, newest: u64 },
    #[error(transparent)]
    Store(#[from] HistoryError),
}

impl From<rusqlite::Error> for QueryError {
    fn from(e: rusqlite::Error) -> Self {
        Self::Store(e.into())
    }
}

impl From<prost::DecodeError> for QueryError {
    fn from(e: prost::DecodeError) -> Self {
        Self::Store(e.into())
    }
}

impl History {
    /// The state at `q.at_unix_ns`.
    pub fn state_at(&self, q: StateQuery) -> Result<State, QueryError> {
        let conn = self.reader()?;
        let (oldest, newest) = self.range();
        let at = q.at_unix_ns;
        if oldest == 0 || at < oldest || at > newest {
            return Err(QueryError::OutOfRange { oldest, newest });
        }
        state_at(&conn, at, self.exited_retention_ns).map(|mut s| {
            s.oldest_unix_ns = oldest;
            s.newest_unix_ns = newest;
            s
        })
    }

    /// The stored events in `q`'s range, oldest first, and whether the
    /// limit cut them short.
    pub fn list(&self, q: &ListQuery) -> Result<(Vec<StoredEvent>, bool), QueryError> {
        let conn = self.reader()?;
        list(&conn, q)
    }
}

/// Process versions alive at `at`, and those that exited within
/// `retention` before it, each with its sample from `usage` spliced in.
fn processes_at(
    conn: &Connection,
    at: u64,
    retention: u64,
    usage: &Samples,
) -> Result<Vec<EncodedProcess>, QueryError> {
    let since = at.saturating_sub(retention);
    let mut stmt = conn.prepare_cached(
        "SELECT blob, valid_to, exit_ns, pid FROM processes WHERE valid_to > ?1 AND valid_from <= ?2 \
         UNION ALL \
         SELECT blob, valid_to, exit_ns, pid FROM processes WHERE valid_to IS NULL AND valid_from <= ?2",
    )?;
    let mut rows = stmt.query(params![sql(since), sql(at)])?;
    let mut out = Vec::new();
    let mut scratch = Vec::new();
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
        out.push(spliced(&found, usage.get(pid), &mut scratch)?);
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
            out.push(spliced(&found, usage.get(pid), &mut scratch)?);
        }
        Ok(true)
    })?;
    Ok(out)
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

fn state_at(conn: &Connection, at: u64, retention: u64) -> Result<State, QueryError> {
    let (usage, usage_t) = usage_at(conn, at)?;
    let processes = processes_at(conn, at, retention, &usage)?;
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
    Ok(State {
        at_unix_ns: if sampled == 0 { at } else { sampled },
        processes,
        connections,
        listening,
        flags,
        traces,
        host,
        actions,
        deviations,
        ..State::default()
    })
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

fn list(conn: &Connection, q: &ListQuery) -> Result<(Vec<StoredEvent>, bool), QueryError> {
    // Integers only, so writing them into the statement is safe.
    let ints = |v: Vec<String>| v.join(",");
    let mut sql_text =
        "SELECT unix_ns, blob, seq FROM events WHERE unix_ns >= ?1 AND unix_ns < ?2".to_owned();
    if !q.kinds.is_empty() {
        let kinds = ints(q.kinds.iter().map(|k| i32::from(*k).to_string()).collect());
        sql_text.push_str(" AND kind IN (");
        sql_text.push_str(&kinds);
        sql_text.push(')');
    }
    if !q.pids.is_empty() {
        let pids = ints(q.pids.iter().map(ToString::to_string).collect());
        sql_text.push_str(" AND pid IN (");
        sql_text.push_str(&pids);
        sql_text.push(')');
    }
    sql_text.push_str(" ORDER BY unix_ns, seq LIMIT ?3");
    let mut stmt = conn.prepare(&sql_text)?;
    let mut rows = stmt.query(params![
        sql(q.from_unix_ns),
        sql(q.to_unix_ns),
        i64::from(q.limit) + 1
    ])?;
    let limit = q.limit as usize;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let blob: Vec<u8> = row.get(1)?;
        let mut event = Event::decode(blob.as_slice())?;
        event.seq = unsql(row.get(2)?);
        out.push(StoredEvent {
            unix_ns: unsql(row.get(0)?),
            event: Some(event),
        });
    }
    let mut batched = batched_events(conn, q)?;
    out.append(&mut batched);
    out.sort_by_key(|e| (e.unix_ns, e.event.as_ref().map_or(0, |e| e.seq)));
    let truncated = out.len() > limit;
    out.truncate(limit);
    Ok((out, truncated))
}

/// The events in `q`'s range kept in batches, oldest first: at least the
/// first `q.limit + 1` of them when there are that many (the batches are
/// read by their first instant, so none read later can hold an earlier
/// event than the limit's).
fn batched_events(conn: &Connection, q: &ListQuery) -> Result<Vec<StoredEvent>, QueryError> {
    let limit = q.limit as usize;
    // The kinds kept in `events` rows are never in a batch.
    if !q.kinds.is_empty() && q.kinds.iter().all(|k| kept_in_rows(i32::from(*k))) {
        return Ok(Vec::new());
    }
    let by_time = |e: &StoredEvent| (e.unix_ns, e.event.as_ref().map_or(0, |e| e.seq));
    let mut out: Vec<StoredEvent> = Vec::new();
    let to = q.to_unix_ns.saturating_sub(1);
    batch::each_overlapping(conn, q.from_unix_ns, to, |first, events| {
        if out.len() > limit {
            out.sort_by_key(by_time);
            out.truncate(limit + 1);
            if out.last().is_some_and(|e| e.unix_ns < first) {
                return Ok(false);
            }
        }
        for stored in events {
            if stored.unix_ns < q.from_unix_ns || stored.unix_ns >= q.to_unix_ns {
                continue;
            }
            let event = stored.decode_event()?;
            let kind_ok =
                q.kinds.is_empty() || event_kind(&event).is_some_and(|k| q.kinds.contains(&k));
            let pid_ok =
                q.pids.is_empty() || q.pids.contains(&event.kind.as_ref().map_or(0, event_pid));
            if kind_ok && pid_ok {
                out.push(StoredEvent {
                    unix_ns: stored.unix_ns,
                    event: Some(event),
                });
            }
        }
        Ok(true)
    })?;
    Ok(out)
}
