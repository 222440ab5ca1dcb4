//! Torn tails are moved aside and recorded; any other damage is reported
//! and stops appends, leaving the file as it was.
use std::{io::Write as _, path::Path, time::Duration};

use perch_proto::v1::AuditLogStatus;

use super::{lines, log_path, sample, write_log};
use crate::{AuditError, AuditLog, Problem, TORN_TAIL_CODE, lock::Exclusive, read, verify};

fn append_bytes(path: &Path, bytes: &[u8]) {
    std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .unwrap()
        .write_all(bytes)
        .unwrap();
}

fn side_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut found: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains(".torn-"))
        .collect();
    found.sort();
    found
}

/// Appends `tail` after two good records, reopens, and checks the
/// recovery: the tail is in a side file, a record says so, the chain holds.
fn recovers(tail: &[u8]) {
    let dir = tempfile::tempdir().unwrap();
    let path = log_path(dir.path());
    write_log(&path, 2);
    let good_len = std::fs::metadata(&path).unwrap().len();
    append_bytes(&path, tail);

    let mut log = AuditLog::open(&path).unwrap();
    assert_eq!(log.status(), AuditLogStatus::RecoveredTornTail);
    let sides = side_files(path.parent().unwrap());
    assert_eq!(sides.len(), 1, "{sides:?}");
    assert_eq!(std::fs::read(&sides[0]).unwrap(), tail);
    let what = format!(
        "torn last line 3 ({} bytes at byte {good_len}) moved to {}",
        tail.len(),
        sides[0].display()
    );
    assert_eq!(log.status_detail(), format!("{what}; recorded at line 3"));
    let records: Vec<_> = read(&path).unwrap().map(Result::unwrap).collect();
    assert_eq!(records.len(), 3);
    let note = &records[2].record;
    assert_eq!(note.code, TORN_TAIL_CODE);
    assert_eq!(note.detail, what);
    assert_eq!(note.prev_hash, records[1].record.hash);
    assert_eq!(log.append(&sample(7, 0)).unwrap().line, 4);
    assert_eq!(verify(&path).unwrap().records, 4);
    // Reopening finds nothing more to do.
    let again = AuditLog::open(&path).unwrap();
    assert_eq!(again.status(), AuditLogStatus::Ok);
    assert_eq!(side_files(path.parent().unwrap()).len(), 1);
}

#[test]
fn a_half_written_line_is_recovered() {
    let mut line = std::fs::read(write_log_bytes()).unwrap();
    line.truncate(line.len() / 2);
    recovers(&line);
}

#[test]
fn a_complete_line_without_its_newline_is_recovered() {
    // append() had not returned: the action was never reported as recorded.
    let mut line = std::fs::read(write_log_bytes()).unwrap();
    line.pop();
    recovers(&line);
}

#[test]
fn a_zero_filled_tail_is_recovered() {
    recovers(&[0; 300]);
    recovers(b"\0\0\0\0\0\0\0\0\n");
}

/// One encoded line, for tails that look like real ones.
fn write_log_bytes() -> tempfile::TempPath {
    let dir = tempfile::tempdir().unwrap();
    let path = log_path(dir.path());
    write_log(&path, 1);
    let out = tempfile::NamedTempFile::new().unwrap().into_temp_path();
    std::fs::copy(&path, &out).unwrap();
    out
}

#[test]
fn a_log_that_is_only_a_torn_line_starts_over() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_path(dir.path());
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, b"{\"id\":\"01").unwrap();
    let log = AuditLog::open(&path).unwrap();
    assert_eq!(log.status(), AuditLogStatus::RecoveredTornTail);
    assert!(
        log.status_detail()
            .starts_with("torn last line 1 (9 bytes at byte 0) moved to "),
        "{}",
        log.status_detail()
    );
    assert_eq!(verify(&path).unwrap().records, 1);
}

#[test]
fn a_broken_chain_refuses_appends_and_is_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_path(dir.path());
    write_log(&path, 3);
    let mut bytes = std::fs::read(&path).unwrap();
    let first = lines(&path)[0].len();
    // "incident 1" becomes "incident 2" in line 2's reason.
    let at = first + find(&bytes[first..], b"incident 1");
    bytes[at + 9] = b'2';
    std::fs::write(&path, &bytes).unwrap();

    let mut log = AuditLog::open(&path).unwrap();
    assert_eq!(log.status(), AuditLogStatus::Broken);
    assert!(
        log.status_detail().starts_with("line 2 (byte "),
        "{}",
        log.status_detail()
    );
    let e = log.append(&sample(5, 0)).unwrap_err();
    assert!(matches!(
        e,
        AuditError::Broken {
            line: 2,
            problem: Problem::HashMismatch { .. },
            ..
        }
    ));
    assert!(
        e.to_string().starts_with(&format!(
            "audit log {} broken at line 2: hash mismatch",
            path.display()
        )),
        "{e}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), bytes, "left as it was");
    assert!(side_files(path.parent().unwrap()).is_empty());
}

#[test]
fn damage_to_the_last_line_is_not_taken_for_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_path(dir.path());
    write_log(&path, 2);
    let mut bytes = std::fs::read(&path).unwrap();
    // Complete with its newline, but not the line that was written.
    let n = bytes.len();
    bytes[n - 20] ^= 0x01;
    std::fs::write(&path, &bytes).unwrap();
    let log = AuditLog::open(&path).unwrap();
    assert_eq!(log.status(), AuditLogStatus::Broken);
    assert!(
        log.status_detail().starts_with("line 2 "),
        "{}",
        log.status_detail()
    );
    assert!(side_files(path.parent().unwrap()).is_empty());
}

#[test]
fn a_log_cut_short_by_someone_else_stops_appends() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_path(dir.path());
    let mut log = AuditLog::open(&path).unwrap();
    log.append(&sample(1, 0)).unwrap();
    log.append(&sample(2, 0)).unwrap();
    let first = lines(&path)[0].len() as u64;
    let was = std::fs::metadata(&path).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(first)
        .unwrap();
    let e = log.append(&sample(3, 0)).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "audit log {} broken at line 3: the log shrank from {was} to {first} bytes",
            path.display()
        )
    );
    assert_eq!(log.status(), AuditLogStatus::Broken);
}

#[test]
fn a_reader_waits_for_an_append_in_progress() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_path(dir.path());
    write_log(&path, 1);
    let line = std::fs::read(write_log_bytes()).unwrap();
    // A writer holds the lock and has written half its line.
    let writer = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    let lock = Exclusive::lock(writer.try_clone().unwrap()).unwrap();
    (&writer).write_all(&line[..40]).unwrap();
    let reader = {
        let path = path.clone();
        std::thread::spawn(move || verify(&path))
    };
    // The reader reaches the tail and must then block on the lock (had it
    // not waited, it would have reported a torn line 2).
    wait_for_blocked_flock(&path);
    assert!(!reader.is_finished(), "the reader must wait for the writer");
    // The writer's line is from another log: it finishes it, and the
    // reader must then see a complete (if foreign) line 2, not a torn one.
    (&writer).write_all(&line[40..]).unwrap();
    drop(lock);
    let e = reader.join().unwrap().unwrap_err();
    assert_eq!(e.line(), Some(2));
    assert!(!e.to_string().contains("torn"), "{e}");
}

/// Waits (bounded) until /proc/locks shows a process blocked on a flock
/// of `path`'s inode: a waiter is listed with `->`.
fn wait_for_blocked_flock(path: &Path) {
    use std::os::unix::fs::MetadataExt as _;
    let ino = std::fs::metadata(path).unwrap().ino();
    let needle = format!(":{ino} ");
    for _ in 0..1000 {
        let locks = std::fs::read_to_string("/proc/locks").unwrap();
        if locks
            .lines()
            .any(|l| l.contains("-> FLOCK") && l.contains(&needle))
        {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!(
        "no reader blocked on the lock of {} within 10 s",
        path.display()
    );
}

fn find(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len())
        .position(|w| w == needle)
        .expect("needle present")
}
