//! What a writer checks before it appends: whether anyone else changed the
//! file since its own last look (size, times or inode differ), and if so
//! the whole chain again, ending where this writer left it — so a byte
//! changed in the middle of the log, a line cut or torn while running,
//! stops the next action.  At open, the same full check against the head
//! file; only there is a torn last line a crash remnant to recover.
//! (Timestamps have the kernel's tick granularity: a change within the
//! same tick as our own write is found at the next open, or by `perch
//! audit verify`.)
use std::os::unix::fs::MetadataExt as _;

use super::{
    AuditError, AuditLog,
    chain::{GENESIS, Problem},
    head::Head,
    scan::{LineError, Scanner},
};

/// What `fstat` says about the file, enough to notice any change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Stamp {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl Stamp {
    pub(super) fn of(m: &std::fs::Metadata) -> Self {
        Self {
            dev: m.dev(),
            ino: m.ino(),
            size: m.len(),
            mtime: (m.mtime(), m.mtime_nsec()),
            ctime: (m.ctime(), m.ctime_nsec()),
        }
    }
}

impl AuditLog {
    /// Looks at the file again; if anyone else changed it since our last
    /// look, checks the whole chain again.  Needs the lock.
    pub(super) fn catch_up(&mut self) -> Result<(), AuditError> {
        let meta = self
            .file
            .metadata()
            .map_err(|e| AuditError::io(&self.path, "inspect", e))?;
        if meta.len() < self.len {
            self.mark_broken(LineError {
                line: self.lines + 1,
                offset: meta.len(),
                problem: Problem::Shrank {
                    was: self.len,
                    now: meta.len(),
                },
            });
            return Ok(());
        }
        if self.stamp == Some(Stamp::of(&meta)) {
            return Ok(());
        }
        // What we wrote must still be there, unchanged.
        let ours = Head {
            seq: 0,
            records: self.lines,
            bytes: self.len,
            last_hash: self.last_hash.clone(),
        };
        self.check_all(false, Some(&ours))
    }

    /// Verifies the whole file from its start (recovering a torn tail only
    /// when `opening`), and that it holds `known`'s records with its last
    /// hash.  Needs the lock.
    pub(super) fn check_all(
        &mut self,
        opening: bool,
        known: Option<&Head>,
    ) -> Result<(), AuditError> {
        let who = if opening {
            format!("its head file {}", self.head.path().display())
        } else {
            "this writer, which wrote it,".to_owned()
        };
        let file = self
            .file
            .try_clone()
            .map_err(|e| AuditError::io(&self.path, "read", e))?;
        let (mut lines, mut len, mut last) = (0, 0, GENESIS.to_owned());
        for item in Scanner::new(file, 0, 0, GENESIS.to_owned(), false) {
            let e = match item {
                Ok(e) => e,
                Err(e) if e.problem.is_torn() && opening && short_of(known, lines).is_none() => {
                    (self.lines, self.len, self.last_hash) = (lines, len, last);
                    return self.recover(&e);
                }
                Err(e) => {
                    (self.lines, self.len, self.last_hash) = (lines, len, last);
                    self.mark_broken(e);
                    return Ok(());
                }
            };
            if let Some(k) =
                known.filter(|k| k.records == e.record.line && k.last_hash != e.record.hash)
            {
                let problem = if opening {
                    Problem::HeadMismatch {
                        who,
                        records: k.records,
                        last_hash: k.last_hash.clone(),
                        found: e.record.hash,
                    }
                } else {
                    Problem::Rewritten {
                        expected: k.last_hash.clone(),
                        found: e.record.hash,
                    }
                };
                self.mark_broken(LineError {
                    line: e.record.line,
                    offset: e.offset,
                    problem,
                });
                return Ok(());
            }
            lines = e.record.line;
            len = e.offset + e.raw.len() as u64 + 1;
            last = e.record.hash;
        }
        (self.lines, self.len, self.last_hash) = (lines, len, last);
        if let Some(k) = short_of(known, lines) {
            self.mark_broken(LineError {
                line: lines + 1,
                offset: len,
                problem: Problem::Cut {
                    who,
                    records: k.records,
                    last_hash: k.last_hash.clone(),
                },
            });
            return Ok(());
        }
        self.stamp = Some(self.stamp_now()?);
        Ok(())
    }
}

/// `known` when it names more records than `lines`.
fn short_of(known: Option<&Head>, lines: u64) -> Option<&Head> {
    known.filter(|k| k.records > lines)
}
