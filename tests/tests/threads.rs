//! Thread samples (htop's `H`): a client that asks with `threads` gets the
//! threads of multi-threaded processes each interval, by their own names and
//! without the leader; a client that does not ask gets none.
use perch_e2e::{
    Perchd,
    events::{EventLog, WAIT, info, same_key},
    have_root_or_skip,
};
use perch_proto::v1::{self as pb, Event, event::Kind};

/// The thread samples of process `pid` in `events`, in order.
fn threads_of(events: &[Event], pid: u32) -> Vec<&pb::ProcessThreads> {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            Some(Kind::ThreadSamples(t)) => Some(t),
            _ => None,
        })
        .flat_map(|t| &t.processes)
        .filter(|p| p.key.as_ref().is_some_and(|k| k.pid == pid))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn threads_are_sampled_only_for_clients_that_ask() {
    if !have_root_or_skip("threads_are_sampled_only_for_clients_that_ask") {
        return;
    }
    let perchd = Perchd::start(&[]).await;
    let mut client = perchd.client().await.expect("connect");
    // This test process is multi-threaded already (tokio); one more thread
    // with a name of its own, parked until the test ends.
    let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
    let worker = std::thread::Builder::new()
        .name("perch-thr-e2e".into())
        .spawn(move || {
            let _ = stop_rx.recv();
        })
        .expect("spawn a named thread");
    let me = std::process::id();
    let head = info(&mut client).await.head_seq;

    let mut plain = EventLog::watch(&mut client, Some(head), &[])
        .await
        .expect("WatchEvents without threads");
    let mut asking = EventLog::watch_with(
        &mut client,
        pb::WatchEventsRequest {
            resume_after_seq: Some(head),
            kinds: Vec::new(),
            threads: true,
        },
    )
    .await
    .expect("WatchEvents with threads");
    // Two samples of this process carrying the named thread: the first
    // has no rate yet, the second covers an interval.
    let seen = asking
        .until(WAIT, |ev| {
            threads_of(ev, me)
                .iter()
                .filter(|p| p.threads.iter().any(|t| t.comm == "perch-thr-e2e"))
                .count()
                >= 2
        })
        .await;
    assert!(seen, "no thread samples of pid {me}: {:?}", asking.ended);
    let samples = threads_of(&asking.events, me);
    for p in &samples {
        assert!(
            p.threads.iter().all(|t| t.tid != me),
            "the leader is the process row, not a thread: {p:?}"
        );
        assert!(p.threads.iter().all(|t| t.state.len() == 1), "{p:?}");
    }
    let ours = samples
        .last()
        .and_then(|p| p.threads.iter().find(|t| t.comm == "perch-thr-e2e"))
        .expect("the named thread");
    assert!(ours.tid > 0 && ours.cpu_percent >= 0.0, "{ours:?}");
    let key = samples[0].key.expect("key");
    assert!(same_key(
        &key,
        &samples.last().and_then(|p| p.key).expect("key")
    ));

    // The plain client got everything else up to the same point, and no
    // thread samples at all.
    let last_seq = asking.events.last().map_or(head, |e| e.seq);
    let caught_up = plain
        .until(WAIT, |ev| ev.last().is_some_and(|e| e.seq >= last_seq))
        .await;
    assert!(caught_up, "plain stream: {:?}", plain.ended);
    assert!(
        !plain
            .events
            .iter()
            .any(|e| matches!(e.kind, Some(Kind::ThreadSamples(_)))),
        "a client that did not ask got thread samples"
    );
    drop(stop_tx);
    worker.join().expect("join the named thread");
}
