//! The tamper-evident audit log of response actions: one JSON object per
//! line (`disk`), each carrying the SHA-256 of the line before it (`chain`),
//! appended and fsynced before an action's result is returned (`log`),
//! and read back and verified line by line (`scan`).
//!
//! A crash can leave at most a torn last line; the next writer moves it to
//! `PATH.torn-<unix seconds>` and appends a record saying so.  Any other
//! damage is reported with its line number, and the log then refuses
//! appends so that nothing is acted on without a sound record.
#![forbid(unsafe_code)]
mod chain;
mod disk;
mod lock;
mod log;
mod names;
mod scan;
#[cfg(test)]
mod tests;

use std::{io, path::Path, path::PathBuf};

/// Where perchd keeps the log unless `--audit-log` says otherwise.
pub const DEFAULT_PATH: &str = "/var/lib/perch/audit.log";

pub use chain::{GENESIS, Problem};
pub use disk::InvalidRecord;
pub use log::{AuditLog, TORN_TAIL_CODE};
pub use scan::{Entry, LineError, Scanner, VerifyError, VerifySummary, read, verify};

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    // The OS error is part of the message (not a `source`) so that `{:#}`
    // chains do not print it twice.
    #[error("audit log {}: cannot {action}: {error}", .path.display())]
    Io {
        path: PathBuf,
        action: &'static str,
        error: io::Error,
    },
    #[error("audit log {}: cannot create directory {}: {error}", .path.display(), .dir.display())]
    Dir {
        path: PathBuf,
        dir: PathBuf,
        error: io::Error,
    },
    #[error("audit log {} broken at line {line}: {problem}", .path.display())]
    Broken {
        path: PathBuf,
        line: u64,
        problem: Problem,
    },
    #[error(transparent)]
    Invalid(#[from] InvalidRecord),
    #[error("audit record cannot be encoded: {0}")]
    Encode(String),
}

impl AuditError {
    fn io(path: &Path, action: &'static str, error: io::Error) -> Self {
        Self::Io {
            path: path.to_owned(),
            action,
            error,
        }
    }
}
