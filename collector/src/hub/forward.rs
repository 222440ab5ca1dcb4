//! A subscriber's task (copying events from the ring into its bounded
//! queue, and deciding when it has fallen too far behind) and the per-client
//! notices it can end with.
use std::sync::{Arc, Weak};

use perch_proto::v1::{Event, Notice, NoticeKind, WatchEventsResponse, event::Kind};
use tokio::sync::{Semaphore, mpsc, watch};

use super::{Hub, KindFilter, Queued, Read, ring};

/// One subscriber's task: copies events after `cursor` from the ring into
/// the subscriber's bounded queue (at most `budget`'s bytes) until the
/// client goes away, the hub is dropped, or the subscriber falls too far
/// behind.
pub(super) async fn forward(
    hub: Weak<Hub>,
    mut cursor: u64,
    filter: KindFilter,
    tx: mpsc::Sender<Queued>,
    budget: Arc<Semaphore>,
    mut wake: watch::Receiver<u64>,
) {
    loop {
        // Mark the signal seen before reading, so a publish after the reads
        // below always wakes the wait at the end of this loop.
        wake.borrow_and_update();
        loop {
            let Some(h) = hub.upgrade() else { return };
            let read = h.read_after(cursor, filter);
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
                        match enqueue(&tx, &budget, &mut wake, msg, cursor, &hub).await {
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

/// Queues `msg` (whose events all come after `cursor`), waiting for room
/// in the queue and in its byte budget.  While waiting, gives up once the
/// subscriber is too far behind (`Hub::too_far_behind`): ending the stream
/// while the ring still holds its backlog lets the client reconnect and
/// resume without loss.
async fn enqueue(
    tx: &mpsc::Sender<Queued>,
    budget: &Arc<Semaphore>,
    wake: &mut watch::Receiver<u64>,
    msg: WatchEventsResponse,
    cursor: u64,
    hub: &Weak<Hub>,
) -> Enqueued {
    // A message larger than the whole budget takes all of it.
    let cost: usize = msg.encoded.iter().map(ring::cost).sum();
    let cost = u32::try_from(cost.min(budget_size(hub))).unwrap_or(u32::MAX);
    let mut bytes = None;
    let mut hub_alive = true;
    loop {
        tokio::select! {
            biased;
            permit = Arc::clone(budget).acquire_many_owned(cost), if bytes.is_none() => {
                let Ok(permit) = permit else { return Enqueued::Closed };
                bytes = Some(permit);
            }
            slot = tx.reserve(), if bytes.is_some() => {
                let Ok(slot) = slot else { return Enqueued::Closed };
                slot.send((Ok(msg), bytes));
                return Enqueued::Yes;
            }
            changed = wake.changed(), if hub_alive => {
                if changed.is_err() {
                    // No more events will come; just deliver this one.
                    hub_alive = false;
                    continue;
                }
                wake.borrow_and_update();
                if hub.upgrade().is_some_and(|h| h.too_far_behind(cursor)) {
                    return Enqueued::TooFarBehind;
                }
            }
            () = tx.closed() => return Enqueued::Closed,
        }
    }
}

/// The subscriber byte budget's size (what a single message may take).
fn budget_size(hub: &Weak<Hub>) -> usize {
    hub.upgrade()
        .map_or(usize::MAX, |h| h.limits.client_queue_bytes)
}

/// The final message of a lagging subscriber, after everything it was queued.
async fn send_lagged(tx: &mpsc::Sender<Queued>, last_given: u64, oldest: u64) {
    let _ = tx
        .send((Ok(notice_response(lagged_notice(last_given, oldest))), None))
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
