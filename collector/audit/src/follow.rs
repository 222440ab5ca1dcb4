//! Where the log lives: opening the file at its path (creating it and its
//! directories, refusing one that another user owns or others may write),
//! and following a rename.  Rotation is `mv audit.log audit.log.1` and then
//! SIGHUP to perchd (or simply the next append, which notices): the writer
//! finishes the old file (its final head goes to `audit.log.1.head`), and
//! starts a new file at the path whose first record names the old one —
//! its path, record count and last hash — and carries that hash as its
//! `prev_hash`, so the new file continues the old file's chain.
use std::{
    fs::{DirBuilder, File, OpenOptions},
    io,
    os::{
        fd::AsRawFd as _,
        unix::fs::{DirBuilderExt as _, MetadataExt as _, OpenOptionsExt as _},
    },
    path::{Path, PathBuf},
};

use super::{
    AuditError, AuditLog,
    chain::{GENESIS, Problem},
    disk::Predecessor,
    head::{self, HeadFile},
    lock::Exclusive,
    read,
    recover::{note, sync_dir, user_name},
    scan::LineError,
};

/// `code` of the first record of a log that continues a rotated one.
pub const ROTATED_CODE: &str = "audit_log_rotated";

/// Opens the log at `path` for appending, creating it (mode 0600) and its
/// directories (mode 0700) when missing; true when it was created.
pub(super) fn open_file(path: &Path) -> Result<(File, bool), AuditError> {
    let err = |action: &'static str| move |error: io::Error| AuditError::io(path, action, error);
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    if let Some(dir) = dir {
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|error| AuditError::Dir {
                path: path.to_owned(),
                dir: dir.to_owned(),
                error: in_the_way(dir, error),
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
    let meta = file.metadata().map_err(err("inspect"))?;
    if !meta.is_file() {
        return Err(AuditError::io(
            path,
            "use",
            io::Error::other("not a regular file"),
        ));
    }
    check_owner(path, &meta)?;
    if !existed && let Some(dir) = dir {
        // The new file's name must survive a crash too.
        sync_dir(dir).map_err(err("sync its directory"))?;
    }
    Ok((file, !existed))
}

/// mkdir says "File exists" (or, further down, "Not a directory") when a
/// file blocks the way; say which one.
fn in_the_way(dir: &Path, error: io::Error) -> io::Error {
    if !matches!(
        error.kind(),
        io::ErrorKind::AlreadyExists | io::ErrorKind::NotADirectory
    ) {
        return error;
    }
    let blocker = dir
        .ancestors()
        .find(|p| p.symlink_metadata().is_ok_and(|m| !m.is_dir()) && !p.is_dir());
    match blocker {
        Some(b) if b != dir => io::Error::other(format!(
            "{} is in the way: it is a file, not a directory",
            b.display()
        )),
        _ => io::Error::other("a file that is not a directory is in the way"),
    }
}

/// A log another user owns could be rewritten by them, and one that group
/// or others may write by anyone: refuse both, naming owner and mode.
fn check_owner(path: &Path, meta: &std::fs::Metadata) -> Result<(), AuditError> {
    let me = nix::unistd::geteuid().as_raw();
    let who = |uid: u32| match user_name(uid) {
        Some(name) => format!("uid {uid} ({name})"),
        None => format!("uid {uid}"),
    };
    let mode = meta.mode() & 0o7777;
    let detail = if meta.uid() != me {
        format!(
            "it is owned by {} (mode {mode:04o}), but this process runs as {}; \
             a log must belong to the user that writes it (chown it, or choose another path)",
            who(meta.uid()),
            who(me)
        )
    } else if mode & 0o022 != 0 {
        format!(
            "its mode {mode:04o} (owner {}) lets group or others write it; \
             `chmod go-w {}` (perch creates it 0600)",
            who(meta.uid()),
            path.display()
        )
    } else {
        return Ok(());
    };
    Err(AuditError::Unsafe {
        path: path.to_owned(),
        detail,
    })
}

impl AuditLog {
    /// If the path no longer names our file, continues the log in a new
    /// file there.  Needs the lock on the current file; returns the lock on
    /// the new one, which the caller holds while it appends.
    pub(super) fn follow_rename(&mut self) -> Result<Option<Exclusive>, AuditError> {
        let ours = self
            .file
            .metadata()
            .map_err(|e| AuditError::io(&self.path, "inspect", e))?;
        let same = match std::fs::metadata(&self.path) {
            Ok(m) => m.dev() == ours.dev() && m.ino() == ours.ino(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => false,
            Err(e) => return Err(AuditError::io(&self.path, "look up", e)),
        };
        if same {
            return Ok(None);
        }
        let old = where_now(&self.file);
        let pred = Predecessor {
            path: old
                .as_ref()
                .map_or_else(|| "(removed)".to_owned(), |p| p.display().to_string()),
            records: self.lines,
            last_hash: self.last_hash.clone(),
        };
        if let Some(old) = &old
            && let Err(e) =
                head::write_new(&head::path_of(old), self.lines, self.len, &self.last_hash)
        {
            tracing::warn!("audit log {}: final head not recorded: {e}", old.display());
        }
        let (file, _) = open_file(&self.path)?;
        let lock = file
            .try_clone()
            .and_then(Exclusive::lock)
            .map_err(|e| AuditError::io(&self.path, "lock", e))?;
        let (head, _) = HeadFile::open(&head::path_of(&self.path)).map_err(AuditError::Head)?;
        self.file = file;
        self.head = head;
        (self.lines, self.len, self.last_hash) = (0, 0, GENESIS.to_owned());
        self.stamp = None;
        tracing::info!(
            "audit log {} was renamed to {}: continuing in a new file",
            self.path.display(),
            pred.path
        );
        if self
            .file
            .metadata()
            .map_err(|e| AuditError::io(&self.path, "inspect", e))?
            .len()
            > 0
        {
            // Another writer continued it already, or someone put another
            // file there: it must start by continuing ours.
            self.check_all(false, None)?;
            self.check_successor(&pred);
            return Ok(Some(lock));
        }
        self.last_hash.clone_from(&pred.last_hash);
        let detail = format!(
            "continues {} ({} records, last hash {})",
            pred.path, pred.records, pred.last_hash
        );
        let mut line = note("audit log rotated", ROTATED_CODE, &detail);
        line.predecessor = Some(pred);
        self.write(line)?;
        // A new file's head goes to the disk at once, as at open.
        self.store_head(true);
        self.status = perch_proto::v1::AuditLogStatus::Ok;
        self.detail = format!("{detail}; recorded at line 1");
        Ok(Some(lock))
    }

    /// A non-empty file found at the path after a rename must begin with
    /// the record that continues `pred`.
    fn check_successor(&mut self, pred: &Predecessor) {
        if self.broken.is_some() {
            return;
        }
        let first = read(&self.path).ok().and_then(|mut s| s.next());
        let continues = first
            .as_ref()
            .and_then(|e| e.as_ref().ok())
            .and_then(|e| e.record.predecessor.as_ref())
            .is_some_and(|p| p.last_hash == pred.last_hash && p.records == pred.records);
        if !continues {
            self.mark_broken(LineError {
                line: 1,
                offset: 0,
                problem: Problem::Malformed(format!(
                    "the log was renamed to {} and the file now at its path does not \
                     continue it (its first record does not name {} records ending in {})",
                    pred.path, pred.records, pred.last_hash
                )),
            });
        }
    }
}

/// Where the open file is now (after a rename), from /proc; `None` when
/// it was removed.
fn where_now(file: &File) -> Option<PathBuf> {
    let link = std::fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd())).ok()?;
    let text = link.to_string_lossy();
    (!text.ends_with(" (deleted)")).then_some(link)
}
