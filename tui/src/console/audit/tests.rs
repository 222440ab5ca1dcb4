//! The audit records the console holds: fetched pages, streamed records
//! inserted in order once, and records streamed during a fetch kept.
use perch_proto::v1::AuditRecord;

use super::*;

pub(crate) fn rec(id: &str, secs: u64, line: u64) -> AuditRecord {
    AuditRecord {
        id: id.into(),
        time_unix_ns: secs * 1_000_000_000,
        line,
        actor_user: "root".into(),
        ..AuditRecord::default()
    }
}

pub(crate) fn page(records: Vec<AuditRecord>) -> AuditPage {
    AuditPage {
        records,
        ..AuditPage::default()
    }
}

fn ids(log: &AuditLog, host: u16) -> Vec<String> {
    log.hosts[usize::from(host)]
        .page
        .iter()
        .flat_map(|p| &p.records)
        .map(|r| r.id.clone())
        .collect()
}

#[test]
fn streamed_records_go_in_time_order_once() {
    let mut log = AuditLog::default();
    assert!(log.needs_fetch(HostId(0)));
    let asked = log.fetch(HostId(0));
    assert_eq!(asked.limit, FETCH_LIMIT);
    assert!(log.loading() && !log.needs_fetch(HostId(0)));
    log.ingest(
        HostId(0),
        Ok(page(vec![rec("a3", 30, 3), rec("a1", 10, 1)])),
    );
    assert!(!log.needs_fetch(HostId(0)));
    let before = log.generation();
    log.insert(HostId(0), rec("a2", 20, 2));
    log.insert(HostId(0), rec("a4", 40, 4));
    // The same record again (our answer, then the event stream): once.
    log.insert(HostId(0), rec("a4", 40, 4));
    assert_eq!(ids(&log, 0), ["a4", "a3", "a2", "a1"]);
    assert_ne!(log.generation(), before);
    assert_eq!(log.total(), 4);
    // A host never fetched keeps what streams in, and still wants a fetch.
    log.insert(HostId(1), rec("b1", 15, 1));
    assert_eq!(ids(&log, 1), ["b1"]);
    assert!(log.needs_fetch(HostId(1)));
    // A reconnect may have missed records: fetch again.
    log.mark_stale(HostId(0));
    assert!(log.needs_fetch(HostId(0)));
}

#[test]
fn records_streamed_during_a_fetch_survive_its_answer() {
    let mut log = AuditLog::default();
    log.ingest(HostId(0), Ok(page(vec![rec("old", 5, 1)])));
    log.fetch(HostId(0));
    // Written after perchd read the log for the answer below.
    log.insert(HostId(0), rec("new", 50, 3));
    log.ingest(
        HostId(0),
        Ok(page(vec![rec("mid", 20, 2), rec("old", 5, 1)])),
    );
    assert_eq!(ids(&log, 0), ["new", "mid", "old"]);
    // A refetch replaces the page: nothing streamed meanwhile, nothing kept.
    log.fetch(HostId(0));
    log.ingest(HostId(0), Ok(page(vec![rec("mid", 20, 2)])));
    assert_eq!(ids(&log, 0), ["mid"]);
    // A failed fetch keeps what was there and says why.
    log.fetch(HostId(0));
    log.ingest(HostId(0), Err("audit: not reachable".into()));
    assert_eq!(ids(&log, 0), ["mid"]);
    assert_eq!(log.hosts[0].error.as_deref(), Some("audit: not reachable"));
    assert!(!log.loading());
}
