//! A subscriber's task (copying events from the ring into its bounded
//! queue, and deciding when it has fallen too far behind) and the per-client
//! notices it can end with.
use std::sync::Weak;

use perch_proto::v1::{Event, Notice, NoticeKind, WatchEventsResponse, event::Kind};
use tokio::sync::{mpsc, watch};

use super::{Hub, Item, KindFilter, Read};

/// One subscriber's task: copies events after `cursor` from the ring into
/// the subscriber's bounded queue until the client goes away, the hub is
/// dropped, or the subscriber falls too far behind.
pub(super) async fn forward(
    hub: Weak<Hub>,
    mut cursor: u64,
    filter: KindFilter,
    tx: mpsc::Sender<Item>,
    mut wake: watch::Receiver<u64>,
) {
    loop {
        // Mark the signal seen before reading, so a publish after the reads
        // below always wakes the wait at the end of this loop.
        wake.borrow_and_update();
        loop {
            let Some(h) = hub.upgrade() else { return };
            let read = h.read_after(cursor, filter);
            let threshold = h.lag_threshold;
            drop(h);
            match read {
                Read::UpToDate => break,
                Read::Lagged { oldest } => {
                    send_lagged(&tx, cursor, oldest).await;
                    return;
                }
                Read::Batch {
                    events,
                    cursor: next,
                } => {
                    if !events.is_empty() {
                        let msg = WatchEventsResponse {
                            events: Vec::new(),
                            encoded: events,
                        };
                        match enqueue(&tx, &mut wake, msg, cursor, threshold).await {
                            Enqueued::Yes => {}
                            Enqueued::Closed => return,
                            Enqueued::TooFarBehind => {
                                let oldest = hub.upgrade().map_or(0, |h| h.oldest_seq());
                                send_lagged(&tx, cursor, oldest).await;
                                return;
                            }
                        }
                    }
                    cursor = next;
                }
            }
        }
        tokio::select! {
            changed = wake.changed() => if changed.is_err() { return },
            () = tx.closed() => return,
        }
    }
}

enum Enqueued {
    Yes,
    Closed,
    /// The queue stayed full while the backlog grew past the lag threshold.
    TooFarBehind,
}

/// Queues `msg` (whose events all come after `cursor`), waiting for room.
/// While waiting, gives up once more than `threshold` events are waiting
/// behind `cursor`: ending the stream while the ring still holds them lets
/// the client reconnect and resume without loss.
async fn enqueue(
    tx: &mpsc::Sender<Item>,
    wake: &mut watch::Receiver<u64>,
    msg: WatchEventsResponse,
    cursor: u64,
    threshold: u64,
) -> Enqueued {
    let mut hub_alive = true;
    loop {
        tokio::select! {
            biased;
            permit = tx.reserve() => {
                let Ok(permit) = permit else { return Enqueued::Closed };
                permit.send(Ok(msg));
                return Enqueued::Yes;
            }
            changed = wake.changed(), if hub_alive => {
                if changed.is_err() {
                    // No more events will come; just deliver this one.
                    hub_alive = false;
                    continue;
                }
                let head = *wake.borrow_and_update();
                if head.saturating_sub(cursor) > threshold {
                    return Enqueued::TooFarBehind;
                }
            }
        }
    }
}

/// The final message of a lagging subscriber, after everything it was queued.
async fn send_lagged(tx: &mpsc::Sender<Item>, last_given: u64, oldest: u64) {
    let _ = tx
        .send(Ok(notice_response(lagged_notice(last_given, oldest))))
        .await;
}

pub(super) fn notice_response(notice: Notice) -> WatchEventsResponse {
    WatchEventsResponse {
        events: vec![Event {
            seq: 0,
            time_ns: crate::clock::now_boot_ns(),
            kind: Some(Kind::Notice(notice)),
        }],
        encoded: Vec::new(),
    }
}

fn lagged_notice(last_given: u64, oldest: u64) -> Notice {
    Notice {
        kind: NoticeKind::Lagged.into(),
        message: format!(
            "this client fell behind and its stream ends here; reconnect with \
             resume_after_seq={last_given} to continue (oldest retained is {oldest})"
        ),
        resume_after_seq: last_given,
        oldest_seq: oldest,
        lost_events: 0,
        ..Notice::default()
    }
}

pub(super) fn resync_notice(asked: u64, oldest: u64) -> Notice {
    Notice {
        kind: NoticeKind::ResyncRequired.into(),
        message: format!(
            "resume_after_seq {asked} is no longer retained (oldest retained is {oldest}); \
             call ListProcesses again and watch from its snapshot_seq"
        ),
        resume_after_seq: 0,
        oldest_seq: oldest,
        lost_events: 0,
        ..Notice::default()
    }
}
