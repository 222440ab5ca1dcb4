//! Appending, reading back and verifying; every single-byte change fails
//! at the line that holds the byte.
use std::os::unix::fs::PermissionsExt as _;

use perch_proto::v1::{ActionKind, AuditLogStatus};
use serde_json::Value;

use super::{lines, log_path, sample, write_log};
use crate::{AuditError, AuditLog, GENESIS, Problem, VerifyError, read, verify};

#[test]
fn append_read_verify() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_path(dir.path());
    let log = AuditLog::open(&path).unwrap();
    assert_eq!(log.status(), AuditLogStatus::Ok);
    assert_eq!(log.status_detail(), "0 records, chain intact");
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(path.parent().unwrap()), 0o700);
    assert_eq!(mode(path.parent().unwrap().parent().unwrap()), 0o700);
    drop(log);

    let written = write_log(&path, 3);
    assert_eq!(
        written.iter().map(|r| r.line).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    assert_eq!(written[0].prev_hash, GENESIS);
    assert_eq!(written[1].prev_hash, written[0].hash);
    assert_eq!(written[2].prev_hash, written[1].hash);
    for r in &written {
        let id = uuid::Uuid::parse_str(&r.id).unwrap();
        assert_eq!(id.get_version_num(), 7, "{}", r.id);
        assert!(r.time_unix_ns > 1_700_000_000_000_000_000);
        assert!(!r.host.is_empty());
    }
    assert!(written[0].id < written[1].id, "v7 ids sort by time");

    let read: Vec<_> = read(&path).unwrap().map(Result::unwrap).collect();
    assert_eq!(read.len(), 3);
    for (got, want) in read.iter().zip(&written) {
        assert_eq!(&got.record, want);
    }
    let summary = verify(&path).unwrap();
    assert_eq!(summary.records, 3);
    assert_eq!(summary.last_hash, written[2].hash);
    assert_eq!(summary.bytes, std::fs::metadata(&path).unwrap().len());
}

#[test]
fn the_line_format() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_path(dir.path());
    write_log(&path, 1);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.ends_with("\"}\n") && text.matches('\n').count() == 1,
        "{text}"
    );
    let v: Value = serde_json::from_str(&text).unwrap();
    let keys = serde_json::from_str::<Keys>(&text).unwrap().0;
    // The proto's field order; `line` is not stored.
    assert_eq!(
        keys,
        [
            "id",
            "time_unix_ns",
            "host",
            "actor_uid",
            "actor_user",
            "actor_role",
            "origin",
            "action",
            "signal",
            "priority",
            "mode",
            "target",
            "processes",
            "reason",
            "result",
            "code",
            "detail",
            "prev_hash",
            "hash"
        ]
    );
    assert_eq!(v["action"], "kill_tree");
    assert_eq!(v["result"], "partial");
    assert_eq!(v["actor_role"], "operator");
    assert_eq!(v["signal"], "term");
    assert_eq!(v["mode"], "live");
    assert_eq!(v["processes"][0]["outcome"], "done");
    assert_eq!(v["target"]["key"]["pid"], 4242);
    // The hash covers the line without its `,"hash":"…"` member.
    let body = text
        .trim_end()
        .rsplit_once(",\"hash\":")
        .unwrap()
        .0
        .to_owned()
        + "}";
    let digest = <sha2::Sha256 as sha2::Digest>::digest(body.as_bytes());
    assert_eq!(v["hash"], crate::chain::hex(&digest));
}

/// A JSON object's member names in the order they are written.
struct Keys(Vec<String>);

impl<'de> serde::Deserialize<'de> for Keys {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Keys;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut m: A) -> Result<Keys, A::Error> {
                let mut keys = Vec::new();
                while let Some(k) = m.next_key::<String>()? {
                    m.next_value::<serde::de::IgnoredAny>()?;
                    keys.push(k);
                }
                Ok(Keys(keys))
            }
        }
        d.deserialize_map(V)
    }
}

/// The 1-based line holding byte `pos` (a newline belongs to its line).
fn line_of(lines: &[Vec<u8>], pos: usize) -> u64 {
    let mut end = 0;
    for (i, l) in lines.iter().enumerate() {
        end += l.len();
        if pos < end {
            return i as u64 + 1;
        }
    }
    unreachable!("pos {pos} past the end")
}

#[test]
fn every_flipped_byte_fails_at_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_path(dir.path());
    write_log(&path, 3);
    let good = std::fs::read(&path).unwrap();
    let split = lines(&path);
    // Every position with one bit flipped, and a sample of positions set
    // to characters that keep the JSON plausible or split the line.
    let mut cases: Vec<(usize, u8)> = (0..good.len()).map(|p| (p, good[p] ^ 0x01)).collect();
    for p in (0..good.len()).step_by(7) {
        for b in [b'\n', b'0', b'a', b' ', b'"', 0, 0xff] {
            if good[p] != b {
                cases.push((p, b));
            }
        }
    }
    for (pos, byte) in cases {
        let mut bad = good.clone();
        bad[pos] = byte;
        std::fs::write(&path, &bad).unwrap();
        let want = line_of(&split, pos);
        match verify(&path) {
            Ok(s) => panic!("byte {pos} set to {byte:#04x}: verified ({s:?})"),
            Err(e) => assert_eq!(e.line(), Some(want), "byte {pos} set to {byte:#04x}: {e}"),
        }
    }
}

#[test]
fn a_relinked_line_fails_the_chain() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_path(dir.path());
    write_log(&path, 3);
    // Drop line 2: line 3 is sound on its own but names line 2's hash.
    let split = lines(&path);
    std::fs::write(&path, [split[0].clone(), split[2].clone()].concat()).unwrap();
    let e = verify(&path).unwrap_err();
    assert_eq!(e.line(), Some(2));
    let VerifyError::Line(e) = e else {
        unreachable!()
    };
    assert!(matches!(e.problem, Problem::Chain { .. }), "{e}");
    assert!(e.to_string().starts_with("line 2 (byte "), "{e}");
}

#[test]
fn reopen_continues_the_chain() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_path(dir.path());
    let first = write_log(&path, 2);
    let mut log = AuditLog::open(&path).unwrap();
    assert_eq!(log.status(), AuditLogStatus::Ok);
    assert_eq!(log.status_detail(), "2 records, chain intact");
    assert_eq!(log.records(), 2);
    let third = log.append(&sample(9, 0)).unwrap();
    assert_eq!(third.line, 3);
    assert_eq!(third.prev_hash, first[1].hash);
    assert_eq!(verify(&path).unwrap().records, 3);
}

#[test]
fn two_writers_extend_one_chain() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_path(dir.path());
    let mut a = AuditLog::open(&path).unwrap();
    let mut b = AuditLog::open(&path).unwrap();
    let r1 = a.append(&sample(1, 0)).unwrap();
    let r2 = b.append(&sample(2, 0)).unwrap();
    let r3 = a.append(&sample(3, 0)).unwrap();
    assert_eq!((r1.line, r2.line, r3.line), (1, 2, 3));
    assert_eq!(r2.prev_hash, r1.hash);
    assert_eq!(r3.prev_hash, r2.hash);
    assert_eq!(verify(&path).unwrap().records, 3);
}

#[test]
fn unknown_enum_values_are_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_path(dir.path());
    let mut log = AuditLog::open(&path).unwrap();
    let mut bad = sample(1, 1);
    bad.action = 99;
    let e = log.append(&bad).unwrap_err();
    assert_eq!(
        e.to_string(),
        "audit record: action = 99 is not a known perch.v1 value"
    );
    let mut bad = sample(1, 1);
    bad.processes[0].outcome = -1;
    let e = log.append(&bad).unwrap_err();
    assert!(e.to_string().contains("processes.outcome = -1"), "{e}");
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 0);
    // Unset enums are fine (recovery records use them).
    let mut plain = sample(1, 0);
    plain.action = ActionKind::Unspecified.into();
    assert_eq!(log.append(&plain).unwrap().line, 1);
}

#[test]
fn unusable_paths_are_one_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("file");
    std::fs::write(&file, "x").unwrap();
    let path = file.join("audit.log");
    let e = AuditLog::open(&path).unwrap_err();
    assert!(matches!(e, AuditError::Dir { .. }));
    assert_eq!(
        e.to_string(),
        format!(
            "audit log {}: cannot create directory {}: a file that is not a directory is in the way",
            path.display(),
            file.display()
        )
    );
    let e = AuditLog::open(dir.path()).unwrap_err().to_string();
    assert!(
        e.starts_with(&format!("audit log {}: cannot ", dir.path().display())),
        "{e}"
    );
    let e = verify(&dir.path().join("missing.log")).unwrap_err();
    assert_eq!(e.line(), None);
    assert!(e.to_string().contains("No such file"), "{e}");
}

/// A signal without a name in `perch.v1` (a real-time signal the console's
/// numeric entry sends) is stored as its number and read back as it was;
/// a number no signal has is refused before anything is written.
#[test]
fn unnamed_signals_are_stored_as_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_path(dir.path());
    let mut log = AuditLog::open(&path).unwrap();
    let mut rt = sample(0, 1);
    rt.signal = 34;
    let written = log.append(&rt).unwrap();
    let mut abrt = sample(1, 1);
    abrt.signal = perch_proto::v1::Signal::Abrt.into();
    log.append(&abrt).unwrap();
    let mut bad = sample(2, 1);
    bad.signal = 65;
    assert!(log.append(&bad).is_err(), "65 is no signal");
    drop(log);
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["signal"], 34);
    assert_eq!(lines[1]["signal"], "abrt");
    let back: Vec<_> = read(&path).unwrap().map(Result::unwrap).collect();
    assert_eq!(back[0].record, written);
    assert_eq!(back[0].record.signal, 34);
    assert_eq!(back[1].record.signal, 6);
    verify(&path).unwrap();
}
