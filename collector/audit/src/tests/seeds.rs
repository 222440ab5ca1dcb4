//! Seed inputs for the audit-log fuzz target (collector/fuzz): real logs
//! of every shape the readers meet — plain records, an action's intent and
//! result, a rotated log's first line, a torn tail, a head file.  The test
//! checks that each is what it claims; with `PERCH_FUZZ_SEEDS=DIR` it also
//! leaves them in DIR (`.ci/fuzz.sh` does that before fuzzing), so the
//! corpus is made from the code, not committed.
use std::path::Path;

use perch_proto::v1::AuditStage;

use super::{sample, write_log};
use crate::{AuditLog, head, read, verify};

#[test]
fn fuzz_seeds_are_real_logs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_log(&d.join("plain.log"), 3);

    let paired = d.join("paired.log");
    let mut log = AuditLog::open(&paired).unwrap();
    let mut intent = sample(1, 0);
    intent.set_stage(AuditStage::Intent);
    let intent = log.append(&intent).unwrap();
    let mut result = sample(1, 3);
    result.set_stage(AuditStage::Result);
    result.intent_id = intent.id;
    log.append(&result).unwrap();
    let mut open = sample(2, 0);
    open.set_stage(AuditStage::Intent);
    log.append(&open).unwrap();

    let rotated = d.join("rotated.log");
    let mut log = AuditLog::open(&rotated).unwrap();
    log.append(&sample(3, 1)).unwrap();
    std::fs::rename(&rotated, d.join("rotated.log.1")).unwrap();
    log.append(&sample(4, 1)).unwrap();
    drop(log);

    let mut torn = std::fs::read(d.join("plain.log")).unwrap();
    torn.truncate(torn.len() - 40);
    std::fs::write(d.join("torn.log"), &torn).unwrap();

    for name in ["plain.log", "paired.log", "rotated.log", "rotated.log.1"] {
        assert!(verify(&d.join(name)).is_ok(), "{name}");
    }
    assert_eq!(read(&d.join("paired.log")).unwrap().count(), 3);
    assert!(verify(&d.join("torn.log")).is_err());
    assert!(
        head::read(&head::path_of(&d.join("plain.log")))
            .unwrap()
            .is_some()
    );

    if let Some(out) = std::env::var_os("PERCH_FUZZ_SEEDS") {
        let out = Path::new(&out);
        std::fs::create_dir_all(out).unwrap();
        for entry in std::fs::read_dir(d).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            std::fs::copy(&path, out.join(format!("seed-{name}"))).unwrap();
        }
    }
}
