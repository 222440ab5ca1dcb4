//! Reading a log newest first, for listings that want the last few records
//! of a long log (`ListAudit` with a limit): it reads the file backwards in
//! blocks from a known end, so a call costs what it returns, never the
//! whole file.  Each line is checked on its own (its hash), and against
//! the newer line already returned (that line's `prev_hash` must be this
//! line's hash); the first line is checked against the log's start rule.
use std::{fs::File, io, os::unix::fs::FileExt as _};

use super::{
    MAX_LINE_BYTES,
    chain::{self, Link, Problem},
    scan::{Entry, LineError},
};

/// Bytes read per step.
const BLOCK: u64 = 64 * 1024;

pub struct Backward {
    file: File,
    /// `buf` holds the file's bytes `[start, start + buf.len())`; everything
    /// from `start + buf.len()` on has been returned.  The last buffered
    /// byte is a newline (the end of the next line to return).
    buf: Vec<u8>,
    start: u64,
    /// The number of the next line to return.
    line: u64,
    /// The line returned last, its offset and its `prev_hash` (`None` when
    /// it did not verify, or before the first).
    newer_prev: Option<(u64, u64, String)>,
    /// A sound line held back while the newer line's broken link is
    /// reported.
    held: Option<Entry>,
    done: bool,
}

impl Backward {
    /// Reads `file` backwards from byte `end`, a line boundary after
    /// `lines` complete lines (what the writer has verified so far).
    #[must_use]
    pub fn new(file: File, end: u64, lines: u64) -> Self {
        Self {
            file,
            buf: Vec::new(),
            start: end,
            line: lines,
            newer_prev: None,
            held: None,
            done: end == 0 || lines == 0,
        }
    }

    fn fail(&mut self, offset: u64, problem: Problem) -> LineError {
        LineError {
            line: self.line,
            offset,
            problem,
        }
    }

    /// Prepends the block before `start` to `buf`.
    fn read_block(&mut self) -> io::Result<()> {
        let from = self.start.saturating_sub(BLOCK);
        let len = usize::try_from(self.start - from).map_err(io::Error::other)?;
        let mut block = vec![0; len + self.buf.len()];
        self.file.read_exact_at(&mut block[..len], from)?;
        block[len..].copy_from_slice(&self.buf);
        self.buf = block;
        self.start = from;
        Ok(())
    }

    /// The next line (newest first) without its newline, and its offset.
    fn next_raw(&mut self) -> Result<Option<(Vec<u8>, u64)>, LineError> {
        if self.buf.is_empty() && self.start == 0 {
            return Ok(None);
        }
        loop {
            let body_end = self.buf.len().saturating_sub(1);
            if let Some(nl) = self.buf[..body_end].iter().rposition(|&b| b == b'\n') {
                let body = self.buf[nl + 1..body_end].to_vec();
                self.buf.truncate(nl + 1);
                let offset = self.start + nl as u64 + 1;
                return Ok(Some((body, offset)));
            }
            if self.start == 0 {
                let body = self.buf[..body_end].to_vec();
                self.buf.clear();
                return Ok(Some((body, 0)));
            }
            if self.buf.len() > MAX_LINE_BYTES + 1 {
                let offset = self.start;
                return Err(self.fail(
                    offset,
                    Problem::TooLong {
                        limit: MAX_LINE_BYTES,
                    },
                ));
            }
            if let Err(e) = self.read_block() {
                let offset = self.start;
                return Err(self.fail(offset, Problem::Io(e.to_string())));
            }
        }
    }

    fn next_entry(&mut self) -> Result<Option<Entry>, LineError> {
        let Some((body, offset)) = self.next_raw()? else {
            return Ok(None);
        };
        let rule = if offset == 0 {
            Link::First
        } else {
            Link::Unknown
        };
        let newer = self.newer_prev.take();
        let checked = if body.contains(&0) {
            Err(Problem::Nul)
        } else {
            chain::check(&body, rule)
        };
        let line = self.line;
        self.line = self.line.saturating_sub(1);
        let parsed = checked.map_err(|problem| LineError {
            line,
            offset,
            problem,
        })?;
        self.newer_prev = Some((line, offset, parsed.prev_hash.clone()));
        let entry = Entry {
            record: parsed.to_proto(line),
            // check() parsed it as JSON, so it is UTF-8.
            raw: String::from_utf8_lossy(&body).into_owned(),
            offset,
        };
        if let Some((newer_line, newer_offset, prev)) = newer
            && prev != entry.record.hash
        {
            // The newer line does not follow this one: that line is
            // reported, and this one comes next.
            let problem = Problem::Chain {
                expected: entry.record.hash.clone(),
                found: prev,
            };
            self.held = Some(entry);
            return Err(LineError {
                line: newer_line,
                offset: newer_offset,
                problem,
            });
        }
        Ok(Some(entry))
    }
}

impl Iterator for Backward {
    type Item = Result<Entry, LineError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(e) = self.held.take() {
            return Some(Ok(e));
        }
        if self.done {
            return None;
        }
        match self.next_entry() {
            Ok(Some(e)) => Some(Ok(e)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                // Reading on after a read error or an endless line would
                // repeat it; after a bad line it goes on.
                self.done |= matches!(e.problem, Problem::Io(_) | Problem::TooLong { .. });
                Some(Err(e))
            }
        }
    }
}
