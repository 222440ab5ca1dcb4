//! Questions to the store by time: the events in a range (the state at
//! an instant is in `state.rs`), and why a question has no answer.
use perch_proto::v1::{Event, EventKind, StoredEvent};
use prost::Message as _;
use rusqlite::{Connection, params};

use super::{
    History, HistoryError, Unavailable, batch, schema::kept_in_rows, sql, unsql, write::event_pid,
};
use crate::hub::event_kind;

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
    /// The stored events in `q`'s range, oldest first, and whether the
    /// limit cut them short.
    pub fn list(&self, q: &ListQuery) -> Result<(Vec<StoredEvent>, bool), QueryError> {
        let conn = self.reader()?;
        list(&conn, q)
    }
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
