//! `WatchEvents` as a client relies on it: resuming after a sequence number
//! misses and repeats nothing, a `ListProcesses` snapshot joins up with the
//! stream, a client that stops reading neither delays the others nor loses
//! events silently, and bad requests are refused with the field named.
#![expect(
    clippy::panic,
    reason = "helpers of end-to-end tests: a broken environment should fail the test loudly"
)]
use std::{os::unix::process::CommandExt as _, process::Command};

use perch_e2e::{
    Perchd, connect_with_window,
    events::{
        EventLog, WAIT, assert_contiguous, ends_with_notice, execs, find_exec, info,
        list_processes, notices, pid, seqs,
    },
    have_root_or_skip,
    procs::{ChildGuard, unique},
};
use perch_proto::v1::{self as pb, Event, NoticeKind, event::Kind};

/// Runs `/bin/true <marker>` to its end; returns its pid.
fn run_true(marker: &str) -> u32 {
    let mut c = ChildGuard::spawn(Command::new("/bin/true").arg(marker));
    let status = c.wait();
    assert!(status.success(), "/bin/true {marker}: {status}");
    c.pid()
}

fn has_exec(events: &[Event], argv1: &str) -> bool {
    find_exec(events, |p| p.argv.get(1).is_some_and(|a| a == argv1)).is_some()
}

#[tokio::test(flavor = "multi_thread")]
async fn resume_after_head_misses_and_repeats_nothing() {
    if !have_root_or_skip("resume_after_head_misses_and_repeats_nothing") {
        return;
    }
    let perchd = Perchd::start(&[]).await;
    let mut client = perchd.client().await.expect("connect");
    let head = info(&mut client).await.head_seq;
    // Spawned before anyone watches: only the replay ring has them.
    let markers: Vec<String> = (0..5).map(|i| unique(&format!("resume{i}"))).collect();
    tokio::task::block_in_place(|| {
        for m in &markers {
            run_true(m);
        }
    });

    let mut log = EventLog::watch(&mut client, Some(head), &[])
        .await
        .expect("WatchEvents");
    let all = log
        .until(WAIT, |ev| markers.iter().all(|m| has_exec(ev, m)))
        .await;
    assert!(all, "not every exec replayed; stream end: {:?}", log.ended);
    assert_contiguous(&seqs(&log.events), Some(head));
}

#[tokio::test(flavor = "multi_thread")]
async fn snapshot_then_watch_joins_up() {
    if !have_root_or_skip("snapshot_then_watch_joins_up") {
        return;
    }
    let perchd = Perchd::start(&[]).await;
    let mut client = perchd.client().await.expect("connect");
    // Sleepers start while the snapshot is taken: each must be either in
    // the snapshot (already exec'd) or exec'd in the stream after it.
    let markers: Vec<String> = (0..10).map(|i| unique(&format!("snap{i}"))).collect();
    let spawner = std::thread::spawn({
        let markers = markers.clone();
        move || {
            markers
                .iter()
                .map(|m| {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                    ChildGuard::spawn(Command::new("/bin/sleep").arg0(m).arg("30"))
                })
                .collect::<Vec<_>>()
        }
    });
    let (snapshot, snap_seq) = list_processes(&mut client, false, &[])
        .await
        .expect("ListProcesses");
    let sleepers = tokio::task::block_in_place(|| spawner.join().expect("spawner"));
    let fence = unique("fence");
    tokio::task::block_in_place(|| run_true(&fence));

    let mut log = EventLog::watch(&mut client, Some(snap_seq), &[])
        .await
        .expect("WatchEvents");
    let listed = |s: &ChildGuard, m: &String| {
        snapshot
            .iter()
            .any(|p| pid(p) == s.pid() && p.argv.first() == Some(m))
    };
    let streamed = |ev: &[Event], s: &ChildGuard, m: &String| {
        execs(ev).any(|(_, p)| pid(p) == s.pid() && p.argv.first() == Some(m))
    };
    // The fence alone does not order the sleepers' exec events before its
    // own: `spawn` returns once execve has closed the child's CLOEXEC
    // pipe (begin_new_exec), but the exec tracepoint fires only at the end
    // of execve, after the binary and its interpreter are mapped.  A child
    // delayed in between (a loaded machine) reports its exec after the
    // fence's.  So wait for every sleeper too; one that never shows up
    // still fails below.
    let seen = log
        .until(WAIT, |ev| {
            has_exec(ev, &fence)
                && sleepers
                    .iter()
                    .zip(&markers)
                    .all(|(s, m)| listed(s, m) || streamed(ev, s, m))
        })
        .await;
    assert!(
        seen || has_exec(&log.events, &fence),
        "exec of the fence process not seen; stream end: {:?}",
        log.ended
    );
    assert_contiguous(&seqs(&log.events), Some(snap_seq));
    for (s, m) in sleepers.iter().zip(&markers) {
        let listed = listed(s, m);
        let streamed = streamed(&log.events, s, m);
        assert!(
            listed != streamed,
            "sleeper {}: in snapshot {listed}, exec after snapshot_seq {snap_seq} {streamed}",
            s.pid()
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn stalled_client_lags_alone() {
    const N: usize = 1500;
    if !have_root_or_skip("stalled_client_lags_alone") {
        return;
    }
    // perchd queues up to `client_queue` messages per subscriber before the
    // lag rule (3/4 of the replay ring behind) applies, and a message holds
    // up to 512 events: with the default 256 messages a stalled client can
    // absorb the whole storm.  One queued message bounds that to
    // 512 + 768 events (plus A's 64 KiB window), far below ~4500.
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("perchd.toml");
    std::fs::write(&config, "client_queue = 1\n").expect("write config");
    let config = config.to_str().expect("utf-8 path");
    let perchd = Perchd::start(&["--replay-capacity", "1024", "--config", config]).await;
    let mut client = perchd.client().await.expect("connect");
    let head = info(&mut client).await.head_seq;
    // A is opened but not read until the end; B reads all along.  A's
    // client has the HTTP/2 default window (64 KiB), so its unread stream
    // backs up into perchd rather than into this process's buffers.
    let mut a_client = connect_with_window(&perchd.socket, 65_535)
        .await
        .expect("connect A");
    let mut a = EventLog::watch(&mut a_client, Some(head), &[])
        .await
        .expect("WatchEvents A");
    let mut b = EventLog::watch(&mut client, Some(head), &[])
        .await
        .expect("WatchEvents B");

    let marker = unique("storm");
    let storm = tokio::task::spawn_blocking({
        let marker = marker.clone();
        move || (0..N).map(|_| run_true(&marker)).collect::<Vec<u32>>()
    });
    // Counted as B reads (each exec once: pids may be reused in a storm).
    let mut scanned = 0;
    let mut seen = std::collections::HashSet::new();
    let mut count = 0;
    let all = b
        .until(WAIT * 8, |ev| {
            for (_, p) in execs(&ev[scanned..]) {
                if p.argv.get(1) == Some(&marker) {
                    seen.insert(pid(p));
                    count += 1;
                }
            }
            scanned = ev.len();
            count >= N
        })
        .await;
    let pids = storm.await.expect("storm");
    let b_notices: Vec<_> = notices(&b.events).collect();
    assert!(
        all,
        "B saw {count} of {N} execs; notices {b_notices:?}; end {:?}",
        b.ended
    );
    assert!(b_notices.is_empty(), "B got notices: {b_notices:?}");
    assert!(pids.iter().all(|p| seen.contains(p)), "B missed some pids");
    assert_contiguous(&seqs(&b.events), Some(head));

    // A fell behind: its stream ends with LAGGED naming the last seq it got.
    let ended = a.until_end(WAIT).await;
    assert!(ended, "A's stream did not end");
    let received = seqs(&a.events);
    let lagged = ends_with_notice(&a.events, NoticeKind::Lagged)
        .unwrap_or_else(|| panic!("A did not end with LAGGED: {:?}", a.events.last()));
    assert_contiguous(&received, Some(head));
    assert_eq!(
        Some(&lagged.resume_after_seq),
        received.last(),
        "{lagged:?}"
    );

    let resume = lagged.resume_after_seq;
    let mut again = EventLog::watch(&mut a_client, Some(resume), &[])
        .await
        .expect("re-watch");
    assert!(
        again.until(WAIT, |ev| !ev.is_empty()).await,
        "nothing after reconnecting"
    );
    match &again.events[0].kind {
        Some(Kind::Notice(n)) => assert_eq!(n.kind(), NoticeKind::ResyncRequired, "{n:?}"),
        _ => assert_eq!(
            again.events[0].seq,
            resume + 1,
            "does not continue after {resume}"
        ),
    }
}

/// Asserts `INVALID_ARGUMENT` with `field` in the message, whether the
/// call itself fails or its stream does at once.
async fn assert_invalid<T>(
    call: Result<tonic::Response<tonic::Streaming<T>>, tonic::Status>,
    field: &str,
) {
    let status = match call {
        Err(s) => s,
        Ok(r) => match r.into_inner().message().await {
            Err(s) => s,
            Ok(m) => panic!("{field}: accepted, first message {:?}", m.is_some()),
        },
    };
    assert_eq!(
        status.code(),
        tonic::Code::InvalidArgument,
        "{field}: {status:?}"
    );
    assert!(
        status.message().contains(field),
        "{field}: {:?}",
        status.message()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_requests_name_the_field() {
    // Validation does not depend on the mode: run unprivileged-friendly.
    let perchd = Perchd::start(&["--procfs"]).await;
    let mut client = perchd.client().await.expect("connect");
    let head = info(&mut client).await.head_seq;
    let list = |pids: Vec<u32>, chunk_size| pb::ListProcessesRequest {
        include_exited: false,
        pids,
        chunk_size,
    };
    let watch = |resume_after_seq, kinds: Vec<i32>| pb::WatchEventsRequest {
        resume_after_seq,
        kinds,
    };
    assert_invalid(client.list_processes(list(vec![0], 0)).await, "pids").await;
    assert_invalid(
        client.list_processes(list(vec![], 20_000)).await,
        "chunk_size",
    )
    .await;
    assert_invalid(client.watch_events(watch(None, vec![42])).await, "kinds").await;
    assert_invalid(client.watch_events(watch(None, vec![0])).await, "kinds").await;
    let ahead = head + 1_000_000;
    assert_invalid(
        client.watch_events(watch(Some(ahead), vec![])).await,
        "resume_after_seq",
    )
    .await;
    // Still serving after all that.
    assert!(info(&mut client).await.head_seq >= head);
}
