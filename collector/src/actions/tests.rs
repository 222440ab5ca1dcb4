//! Unit tests of the executor's pure parts: request validation, pod cgroup
//! lookup, `cgroup.events` parsing, and how per-process results add up.
//! The kernel-facing parts are tested against real processes in
//! `tests/tests/executor/`.
use perch_proto::v1::{ActionKind, ActionResult, AffectedProcess, ProcessKey, ProcessOutcome};

use super::cgroup::{Events, parse_events, pod_of};
use super::report::{Verb, summarize};
use super::target::seconds;
use super::{Request, invalid};

fn req(kind: ActionKind) -> Request {
    Request {
        kind,
        target: ProcessKey {
            pid: 42,
            start_time_ns: 1,
        },
        signal: 0,
        priority: None,
        dry_run: false,
        protected: Vec::new(),
        refuse_root: None,
    }
}

#[test]
fn validation_names_the_field_and_range() {
    assert_eq!(invalid(&req(ActionKind::Kill)), None);
    assert!(invalid(&req(ActionKind::Unspecified)).is_some_and(|m| m.contains("unspecified")));
    let mut r = req(ActionKind::Kill);
    r.target.pid = 0;
    assert!(invalid(&r).is_some_and(|m| m.contains("target.pid")));
    r.target.pid = u32::MAX;
    assert!(invalid(&r).is_some_and(|m| m.contains("target.pid")));
    let mut r = req(ActionKind::KillTree);
    r.signal = 99;
    assert!(invalid(&r).is_some_and(|m| m.contains("signal 99")));
    r.signal = 15;
    assert_eq!(invalid(&r), None);
    let mut r = req(ActionKind::Renice);
    assert!(invalid(&r).is_some_and(|m| m.contains("priority is required")));
    for bad in [-21, 20, i32::MIN] {
        r.priority = Some(bad);
        let msg = invalid(&r).unwrap_or_default();
        assert!(
            msg.contains(&format!("priority {bad}")) && msg.contains("-20..19"),
            "{msg}"
        );
    }
    for good in [-20, 0, 19] {
        r.priority = Some(good);
        assert_eq!(invalid(&r), None);
    }
}

#[test]
fn pod_cgroup_is_the_directory_naming_the_pod() {
    let uid = "0f5e0a3c-4b1d-4c7e-9a2b-1234567890ab";
    let cid = "a".repeat(64);
    let cgroupfs = format!("/kubepods/burstable/pod{uid}/{cid}");
    assert_eq!(
        pod_of(&cgroupfs),
        Some((format!("/kubepods/burstable/pod{uid}"), uid.to_owned()))
    );
    let under = "/t/kubepods/besteffort";
    assert_eq!(
        pod_of(&format!("{under}/pod{uid}/{cid}/sub")),
        Some((format!("{under}/pod{uid}"), uid.to_owned()))
    );
    let slice_uid = uid.replace('-', "_");
    let systemd = format!(
        "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{slice_uid}.slice/cri-containerd-{cid}.scope"
    );
    assert_eq!(
        pod_of(&systemd),
        Some((
            format!(
                "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{slice_uid}.slice"
            ),
            uid.to_owned()
        ))
    );
    assert_eq!(pod_of("/system.slice/sshd.service"), None);
    assert_eq!(pod_of(&format!("/docker/{cid}")), None);
    assert_eq!(pod_of("/"), None);
}

#[test]
fn events_parse() {
    assert_eq!(
        parse_events("populated 1\nfrozen 0\n"),
        Events {
            populated: true,
            frozen: false
        }
    );
    assert_eq!(
        parse_events("frozen 1\npopulated 0\n"),
        Events {
            populated: false,
            frozen: true
        }
    );
    assert_eq!(parse_events("garbage\n\n"), Events::default());
}

#[test]
fn seconds_format() {
    assert_eq!(seconds(3_210_000_000), "3.2 s");
    assert_eq!(seconds(0), "0.0 s");
    assert_eq!(seconds(125_000_000_000), "125 s");
}

fn line(pid: u32, o: ProcessOutcome) -> AffectedProcess {
    AffectedProcess {
        key: Some(ProcessKey {
            pid,
            start_time_ns: 7,
        }),
        comm: "sleep".to_owned(),
        outcome: o.into(),
        detail: "why".to_owned(),
        ..AffectedProcess::default()
    }
}

const KILL: Verb<'static> = Verb {
    present: "send KILL to",
    past: "sent KILL to",
};

#[test]
fn summary_results_and_counts() {
    use ProcessOutcome::{Done, Failed, Gone, WouldAct};
    let o = summarize(vec![line(5, Done)], KILL, None);
    assert_eq!(
        (o.result, o.code.as_str(), o.done),
        (ActionResult::Success, "ok", 1)
    );
    assert_eq!(o.detail, "sent KILL to pid 5 (sleep)");

    let o = summarize(
        vec![line(5, Done), line(6, Gone), line(7, Done)],
        KILL,
        Some("note"),
    );
    assert_eq!(
        (o.result, o.code.as_str()),
        (ActionResult::Partial, "partial")
    );
    assert_eq!((o.done, o.already_gone), (2, 1));
    assert_eq!(
        o.detail,
        "sent KILL to 2 of 3 processes; 1 had already exited; note"
    );

    let o = summarize(vec![line(5, Gone)], KILL, None);
    assert_eq!(
        (o.result, o.code.as_str()),
        (ActionResult::NotSuccessful, "no_such_process")
    );
    assert!(
        o.detail.starts_with("no such process: pid 5"),
        "{}",
        o.detail
    );

    let o = summarize(vec![line(5, Failed), line(6, Gone)], KILL, None);
    assert_eq!(
        (o.result, o.code.as_str()),
        (ActionResult::NotSuccessful, "os_error")
    );
    assert!(o.detail.contains("pid 5: why"), "{}", o.detail);

    let o = summarize(vec![line(5, WouldAct), line(6, WouldAct)], KILL, None);
    assert_eq!((o.result, o.done), (ActionResult::Success, 0));
    assert_eq!(o.detail, "dry run: would send KILL to 2 processes");

    let o = summarize(Vec::new(), KILL, None);
    assert_eq!(o.result, ActionResult::NotSuccessful);
}

#[test]
fn executor_can_be_shared_with_blocking_tasks() {
    // The gRPC handler keeps one Executor in an Arc and runs `execute` on
    // spawn_blocking.
    fn shareable<T: Send + Sync + 'static>() {}
    shareable::<super::Executor>();
}
