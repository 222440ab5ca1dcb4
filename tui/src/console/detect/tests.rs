use perch_proto::v1::{
    Flag, FlagRaised, ProcessKey as PbKey, Severity, Trace, TraceStatus, TraceUpdated, event::Kind,
};

use super::DetectStore;
use crate::console::model::{HostId, ProcessKey};

const H: HostId = HostId(0);

fn flag(id: &str, pid: u32, sev: Severity, n: u32, t: u64) -> Flag {
    Flag {
        id: id.into(),
        process: Some(PbKey {
            pid,
            start_time_ns: 7,
        }),
        severity: sev.into(),
        repeat_count: n,
        time_ns: t,
        last_time_ns: t,
        trace_id: "trace:1".into(),
        ..Flag::default()
    }
}

fn trace(id: &str, score: u32, t: u64) -> Trace {
    Trace {
        id: id.into(),
        score,
        notable: score >= 50,
        status: TraceStatus::Active.into(),
        max_severity: Severity::High.into(),
        last_time_ns: t,
        flag_ids: vec!["flag:1".into()],
        ..Trace::default()
    }
}

fn raised(f: Flag) -> Kind {
    Kind::Flag(FlagRaised { flag: Some(f) })
}

fn updated(t: Trace) -> Kind {
    Kind::Trace(TraceUpdated { trace: Some(t) })
}

#[test]
fn repeats_replace_by_id_and_older_messages_do_not_win() {
    let mut s = DetectStore::default();
    s.snapshot(
        H,
        vec![flag("flag:1", 42, Severity::High, 2, 20)],
        vec![],
        60,
    );
    assert_eq!(s.notable_score(H), 60);
    s.apply(H, &raised(flag("flag:1", 42, Severity::High, 1, 10)));
    assert_eq!(s.flag(H, "flag:1").map(|f| f.f.repeat_count), Some(2));
    s.apply(H, &raised(flag("flag:1", 42, Severity::High, 3, 30)));
    assert_eq!(s.flag(H, "flag:1").map(|f| f.f.repeat_count), Some(3));
    assert_eq!(s.flags().count(), 1);
    let key = ProcessKey::new(H, 42, 7);
    let mark = s.marks().get(&key).copied().unwrap_or_default();
    assert_eq!((mark.count, mark.severity()), (1, Severity::High));
}

#[test]
fn a_trace_is_news_once_when_it_becomes_notable() {
    let mut s = DetectStore::default();
    let news = |s: &mut DetectStore, t| s.apply(H, &updated(t)).flatten().is_some();
    assert!(!news(&mut s, trace("trace:1", 30, 1)));
    assert!(news(&mut s, trace("trace:1", 55, 2)));
    assert!(!news(&mut s, trace("trace:1", 70, 3)));
    // Another host's trace of the same id is another trace.
    assert!(
        s.apply(HostId(1), &updated(trace("trace:1", 90, 1)))
            .flatten()
            .is_some()
    );
    assert_eq!(s.traces().count(), 2);
    assert_eq!(s.active_by_severity(), [0, 2, 0, 0]);
    assert!(
        s.apply(H, &Kind::Exec(perch_proto::v1::ProcessExec::default()))
            .is_none()
    );
}

#[test]
fn the_bound_drops_the_oldest_first() {
    let mut s = DetectStore::default();
    for i in 0..5u64 {
        s.apply(
            H,
            &raised(flag(&format!("flag:{i}"), 1, Severity::Low, 1, i)),
        );
    }
    assert_eq!(s.bound(3, 10), 2);
    assert!(s.flag(H, "flag:0").is_none() && s.flag(H, "flag:1").is_none());
    assert!(s.flag(H, "flag:4").is_some());
    assert_eq!(s.dropped(), 2);
}
