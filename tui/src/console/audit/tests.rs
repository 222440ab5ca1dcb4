//! The action log's state: merging hosts newest first, keeping the cursor.
use perch_proto::v1::AuditRecord;

use super::*;

fn rec(id: &str, secs: u64, line: u64) -> AuditRecord {
    AuditRecord {
        id: id.into(),
        time_unix_ns: secs * 1_000_000_000,
        line,
        actor_user: "root".into(),
        ..AuditRecord::default()
    }
}

fn page(records: Vec<AuditRecord>) -> AuditPage {
    AuditPage {
        records,
        ..AuditPage::default()
    }
}

fn ids(log: &ActionLog) -> Vec<String> {
    log.shown().map(|(_, r)| r.id.clone()).collect()
}

#[test]
fn hosts_merge_newest_first_and_the_cursor_stays_on_its_record() {
    let mut log = ActionLog::default();
    let names = ["a".to_owned(), "b".to_owned()];
    log.set_loading(HostId(0));
    assert!(log.loading());
    log.ingest(
        HostId(0),
        Ok(page(vec![rec("a2", 20, 2), rec("a1", 10, 1)])),
    );
    log.ingest(HostId(1), Ok(page(vec![rec("b1", 15, 1)])));
    log.rebuild(&names);
    assert!(!log.loading());
    assert_eq!(ids(&log), ["a2", "b1", "a1"]);
    log.move_by(1);
    assert_eq!(
        log.selected().map(|(h, r)| (h, r.id.as_str())),
        Some((HostId(1), "b1"))
    );
    // A newer record arrives on top: the cursor follows b1.
    log.ingest(
        HostId(0),
        Ok(page(vec![
            rec("a3", 30, 3),
            rec("a2", 20, 2),
            rec("a1", 10, 1),
        ])),
    );
    log.rebuild(&names);
    assert_eq!(ids(&log), ["a3", "a2", "b1", "a1"]);
    assert_eq!(log.selected().unwrap().1.id, "b1");
    // A failed refetch keeps what was there and says why.
    log.ingest(HostId(1), Err("audit: not reachable".into()));
    log.rebuild(&names);
    assert_eq!(log.total(), 4);
    assert_eq!(log.hosts[1].error.as_deref(), Some("audit: not reachable"));
    log.move_by(isize::MAX);
    assert_eq!(log.cursor, 3);
    log.move_by(-100);
    assert_eq!(log.cursor, 0);
}

#[test]
fn the_last_visible_column_stays() {
    let mut log = ActionLog::default();
    for i in 0..7 {
        log.toggle_column(i);
    }
    assert_eq!(log.columns.iter().filter(|c| **c).count(), 1);
    assert!(log.columns[6]);
    log.toggle_column(0);
    assert!(log.columns[0]);
    log.toggle_column(99);
}
