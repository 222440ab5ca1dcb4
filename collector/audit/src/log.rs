//! The log as a writer sees it: opened (and verified) once, then appended
//! to.  An append is durable before it returns: the whole line goes out in
//! one `write_all` on an `O_APPEND` descriptor and is `fdatasync`ed; a
//! failed append (a full disk) is cut off again at once, so the file never
//! keeps a partial line of ours.  After a crash every line is either
//! complete or a torn last line, which the next writer moves aside at open
//! and records in the chain.  A torn line found while running is not a
//! crash but damage.
//!
//! Before every append the writer looks at the file again (`check`).
//!
//! Thread safety: `append` takes `&mut self`; a process keeps one
//! `AuditLog` per file behind a `Mutex` (perchd: `Arc<Mutex<AuditLog>>`).
//! Other processes appending to the same file are coordinated by an
//! exclusive flock(2) held for each append.
use std::{
    fs::{File, OpenOptions},
    io::{self, Write as _},
    os::unix::fs::OpenOptionsExt as _,
    path::{Path, PathBuf},
    time::{SystemTime, UNIX_EPOCH},
};

use perch_proto::v1::{AuditLogStatus, AuditRecord};

use super::{
    AuditError, MAX_LINE_BYTES,
    chain::{self, GENESIS, Problem},
    check::Stamp,
    disk::Line,
    follow,
    head::{self, HeadFile},
    lock::Exclusive,
    scan::LineError,
};

#[derive(Debug)]
pub struct AuditLog {
    pub(super) path: PathBuf,
    pub(super) file: File,
    pub(super) head: HeadFile,
    pub(super) host: String,
    /// Complete, verified lines, and the bytes they take.
    pub(super) lines: u64,
    pub(super) len: u64,
    pub(super) last_hash: String,
    /// The file as this writer last left it; anything else means someone
    /// else changed it.
    pub(super) stamp: Option<Stamp>,
    pub(super) status: AuditLogStatus,
    pub(super) detail: String,
    /// The first bad line: once set, appends are refused.
    pub(super) broken: Option<LineError>,
}

impl AuditLog {
    /// Opens (creating it and its directories if needed) and verifies the
    /// log, and checks it against its head file.  A torn last line is
    /// moved aside and recorded; a chain broken anywhere else, or cut short
    /// of its head, is reported by [`status`](Self::status) and makes every
    /// append fail.  Errors are only for a log that cannot be used at all
    /// (or must not be: owned by another user, writable by others).
    pub fn open(path: &Path) -> Result<Self, AuditError> {
        let (file, _) = follow::open_file(path)?;
        let (head, stored) = HeadFile::open(&head::path_of(path)).map_err(AuditError::Head)?;
        let mut log = Self {
            path: path.to_owned(),
            file,
            head,
            host: host_name(),
            lines: 0,
            len: 0,
            last_hash: GENESIS.to_owned(),
            stamp: None,
            status: AuditLogStatus::Ok,
            detail: String::new(),
            broken: None,
        };
        let _lock = log.lock()?;
        log.check_all(true, stored.as_ref())?;
        if log.status == AuditLogStatus::Ok {
            log.detail = format!("{} records, chain intact", log.lines);
        }
        if log.broken.is_none() {
            log.store_head(true);
        }
        Ok(log)
    }

    /// Appends `record`: assigns `id` (a `UUIDv7`: time-ordered, unique
    /// without coordination between processes), `time_unix_ns` and `host`
    /// when unset, `prev_hash` and `hash`; returns when the line is on disk,
    /// with `line` set.  If the log was renamed (rotation), the record goes
    /// to a new file at the path, chained to the old one.
    pub fn append(&mut self, record: &AuditRecord) -> Result<AuditRecord, AuditError> {
        let line = Line::try_from(record)?;
        self.refuse_if_broken()?;
        let _lock = self.lock()?;
        self.catch_up()?;
        self.refuse_if_broken()?;
        let _new_lock = self.follow_rename()?;
        self.refuse_if_broken()?;
        self.write(line)
    }

    /// Checks the log for changes by others and for a rename (`mv` for
    /// rotation, then SIGHUP): a renamed log is continued in a new file at
    /// the path, whose first record names the old one.  True when it did.
    pub fn reopen(&mut self) -> Result<bool, AuditError> {
        self.refuse_if_broken()?;
        let _lock = self.lock()?;
        self.catch_up()?;
        self.refuse_if_broken()?;
        let new_lock = self.follow_rename()?;
        Ok(new_lock.is_some())
    }

    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `OK`, `RECOVERED_TORN_TAIL` or `BROKEN`.
    #[must_use]
    pub fn status(&self) -> AuditLogStatus {
        self.status
    }

    /// What the status means here: record count, what was recovered, or
    /// the first bad line.
    #[must_use]
    pub fn status_detail(&self) -> &str {
        &self.detail
    }

    /// Verified records in the log.
    #[must_use]
    pub fn records(&self) -> u64 {
        self.lines
    }

    /// The last record's hash (`GENESIS` when empty).
    #[must_use]
    pub fn head_hash(&self) -> &str {
        &self.last_hash
    }

    /// The log as verified so far, for reading it backwards: a descriptor
    /// of the file, its verified length, and the records in it.
    pub fn snapshot(&self) -> Result<(File, u64, u64), AuditError> {
        let file = self
            .file
            .try_clone()
            .map_err(|e| AuditError::io(&self.path, "read", e))?;
        Ok((file, self.len, self.lines))
    }

    pub(super) fn lock(&self) -> Result<Exclusive, AuditError> {
        self.file
            .try_clone()
            .and_then(Exclusive::lock)
            .map_err(|e| AuditError::io(&self.path, "lock", e))
    }

    pub(super) fn refuse_if_broken(&self) -> Result<(), AuditError> {
        match &self.broken {
            Some(e) => Err(AuditError::Broken {
                path: self.path.clone(),
                line: e.line,
                problem: e.problem.clone(),
            }),
            None => Ok(()),
        }
    }

    pub(super) fn stamp_now(&self) -> Result<Stamp, AuditError> {
        self.file
            .metadata()
            .map(|m| Stamp::of(&m))
            .map_err(|e| AuditError::io(&self.path, "inspect", e))
    }

    pub(super) fn mark_broken(&mut self, e: LineError) {
        tracing::error!(path = %self.path.display(), "audit log broken: {e}");
        self.status = AuditLogStatus::Broken;
        self.detail = e.to_string();
        self.broken = Some(e);
    }

    /// Chains, writes and syncs one line, then records the new head.  Needs
    /// the lock, and a caught-up view of the file.
    pub(super) fn write(&mut self, mut line: Line) -> Result<AuditRecord, AuditError> {
        line.id = uuid::Uuid::now_v7().to_string();
        if line.time_unix_ns == 0 {
            line.time_unix_ns = now_unix_ns();
        }
        if line.host.is_empty() {
            line.host.clone_from(&self.host);
        }
        line.prev_hash.clone_from(&self.last_hash);
        let bytes = chain::encode(&mut line).map_err(|e| AuditError::Encode(e.to_string()))?;
        if bytes.len() > MAX_LINE_BYTES + 1 {
            return Err(AuditError::TooLarge {
                bytes: bytes.len() - 1,
                limit: MAX_LINE_BYTES,
            });
        }
        if let Err(e) = self
            .file
            .write_all(&bytes)
            .and_then(|()| self.file.sync_data())
        {
            self.undo_partial_write();
            return Err(AuditError::io(&self.path, "append a record", e));
        }
        self.lines += 1;
        self.len += bytes.len() as u64;
        self.last_hash.clone_from(&line.hash);
        self.stamp = Some(self.stamp_now()?);
        self.store_head(false);
        Ok(line.to_proto(self.lines))
    }

    /// After a failed write: cuts off whatever part of the line reached the
    /// file (a full disk takes what fits), so that no torn line of ours is
    /// left for the next append to mistake for damage.
    fn undo_partial_write(&mut self) {
        let undone = self
            .file
            .set_len(self.len)
            .and_then(|()| self.file.sync_all())
            .and_then(|()| self.file.metadata());
        match undone {
            Ok(meta) => self.stamp = Some(Stamp::of(&meta)),
            Err(e) => self.mark_broken(LineError {
                line: self.lines + 1,
                offset: self.len,
                problem: Problem::Io(format!("a failed append could not be cut off again: {e}")),
            }),
        }
    }

    /// Records the head in the head file (synced when `sync`; appends
    /// leave that to writeback, see `head`); a failure is logged, not fatal
    /// (the head file is a lower bound: the log is still sound).
    pub(super) fn store_head(&mut self, sync: bool) {
        if let Err(e) = self.head.store(self.lines, self.len, &self.last_hash, sync) {
            tracing::warn!(path = %self.path.display(), "audit log head not recorded: {e}");
        }
    }
}

/// Creates `path` for writing a new file, failing if it exists.
pub(super) fn create_new(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

pub(super) fn now_unix_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

fn host_name() -> String {
    nix::sys::utsname::uname()
        .map(|u| u.nodename().to_string_lossy().into_owned())
        .unwrap_or_default()
}
