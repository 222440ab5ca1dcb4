//! The audit log's readers on arbitrary bytes: the line decoder and chain
//! check (through the forward scanner and `verify`), the backward reader
//! that `ListAudit` uses, the head file parser and the listing's pairing.
//! Beyond "no panic, no endless buffering" it checks one property: a log
//! that verifies forwards reads back, backwards, as the same records.
#![no_main]

use std::{fs::File, io::Write as _, os::fd::FromRawFd as _, path::PathBuf};

use libfuzzer_sys::fuzz_target;
use perch_audit::{Backward, OldestFirst, head, read, verify};

/// The input as a file: an anonymous in-memory one (no disk, no cleanup),
/// and a path to it for the readers that open by path.
fn as_file(data: &[u8]) -> (File, PathBuf) {
    // SAFETY: memfd_create with a valid C string; the descriptor it returns
    // is owned by the File from here on.
    let fd = unsafe { libc::memfd_create(c"perch-fuzz".as_ptr(), 0) };
    assert!(fd >= 0, "memfd_create failed");
    // SAFETY: fd is a fresh descriptor nothing else owns.
    let mut file = unsafe { File::from_raw_fd(fd) };
    file.write_all(data).expect("write the input");
    (file, PathBuf::from(format!("/proc/self/fd/{fd}")))
}

fuzz_target!(|data: &[u8]| {
    let _ = head::parse(data);
    let (file, path) = as_file(data);
    let forward: Vec<_> = read(&path).expect("open").collect();
    let mut pairs = OldestFirst::new(3);
    for entry in forward.iter().flatten() {
        pairs.push(entry.clone(), true);
    }
    let _ = pairs.finish();
    if let Ok(summary) = verify(&path) {
        let clone = file.try_clone().expect("dup");
        let mut backward: Vec<_> = Backward::new(clone, summary.bytes, summary.records)
            .map(|e| e.expect("a log that verifies forwards verifies backwards"))
            .collect();
        backward.reverse();
        let forward: Vec<_> = forward.into_iter().map(|e| e.expect("verified")).collect();
        assert_eq!(backward, forward);
    }
});
