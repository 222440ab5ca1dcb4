//! `perch events`' lines: wall time, exit names, filters, against a real
//! perchd server (perchd's gRPC service) and on fixed events.
use std::time::Duration;

use perch_client::DEFAULT_TIMEOUT;
use perch_proto::v1::{
    ActionTarget, AuditRecord, EventKind, Exit, ProcessExec, ProcessExit, ProcessFork,
};

use super::*;
use crate::cmd::tests::{process, serve};

fn exec(seq: u64, pid: u32, comm: &str) -> Event {
    let mut p = process(pid, false);
    p.comm = comm.to_owned();
    Event {
        seq,
        time_ns: 1_500_000,
        kind: Some(Kind::Exec(ProcessExec {
            process: Some(p),
            old_pid: 0,
        })),
    }
}

fn exit(seq: u64, pid: u32) -> Event {
    Event {
        seq,
        time_ns: 2_000_000_000,
        kind: Some(Kind::Exit(ProcessExit {
            key: process(pid, false).key,
            exit: Some(Exit {
                signal: Some(9),
                ..Exit::default()
            }),
        })),
    }
}

fn lines(args: &EventsArgs, events: &[Event]) -> Vec<String> {
    // Booted at 2023-11-14 22:13:20 UTC.
    let mut printer = Printer::new(args, 1_700_000_000 * NS_PER_SEC);
    events
        .iter()
        .filter_map(|e| printer.line(e).unwrap())
        .collect()
}

fn utc() -> EventsArgs {
    EventsArgs {
        utc: true,
        ..EventsArgs::default()
    }
}

#[test]
fn wall_time_and_exit_names() {
    let out = lines(&utc(), &[exec(1, 42, "xmrig"), exit(2, 42), exit(3, 43)]);
    assert_eq!(
        out[0],
        "       1 2023-11-14 22:13:20.001500Z exec            pid=42 ppid=0 user=0 [xmrig]"
    );
    assert_eq!(
        out[1],
        "       2 2023-11-14 22:13:22.000000Z exit            pid=42 comm=xmrig signal=9"
    );
    // Never seen: no name to give.
    assert!(
        out[2].ends_with("exit            pid=43 signal=9"),
        "{}",
        out[2]
    );
    // Local time: the machine's offset, no Z.
    let local = lines(&EventsArgs::default(), &[exec(1, 42, "x")]);
    let offset = when::local_utc_offset_secs();
    let want = when::date_time(1_700_000_000 + i64::from(offset), 0);
    assert!(
        local[0].contains(&format!("{want}.001500 exec")),
        "{}",
        local[0]
    );
}

#[test]
fn pid_and_comm_filter() {
    let fork = Event {
        seq: 5,
        time_ns: 0,
        kind: Some(Kind::Fork(ProcessFork {
            child: Some(process(50, false)),
            parent: process(42, false).key,
        })),
    };
    let action = Event {
        seq: 6,
        time_ns: 0,
        kind: Some(Kind::Action(AuditRecord {
            target: Some(ActionTarget {
                key: process(42, false).key,
                ..ActionTarget::default()
            }),
            ..AuditRecord::default()
        })),
    };
    let all = [
        exec(1, 42, "xmrig"),
        exec(2, 43, "bash"),
        fork.clone(),
        action,
        exit(3, 43),
        exit(4, 42),
    ];
    let seqs = |args: EventsArgs| -> Vec<String> {
        lines(&args, &all)
            .iter()
            .map(|l| l.split_whitespace().next().unwrap_or_default().to_owned())
            .collect()
    };
    let by_pid = EventsArgs {
        pid: vec![42],
        ..utc()
    };
    assert_eq!(seqs(by_pid), ["1", "5", "6", "4"]);
    let by_comm = EventsArgs {
        comm: Some("XMR".to_owned()),
        ..utc()
    };
    // The fork's parent and the action's target are named by what was seen.
    assert_eq!(seqs(by_comm), ["1", "5", "6", "4"]);
    let both = EventsArgs {
        pid: vec![43],
        comm: Some("bash".to_owned()),
        ..utc()
    };
    assert_eq!(seqs(both), ["2", "3"]);
    let exits = EventsArgs {
        kind: vec![EventKind::Exit],
        ..utc()
    };
    // Exits named by the execs perchd is asked for but not printed.
    let printed = lines(&exits, &all);
    assert_eq!(printed.len(), 2, "{printed:?}");
    assert!(printed[1].contains("pid=42 comm=xmrig"), "{printed:?}");
    let asked = Printer::new(&exits, 0).asked();
    assert_eq!(asked, [1, 2, 3, 4], "exec, fork, exit, update");
    let samples = EventsArgs {
        kind: vec![EventKind::HostSample],
        ..utc()
    };
    assert_eq!(Printer::new(&samples, 0).asked(), [6]);
}

#[tokio::test]
async fn kinds_are_asked_of_perchd_and_snapshot_names_exits() {
    // pid 7 runs before the stream starts: its name comes from the snapshot.
    let server = serve(vec![process(7, false)], 64).await;
    let args = EventsArgs {
        kind: vec![EventKind::Exit],
        utc: true,
        ..EventsArgs::default()
    };
    let (out, mut warn) = (super::super::tests::Sink::default(), Vec::new());
    let mut o = out.clone();
    let hub = std::sync::Arc::clone(&server.hub);
    let driver = async {
        for _ in 0..200 {
            hub.publish(vec![exec(0, 8, "sh"), exit(0, 7)]);
            tokio::time::sleep(Duration::from_millis(20)).await;
            if !out.text().is_empty() {
                break;
            }
        }
    };
    let stop = async {
        driver.await;
    };
    watch(
        &server.target,
        DEFAULT_TIMEOUT,
        &args,
        &mut o,
        &mut warn,
        stop,
    )
    .await
    .unwrap();
    let text = out.text();
    let first = text.lines().next().unwrap_or_default();
    assert!(
        first.contains("exit            pid=7 comm=p7 signal=9"),
        "{text}"
    );
    assert!(
        !text.contains(" exec "),
        "only exits were asked for: {text}"
    );
}
