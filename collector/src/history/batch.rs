//! A writer batch's events, stored as one row: the blob is the events as
//! `perch.v1.ListHistoryResponse.events` (a run of `StoredEvent`), copied
//! from the encoding the hub already made, with the batch's first and last
//! instants as indexed columns.  One row per batch instead of one per event
//! (and per process version) is what keeps the store's cost near nothing
//! next to the event path's.
//!
//! Process versions that opened and closed within a batch (a short-lived
//! process's fork, exec and exit) are not written anywhere else: the state
//! query rebuilds them from the batch ([`closed_within`]), applying the same
//! rule the writer used ([`super::versions::Opened`]).
use std::collections::HashMap;

use perch_proto::v1::{EncodedEvent, Event, Process, event::Kind};
use prost::Message as _;
use prost::bytes::Bytes;
use rusqlite::{Connection, Transaction, params};

use super::{HistoryError, head, sql, unsql, versions::opened_process};

/// A batch's events are cut into rows of about this many bytes: the size
/// bound drops whole rows, so one must be small next to the smallest bound
/// (1 MiB).
pub const ROW_BYTES: usize = 64 << 10;

/// `batches.codec`: the blob as is, or LZ4 with its length in front.
const CODEC_PLAIN: i64 = 0;
const CODEC_LZ4: i64 = 1;
/// A row is cut once it holds `ROW_BYTES`, so it is that plus one event
/// (at most the hub's message size) at most; a length past this is a
/// damaged row, refused before anything is allocated for it.
const MAX_ROW_BYTES: usize = 16 << 20;

/// A row's blob as the message it holds.
fn unpack(codec: i64, blob: Vec<u8>) -> Result<Bytes, HistoryError> {
    match codec {
        CODEC_PLAIN => Ok(Bytes::from(blob)),
        CODEC_LZ4 => {
            let len = blob
                .first_chunk::<4>()
                .map(|b| u32::from_le_bytes(*b) as usize)
                .ok_or_else(|| HistoryError::Unpack("no length".into()))?;
            if len > MAX_ROW_BYTES {
                return Err(HistoryError::Unpack(format!(
                    "length {len} is over {MAX_ROW_BYTES}"
                )));
            }
            lz4_flex::block::decompress_size_prepended(&blob)
                .map(Bytes::from)
                .map_err(|e| HistoryError::Unpack(e.to_string()))
        }
        other => Err(HistoryError::Unpack(format!("unknown codec {other}"))),
    }
}

/// The events of the row being written.  One lives as long as the writer:
/// its buffers are reused row after row (allocated anew, each would be
/// mapped and unmapped every row: perchd maps blocks of 64 KiB or more on
/// their own).
#[derive(Default)]
pub struct Batch {
    blob: Vec<u8>,
    packed: Vec<u8>,
    first: u64,
    last: u64,
}

impl Batch {
    /// Adds `e`, stored at `t` (Unix ns).
    pub fn push(&mut self, e: &EncodedEvent, t: u64) {
        if self.blob.is_empty() {
            self.first = t;
            self.last = t;
        }
        self.first = self.first.min(t);
        self.last = self.last.max(t);
        e.encode_stored(t, &mut self.blob);
    }

    /// Whether it holds a row's worth.
    pub fn full(&self) -> bool {
        self.blob.len() >= ROW_BYTES
    }

    /// Writes the batch's row (nothing when it holds no event),
    /// compressed: a storm's events repeat paths, names and keys, and the
    /// bytes not written (to the log, then again at the checkpoint) cost
    /// more than compressing them.
    /// Empty afterwards, ready for the next row.
    pub fn write(&mut self, tx: &Transaction<'_>) -> Result<(), HistoryError> {
        if self.blob.is_empty() {
            return Ok(());
        }
        // compress_prepend_size's layout, into the reused buffer.
        let len = u32::try_from(self.blob.len())
            .map_err(|_| HistoryError::Unpack("a row over 4 GiB".into()))?;
        self.packed.clear();
        self.packed.extend_from_slice(&len.to_le_bytes());
        self.packed.resize(
            4 + lz4_flex::block::get_maximum_output_size(self.blob.len()),
            0,
        );
        let n = lz4_flex::block::compress_into(
            &self.blob,
            self.packed.get_mut(4..).unwrap_or_default(),
        )
        .map_err(|e| HistoryError::Unpack(e.to_string()))?;
        self.packed.truncate(4 + n);
        tx.prepare_cached(
            "INSERT INTO batches (first_ns, last_ns, codec, blob) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![
            sql(self.first),
            sql(self.last),
            CODEC_LZ4,
            self.packed.as_slice()
        ])?;
        self.blob.clear();
        // An argv storm's row can grow far past a row's size: not kept.
        if self.blob.capacity() > 4 * ROW_BYTES {
            self.blob = Vec::new();
            self.packed = Vec::new();
        }
        Ok(())
    }
}

/// `ListHistoryResponse` with each event left encoded: a batch is read
/// without decoding the events the question does not need.
#[derive(Clone, PartialEq, prost::Message)]
struct BatchView {
    #[prost(message, repeated, tag = "1")]
    events: Vec<StoredView>,
}

/// `StoredEvent` with its event left encoded.
#[derive(Clone, PartialEq, prost::Message)]
pub struct StoredView {
    #[prost(uint64, tag = "1")]
    pub unix_ns: u64,
    #[prost(bytes = "bytes", tag = "2")]
    pub event: Bytes,
}

impl StoredView {
    pub fn decode_event(&self) -> Result<Event, prost::DecodeError> {
        Event::decode(self.event.clone())
    }
}

/// The batches with an event in `?1..=?2`.  The covering index on
/// (`last_ns`, `first_ns`) answers the filter; only the rows it picks are
/// read.
pub const OVERLAPPING: &str = "SELECT first_ns, codec, blob FROM batches WHERE rowid IN \
     (SELECT rowid FROM batches WHERE last_ns >= ?1 AND first_ns <= ?2) ORDER BY first_ns";

/// Hands `f` the events of every batch with an event in `from..=to`
/// (each batch in sequence order), batches by their first instant, with
/// that instant, until `f` says it has enough (false).
pub fn each_overlapping(
    conn: &Connection,
    from: u64,
    to: u64,
    mut f: impl FnMut(u64, Vec<StoredView>) -> Result<bool, HistoryError>,
) -> Result<(), HistoryError> {
    let mut stmt = conn.prepare_cached(OVERLAPPING)?;
    let mut rows = stmt.query(params![sql(from), sql(to)])?;
    while let Some(row) = rows.next()? {
        let first: i64 = row.get(0)?;
        let blob = unpack(row.get(1)?, row.get(2)?)?;
        if !f(unsql(first), BatchView::decode(blob)?.events)? {
            break;
        }
    }
    Ok(())
}

/// A version opened and closed within one batch.
pub struct Closed {
    pub process: Process,
    /// When it ended (exit, or the next exec or update).
    pub to: u64,
}

/// The versions opened and closed within `events` (one batch) that
/// `keep(from, to, exited)` wants, decoded.  A version still open at the
/// batch's end was written as a row, and a close of a version opened
/// before the batch closed a row: neither is rebuilt here.
pub fn closed_within(
    events: &[StoredView],
    keep: impl Fn(u64, u64, bool) -> bool,
) -> Result<Vec<Closed>, HistoryError> {
    let mut open: HashMap<u32, (u64, &StoredView)> = HashMap::new();
    let mut out = Vec::new();
    for stored in events {
        let head::Head::Process { step, .. } = head::read(&stored.event)? else {
            continue;
        };
        let t = stored.unix_ns;
        let (pid, exit) = match step {
            head::Step::Open(pid) => (pid, None),
            head::Step::Exit(pid) => (pid, Some(stored)),
        };
        let ended = match exit {
            None => open.insert(pid, (t, stored)),
            Some(_) => open.remove(&pid),
        };
        let Some((from, opener)) = ended else {
            continue;
        };
        if !keep(from, t, exit.is_some()) {
            continue;
        }
        let Some(mut process) = opened_process(opener.decode_event()?) else {
            continue;
        };
        if let Some(x) = exit
            && let Some(Kind::Exit(x)) = x.decode_event()?.kind
        {
            process.exit = x.exit;
        }
        out.push(Closed { process, to: t });
    }
    Ok(out)
}

/// The stored range of the batches: (oldest first instant, newest last).
pub fn range(conn: &Connection) -> Result<(Option<u64>, Option<u64>), HistoryError> {
    let (a, b): (Option<i64>, Option<i64>) = conn.query_row(
        "SELECT (SELECT MIN(first_ns) FROM batches), (SELECT MAX(last_ns) FROM batches)",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok((a.map(unsql), b.map(unsql)))
}
