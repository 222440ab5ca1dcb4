//! JSON shapes: field names, enum names, omitted optionals.
use perch_proto::v1::{
    Event, Exit, HostSample, Notice, NoticeKind, Process, ProcessExec, ProcessExit, ProcessFork,
    ProcessKey, ProcessSample, ProcessSamples, ProcessSource, ResourceUsage, event::Kind,
};
use serde_json::json;

use super::{event, kind_name, process};

fn sample_process() -> Process {
    Process {
        key: Some(ProcessKey {
            pid: 42,
            start_time_ns: 1_000,
        }),
        ppid: 1,
        uid: 1000,
        user: "alice".into(),
        comm: "sleep".into(),
        exe: "/usr/bin/sleep".into(),
        argv: vec!["sleep".into(), "60".into()],
        source: ProcessSource::Ebpf.into(),
        ..Process::default()
    }
}

#[test]
fn process_fields_mirror_the_proto() {
    let v = process(&sample_process());
    assert_eq!(v["key"], json!({ "pid": 42, "start_time_ns": 1000 }));
    assert_eq!(v["source"], "ebpf");
    assert_eq!(v["argv"], json!(["sleep", "60"]));
    assert_eq!(v["user"], "alice");
    assert_eq!(v["nice"], 0);
    // Unset messages are omitted; plain scalars are always there.
    assert!(v.get("exit").is_none() && v.get("usage").is_none());
    assert_eq!(v["tty"], "");
    let keys = v.as_object().unwrap().len();
    assert_eq!(keys, 26, "every scalar field of Process plus key: {v}");
}

#[test]
fn exit_omits_unset_optionals_and_usage_is_included_when_set() {
    let mut p = sample_process();
    p.source = ProcessSource::Seeded.into();
    p.exit = Some(Exit {
        time_ns: 9,
        code: None,
        signal: Some(9),
        core_dumped: false,
        oom_killed: false,
    });
    p.usage = Some(ResourceUsage {
        cpu_percent: 12.5,
        rss_bytes: 4096,
        ..ResourceUsage::default()
    });
    let v = process(&p);
    assert_eq!(v["source"], "seeded");
    assert_eq!(
        v["exit"],
        json!({ "time_ns": 9, "signal": 9, "core_dumped": false })
    );
    assert_eq!(v["usage"]["cpu_percent"], 12.5);
    assert_eq!(v["usage"]["rss_bytes"], 4096);
}

#[test]
fn unknown_enum_values_stay_numbers() {
    let mut p = sample_process();
    p.source = 77;
    assert_eq!(process(&p)["source"], 77);
}

#[test]
fn events_carry_kind_and_payload() {
    let exec = Event {
        seq: 7,
        time_ns: 123,
        kind: Some(Kind::Exec(ProcessExec {
            process: Some(sample_process()),
            old_pid: 0,
        })),
    };
    let v = event(&exec);
    assert_eq!(
        (v["seq"].clone(), v["time_ns"].clone(), v["kind"].clone()),
        (json!(7), json!(123), json!("exec"))
    );
    assert_eq!(v["exec"]["process"]["key"]["pid"], 42);
    assert_eq!(v["exec"]["old_pid"], 0);

    let key = Some(ProcessKey {
        pid: 5,
        start_time_ns: 6,
    });
    let fork = Event {
        seq: 8,
        time_ns: 0,
        kind: Some(Kind::Fork(ProcessFork {
            child: None,
            parent: key,
        })),
    };
    assert_eq!(
        event(&fork)["fork"],
        json!({ "parent": { "pid": 5, "start_time_ns": 6 } })
    );

    let exit = Exit {
        time_ns: 1,
        code: Some(0),
        signal: None,
        core_dumped: false,
        oom_killed: false,
    };
    let exit = Event {
        seq: 9,
        time_ns: 0,
        kind: Some(Kind::Exit(ProcessExit {
            key,
            exit: Some(exit),
        })),
    };
    let v = event(&exit);
    assert_eq!(v["kind"], "exit");
    assert_eq!(
        v["exit"]["exit"],
        json!({ "time_ns": 1, "code": 0, "core_dumped": false })
    );

    let samples = ProcessSamples {
        samples: vec![ProcessSample {
            key,
            usage: None,
            threads: 3,
            ..ProcessSample::default()
        }],
        interval_ns: 10,
    };
    let v = event(&Event {
        seq: 10,
        time_ns: 0,
        kind: Some(Kind::ProcessSamples(samples)),
    });
    assert_eq!(v["kind"], "process_samples");
    assert_eq!(
        v["process_samples"]["samples"][0],
        json!({ "key": { "pid": 5, "start_time_ns": 6 }, "threads": 3 })
    );

    let host = HostSample {
        load1: 0.5,
        memory_total_bytes: 8,
        ..HostSample::default()
    };
    let v = event(&Event {
        seq: 11,
        time_ns: 0,
        kind: Some(Kind::HostSample(host)),
    });
    assert_eq!(
        (
            v["host_sample"]["load1"].clone(),
            v["host_sample"]["memory_total_bytes"].clone()
        ),
        (json!(0.5), json!(8))
    );
}

#[test]
fn notices_name_their_kind() {
    let n = Notice {
        kind: NoticeKind::ResyncRequired.into(),
        message: "gone".into(),
        oldest_seq: 100,
        ..Notice::default()
    };
    let e = Event {
        seq: 0,
        time_ns: 0,
        kind: Some(Kind::Notice(n)),
    };
    let v = event(&e);
    assert_eq!(kind_name(&e), "notice");
    assert_eq!(v["notice"]["kind"], "resync_required");
    assert_eq!(v["notice"]["oldest_seq"], 100);
    // A kind-less event is just its numbers.
    assert_eq!(event(&Event::default()), json!({ "seq": 0, "time_ns": 0 }));
}
