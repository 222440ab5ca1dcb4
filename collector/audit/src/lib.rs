//! The tamper-evident audit log of response actions: one JSON object per
//! line (`disk`), each carrying the SHA-256 of the line before it (`chain`),
//! appended and fsynced (`log`), with the head — record count and last
//! hash — kept beside it in `PATH.head` (`head`); read back and verified
//! line by line (`scan`), or newest first for listings (`backward`), one
//! entry per action (`pair`).
//!
//! A crash can leave at most a torn last line; the next writer moves it to
//! `PATH.torn-<unix seconds>` at open and appends a record saying so
//! (`recover`).  Any other damage — a changed byte, a cut at a line
//! boundary (the head names more records), a torn line while running —
//! is reported with its line number, and the log then refuses appends so
//! that nothing is acted on without a sound record.  A renamed log
//! (rotation) is continued in a new file chained to the old (`follow`).
#![forbid(unsafe_code)]
mod backward;
mod chain;
mod check;
mod disk;
mod follow;
pub mod head;
mod lock;
mod log;
mod names;
mod pair;
mod recover;
mod scan;
#[cfg(test)]
mod tests;

use std::{io, path::Path, path::PathBuf};

/// Where perchd keeps the log unless `--audit-log` says otherwise.
pub const DEFAULT_PATH: &str = "/var/lib/perch/audit.log";

/// The longest line (one record) a log may hold, in bytes.  Writers refuse
/// longer records; readers stop at a longer line instead of buffering it
/// (so `perch audit verify /dev/zero` ends).  A record is a few KiB; one
/// that lists thousands of processes stays far below this.
pub const MAX_LINE_BYTES: usize = 1024 * 1024;

pub use backward::Backward;
pub use chain::{GENESIS, Problem};
pub use disk::{InvalidRecord, fit_processes};
pub use follow::ROTATED_CODE;
pub use log::AuditLog;
pub use pair::{NewestFirst, OldestFirst};
pub use recover::TORN_TAIL_CODE;
pub use scan::{
    Checkpoint, Entry, LineError, Scanner, VerifyError, VerifySummary, read, verify, verify_against,
};

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
    #[error("audit log {}: refusing to use it: {detail}", .path.display())]
    Unsafe { path: PathBuf, detail: String },
    #[error("audit log head: {0}")]
    Head(head::HeadError),
    #[error(transparent)]
    Invalid(#[from] InvalidRecord),
    #[error("audit record cannot be encoded: {0}")]
    Encode(String),
    #[error("audit record of {bytes} bytes is over the {limit}-byte limit for one line")]
    TooLarge { bytes: usize, limit: usize },
}

impl AuditError {
    pub(crate) fn io(path: &Path, action: &'static str, error: io::Error) -> Self {
        Self::Io {
            path: path.to_owned(),
            action,
            error,
        }
    }
}
