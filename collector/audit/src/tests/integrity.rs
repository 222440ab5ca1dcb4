//! What a writer notices while it runs and at open beyond a broken chain:
//! a cut at a line boundary (the head file), a changed byte or a torn line
//! since its own last append, a rename (rotation), a file it must not use;
//! and what readers do with endless input and with a log read backwards.
use std::{
    os::unix::fs::{MetadataExt as _, PermissionsExt as _},
    path::Path,
};

use perch_proto::v1::{AuditLogStatus, AuditStage};

use super::{lines, log_path, sample, write_log};
use crate::{
    AuditError, AuditLog, Backward, Checkpoint, MAX_LINE_BYTES, Problem, ROTATED_CODE, head, read,
    verify, verify_against,
};

fn cut_to(path: &Path, len: usize) {
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .unwrap()
        .set_len(len as u64)
        .unwrap();
}

#[test]
fn a_cut_at_a_line_boundary_is_found_by_the_head() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_path(dir.path());
    let written = write_log(&path, 3);
    let head = head::read(&head::path_of(&path)).unwrap().unwrap();
    assert_eq!(head.records, 3);
    assert_eq!(head.last_hash, written[2].hash);
    assert_eq!(head.bytes, std::fs::metadata(&path).unwrap().len());

    // Line 3 removed: the rest verifies on its own...
    let split = lines(&path);
    cut_to(&path, split[0].len() + split[1].len());
    assert_eq!(verify(&path).unwrap().records, 2);
    // ...but not against its head, and the writer will not append.
    let cp = Checkpoint {
        who: "its head file".into(),
        records: head.records,
        last_hash: head.last_hash.clone(),
    };
    let e = verify_against(&path, &[cp]).unwrap_err();
    assert_eq!(e.line(), Some(3), "{e}");
    assert!(e.to_string().contains("the log was cut"), "{e}");
    let mut log = AuditLog::open(&path).unwrap();
    assert_eq!(log.status(), AuditLogStatus::Broken);
    assert!(
        log.status_detail().starts_with("line 3 ")
            && log
                .status_detail()
                .contains("the log was cut: its head file")
            && log.status_detail().contains("says it holds 3 records"),
        "{}",
        log.status_detail()
    );
    assert!(log.append(&sample(9, 0)).is_err());
}

#[test]
fn a_byte_changed_while_the_writer_runs_stops_its_next_append() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_path(dir.path());
    let mut log = AuditLog::open(&path).unwrap();
    for n in 0..4 {
        log.append(&sample(n, 1)).unwrap();
    }
    let mut bytes = std::fs::read(&path).unwrap();
    let split = lines(&path);
    let at = split[0].len() + split[1].len() + 30;
    bytes[at] ^= 1;
    // Let the change fall into a later clock tick than our own write.
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::write(&path, &bytes).unwrap();
    let e = log.append(&sample(5, 0)).unwrap_err();
    assert!(
        matches!(e, AuditError::Broken { line: 3, .. }),
        "{e}: the changed line is named"
    );
    assert_eq!(log.status(), AuditLogStatus::Broken);
    assert_eq!(std::fs::read(&path).unwrap(), bytes, "nothing appended");
}

#[test]
fn a_torn_line_while_the_writer_runs_is_damage_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_path(dir.path());
    let mut log = AuditLog::open(&path).unwrap();
    log.append(&sample(1, 0)).unwrap();
    log.append(&sample(2, 0)).unwrap();
    // Line 2 cut in the middle, and something appended after it.
    let split = lines(&path);
    cut_to(&path, split[0].len() + split[1].len() / 2);
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    std::io::Write::write_all(&mut f, &vec![b'x'; split[1].len()]).unwrap();
    drop(f);
    let e = log.append(&sample(3, 0)).unwrap_err();
    assert!(matches!(e, AuditError::Broken { line: 2, .. }), "{e}");
    let sides = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .contains(".torn-")
        })
        .count();
    assert_eq!(sides, 0, "nothing moved aside");
}

#[test]
fn a_renamed_log_continues_in_a_new_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_path(dir.path());
    let mut log = AuditLog::open(&path).unwrap();
    let last = (0..3)
        .map(|n| log.append(&sample(n, 0)).unwrap())
        .last()
        .unwrap();
    let old = path.with_file_name("audit.log.1");
    std::fs::rename(&path, &old).unwrap();
    assert!(log.reopen().unwrap(), "the rename is followed");
    assert!(!log.reopen().unwrap(), "once");

    let first = read(&path).unwrap().next().unwrap().unwrap().record;
    assert_eq!(first.code, ROTATED_CODE);
    assert_eq!(first.prev_hash, last.hash, "the chain goes on");
    let pred = first.predecessor.unwrap();
    assert_eq!(
        (pred.path.as_str(), pred.records),
        (old.to_str().unwrap(), 3)
    );
    assert_eq!(pred.last_hash, last.hash);
    assert_eq!(verify(&path).unwrap().records, 1);
    // The old file keeps its final head.
    let old_head = head::read(&head::path_of(&old)).unwrap().unwrap();
    assert_eq!((old_head.records, old_head.last_hash), (3, last.hash));

    // A rename noticed by the next append, without a reopen.
    let r = log.append(&sample(7, 0)).unwrap();
    assert_eq!(r.line, 2);
    std::fs::rename(&path, path.with_file_name("audit.log.2")).unwrap();
    let r = log.append(&sample(8, 0)).unwrap();
    assert_eq!(r.line, 2, "after the new file's own first record");
    assert_eq!(verify(&path).unwrap().records, 2);
    assert_eq!(AuditLog::open(&path).unwrap().status(), AuditLogStatus::Ok);
    // A continuation record anywhere but on line 1 is refused.
    let bad = read(&path).unwrap().next().unwrap().unwrap().raw + "\n";
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str(&bad);
    std::fs::write(&path, text).unwrap();
    assert_eq!(verify(&path).unwrap_err().line(), Some(3));
}

#[test]
fn a_file_put_in_place_of_the_log_is_not_continued() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_path(dir.path());
    let mut log = AuditLog::open(&path).unwrap();
    log.append(&sample(1, 0)).unwrap();
    // Another log (sound on its own) replaces ours.
    let other = dir.path().join("other.log");
    write_log(&other, 2);
    std::fs::rename(&other, &path).unwrap();
    let e = log.append(&sample(2, 0)).unwrap_err().to_string();
    assert!(e.contains("does not continue it"), "{e}");
}

#[test]
fn logs_others_could_rewrite_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_path(dir.path());
    write_log(&path, 1);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o664)).unwrap();
    let e = AuditLog::open(&path).unwrap_err().to_string();
    assert_eq!(
        e,
        format!(
            "audit log {0}: refusing to use it: its mode 0664 (owner uid {1}{2}) lets group or \
             others write it; `chmod go-w {0}` (perch creates it 0600)",
            path.display(),
            nix::unistd::geteuid(),
            crate::recover::user_name(nix::unistd::geteuid().as_raw())
                .map_or_else(String::new, |n| format!(" ({n})"))
        )
    );
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    if nix::unistd::geteuid().is_root() {
        std::os::unix::fs::chown(&path, Some(65534), None).unwrap();
        let e = AuditLog::open(&path).unwrap_err().to_string();
        assert!(
            e.starts_with(&format!(
                "audit log {}: refusing to use it: it is owned by uid 65534",
                path.display()
            )) && e.contains("(mode 0600), but this process runs as uid 0"),
            "{e}"
        );
        assert_eq!(std::fs::metadata(&path).unwrap().uid(), 65534);
    }
}

#[test]
fn endless_input_stops_at_the_line_limit() {
    let e = verify(Path::new("/dev/zero")).unwrap_err();
    assert_eq!(e.line(), Some(1));
    assert!(
        e.to_string()
            .contains(&format!("longer than {MAX_LINE_BYTES} bytes")),
        "{e}"
    );
    // A long line followed by a newline is no better.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("long.log");
    write_log(&path, 1);
    let mut text = std::fs::read(&path).unwrap();
    text.extend(std::iter::repeat_n(b'{', 3 * MAX_LINE_BYTES));
    text.push(b'\n');
    std::fs::write(&path, &text).unwrap();
    let e = verify(&path).unwrap_err();
    assert_eq!(e.line(), Some(2));
    assert!(
        matches!(e, crate::VerifyError::Line(ref l) if matches!(l.problem, Problem::TooLong { .. }))
    );
    let (file, len) = (std::fs::File::open(&path).unwrap(), text.len() as u64);
    let first: Vec<_> = Backward::new(file, len, 2).collect();
    assert_eq!(first.len(), 1, "stops at the long line: {first:?}");
    assert!(first[0].is_err());
}

#[test]
fn records_over_the_limit_are_refused_whole() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_path(dir.path());
    let mut log = AuditLog::open(&path).unwrap();
    let mut big = sample(1, 0);
    big.reason = "x".repeat(MAX_LINE_BYTES);
    let e = log.append(&big).unwrap_err();
    assert!(matches!(e, AuditError::TooLarge { .. }), "{e}");
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 0);
    assert_eq!(log.append(&sample(2, 0)).unwrap().line, 1);
}

#[test]
fn backwards_reads_the_same_records_and_finds_the_same_damage() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_path(dir.path());
    let mut log = AuditLog::open(&path).unwrap();
    let mut intent = sample(0, 0);
    intent.set_stage(AuditStage::Intent);
    log.append(&intent).unwrap();
    // Records of every size, some larger than a read block.
    for n in 1..40 {
        log.append(&sample(n, if n % 7 == 0 { 900 } else { n }))
            .unwrap();
    }
    let forward: Vec<_> = read(&path).unwrap().map(Result::unwrap).collect();
    let (file, len, records) = log.snapshot().unwrap();
    let mut backward: Vec<_> = Backward::new(file, len, records)
        .map(Result::unwrap)
        .collect();
    backward.reverse();
    assert_eq!(backward, forward);

    // One byte of line 20 changed: named by both.
    let split = lines(&path);
    let at: usize = split[..19].iter().map(Vec::len).sum::<usize>() + 10;
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[at] ^= 1;
    std::fs::write(&path, &bytes).unwrap();
    let bad: Vec<u64> = Backward::new(std::fs::File::open(&path).unwrap(), len, records)
        .filter_map(|e| e.err().map(|e| e.line))
        .collect();
    assert_eq!(bad, [20]);
    assert_eq!(verify(&path).unwrap_err().line(), Some(20));
    // A line dropped: the chain link is named at the newer line.
    let mut dropped: Vec<u8> = Vec::new();
    for (i, l) in split.iter().enumerate() {
        if i != 9 {
            dropped.extend(l);
        }
    }
    std::fs::write(&path, &dropped).unwrap();
    let bad: Vec<_> = Backward::new(
        std::fs::File::open(&path).unwrap(),
        dropped.len() as u64,
        records - 1,
    )
    .filter_map(Result::err)
    .collect();
    assert_eq!(bad.len(), 1, "{bad:?}");
    assert!(matches!(bad[0].problem, Problem::Chain { .. }), "{bad:?}");
    assert_eq!(bad[0].line, 10);
}

#[test]
fn a_file_in_the_way_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("file");
    std::fs::write(&file, "x").unwrap();
    let path = file.join("lib/perch/audit.log");
    let e = AuditLog::open(&path).unwrap_err().to_string();
    assert_eq!(
        e,
        format!(
            "audit log {}: cannot create directory {}: {} is in the way: it is a file, not a directory",
            path.display(),
            file.join("lib/perch").display(),
            file.display()
        )
    );
}
