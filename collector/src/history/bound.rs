//! Keeping the store within its size and age bounds: the oldest data goes
//! first, deleted by time range in small transactions (so a reader or the
//! writer never waits long), then the freed pages are given back to the
//! file system (incremental vacuum) and the write-ahead log is truncated,
//! so the file really shrinks rather than only having free pages.
use std::{path::Path, sync::atomic::Ordering};

use rusqlite::Connection;

use super::{History, HistoryError, sql, write::Writer};

/// Rows deleted per transaction.
const DELETE_CHUNK: u32 = 5_000;
/// Rounds per check when the store is too big.
const MAX_ROUNDS: usize = 16;

/// Which column says a row is older than a cut, per table.  Rows still
/// open (`valid_to` NULL) are kept whatever their age: they are the state
/// now.
const AGED: [(&str, &str); 7] = [
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
            // Drop the share of the span the excess is (down to 90% of the
            // bound, at least a sixteenth), assuming data spreads evenly
            // over time; the next round corrects a wrong guess.
            let keep = (h.settings.max_bytes as f64 * 0.9 / bytes as f64).clamp(0.0, 15.0 / 16.0);
            #[expect(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "a share of a u64 span, between 1/16 and all of it"
            )]
            let dropped = (newest.saturating_sub(oldest) as f64 * (1.0 - keep)) as u64;
            cut = cut.max(oldest + dropped + 1);
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
