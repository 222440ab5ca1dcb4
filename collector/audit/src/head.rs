//! The head state file, `PATH.head`: the log's record count, byte length
//! and last hash, kept beside the log by every writer.  A log cut at a line
//! boundary still verifies on its own (every remaining line is intact);
//! against its head it does not, because the head names more records.
//!
//! The file is two 256-byte slots, each one text line with a sequence
//! number and a SHA-256 checksum of the rest of the line:
//!
//! ```text
//! perch-audit-head v1 seq=7 records=42 bytes=81234 last=<64 hex> sum=<16 hex>
//! ```
//!
//! A writer overwrites the older slot in place (`pwrite`: no new blocks
//! needed, so a full disk does not stop it) *after* the log line is on
//! disk.  So the newest whole slot never names more than the log holds:
//! the head is a lower bound, and the log may be a line or so ahead of it.
//! Appends do not `fsync` the head (that would double the cost of every
//! record, on the path of every action); it reaches the disk with the page
//! cache's writeback, and is synced at open and rotation.  After a power
//! loss it may be behind the log — still a lower bound, so harmless; while
//! the host is up every reader sees the current head.
//!
//! What it protects against: a cut made by anything that does not also
//! rewrite this file (a careless `head -n`, a restore of an older copy, a
//! tool that drops lines).  What it does not: someone who can write both
//! files can rewrite the head too (the checksum is not a secret).  For
//! that, compare with a running perchd, which holds the head in memory
//! (`GetInfo`), or keep a copy of the head elsewhere.
use std::{
    ffi::OsString,
    fs::{File, OpenOptions},
    io::{self, Read as _},
    os::unix::fs::{FileExt as _, OpenOptionsExt as _},
    path::{Path, PathBuf},
};

use sha2::{Digest as _, Sha256};

use super::chain::hex;

const SLOT: usize = 256;
const MAGIC: &str = "perch-audit-head v1";

/// What a head file says: the log held `records` records in `bytes`
/// bytes, the last with hash `last_hash`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Head {
    pub seq: u64,
    pub records: u64,
    pub bytes: u64,
    pub last_hash: String,
}

#[derive(Debug, thiserror::Error)]
pub enum HeadError {
    #[error("cannot {action} {}: {error}", .path.display())]
    Io {
        path: PathBuf,
        action: &'static str,
        error: io::Error,
    },
    #[error(
        "{} is damaged (neither of its slots holds a valid head), so a cut at \
         the end of the log cannot be ruled out; if the log is known to be \
         whole, move the head file aside",
        .path.display()
    )]
    Damaged { path: PathBuf },
}

/// `PATH.head` for the log at `PATH`.
#[must_use]
pub fn path_of(log: &Path) -> PathBuf {
    let mut name = OsString::from(log.as_os_str());
    name.push(".head");
    PathBuf::from(name)
}

/// The newest valid head in the file at `path`; `None` when there is no
/// such file.
pub fn read(path: &Path) -> Result<Option<Head>, HeadError> {
    let err = |action| {
        let path = path.to_owned();
        move |error| HeadError::Io {
            path,
            action,
            error,
        }
    };
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(err("open")(e)),
    };
    // Never more than the two slots (and one byte to notice a longer file).
    let mut bytes = Vec::with_capacity(2 * SLOT + 1);
    file.take(2 * SLOT as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(err("read"))?;
    parse(&bytes).map(Some).ok_or_else(|| HeadError::Damaged {
        path: path.to_owned(),
    })
}

/// The newest valid slot of a head file's bytes.
#[must_use]
pub fn parse(bytes: &[u8]) -> Option<Head> {
    if bytes.len() > 2 * SLOT {
        return None;
    }
    bytes
        .chunks(SLOT)
        .filter_map(parse_slot)
        .max_by_key(|h| h.seq)
}

fn parse_slot(slot: &[u8]) -> Option<Head> {
    let text = std::str::from_utf8(slot).ok()?;
    let line = text.trim_end_matches([' ', '\n', '\0']);
    let (body, sum) = line.rsplit_once(" sum=")?;
    if sum != checksum(body) {
        return None;
    }
    let rest = body.strip_prefix(MAGIC)?.strip_prefix(' ')?;
    let mut fields = rest.split(' ');
    let mut field = |name: &str| fields.next()?.strip_prefix(name)?.strip_prefix('=');
    let seq = field("seq")?.parse().ok()?;
    let records = field("records")?.parse().ok()?;
    let bytes = field("bytes")?.parse().ok()?;
    let last_hash = field("last")?.to_owned();
    let hash_like = last_hash.len() == 64 && last_hash.bytes().all(|b| b.is_ascii_hexdigit());
    (hash_like && fields.next().is_none()).then_some(Head {
        seq,
        records,
        bytes,
        last_hash,
    })
}

fn checksum(body: &str) -> String {
    let mut h = Sha256::new();
    h.update(body.as_bytes());
    hex(&h.finalize()[..8])
}

fn encode(head: &Head) -> [u8; SLOT] {
    let body = format!(
        "{MAGIC} seq={} records={} bytes={} last={}",
        head.seq, head.records, head.bytes, head.last_hash
    );
    let line = format!("{body} sum={}", checksum(&body));
    let mut slot = [b' '; SLOT];
    // At most 191 bytes (four u64s, a hash, a checksum): it fits a slot.
    let n = line.len().min(SLOT - 1);
    slot[..n].copy_from_slice(&line.as_bytes()[..n]);
    slot[SLOT - 1] = b'\n';
    slot
}

/// A writer's open head file.
#[derive(Debug)]
pub struct HeadFile {
    path: PathBuf,
    file: File,
    seq: u64,
}

impl HeadFile {
    /// Opens (creating, mode 0600) the head file at `path` and reads what
    /// it says; a file that exists but holds no valid slot is an error.
    pub fn open(path: &Path) -> Result<(Self, Option<Head>), HeadError> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path)
            .map_err(|error| HeadError::Io {
                path: path.to_owned(),
                action: "open",
                error,
            })?;
        let len = file
            .metadata()
            .map_err(|error| HeadError::Io {
                path: path.to_owned(),
                action: "inspect",
                error,
            })?
            .len();
        let head = if len == 0 { None } else { read(path)? };
        let seq = head.as_ref().map_or(0, |h| h.seq);
        Ok((
            Self {
                path: path.to_owned(),
                file,
                seq,
            },
            head,
        ))
    }

    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Records a new head in the older slot (and waits for the disk when
    /// `sync`).
    pub fn store(
        &mut self,
        records: u64,
        bytes: u64,
        last_hash: &str,
        sync: bool,
    ) -> Result<(), HeadError> {
        let seq = self.seq + 1;
        let slot = encode(&Head {
            seq,
            records,
            bytes,
            last_hash: last_hash.to_owned(),
        });
        let at = (seq % 2) * SLOT as u64;
        self.file
            .write_all_at(&slot, at)
            .and_then(|()| if sync { self.file.sync_data() } else { Ok(()) })
            .map_err(|error| HeadError::Io {
                path: self.path.clone(),
                action: "write",
                error,
            })?;
        self.seq = seq;
        Ok(())
    }
}

/// Writes a fresh head file at `path` (a rotated log's final head), in
/// place of whatever was there.
pub fn write_new(path: &Path, records: u64, bytes: u64, last_hash: &str) -> Result<(), HeadError> {
    let file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|error| HeadError::Io {
            path: path.to_owned(),
            action: "create",
            error,
        })?;
    let mut head = HeadFile {
        path: path.to_owned(),
        file,
        seq: 0,
    };
    head.store(records, bytes, last_hash, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: &str = "ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12";

    #[test]
    fn the_newest_whole_slot_wins() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.log.head");
        let (mut f, none) = HeadFile::open(&path).unwrap();
        assert_eq!(none, None);
        f.store(1, 10, H, true).unwrap();
        f.store(2, 20, H, false).unwrap();
        let head = read(&path).unwrap().unwrap();
        assert_eq!((head.seq, head.records, head.bytes), (2, 2, 20));
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("records=2 bytes=20"), "{text}");

        // A torn write of the newer slot: the older one still answers.
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[40] ^= 1;
        assert_eq!(parse(&bytes).unwrap().records, 1);
        // Both slots damaged: no head, and opening says so.
        bytes[SLOT + 40] ^= 1;
        assert_eq!(parse(&bytes), None);
        std::fs::write(&path, &bytes).unwrap();
        let e = HeadFile::open(&path).unwrap_err().to_string();
        assert!(e.contains("is damaged"), "{e}");
        // Reopening a good file continues its sequence.
        write_new(&path, 5, 50, H).unwrap();
        let (mut f, head) = HeadFile::open(&path).unwrap();
        assert_eq!(head.unwrap().records, 5);
        f.store(6, 60, H, false).unwrap();
        assert_eq!(read(&path).unwrap().unwrap().records, 6);
    }

    #[test]
    fn garbage_is_no_head() {
        assert_eq!(parse(b""), None);
        assert_eq!(parse(&[b'x'; 3 * SLOT]), None);
        assert_eq!(parse(b"perch-audit-head v1 seq=1 sum=00"), None);
    }
}
