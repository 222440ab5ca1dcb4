//! Errors from reading one process's /proc entries.  A vanished process is
//! its own variant so callers can drop it silently instead of logging.
use std::io;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ProcError {
    /// The process exited (and was reaped) or never existed.
    #[error("process {pid} is gone")]
    Gone { pid: u32 },
    /// We may not look at this process (not root, hidepid=, LSM).
    #[error("permission denied reading {path}")]
    PermissionDenied { path: PathBuf },
    #[error("reading {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("malformed {path}: {what}")]
    Malformed { path: PathBuf, what: &'static str },
}

impl ProcError {
    /// True when the process no longer exists: not worth a log line.
    #[must_use]
    pub fn is_gone(&self) -> bool {
        matches!(self, Self::Gone { .. })
    }

    /// Classifies an I/O error on a file of process `pid`.  ENOENT and ESRCH
    /// both mean the task went away between listing and reading.
    pub(crate) fn from_io(pid: u32, path: impl Into<PathBuf>, err: io::Error) -> Self {
        if is_gone_io(&err) {
            return Self::Gone { pid };
        }
        if err.kind() == io::ErrorKind::PermissionDenied {
            return Self::PermissionDenied { path: path.into() };
        }
        Self::Io {
            path: path.into(),
            source: err,
        }
    }
}

/// ENOENT/ESRCH: the process (or its /proc directory) disappeared.
pub(crate) fn is_gone_io(err: &io::Error) -> bool {
    err.kind() == io::ErrorKind::NotFound || err.raw_os_error() == Some(libc::ESRCH)
}
