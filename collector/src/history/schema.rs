//! The store's file: opening it with the pragmas the writer relies on (WAL,
//! synchronous=NORMAL, incremental vacuum) and creating or migrating its
//! tables.  A `schema_version` row says which layout a file has, so a later
//! release can migrate it instead of guessing.
use std::path::Path;

use rusqlite::{Connection, OpenFlags, OptionalExtension as _};

use super::HistoryError;

/// The layout this release writes and reads.  2: the indexes the writer
/// pays for on every row trimmed.  3: a batch's events in one `batches`
/// row (older files keep their `events` rows, which are read alongside).
/// Older files are migrated on open.
pub const SCHEMA_VERSION: i64 = 3;

/// The event kinds the state queries look up by kind (`EventKind` values,
/// which perch.v1 never renumbers), each with a partial index of its own:
/// the other rows (exec, fork, exit: most of them) pay for no kind index.
pub const KIND_PROCESS_SAMPLES: i32 = 5;
pub const KIND_HOST_SAMPLE: i32 = 6;
pub const KIND_DEVIATION: i32 = 62;

/// Whether events of `kind` get an `events` row each (the kinds above)
/// rather than a place in a batch.
pub fn kept_in_rows(kind: i32) -> bool {
    matches!(
        kind,
        KIND_PROCESS_SAMPLES | KIND_HOST_SAMPLE | KIND_DEVIATION
    )
}

/// Every table, for a new file.  Times are Unix nanoseconds; `valid_to`
/// NULL means "still so".  Blobs are perch.v1 messages (protobuf), so a
/// reader needs nothing but the contract.
const TABLES: &str = "
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
-- A writer batch's events (but those in `events`), as a
-- ListHistoryResponse's events (a run of StoredEvent), between its first
-- and last instant: for ListHistory, and the process versions that opened
-- and closed within the batch, which are stored nowhere else.  codec 0:
-- the message as is; 1: LZ4 block, its length (u32, little-endian) first.
CREATE TABLE IF NOT EXISTS batches (
  first_ns INTEGER NOT NULL, last_ns INTEGER NOT NULL, codec INTEGER NOT NULL,
  blob BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS batches_time ON batches (last_ns, first_ns);
CREATE INDEX IF NOT EXISTS batches_first ON batches (first_ns);
-- The events the state queries look up by kind, a row each: the usage
-- deltas (PROCESS_SAMPLES), host samples (HOST_SAMPLE) and deviations.
-- Schema 1 and 2 files also hold every other event here.
CREATE TABLE IF NOT EXISTS events (
  unix_ns INTEGER NOT NULL, seq INTEGER NOT NULL, kind INTEGER NOT NULL,
  pid INTEGER NOT NULL, blob BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS events_time ON events (unix_ns);
-- The kinds looked up by kind (KIND_* in schema.rs).
CREATE INDEX IF NOT EXISTS events_samples ON events (unix_ns) WHERE kind = 5;
CREATE INDEX IF NOT EXISTS events_host ON events (unix_ns) WHERE kind = 6;
CREATE INDEX IF NOT EXISTS events_deviations ON events (unix_ns) WHERE kind = 62;
-- Process versions: exec, update and a restart's baseline open one; the
-- next version, the exit or the end of a perchd run closes it.  A version
-- opened and closed within one batch is in that batch's events only.
-- Closed and open versions are indexed apart: `valid_to > T` finds the closed
-- ones; the open ones by pid (to close them) and by valid_from (a state
-- reads them in that order, which is the table's: its pages in sequence).
CREATE TABLE IF NOT EXISTS processes (
  pid INTEGER NOT NULL, valid_from INTEGER NOT NULL, valid_to INTEGER,
  exit_ns INTEGER, blob BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS processes_closed ON processes (valid_to) WHERE valid_to IS NOT NULL;
CREATE INDEX IF NOT EXISTS processes_open ON processes (pid) WHERE valid_to IS NULL;
CREATE INDEX IF NOT EXISTS processes_open_from ON processes (valid_from) WHERE valid_to IS NULL;
-- Full usage of every process (a ProcessSamples), every KEYFRAME_NS:
-- usage at T = the last keyframe at or before T + the deltas after it.
CREATE TABLE IF NOT EXISTS keyframes (unix_ns INTEGER NOT NULL, blob BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS keyframes_time ON keyframes (unix_ns);
-- Connections (listening = 0) and listening sockets (listening = 1).
CREATE TABLE IF NOT EXISTS net (
  id INTEGER NOT NULL, listening INTEGER NOT NULL, valid_from INTEGER NOT NULL,
  valid_to INTEGER, blob BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS net_closed ON net (valid_to) WHERE valid_to IS NOT NULL;
CREATE INDEX IF NOT EXISTS net_open ON net (id, listening) WHERE valid_to IS NULL;
CREATE TABLE IF NOT EXISTS flags (unix_ns INTEGER NOT NULL, id TEXT NOT NULL, blob BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS flags_time ON flags (unix_ns);
-- Trace versions: each TraceUpdated closes the previous one.
CREATE TABLE IF NOT EXISTS traces (
  id TEXT NOT NULL, valid_from INTEGER NOT NULL, valid_to INTEGER, blob BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS traces_closed ON traces (valid_to) WHERE valid_to IS NOT NULL;
CREATE INDEX IF NOT EXISTS traces_open ON traces (id) WHERE valid_to IS NULL;
CREATE TABLE IF NOT EXISTS actions (unix_ns INTEGER NOT NULL, blob BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS actions_time ON actions (unix_ns);
";

/// Version 1's indexes that version 2 replaces.
const FROM_1: &str = "
DROP INDEX IF EXISTS events_kind_time;
DROP INDEX IF EXISTS processes_from;
DROP INDEX IF EXISTS processes_to;
DROP INDEX IF EXISTS net_from;
DROP INDEX IF EXISTS net_to;
DROP INDEX IF EXISTS traces_from;
DROP INDEX IF EXISTS traces_to;
";

/// `SQLite`'s page cache without its initial bulk allocation (20 pages,
/// ~86 KiB by default): perchd maps blocks of 64 KiB or more on their own
/// (`engine::tune_allocator`), so the bulk was mapped, faulted in and
/// unmapped again as the cache came and went — half the writer's CPU in an
/// exec storm (perf: `pcache1FetchStage2` page faults and `munmap`).
/// Pages are then allocated one at a time (~4 KiB, from the heap).  Must
/// run before `SQLite` initialises; later calls are refused by `SQLite` and
/// harmless.
fn no_bulk_page_cache() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: SQLITE_CONFIG_PAGECACHE takes (void*, int, int); a null
        // buffer with 0 lines asks for no bulk allocation.  It is called
        // once, before any connection is opened in this process.
        let rc = unsafe {
            rusqlite::ffi::sqlite3_config(
                rusqlite::ffi::SQLITE_CONFIG_PAGECACHE,
                std::ptr::null_mut::<std::ffi::c_void>(),
                0_i32,
                0_i32,
            )
        };
        if rc != rusqlite::ffi::SQLITE_OK {
            tracing::debug!("SQLite page cache configuration refused ({rc})");
        }
    });
}

/// Opens (creating when missing) the store at `path` for writing; its
/// write-ahead log is kept to a quarter of `max_bytes` (at most 4 MiB).
pub fn open_writer(path: &Path, max_bytes: u64) -> Result<Connection, HistoryError> {
    no_bulk_page_cache();
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| HistoryError::open(path, &e))?;
    }
    let conn = Connection::open(path).map_err(|e| HistoryError::open(path, &e))?;
    let setup = || -> rusqlite::Result<i64> {
        // auto_vacuum only takes effect before the first table exists: a
        // new file gets it, so deleting old data can shrink the file.
        conn.pragma_update(None, "auto_vacuum", "INCREMENTAL")?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // With WAL, NORMAL loses at most the last transactions on power
        // loss and never corrupts; FULL would fsync every batch.
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        // The log counts against the bound: checkpointed (and cut back)
        // once it reaches a quarter of it.
        let wal_bytes = (max_bytes / 4).min(4 << 20);
        let page: i64 = conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
        let pages = i64::try_from(wal_bytes).unwrap_or(i64::MAX) / page.max(512);
        conn.pragma_update(None, "wal_autocheckpoint", pages.max(16))?;
        conn.pragma_update(
            None,
            "journal_size_limit",
            i64::try_from(wal_bytes).unwrap_or(i64::MAX),
        )?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        // 1 MiB of page cache (SQLite's default is 2 MiB per connection):
        // the writer appends, and perchd's memory bound has little room.
        conn.pragma_update(None, "cache_size", -1024)?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);",
        )?;
        let version: Option<i64> = conn
            .query_row("SELECT MAX(version) FROM schema_version", [], |r| r.get(0))
            .optional()?
            .flatten();
        match version {
            None => {
                conn.execute_batch(TABLES)?;
                conn.execute(
                    "INSERT INTO schema_version (version) VALUES (?1)",
                    [SCHEMA_VERSION],
                )?;
            }
            Some(v @ (1 | 2)) => {
                // Its data stays (read alongside the batches); version 1's
                // indexes become version 2's.
                let from_1 = if v == 1 { FROM_1 } else { "" };
                conn.execute_batch(&format!(
                    "BEGIN; {from_1} {TABLES} UPDATE schema_version SET version = {SCHEMA_VERSION}; COMMIT;"
                ))?;
            }
            Some(v) if v == SCHEMA_VERSION => conn.execute_batch(TABLES)?,
            Some(_) => {}
        }
        Ok(version.map_or(SCHEMA_VERSION, |v| v.max(SCHEMA_VERSION)))
    };
    let version = setup().map_err(|e| HistoryError::open(path, &e))?;
    if version > SCHEMA_VERSION {
        return Err(HistoryError::Open {
            path: path.display().to_string(),
            detail: format!(
                "schema version {version} is newer than this perchd's ({SCHEMA_VERSION})"
            ),
        });
    }
    Ok(conn)
}

/// A read-only connection for queries (WAL lets it read while the writer
/// writes).
pub fn open_reader(path: &Path) -> Result<Connection, HistoryError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| HistoryError::open(path, &e))?;
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .map_err(|e| HistoryError::open(path, &e))?;
    Ok(conn)
}
