//! The hash chain.  A line is `{...,"prev_hash":"<64 hex>","hash":"<64 hex>"}`
//! and `hash` is the hex SHA-256 of the line's bytes without the trailing
//! `,"hash":"<64 hex>"`, that is the object serialized with every member
//! but `hash`.  Since that includes `prev_hash`, each line vouches for the
//! one before it: changing any byte of any line breaks that line's hash, and
//! recomputing it breaks the next line's `prev_hash`.  Checking works on the
//! exact bytes read, never on a re-serialization.
use sha2::{Digest as _, Sha256};

use super::disk::Line;

/// `prev_hash` of the first line.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

const SUFFIX_HEAD: &[u8] = b",\"hash\":\"";
const SUFFIX_TAIL: &[u8] = b"\"}";
/// `,"hash":"` + 64 hex + `"}`.
const SUFFIX_LEN: usize = SUFFIX_HEAD.len() + 64 + SUFFIX_TAIL.len();

/// Why one line does not verify (the line number is added by the caller).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    #[error("torn write: {bytes} bytes without a trailing newline")]
    TornNoNewline { bytes: u64 },
    #[error("torn write: the last line ({bytes} bytes) holds NUL bytes")]
    TornNul { bytes: u64 },
    #[error("NUL bytes inside the log")]
    Nul,
    #[error(
        "the line is longer than {limit} bytes, the limit for one record; \
         stopped reading there"
    )]
    TooLong { limit: usize },
    #[error("the line does not end with ,\"hash\":\"<64 lowercase hex>\"}}")]
    NoHash,
    #[error("hash mismatch: the line says {stored}, its content hashes to {computed}")]
    HashMismatch { stored: String, computed: String },
    #[error("not a valid audit record: {0}")]
    Malformed(String),
    #[error("prev_hash {found} is not the previous line's hash {expected}")]
    Chain { expected: String, found: String },
    #[error("the log shrank from {was} to {now} bytes")]
    Shrank { was: u64, now: u64 },
    #[error(
        "the log was rewritten: this line's hash is now {found}, \
         it was {expected} when it was written"
    )]
    Rewritten { expected: String, found: String },
    #[error(
        "the log was cut: {who} says it holds {records} records, \
         the last with hash {last_hash}, but it ends here"
    )]
    Cut {
        /// Who knows the head: "its head file PATH", "perchd (pid N)".
        who: String,
        records: u64,
        last_hash: String,
    },
    #[error(
        "{who} says record {records} has hash {last_hash}, \
         but this line's hash is {found}: the log was rewritten"
    )]
    HeadMismatch {
        who: String,
        records: u64,
        last_hash: String,
        found: String,
    },
    #[error("reading failed: {0}")]
    Io(String),
}

/// What a line's `prev_hash` must be.
#[derive(Clone, Copy, Debug)]
pub enum Link<'a> {
    /// The log's first line: all zeros, or (a log that continues a rotated
    /// one) the last hash of the predecessor the line names.
    First,
    /// The previous line's hash.
    After(&'a str),
    /// Not known here (the previous line was unreadable, or is read later):
    /// the link is checked by the caller or not at all.
    Unknown,
}

impl Problem {
    /// A crash in the middle of an append (not tampering): the last line
    /// lacks its newline, or a file system zero-filled it after power loss.
    /// Only these may be moved aside by recovery; anything else is evidence.
    #[must_use]
    pub fn is_torn(&self) -> bool {
        matches!(self, Self::TornNoNewline { .. } | Self::TornNul { .. })
    }
}

#[must_use]
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    out
}

fn sha256_hex(parts: &[&[u8]]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    hex(&h.finalize())
}

fn is_hash(s: &[u8]) -> bool {
    s.len() == 64 && s.iter().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Serializes `line` (setting its `hash`) as the bytes to append, newline
/// included.
pub fn encode(line: &mut Line) -> Result<Vec<u8>, serde_json::Error> {
    line.hash.clear();
    let mut out = serde_json::to_vec(&*line)?;
    let hash = sha256_hex(&[&out]);
    // The object ends with `}`: reopen it for the last member.
    out.pop();
    out.extend_from_slice(SUFFIX_HEAD);
    out.extend_from_slice(hash.as_bytes());
    out.extend_from_slice(SUFFIX_TAIL);
    out.push(b'\n');
    line.hash = hash;
    Ok(out)
}

/// The `hash` a line claims, read from its suffix alone (so that the chain
/// can be followed past a line whose content is damaged).
#[must_use]
pub fn stored_hash(line: &[u8]) -> Option<&str> {
    let start = line.len().checked_sub(SUFFIX_LEN)?;
    let suffix = &line[start..];
    let hash = &suffix[SUFFIX_HEAD.len()..SUFFIX_HEAD.len() + 64];
    (suffix.starts_with(SUFFIX_HEAD) && suffix.ends_with(SUFFIX_TAIL) && is_hash(hash))
        .then(|| std::str::from_utf8(hash).ok())
        .flatten()
}

/// Checks one line (without its newline) on its own and against what
/// comes before it.
pub fn check(line: &[u8], before: Link<'_>) -> Result<Line, Problem> {
    let stored = stored_hash(line).ok_or(Problem::NoHash)?;
    let body = &line[..line.len() - SUFFIX_LEN];
    let computed = sha256_hex(&[body, b"}"]);
    if computed != stored {
        return Err(Problem::HashMismatch {
            stored: stored.to_owned(),
            computed,
        });
    }
    let parsed: Line =
        serde_json::from_slice(line).map_err(|e| Problem::Malformed(e.to_string()))?;
    if parsed.hash != stored {
        // Only possible with a second "hash" member, which serde refuses;
        // kept so the invariant does not rest on that.
        return Err(Problem::Malformed("hash member is not the last one".into()));
    }
    let expected = match before {
        Link::First => {
            let continues = parsed
                .predecessor
                .as_ref()
                .is_some_and(|p| p.last_hash == parsed.prev_hash);
            (!continues).then_some(GENESIS)
        }
        Link::After(hash) => {
            if parsed.predecessor.is_some() {
                return Err(Problem::Malformed(
                    "only a log's first line may name a predecessor".into(),
                ));
            }
            Some(hash)
        }
        Link::Unknown => None,
    };
    if let Some(expected) = expected
        && parsed.prev_hash != expected
    {
        return Err(Problem::Chain {
            expected: expected.to_owned(),
            found: parsed.prev_hash,
        });
    }
    Ok(parsed)
}
