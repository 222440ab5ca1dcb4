//! The action log filter: keys, free text, times, errors.
use perch_proto::v1::{
    ActionKind, ActionMode, ActionResult, ActionTarget, AuditRecord, ProcessKey,
};

use super::*;

/// 2026-11-23 14:05:09 UTC.
const NOW: i64 = 1_795_442_709;

fn clock() -> Clock {
    Clock {
        utc_offset_secs: 3600,
        now_unix_secs: NOW,
    }
}

fn rec(action: ActionKind, result: ActionResult, who: &str, secs: i64) -> AuditRecord {
    AuditRecord {
        time_unix_ns: u64::try_from(secs).unwrap() * 1_000_000_000,
        actor_user: who.into(),
        actor_uid: if who == "root" { 0 } else { 1000 },
        action: action.into(),
        result: result.into(),
        mode: ActionMode::Live.into(),
        code: "partial".into(),
        reason: "Crypto miner".into(),
        detail: "3 of 4 signalled".into(),
        target: Some(ActionTarget {
            key: Some(ProcessKey {
                pid: 4242,
                start_time_ns: 1,
            }),
            exe: "/usr/bin/xmrig".into(),
            ..ActionTarget::default()
        }),
        ..AuditRecord::default()
    }
}

fn keeps(filter: &str, r: &AuditRecord) -> bool {
    LogFilter::parse(filter, clock())
        .unwrap_or_else(|e| panic!("{filter}: {e}"))
        .matches(r, "web-1")
}

#[test]
fn keys_free_text_and_negation() {
    let r = rec(ActionKind::KillTree, ActionResult::Partial, "root", NOW);
    for yes in [
        "",
        "action:kill_tree",
        "action:kill",
        "type:tree",
        "result:partial",
        "status:PART",
        "who:root",
        "user:uid",
        "mode:live",
        "code:partial",
        "reason:miner",
        "target:xmrig",
        "pid:4242",
        "host:web",
        "miner",
        "xmrig",
        "4242",
        "signalled",
        "!action:renice",
        "!who:alice action:kill",
        "\"crypto miner\"",
    ] {
        assert!(keeps(yes, &r), "{yes:?} should keep it");
    }
    for no in [
        "action:renice",
        "result:success",
        "who:alice",
        "mode:dry",
        "pid:42",
        "!miner",
        "action:kill who:alice",
    ] {
        assert!(!keeps(no, &r), "{no:?} should drop it");
    }
}

#[test]
fn since_and_until_in_local_time() {
    // NOW is 15:05:09 at UTC+1.
    let r = rec(ActionKind::Kill, ActionResult::Success, "root", NOW);
    assert!(keeps("since:15:05", &r));
    assert!(
        keeps("until:15:05", &r),
        "until a minute includes all of it"
    );
    assert!(!keeps("since:15:06", &r));
    assert!(!keeps("until:15:04", &r));
    assert!(keeps("since:15:05:09 until:15:05:09", &r));
    assert!(!keeps("until:15:05:08", &r));
    assert!(keeps("since:2026-11-23 until:2026-11-23", &r));
    assert!(!keeps("since:2026-11-24", &r));
    assert!(keeps("since:2026-11-23T15:00 until:2026-11-23T15:05", &r));
    assert!(!keeps("until:2026-11-22", &r));
    // Leap day exists in 2028, not in 2027.
    assert!(LogFilter::parse("since:2028-02-29", clock()).is_ok());
    assert!(LogFilter::parse("since:2027-02-29", clock()).is_err());
}

#[test]
fn errors_say_where_and_what() {
    let err = |s: &str| LogFilter::parse(s, clock()).unwrap_err();
    let e = err("result:partial color:red");
    assert_eq!(e.at, 15);
    assert!(e.message.starts_with("unknown key `color`"), "{e}");
    let e = err("since:25:00");
    assert_eq!(e.at, 6);
    assert!(e.message.contains("is not a time (15:04"), "{e}");
    for bad in [
        "since:yesterday",
        "until:2026-13-01",
        "since:2026-11-23T",
        "since:1:5",
    ] {
        assert!(LogFilter::parse(bad, clock()).is_err(), "{bad}");
    }
    assert!(err("pid:x").message.contains("not a pid"));
    assert!(err("who:").message.contains("needs a value"));
    assert!(err("!").message.contains("needs a term"));
    assert!(err("\"open").message.contains("unterminated"));
}
