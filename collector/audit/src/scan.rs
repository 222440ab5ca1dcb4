//! Reading a log back: every line checked on its own and against the one
//! before it, with its 1-based line number and byte offset.  Readers take
//! no lock while they read (a paused `perch audit list | less` must never
//! hold up perchd's appends); only when the last line looks torn do they
//! wait for the writers' lock and look again, so an append in progress is
//! not mistaken for a crash.
use std::{
    fs::File,
    io::{self, BufRead as _, BufReader, Read as _, Seek as _, SeekFrom},
    path::{Path, PathBuf},
};

use perch_proto::v1::AuditRecord;

use super::{
    MAX_LINE_BYTES,
    chain::{self, GENESIS, Link, Problem},
    disk::Line,
    lock::Shared,
};

/// One line that verified.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// The record, with `line` set.
    pub record: AuditRecord,
    /// The line's exact text, without its newline.
    pub raw: String,
    /// Byte offset of the line in the file.
    pub offset: u64,
}

/// Where and why a line does not verify.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line} (byte {offset}): {problem}")]
pub struct LineError {
    pub line: u64,
    pub offset: u64,
    pub problem: Problem,
}

/// `verify`'s answer when the file could not be read at all, or a line is bad.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("cannot read {}: {error}", .path.display())]
    Open { path: PathBuf, error: io::Error },
    #[error(transparent)]
    Line(#[from] LineError),
}

impl VerifyError {
    /// The first bad line, when there is one.
    #[must_use]
    pub fn line(&self) -> Option<u64> {
        match self {
            Self::Open { .. } => None,
            Self::Line(e) => Some(e.line),
        }
    }
}

/// A whole log that verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifySummary {
    pub records: u64,
    pub bytes: u64,
    /// The last line's hash (`GENESIS` for an empty log).
    pub last_hash: String,
}

/// Checks the whole chain of the log at `path`.
pub fn verify(path: &Path) -> Result<VerifySummary, VerifyError> {
    verify_against(path, &[])
}

/// What someone else knows of a log's head: it held `records` records,
/// the last with hash `last_hash`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// Who says so, for messages: "its head file /var/lib/perch/audit.log.head".
    pub who: String,
    pub records: u64,
    pub last_hash: String,
}

/// Checks the whole chain, and that line `records` of every checkpoint
/// exists and has that checkpoint's hash (a log may have grown since; it
/// may not have lost or changed lines).
pub fn verify_against(
    path: &Path,
    checkpoints: &[Checkpoint],
) -> Result<VerifySummary, VerifyError> {
    let mut summary = VerifySummary {
        records: 0,
        bytes: 0,
        last_hash: GENESIS.to_owned(),
    };
    for entry in read(path)? {
        let entry = entry?;
        let line = entry.record.line;
        if let Some(cp) = checkpoints
            .iter()
            .find(|cp| cp.records == line && cp.last_hash != entry.record.hash)
        {
            return Err(VerifyError::Line(LineError {
                line,
                offset: entry.offset,
                problem: Problem::HeadMismatch {
                    who: cp.who.clone(),
                    records: cp.records,
                    last_hash: cp.last_hash.clone(),
                    found: entry.record.hash,
                },
            }));
        }
        summary.records = line;
        summary.bytes = entry.offset + entry.raw.len() as u64 + 1;
        summary.last_hash = entry.record.hash;
    }
    if let Some(cp) = checkpoints
        .iter()
        .filter(|cp| cp.records > summary.records)
        .max_by_key(|cp| cp.records)
    {
        return Err(VerifyError::Line(LineError {
            line: summary.records + 1,
            offset: summary.bytes,
            problem: Problem::Cut {
                who: cp.who.clone(),
                records: cp.records,
                last_hash: cp.last_hash.clone(),
            },
        }));
    }
    Ok(summary)
}

/// The log's lines from the start; bad lines are yielded as errors and
/// reading goes on after them (the chain is followed by the hash each line
/// claims), so a listing can show everything that does verify.
pub fn read(path: &Path) -> Result<Scanner, VerifyError> {
    let file = File::open(path).map_err(|error| VerifyError::Open {
        path: path.to_owned(),
        error,
    })?;
    Ok(Scanner::new(file, 0, 0, GENESIS.to_owned(), true))
}

pub struct Scanner {
    reader: BufReader<File>,
    /// Lines read so far.
    lines: u64,
    offset: u64,
    /// The hash the next line must name (`None` after an unreadable line);
    /// unused for the first line, which has its own rule.
    prev: Option<String>,
    /// Whether to wait for the writers' lock before calling a tail torn
    /// (false inside a writer, which holds that lock already).
    recheck_torn: bool,
    buf: Vec<u8>,
    /// The reader's position is not `offset` (at the start, after a recheck).
    seek: bool,
    done: bool,
}

impl Scanner {
    /// Reads `file` from `offset`, where `lines` lines ending in `prev`
    /// have been verified already.
    pub(super) fn new(
        file: File,
        offset: u64,
        lines: u64,
        prev: String,
        recheck_torn: bool,
    ) -> Self {
        Self {
            reader: BufReader::with_capacity(64 * 1024, file),
            lines,
            offset,
            prev: Some(prev),
            recheck_torn,
            buf: Vec::new(),
            seek: true,
            done: false,
        }
    }

    fn fail(&self, problem: Problem) -> LineError {
        LineError {
            line: self.lines + 1,
            offset: self.offset,
            problem,
        }
    }

    /// Reads the next line into `buf` (at most one byte more than a line
    /// may hold, so that endless input stops); `Ok(false)` at the end of
    /// the file.
    fn read_line(&mut self) -> io::Result<bool> {
        self.buf.clear();
        if self.seek {
            self.reader.seek(SeekFrom::Start(self.offset))?;
            self.seek = false;
        }
        let cap = MAX_LINE_BYTES as u64 + 2;
        Ok((&mut self.reader)
            .take(cap)
            .read_until(b'\n', &mut self.buf)?
            > 0)
    }

    fn at_eof(&mut self) -> io::Result<bool> {
        Ok(self.reader.fill_buf()?.is_empty())
    }

    fn next_line(&mut self) -> Result<Option<Entry>, LineError> {
        let io = |s: &Self, e: io::Error| s.fail(Problem::Io(e.to_string()));
        if !self.read_line().map_err(|e| io(self, e))? {
            return Ok(None);
        }
        let mut torn = self.torn().map_err(|e| io(self, e))?;
        let too_long = matches!(torn, Some(Problem::TooLong { .. }));
        if torn.is_some() && self.recheck_torn && !too_long {
            // An append may be under way: wait until no writer holds the
            // lock, then read the line again.
            let file = self.reader.get_ref().try_clone().map_err(|e| io(self, e))?;
            let _lock = Shared::lock(file).map_err(|e| io(self, e))?;
            self.seek = true;
            if !self.read_line().map_err(|e| io(self, e))? {
                return Ok(None);
            }
            torn = self.torn().map_err(|e| io(self, e))?;
        }
        if let Some(problem) = torn {
            self.done = true;
            return Err(self.fail(problem));
        }
        let len = self.buf.len() as u64;
        let body = &self.buf[..self.buf.len() - 1];
        let before = match (self.lines, &self.prev) {
            (0, _) => Link::First,
            (_, Some(prev)) => Link::After(prev),
            (_, None) => Link::Unknown,
        };
        let result = if body.contains(&0) {
            Err(Problem::Nul)
        } else {
            chain::check(body, before)
        };
        let stored = chain::stored_hash(body).map(str::to_owned);
        let out = match result {
            Ok(line) => Ok(Some(self.entry(&line))),
            Err(problem) => Err(self.fail(problem)),
        };
        self.prev = stored;
        self.lines += 1;
        self.offset += len;
        out
    }

    /// Whether the line just read is a torn tail: no newline, or NUL bytes
    /// in the file's last line.  A line longer than any record is not torn
    /// but damage (or not a log at all), and ends the scan.
    fn torn(&mut self) -> io::Result<Option<Problem>> {
        let bytes = self.buf.len() as u64;
        if self.buf.len() > MAX_LINE_BYTES + 1
            || (self.buf.len() > MAX_LINE_BYTES && self.buf.last() != Some(&b'\n'))
        {
            return Ok(Some(Problem::TooLong {
                limit: MAX_LINE_BYTES,
            }));
        }
        if self.buf.last() != Some(&b'\n') {
            return Ok(Some(Problem::TornNoNewline { bytes }));
        }
        Ok((self.buf.contains(&0) && self.at_eof()?).then_some(Problem::TornNul { bytes }))
    }

    fn entry(&self, line: &Line) -> Entry {
        let body = &self.buf[..self.buf.len() - 1];
        Entry {
            record: line.to_proto(self.lines + 1),
            // check() parsed it as JSON, so it is UTF-8.
            raw: String::from_utf8_lossy(body).into_owned(),
            offset: self.offset,
        }
    }
}

impl Iterator for Scanner {
    type Item = Result<Entry, LineError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.next_line() {
            Ok(Some(e)) => Some(Ok(e)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                // A read error would repeat forever; a bad line does not.
                self.done |= matches!(e.problem, Problem::Io(_));
                Some(Err(e))
            }
        }
    }
}
