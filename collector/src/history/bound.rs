//! Keeping the store within its size and age bounds: the oldest data goes
//! first, deleted by time range in small transactions (so a reader or the
//! writer never waits long), then the freed pages are given back to the
//! file system (incremental vacuum) and the write-ahead log is truncated,
//! so the file really shrinks rather than only having free pages.
use std::{path::Path, sync::atomic::Ordering};

use rusqlite::Connection;

use super::{History, HistoryError, sql, unsql, write::Writer};

/// Rows deleted per transaction.
const DELETE_CHUNK: u32 = 5_000;
/// Rounds per check when the store is too big.
const MAX_ROUNDS: usize = 16;

/// Which column says a row is older than a cut, per table.  Rows still
/// open (`valid_to` NULL) are kept whatever their age: they are the state
/// now.
const AGED: [(&str, &str); 8] = [
    ("batches", "last_ns"),
    ("events", "unix_ns"),
    ("keyframes", "unix_ns"),
    ("flags", "unix_ns"),
    ("actions", "unix_ns"),
    ("processes", "valid_to"),
    ("net", "valid_to"),
    ("traces", "valid_to"),
];

/// Bytes of the database and its log now.
pub fn bytes_on_disk(conn: &Connection, path: &Path) -> Result<u64, HistoryError> {
    let pages: i64 = conn.query_row("PRAGMA page_count", [], |r| r.get(0))?;
    let size: i64 = conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    let wal = std::fs::metadata(wal).map_or(0, |m| m.len());
    Ok(u64::try_from(pages.saturating_mul(size)).unwrap_or(0) + wal)
}

/// Bytes the data takes (the database's pages as this connection sees
/// them, log included, less free pages): what the bound is checked on.
/// The log file adds at most a quarter of the bound (`journal_size_limit`).
pub fn data_bytes(conn: &Connection) -> Result<u64, HistoryError> {
    let pages: i64 = conn.query_row("PRAGMA page_count", [], |r| r.get(0))?;
    let free: i64 = conn.query_row("PRAGMA freelist_count", [], |r| r.get(0))?;
    let size: i64 = conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
    Ok(u64::try_from(pages.saturating_sub(free).saturating_mul(size)).unwrap_or(0))
}

/// Publishes the stored range and size to `GetInfo`.
pub fn refresh(w: &Writer, h: &History) {
    if let Ok((oldest, newest)) = w.range() {
        h.oldest.store(oldest, Ordering::Relaxed);
        h.newest.store(newest, Ordering::Relaxed);
    }
    if let Ok(b) = bytes_on_disk(w.conn(), &h.settings.path) {
        h.bytes.store(b, Ordering::Relaxed);
    }
}

/// Moves the log into the database and cuts it back, so the size seen is
/// the data's.
fn checkpoint(conn: &Connection) -> Result<(), HistoryError> {
    // Answers (busy, log pages, checkpointed); a reader in the way only
    // makes it partial, which the next round retries.
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    Ok(())
}

/// Gives the freed pages back to the file system.  Each step of the
/// pragma frees one page, so it is stepped to the end.
fn vacuum(conn: &Connection) -> Result<(), HistoryError> {
    let mut stmt = conn.prepare("PRAGMA incremental_vacuum")?;
    let mut rows = stmt.query([])?;
    while rows.next()?.is_some() {}
    Ok(())
}

/// Deletes rows older than `cut` (Unix ns) from every table.
pub fn delete_before(conn: &Connection, cut: u64) -> Result<u64, HistoryError> {
    let mut deleted = 0;
    for (table, column) in AGED {
        let stmt = format!(
            "DELETE FROM {table} WHERE rowid IN \
             (SELECT rowid FROM {table} WHERE {column} < ?1 LIMIT {DELETE_CHUNK})"
        );
        loop {
            // Each statement is its own transaction: short, so readers and
            // the next batch do not wait for a whole purge.
            let n = conn.execute(&stmt, [sql(cut)])?;
            deleted += u64::try_from(n).unwrap_or(0);
            if n < DELETE_CHUNK as usize {
                break;
            }
        }
    }
    Ok(deleted)
}

/// The instant before which about `excess` bytes of the oldest closed rows
/// lie (rows still open stay whatever their age: they are the present).
/// Rows are counted by their blobs, which undercount the pages they take,
/// so a cut never drops more than asked and the rounds of `enforce`
/// converge on the bound from above.  When all the closed rows' blobs are
/// less than `excess`, the share of them `excess` is of `bytes` goes.
fn size_cut(conn: &Connection, excess: u64, bytes: u64, newest: u64) -> Result<u64, HistoryError> {
    match walk(conn, excess)? {
        Walked::Cut(t) => Ok(t),
        Walked::Counted(total) => {
            #[expect(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                clippy::cast_precision_loss,
                reason = "a share of a byte count, between 0 and the count"
            )]
            let share = (total as f64 * (excess as f64 / bytes.max(1) as f64).min(1.0)) as u64;
            Ok(match walk(conn, share)? {
                Walked::Cut(t) => t,
                Walked::Counted(_) => newest.saturating_add(1),
            })
        }
    }
}

enum Walked {
    /// `target` bytes lie before this instant.
    Cut(u64),
    /// All the closed rows took fewer bytes: this many.
    Counted(u64),
}

/// Walks every aged table oldest first through its time index, merged,
/// until `target` bytes of blobs are counted.  `length()` of a blob is
/// read from the row header, not the blob.
fn walk(conn: &Connection, target: u64) -> Result<Walked, HistoryError> {
    let mut stmts = AGED
        .iter()
        .map(|(table, column)| {
            conn.prepare(&format!(
                "SELECT {column}, length(blob) + 24 FROM {table} \
                 WHERE {column} IS NOT NULL ORDER BY {column}"
            ))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut cursors = stmts
        .iter_mut()
        .map(|s| s.query([]))
        .collect::<Result<Vec<_>, _>>()?;
    let head = |rows: &mut rusqlite::Rows| -> Result<Option<(i64, i64)>, rusqlite::Error> {
        rows.next()?.map(|r| Ok((r.get(0)?, r.get(1)?))).transpose()
    };
    let mut heads = cursors
        .iter_mut()
        .map(head)
        .collect::<Result<Vec<_>, _>>()?;
    let mut counted = 0u64;
    // Eight cursors: the oldest head found by a scan, not a heap.
    while let Some((i, (t, len))) = heads
        .iter()
        .enumerate()
        .filter_map(|(i, h)| h.map(|h| (i, h)))
        .min_by_key(|(_, (t, _))| *t)
    {
        counted += u64::try_from(len).unwrap_or(0);
        if counted >= target {
            return Ok(Walked::Cut(unsql(t).saturating_add(1)));
        }
        if let (Some(rows), Some(slot)) = (cursors.get_mut(i), heads.get_mut(i)) {
            *slot = head(rows)?;
        }
    }
    Ok(Walked::Counted(counted))
}

/// Drops the oldest data until the store is within `max_bytes` and
/// `max_age`, then publishes the new range and size.
pub fn enforce(w: &Writer, h: &History, now: u64) -> Result<(), HistoryError> {
    let max_age = u64::try_from(h.settings.max_age.as_nanos()).unwrap_or(u64::MAX);
    let conn = w.conn();
    checkpoint(conn)?;
    for _ in 0..MAX_ROUNDS {
        let (oldest, newest) = w.range()?;
        let bytes = data_bytes(conn)?;
        let age_cut = now.saturating_sub(max_age);
        let too_old = oldest != 0 && oldest < age_cut;
        let too_big = bytes > h.settings.max_bytes && oldest != 0;
        if !too_old && !too_big {
            break;
        }
        let mut cut = age_cut;
        if too_big {
            // Drop the oldest data the excess is (down to 90% of the
            // bound), counted in the rows' own bytes: a storm packs minutes
            // of data into seconds, so a share of the time span would take
            // far too much or too little.
            #[expect(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "a tenth of the bound, well inside u64"
            )]
            let target = (h.settings.max_bytes as f64 * 0.9) as u64;
            cut = cut.max(size_cut(conn, bytes.saturating_sub(target), bytes, newest)?);
        }
        let deleted = delete_before(conn, cut)?;
        vacuum(conn)?;
        checkpoint(conn)?;
        if deleted == 0 && !too_old {
            // Nothing older left to drop (only open versions): stop rather
            // than spin; the size is what the present takes.
            break;
        }
    }
    refresh(w, h);
    Ok(())
}
