//! Hub behaviour as a `WatchEvents` client sees it: order and numbering,
//! resuming, resync, filtering, and slow subscribers beside fast ones.
use std::time::Duration;

use futures::StreamExt as _;
use perch_proto::v1::{
    Event, EventKind, HostSample, Notice, NoticeKind, ProcessExec, ProcessExit, ProcessKey,
    event::Kind,
};

use super::{Hub, Subscription};

fn exec(pid: u32) -> Event {
    Event {
        seq: 999,
        time_ns: u64::from(pid),
        kind: Some(Kind::Exec(ProcessExec::default())),
    }
}

fn exit(pid: u32) -> Event {
    let key = Some(ProcessKey {
        pid,
        start_time_ns: 1,
    });
    Event {
        seq: 0,
        time_ns: 0,
        kind: Some(Kind::Exit(ProcessExit { key, exit: None })),
    }
}

fn host() -> Event {
    Event {
        seq: 0,
        time_ns: 0,
        kind: Some(Kind::HostSample(HostSample::default())),
    }
}

fn execs(n: u32) -> Vec<Event> {
    (0..n).map(exec).collect()
}

/// The next message's events, failing the test after a second of silence.
async fn next_events(sub: &mut Subscription) -> Vec<Event> {
    match tokio::time::timeout(Duration::from_secs(1), sub.next()).await {
        Ok(Some(Ok(msg))) => msg.into_events().expect("events decode"),
        other => panic!("expected a message, got {other:?}"),
    }
}

/// Reads until `count` events arrived.
async fn take_events(sub: &mut Subscription, count: usize) -> Vec<Event> {
    let mut out = Vec::new();
    while out.len() < count {
        out.extend(next_events(sub).await);
    }
    out
}

async fn assert_ended(sub: &mut Subscription) {
    let end = tokio::time::timeout(Duration::from_secs(1), sub.next()).await;
    assert!(
        matches!(end, Ok(None)),
        "expected the stream to end, got {end:?}"
    );
}

fn notice(event: &Event) -> &Notice {
    match &event.kind {
        Some(Kind::Notice(n)) => n,
        other => panic!("expected a notice, got {other:?}"),
    }
}

fn seqs(events: &[Event]) -> Vec<u64> {
    events.iter().map(|e| e.seq).collect()
}

#[tokio::test]
async fn numbers_events_in_order_from_one() {
    let hub = Hub::new(100, 8);
    assert_eq!((hub.head_seq(), hub.oldest_seq()), (0, 1));
    assert_eq!(hub.publish(Vec::new()), 0);
    let mut sub = hub.subscribe(None, Vec::new());
    assert_eq!(hub.publish(execs(3)), 3);
    assert_eq!(hub.publish(execs(2)), 5);
    assert_eq!(hub.publish(Vec::new()), 5);
    let got = take_events(&mut sub, 5).await;
    assert_eq!(seqs(&got), [1, 2, 3, 4, 5]);
    // The payload is untouched, only seq is overwritten.
    assert_eq!(
        got.iter().map(|e| e.time_ns).collect::<Vec<_>>(),
        [0, 1, 2, 0, 1]
    );
    assert_eq!((hub.head_seq(), hub.oldest_seq()), (5, 1));
}

#[tokio::test]
async fn batches_what_is_available_at_once() {
    let hub = Hub::new(2000, 8);
    hub.publish(execs(1000));
    let mut sub = hub.subscribe(Some(0), Vec::new());
    let first = next_events(&mut sub).await;
    assert_eq!(first.len(), super::MAX_EVENTS_PER_MESSAGE);
    let rest = next_events(&mut sub).await;
    assert_eq!(rest.len(), 1000 - super::MAX_EVENTS_PER_MESSAGE);
    assert_eq!(rest.last().map(|e| e.seq), Some(1000));
}

#[tokio::test]
async fn resumes_in_the_middle() {
    let hub = Hub::new(100, 8);
    hub.publish(execs(10));
    let mut sub = hub.subscribe(Some(4), Vec::new());
    hub.publish(execs(2));
    assert_eq!(
        seqs(&take_events(&mut sub, 8).await),
        (5..=12).collect::<Vec<_>>()
    );
    // Resuming at the head delivers only what comes next.
    let mut at_head = hub.subscribe(Some(12), Vec::new());
    hub.publish(execs(1));
    assert_eq!(seqs(&next_events(&mut at_head).await), [13]);
}

#[tokio::test]
async fn resync_when_the_sequence_is_no_longer_retained() {
    let hub = Hub::new(10, 8);
    hub.publish(execs(25));
    assert_eq!(hub.oldest_seq(), 16);
    // 15 is still fine: the next event it needs, 16, is retained.
    let mut ok = hub.subscribe(Some(15), Vec::new());
    assert_eq!(
        seqs(&take_events(&mut ok, 10).await),
        (16..=25).collect::<Vec<_>>()
    );

    let mut old = hub.subscribe(Some(14), Vec::new());
    let events = next_events(&mut old).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].seq, 0);
    let n = notice(&events[0]);
    assert_eq!(n.kind, i32::from(NoticeKind::ResyncRequired));
    assert_eq!(n.oldest_seq, 16);
    assert!(
        n.message.contains("14") && n.message.contains("16"),
        "{}",
        n.message
    );
    assert_ended(&mut old).await;
}

#[tokio::test]
async fn resume_ahead_of_head_is_an_error() {
    let hub = Hub::new(10, 8);
    hub.publish(execs(3));
    let mut sub = hub.subscribe(Some(9), Vec::new());
    let got = tokio::time::timeout(Duration::from_secs(1), sub.next()).await;
    let Ok(Some(Err(status))) = got else {
        panic!("expected an error, got {got:?}")
    };
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert_ended(&mut sub).await;
}

#[tokio::test]
async fn filters_kinds_but_passes_notices() {
    let hub = Hub::new(100, 8);
    let mut sub = hub.subscribe(None, vec![EventKind::Exit, EventKind::HostSample]);
    let lost = Notice {
        kind: NoticeKind::EventsLost.into(),
        lost_events: 7,
        ..Notice::default()
    };
    let lost = Event {
        seq: 0,
        time_ns: 0,
        kind: Some(Kind::Notice(lost)),
    };
    hub.publish(vec![exec(1), exit(1), exec(2), host(), lost, exec(3)]);
    hub.publish(vec![exit(2)]);
    let got = take_events(&mut sub, 4).await;
    assert_eq!(seqs(&got), [2, 4, 5, 7]);
    assert!(matches!(got[0].kind, Some(Kind::Exit(_))));
    assert!(matches!(got[1].kind, Some(Kind::HostSample(_))));
    assert_eq!(notice(&got[2]).lost_events, 7);
}

/// Publishes `n` events one at a time, letting the subscriber tasks run in
/// between, and keeps `fast` drained; returns what `fast` saw.
async fn publish_with_fast_reader(hub: &Hub, fast: &mut Subscription, n: u32) -> Vec<Event> {
    let mut seen = Vec::new();
    for i in 0..n {
        let head = hub.publish(vec![exec(i)]);
        while seen.last().map_or(0, |e: &Event| e.seq) < head {
            seen.extend(next_events(fast).await);
        }
    }
    seen
}

/// Reads a lagging subscriber to its end: the events it was queued (in
/// order, without gaps, starting at `first`), then the LAGGED notice.
async fn drain_lagged(sub: &mut Subscription, first: u64) -> (Vec<u64>, Notice) {
    let mut got = Vec::new();
    loop {
        let events = next_events(sub).await;
        if let Some(Kind::Notice(n)) = events.last().and_then(|e| e.kind.clone()) {
            got.extend(seqs(&events[..events.len() - 1]));
            assert_ended(sub).await;
            let expected: Vec<u64> = (first..first + got.len() as u64).collect();
            assert_eq!(got, expected, "queued events must be contiguous");
            return (got, n);
        }
        got.extend(seqs(&events));
    }
}

#[tokio::test]
async fn a_stalled_subscriber_blocks_nobody_and_ends_with_lagged() {
    let (capacity, queue) = (100, 4);
    let hub = Hub::new(capacity, queue);
    let mut slow = hub.subscribe(None, Vec::new());
    let mut fast = hub.subscribe(None, Vec::new());
    let total = 10 * u32::try_from(capacity).unwrap();
    let seen = publish_with_fast_reader(&hub, &mut fast, total).await;
    assert_eq!(seqs(&seen), (1..=u64::from(total)).collect::<Vec<_>>());
    // The ring stayed bounded.
    assert_eq!(hub.oldest_seq(), u64::from(total) - capacity as u64 + 1);

    let (got, n) = drain_lagged(&mut slow, 1).await;
    assert!(
        got.len() >= queue,
        "the queued messages are delivered first: {got:?}"
    );
    assert_eq!(n.kind, i32::from(NoticeKind::Lagged));
    assert_eq!(n.resume_after_seq, got.last().copied().unwrap_or(0));
    // By now the ring has long moved on: resuming asks for a resync.
    let mut again = hub.subscribe(Some(n.resume_after_seq), Vec::new());
    let events = next_events(&mut again).await;
    assert_eq!(
        notice(&events[0]).kind,
        i32::from(NoticeKind::ResyncRequired)
    );
}

#[tokio::test]
async fn a_lagged_subscriber_can_resume_without_loss() {
    let hub = Hub::new(100, 2);
    let mut slow = hub.subscribe(None, Vec::new());
    let mut fast = hub.subscribe(None, Vec::new());
    // Enough to pass the lag threshold (75 waiting), not enough to evict.
    publish_with_fast_reader(&hub, &mut fast, 90).await;
    assert_eq!(hub.oldest_seq(), 1);
    let (got, n) = drain_lagged(&mut slow, 1).await;
    assert_eq!(n.resume_after_seq, got.last().copied().unwrap_or(0));
    let mut resumed = hub.subscribe(Some(n.resume_after_seq), Vec::new());
    let rest = take_events(&mut resumed, 90 - got.len()).await;
    assert_eq!(
        seqs(&rest),
        (n.resume_after_seq + 1..=90).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn dropping_a_subscription_ends_its_task() {
    let hub = Hub::new(10, 1);
    let sub = hub.subscribe(None, Vec::new());
    drop(sub);
    // The task notices the closed queue; the hub keeps working.
    tokio::task::yield_now().await;
    assert_eq!(hub.publish(execs(50)), 50);
}

#[test]
fn subscribing_outside_a_runtime_yields_an_error() {
    let hub = Hub::new(10, 1);
    let sub = hub.subscribe(None, Vec::new());
    let first = futures::executor::block_on(sub.into_future()).0;
    assert!(matches!(first, Some(Err(s)) if s.code() == tonic::Code::Internal));
}

#[tokio::test]
async fn a_burst_larger_than_the_ring_lags_a_subscriber_that_never_ran() {
    let hub = Hub::new(10, 4);
    let mut sub = hub.subscribe(None, Vec::new());
    // No await in between: the subscriber task gets no chance to copy.
    hub.publish(execs(100));
    let (got, n) = drain_lagged(&mut sub, 1).await;
    assert!(got.is_empty());
    assert_eq!((n.resume_after_seq, n.oldest_seq), (0, 91));
}

#[tokio::test]
async fn large_events_are_split_by_bytes() {
    use prost::Message as _;
    let hub = Hub::new(100, 8);
    let big = |pid| {
        let process = perch_proto::v1::Process {
            argv: vec!["x".repeat(500_000)],
            ..Default::default()
        };
        let mut e = exec(pid);
        e.kind = Some(Kind::Exec(ProcessExec {
            process: Some(process),
            old_pid: 0,
        }));
        e
    };
    hub.publish((0..10).map(big).collect());
    let mut sub = hub.subscribe(Some(0), Vec::new());
    let mut total = 0;
    while total < 10 {
        let events = next_events(&mut sub).await;
        let msg = perch_proto::v1::WatchEventsResponse {
            events,
            encoded: Vec::new(),
        };
        assert!(
            msg.events.len() <= 3,
            "{} events in one message",
            msg.events.len()
        );
        assert!(msg.encoded_len() < super::MAX_BYTES_PER_MESSAGE + 600_000);
        total += msg.events.len();
    }
}

/// An exec event whose encoded size is about `bytes` (its argv).
fn sized(bytes: usize) -> Event {
    let process = perch_proto::v1::Process {
        argv: vec!["x".repeat(bytes)],
        ..Default::default()
    };
    Event {
        seq: 0,
        time_ns: 0,
        kind: Some(Kind::Exec(ProcessExec {
            process: Some(process),
            old_pid: 0,
        })),
    }
}

fn bytes_hub(replay_bytes: usize, client_queue_bytes: usize) -> std::sync::Arc<Hub> {
    Hub::with_limits(super::HubLimits {
        replay_events: 100_000,
        replay_bytes,
        client_queue: 1_000,
        client_queue_bytes,
    })
}

#[tokio::test]
async fn the_ring_is_bounded_in_bytes_whatever_the_event_count() {
    let hub = bytes_hub(1 << 20, 1 << 20);
    for _ in 0..200 {
        hub.publish(vec![sized(16 << 10)]);
        assert!(hub.replay_bytes() <= 1 << 20, "{}", hub.replay_bytes());
    }
    // Far fewer than the 100,000 events the count allows.
    let kept = 200 - hub.oldest_seq() + 1;
    assert!((50..70).contains(&kept), "{kept} kept");
    // Tiny events count their bookkeeping too.
    for _ in 0..100_000 {
        hub.publish(vec![exit(1)]);
    }
    assert!(hub.replay_bytes() <= 1 << 20);
    assert!(hub.head_seq() - hub.oldest_seq() < 10_000);
    // A client resuming behind the ring is told to resync.
    let mut old = hub.subscribe(Some(0), Vec::new());
    let events = next_events(&mut old).await;
    assert_eq!(
        notice(&events[0]).kind,
        i32::from(NoticeKind::ResyncRequired)
    );
}

#[tokio::test]
async fn a_stalled_subscriber_queues_bytes_not_messages_and_lags_by_bytes() {
    let (ring, budget) = (4 << 20, 256 << 10);
    let hub = bytes_hub(ring, budget);
    let mut slow = hub.subscribe(None, Vec::new());
    let mut fast = hub.subscribe(None, Vec::new());
    // 110 events of 32 KiB: 3.6 MB, more than three quarters of the ring's
    // bytes (not all of them: none is evicted), though far below three
    // quarters of its event count (100,000).
    let mut seen = 0;
    for _ in 0..110 {
        hub.publish(vec![sized(32 << 10)]);
        while seen < hub.head_seq() {
            seen = next_events(&mut fast).await.last().map_or(seen, |e| e.seq);
        }
    }
    let (got, n) = drain_lagged(&mut slow, 1).await;
    assert_eq!(n.kind, i32::from(NoticeKind::Lagged));
    assert_eq!(n.resume_after_seq, got.last().copied().unwrap_or(0));
    // What was queued for it: its byte budget (a message over the budget
    // takes all of it), not 1,000 messages' worth.
    let queued: usize = got.len() * (32 << 10);
    assert!(queued <= 2 * budget, "{} events queued", got.len());
    assert!(!got.is_empty(), "the queued message is delivered");
    // The ring still holds the rest: resume, no loss.
    assert_eq!(hub.oldest_seq(), 1);
    let mut resumed = hub.subscribe(Some(n.resume_after_seq), Vec::new());
    let rest = take_events(&mut resumed, 110 - got.len()).await;
    assert_eq!(
        seqs(&rest),
        (n.resume_after_seq + 1..=110).collect::<Vec<_>>()
    );
}
