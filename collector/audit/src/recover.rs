//! Recovery at open after a crash: a torn last line is moved to
//! `PATH.torn-<unix seconds>`, cut off, and the chain gets a record saying
//! so.  Also the records a writer adds about the log itself (recovery,
//! rotation).
use std::{
    ffi::OsString,
    fs::File,
    io::{self, Write as _},
    os::unix::fs::FileExt as _,
    path::{Path, PathBuf},
    time::{SystemTime, UNIX_EPOCH},
};

use perch_proto::v1::{
    ActionKind, ActionMode, ActionOutcome, ActionResult, AuditLogStatus, AuditStage, Role, Signal,
};

use super::{AuditError, AuditLog, disk::Line, log::create_new, scan::LineError};

/// `code` of the record that notes a torn tail moved aside.
pub const TORN_TAIL_CODE: &str = "audit_torn_tail_recovered";

impl AuditLog {
    /// Moves the torn tail at `e` to a side file, cuts it off, and records
    /// that in the chain.  The side file is durable before the cut, so a
    /// crash in between loses nothing (the next open moves it again); a
    /// side file that could not be written whole is removed again.
    pub(super) fn recover(&mut self, e: &LineError) -> Result<(), AuditError> {
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
        let dir = self.path.parent().filter(|d| !d.as_os_str().is_empty());
        let saved = side_file
            .write_all(&tail)
            .and_then(|()| side_file.sync_all())
            .and_then(|()| dir.map_or(Ok(()), sync_dir));
        if let Err(error) = saved {
            // Never leave an empty or partial copy behind.
            let _ = std::fs::remove_file(&aside);
            return Err(AuditError::io(&aside, "write", error));
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
        let written = self.write(note(
            "audit log recovery after a crash",
            TORN_TAIL_CODE,
            &what,
        ))?;
        self.status = AuditLogStatus::RecoveredTornTail;
        self.detail = format!("{what}; recorded at line {}", written.line);
        Ok(())
    }
}

/// A record about the log itself, by this process.
pub(super) fn note(reason: &str, code: &str, detail: &str) -> Line {
    let uid = nix::unistd::geteuid().as_raw();
    Line {
        id: String::new(),
        time_unix_ns: 0,
        host: String::new(),
        actor_uid: uid,
        actor_user: user_name(uid).unwrap_or_default(),
        actor_role: Role::Unspecified,
        origin: format!("{} pid {}", program_name(), std::process::id()),
        action: ActionKind::Unspecified,
        signal: Signal::Unspecified.into(),
        priority: None,
        mode: ActionMode::Unspecified,
        target: None,
        processes: Vec::new(),
        reason: reason.to_owned(),
        result: ActionResult::Unspecified,
        code: code.to_owned(),
        detail: detail.to_owned(),
        stage: AuditStage::Unspecified,
        intent_id: String::new(),
        predecessor: None,
        outcome: ActionOutcome::Unspecified,
        watch_ns: 0,
        prev_hash: String::new(),
        hash: String::new(),
    }
}

pub(super) fn user_name(uid: u32) -> Option<String> {
    nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
        .ok()
        .flatten()
        .map(|u| u.name)
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
        match create_new(&side) {
            Ok(f) => return Ok((side, f)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other(
        "999 side files for this second exist already",
    ))
}

pub(super) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

fn program_name() -> String {
    std::env::args_os()
        .next()
        .map(PathBuf::from)
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "perch".to_owned())
}
