//! The history store: what perchd saw (processes, usage, host samples,
//! connections, security events, flags, traces, actions) written to an
//! embedded `SQLite` file, bounded by size and age, and asked for by time
//! through the `perch.v1.History` service.
//!
//! The writer is off the event path: it reads the hub like a `WatchEvents`
//! client ([`feed`]) and writes batches on its own thread ([`write`]).  A
//! store that cannot be opened or written is BROKEN (with the reason in
//! `GetInfo.history`); perchd keeps working live either way.
mod batch;
mod bound;
mod feed;
mod head;
mod lock;
mod query;
mod schema;
mod splice;
mod state;
mod versions;
mod wire;
mod write;

#[cfg(test)]
mod batch_tests;
#[cfg(test)]
mod tests;

use std::{
    path::{Path, PathBuf},
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use perch_proto::v1::{HistoryInfo, HistoryStatus};
use rusqlite::Connection;

pub use feed::{Baseline, start};
pub use query::{ListQuery, QueryError};
pub use schema::SCHEMA_VERSION;
pub use state::{State, StateQuery, StateSink};

/// The default file.
pub const DEFAULT_PATH: &str = "/var/lib/perch/history.db";

/// `[history]` in perchd's configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistorySettings {
    pub enabled: bool,
    pub path: PathBuf,
    /// Bytes on disk (database and log) kept at most.
    pub max_bytes: u64,
    /// Data older than this is dropped.
    pub max_age: Duration,
}

impl Default for HistorySettings {
    fn default() -> Self {
        Self {
            enabled: true,
            path: PathBuf::from(DEFAULT_PATH),
            max_bytes: 1 << 30,
            max_age: Duration::from_hours(168),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("history store {path}: {detail}")]
    Open { path: String, detail: String },
    #[error("history store: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("history store: a stored message does not decode: {0}")]
    Decode(#[from] prost::DecodeError),
    #[error("history store: a stored batch does not decompress: {0}")]
    Unpack(String),
}

impl HistoryError {
    fn open(path: &Path, e: &dyn std::fmt::Display) -> Self {
        Self::Open {
            path: path.display().to_string(),
            detail: e.to_string(),
        }
    }
}

/// The store's state as `GetInfo` reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Status {
    Ok,
    Disabled,
    Broken(String),
}

/// The store as the server sees it: status, counters and a reader.
pub struct History {
    settings: HistorySettings,
    status: Mutex<Status>,
    /// `None` unless the store opened.
    reader: Option<Mutex<Connection>>,
    written: AtomicU64,
    dropped: AtomicU64,
    /// The stored range, kept current by the writer (0: nothing yet).
    oldest: AtomicU64,
    newest: AtomicU64,
    bytes: AtomicU64,
    /// Exited processes stay in a state this long after their exit (the
    /// collector's exited retention).
    exited_retention_ns: u64,
}

impl std::fmt::Debug for History {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("History")
            .field("path", &self.settings.path)
            .field("status", &self.status())
            .finish_non_exhaustive()
    }
}

impl History {
    fn new(settings: &HistorySettings, status: Status, exited_retention_ns: u64) -> Self {
        Self {
            settings: settings.clone(),
            status: Mutex::new(status),
            reader: None,
            written: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            oldest: AtomicU64::new(0),
            newest: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            exited_retention_ns,
        }
    }

    /// A store that was turned off by configuration.
    #[must_use]
    pub fn disabled(settings: &HistorySettings) -> Arc<Self> {
        Arc::new(Self::new(settings, Status::Disabled, 0))
    }

    /// `GetInfo.history` of a collector built without a store.
    #[must_use]
    pub fn disabled_info() -> HistoryInfo {
        HistoryInfo {
            status: HistoryStatus::Disabled.into(),
            detail: "this collector keeps no history".to_owned(),
            ..HistoryInfo::default()
        }
    }

    fn status(&self) -> Status {
        self.status
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Marks the store BROKEN (a write failed); perchd keeps running live.
    fn break_with(&self, detail: String) {
        tracing::error!("history store {}: {detail}", self.settings.path.display());
        *self.status.lock().unwrap_or_else(PoisonError::into_inner) = Status::Broken(detail);
    }

    /// `GetInfo.history`.
    #[must_use]
    pub fn info(&self) -> HistoryInfo {
        let (status, detail) = match self.status() {
            Status::Ok => (HistoryStatus::Ok, String::new()),
            Status::Disabled => (
                HistoryStatus::Disabled,
                "turned off ([history] enabled = false or --no-history)".to_owned(),
            ),
            Status::Broken(d) => (HistoryStatus::Broken, d),
        };
        HistoryInfo {
            status: status.into(),
            path: self.settings.path.display().to_string(),
            detail,
            oldest_unix_ns: self.oldest.load(Ordering::Relaxed),
            newest_unix_ns: self.newest.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
            max_bytes: self.settings.max_bytes,
            max_age_ns: u64::try_from(self.settings.max_age.as_nanos()).unwrap_or(u64::MAX),
            events_written: self.written.load(Ordering::Relaxed),
            events_dropped: self.dropped.load(Ordering::Relaxed),
        }
    }

    /// The reader, or why there is none (the message names the state).
    fn reader(&self) -> Result<std::sync::MutexGuard<'_, Connection>, Unavailable> {
        match (self.status(), &self.reader) {
            (Status::Ok, Some(r)) => Ok(r.lock().unwrap_or_else(PoisonError::into_inner)),
            (Status::Disabled, _) => Err(Unavailable(
                "history is disabled on this collector ([history] enabled = false or --no-history)"
                    .to_owned(),
            )),
            (Status::Broken(d), _) => Err(Unavailable(format!("history store is broken: {d}"))),
            (Status::Ok, None) => Err(Unavailable("history store is not open".to_owned())),
        }
    }

    /// The stored range `(oldest, newest)`, Unix ns.
    #[must_use]
    pub fn range(&self) -> (u64, u64) {
        (
            self.oldest.load(Ordering::Relaxed),
            self.newest.load(Ordering::Relaxed),
        )
    }
}

/// The store cannot answer (DISABLED or BROKEN): the server's UNAVAILABLE.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Unavailable(pub String);

/// Unix nanoseconds now.
#[must_use]
pub fn now_unix_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// A time or id as `SQLite`'s signed integer (values past i64 are clamped;
/// no Unix-ns time gets there before 2262).
fn sql(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// Back from `SQLite`'s integer.
fn unsql(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}
