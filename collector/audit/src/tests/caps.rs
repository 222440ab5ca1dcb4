//! What a process chooses about itself (a command line of megabytes, a
//! long path) enters the log capped at the contract's limits, so no line
//! can blind a reader, and the capped line still verifies.
use perch_proto::limits::{self, ARGV_BYTES, PATH_BYTES};

use super::{log_path, sample};
use crate::{AuditLog, read};

#[test]
fn oversized_strings_are_capped_before_they_are_written() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = log_path(dir.path());
    let mut log = AuditLog::open(&path).expect("open");
    let mut huge = sample(1, 3);
    if let Some(t) = &mut huge.target {
        t.argv = vec!["x".repeat(128 << 10); 40];
        t.exe = "/".repeat(1 << 20);
    }
    huge.origin = "o".repeat(1 << 20);
    huge.processes[0].detail = "d".repeat(1 << 20);
    let written = log.append(&huge).expect("append");
    let t = written.target.as_ref().expect("target");
    assert_eq!(limits::argv_bytes(&t.argv), ARGV_BYTES);
    assert_eq!(t.exe.len(), PATH_BYTES);
    assert_eq!(written.origin.len(), limits::ORIGIN_BYTES);
    let line = std::fs::read(&path).expect("read").len();
    assert!(line < 32 << 10, "a line of {line} bytes");
    let back: Vec<_> = read(&path)
        .expect("read")
        .map(|e| e.expect("verifies").record)
        .collect();
    assert_eq!(back, [written]);
}
