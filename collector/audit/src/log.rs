//! The log as a writer sees it: opened (and verified) once, then appended
//! to.  An append is durable before it returns: the whole line goes out in
//! one `write_all` on an `O_APPEND` descriptor and is `fdatasync`ed.  So
//! after a crash every line is either complete (and was, or would have
//! been, reported) or a torn last line, which the next writer moves aside
//! and records in the chain.
//!
//! Thread safety: `append` takes `&mut self`; a process keeps one
//! `AuditLog` per file behind a `Mutex` (perchd: `Arc<Mutex<AuditLog>>`).
//! Other processes appending to the same file are coordinated by an
//! exclusive flock(2) held for each append, under which the writer first
//! verifies whatever the others appended since its last look.
use std::{
    ffi::OsString,
    fs::{DirBuilder, File, OpenOptions},
    io::{self, Write as _},
    os::unix::fs::{DirBuilderExt as _, FileExt as _, OpenOptionsExt as _},
    path::{Path, PathBuf},
    time::{SystemTime, UNIX_EPOCH},
};

use perch_proto::v1::{
    ActionKind, ActionMode, ActionResult, AuditLogStatus, AuditRecord, Role, Signal,
};

use super::{
    AuditError,
    chain::{self, GENESIS, Problem},
    disk::Line,
    lock::Exclusive,
    scan::{LineError, Scanner},
};

/// `code` of the record that notes a torn tail moved aside.
pub const TORN_TAIL_CODE: &str = "audit_torn_tail_recovered";

#[derive(Debug)]
pub struct AuditLog {
    path: PathBuf,
    file: File,
    host: String,
    /// Complete, verified lines, and the bytes they take.
    lines: u64,
    len: u64,
    last_hash: String,
    status: AuditLogStatus,
    detail: String,
    /// The first bad line: once set, appends are refused.
    broken: Option<LineError>,
}

impl AuditLog {
    /// Opens (creating it and its directories if needed) and verifies the
    /// log.  A torn last line is moved aside and recorded; a chain broken
    /// anywhere else is reported by [`status`](Self::status) and makes every
    /// append fail.  Errors are only for a log that cannot be used at all.
    pub fn open(path: &Path) -> Result<Self, AuditError> {
        let err =
            |action: &'static str| move |error: io::Error| AuditError::io(path, action, error);
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
        if let Some(dir) = dir {
            DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|error| AuditError::Dir {
                    path: path.to_owned(),
                    dir: dir.to_owned(),
                    // mkdir says "File exists" when a file blocks the way.
                    error: if error.kind() == io::ErrorKind::AlreadyExists {
                        io::Error::other("a file that is not a directory is in the way")
                    } else {
                        error
                    },
                })?;
        }
        let existed = path.try_exists().map_err(err("look up"))?;
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .mode(0o600)
            .open(path)
            .map_err(err("open"))?;
        if !file.metadata().map_err(err("inspect"))?.is_file() {
            return Err(AuditError::io(
                path,
                "use",
                io::Error::other("not a regular file"),
            ));
        }
        if !existed && let Some(dir) = dir {
            // The new file's name must survive a crash too.
            sync_dir(dir).map_err(err("sync its directory"))?;
        }
        let mut log = Self {
            path: path.to_owned(),
            file,
            host: host_name(),
            lines: 0,
            len: 0,
            last_hash: GENESIS.to_owned(),
            status: AuditLogStatus::Ok,
            detail: String::new(),
            broken: None,
        };
        let _lock = log.lock()?;
        log.catch_up()?;
        if log.status == AuditLogStatus::Ok {
            log.detail = format!("{} records, chain intact", log.lines);
        }
        Ok(log)
    }

    /// Appends `record`: assigns `id` (a `UUIDv7`: time-ordered, unique
    /// without coordination between processes), `time_unix_ns` and `host`
    /// when unset, `prev_hash` and `hash`; returns when the line is on disk,
    /// with `line` set.
    pub fn append(&mut self, record: &AuditRecord) -> Result<AuditRecord, AuditError> {
        // Every string at the contract's cap: a process names itself, and
        // a line of megabytes would blind every reader of the log.
        let mut capped = record.clone();
        perch_proto::limits::cap_record(&mut capped);
        let line = Line::try_from(&capped)?;
        self.refuse_if_broken()?;
        let _lock = self.lock()?;
        self.catch_up()?;
        self.refuse_if_broken()?;
        self.write(line)
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

    fn lock(&self) -> Result<Exclusive, AuditError> {
        self.file
            .try_clone()
            .and_then(Exclusive::lock)
            .map_err(|e| AuditError::io(&self.path, "lock", e))
    }

    fn refuse_if_broken(&self) -> Result<(), AuditError> {
        match &self.broken {
            Some(e) => Err(AuditError::Broken {
                path: self.path.clone(),
                line: e.line,
                problem: e.problem.clone(),
            }),
            None => Ok(()),
        }
    }

    /// Verifies what was appended since we last looked (everything, at
    /// open), recovering a torn tail.  Needs the lock.
    fn catch_up(&mut self) -> Result<(), AuditError> {
        let size = self
            .file
            .metadata()
            .map_err(|e| AuditError::io(&self.path, "inspect", e))?
            .len();
        if size < self.len {
            self.mark_broken(LineError {
                line: self.lines + 1,
                offset: size,
                problem: Problem::Shrank {
                    was: self.len,
                    now: size,
                },
            });
            return Ok(());
        }
        if size == self.len {
            return Ok(());
        }
        let file = self
            .file
            .try_clone()
            .map_err(|e| AuditError::io(&self.path, "read", e))?;
        let scanner = Scanner::new(file, self.len, self.lines, self.last_hash.clone(), false);
        for item in scanner {
            match item {
                Ok(e) => {
                    self.lines = e.record.line;
                    self.len = e.offset + e.raw.len() as u64 + 1;
                    self.last_hash = e.record.hash;
                }
                Err(e) if e.problem.is_torn() => return self.recover(&e),
                Err(e) => {
                    self.mark_broken(e);
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    fn mark_broken(&mut self, e: LineError) {
        tracing::error!(path = %self.path.display(), "audit log broken: {e}");
        self.status = AuditLogStatus::Broken;
        self.detail = e.to_string();
        self.broken = Some(e);
    }

    /// Moves the torn tail at `e` to a side file, cuts it off, and records
    /// that in the chain.  The side file is durable before the cut, so a
    /// crash in between loses nothing (the next open moves it again).
    fn recover(&mut self, e: &LineError) -> Result<(), AuditError> {
        let err = |action: &'static str| {
            let path = self.path.clone();
            move |error: io::Error| AuditError::io(&path, action, error)
        };
        let size = self.file.metadata().map_err(err("inspect"))?.len();
        let bytes = size - e.offset;
        let mut tail = vec![
            0;
            usize::try_from(bytes)
                .map_err(io::Error::other)
                .map_err(err("read"))?
        ];
        self.file
            .read_exact_at(&mut tail, e.offset)
            .map_err(err("read its torn tail"))?;
        let (aside, mut side_file) =
            create_side_file(&self.path).map_err(err("create a side file"))?;
        side_file
            .write_all(&tail)
            .and_then(|()| side_file.sync_all())
            .map_err(|error| AuditError::io(&aside, "write", error))?;
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            sync_dir(dir).map_err(err("sync its directory"))?;
        }
        self.file
            .set_len(e.offset)
            .and_then(|()| self.file.sync_all())
            .map_err(err("cut its torn tail"))?;
        let what = format!(
            "torn last line {} ({bytes} bytes at byte {}) moved to {}",
            e.line,
            e.offset,
            aside.display()
        );
        tracing::warn!(path = %self.path.display(), "audit log: {what}");
        let written = self.write(recovery_record(&what))?;
        self.status = AuditLogStatus::RecoveredTornTail;
        self.detail = format!("{what}; recorded at line {}", written.line);
        Ok(())
    }

    /// Chains, writes and syncs one line.  Needs the lock, and a caught-up
    /// view of the file.
    fn write(&mut self, mut line: Line) -> Result<AuditRecord, AuditError> {
        line.id = uuid::Uuid::now_v7().to_string();
        if line.time_unix_ns == 0 {
            line.time_unix_ns = now_unix_ns();
        }
        if line.host.is_empty() {
            line.host.clone_from(&self.host);
        }
        line.prev_hash.clone_from(&self.last_hash);
        let bytes = chain::encode(&mut line).map_err(|e| AuditError::Encode(e.to_string()))?;
        // On failure nothing is updated: the next append looks at the file
        // again and recovers whatever part of this line reached it.
        self.file
            .write_all(&bytes)
            .map_err(|e| AuditError::io(&self.path, "append to", e))?;
        self.file
            .sync_data()
            .map_err(|e| AuditError::io(&self.path, "sync", e))?;
        self.lines += 1;
        self.len += bytes.len() as u64;
        self.last_hash.clone_from(&line.hash);
        Ok(line.to_proto(self.lines))
    }
}

fn recovery_record(detail: &str) -> Line {
    let uid = nix::unistd::geteuid().as_raw();
    Line {
        id: String::new(),
        time_unix_ns: 0,
        host: String::new(),
        actor_uid: uid,
        actor_user: nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
            .ok()
            .flatten()
            .map(|u| u.name)
            .unwrap_or_default(),
        actor_role: Role::Unspecified,
        origin: format!("{} pid {}", program_name(), std::process::id()),
        action: ActionKind::Unspecified,
        signal: Signal::Unspecified,
        priority: None,
        mode: ActionMode::Unspecified,
        target: None,
        processes: Vec::new(),
        reason: "audit log recovery after a crash".to_owned(),
        result: ActionResult::Unspecified,
        code: TORN_TAIL_CODE.to_owned(),
        detail: detail.to_owned(),
        prev_hash: String::new(),
        hash: String::new(),
    }
}

/// `PATH.torn-<unix seconds>`, or `…-2`, `…-3` when that exists already.
fn create_side_file(path: &Path) -> io::Result<(PathBuf, File)> {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    for n in 1..1000 {
        let mut name = OsString::from(path.as_os_str());
        name.push(format!(".torn-{secs}"));
        if n > 1 {
            name.push(format!("-{n}"));
        }
        let side = PathBuf::from(name);
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&side)
        {
            Ok(f) => return Ok((side, f)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other(
        "999 side files for this second exist already",
    ))
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

fn now_unix_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

fn host_name() -> String {
    nix::sys::utsname::uname()
        .map(|u| u.nodename().to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn program_name() -> String {
    std::env::args_os()
        .next()
        .map(PathBuf::from)
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "perch".to_owned())
}
