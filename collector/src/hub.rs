//! The event fan-out: numbers every published event, keeps the newest ones in
//! a bounded replay ring, and feeds each `WatchEvents` subscriber from that
//! ring with its own cursor.
//!
//! Slow clients are the design constraint.  `publish` only takes a short
//! lock and never waits for a subscriber.  Each subscriber has one task that
//! copies events from the ring into a bounded queue (`client_queue`
//! messages).  When the queue is full the task waits and the ring moves on
//! without it; once the backlog behind its cursor passes three quarters of
//! the ring (or the ring has already evicted events it had not queued), the
//! task sends a final `LAGGED` notice and ends.  Cutting it off before the
//! eviction gives the client a chance to reconnect and resume without loss.
//! Memory is bounded by the ring plus `client_queue` messages per subscriber.
use std::{
    collections::VecDeque,
    pin::Pin,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    task::{Context, Poll},
};

use futures::Stream;
use perch_proto::v1::{EncodedEvent, Event, EventKind, WatchEventsResponse, event::Kind};
use tokio::sync::{mpsc, watch};
use tonic::Status;

mod forward;
use forward::{forward, notice_response, resync_notice};

/// At most this many events go into one `WatchEventsResponse`, so a client
/// catching up on a large backlog gets reasonably sized messages.
pub const MAX_EVENTS_PER_MESSAGE: usize = 512;

/// A message is closed once its events reach this many encoded bytes: gRPC
/// clients refuse messages over 4 MiB by default, and exec events with long
/// command lines can be large.  (A single larger event still goes out alone.)
/// With the default queue of 16 messages this bounds what one stalled client
/// can pin in perchd to about 4 MiB.
pub const MAX_BYTES_PER_MESSAGE: usize = 256 << 10;

/// At most this many ring entries are examined per lock hold, so a
/// subscriber filtering out most kinds cannot hold the lock for a whole ring.
const MAX_SCAN_PER_LOCK: usize = 4 * MAX_EVENTS_PER_MESSAGE;

type Item = Result<WatchEventsResponse, Status>;

/// Sequence numbers, the replay ring and the subscriber wake-up signal.
pub struct Hub {
    ring: Mutex<Ring>,
    /// Carries the head sequence; subscribers only use it as a wake-up.
    head_tx: watch::Sender<u64>,
    client_queue: usize,
    /// A subscriber whose queue is full is cut off once more events than
    /// this wait behind its cursor: three quarters of the ring, so a quarter
    /// is still retained when it reconnects with its `resume_after_seq`.
    lag_threshold: u64,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("head_seq", &self.head_seq())
            .field("oldest_seq", &self.oldest_seq())
            .field("client_queue", &self.client_queue)
            .finish_non_exhaustive()
    }
}

struct Ring {
    /// Shared so a subscriber can copy its batch out under the lock cheaply
    /// and do the deep clone after releasing it.
    events: VecDeque<Stored>,
    capacity: usize,
    head: u64,
}

/// An event as every subscriber will send it: encoded once at publish
/// time, shared by reference count (no per-client copy or re-encoding).
struct Stored {
    kind: Option<EventKind>,
    encoded: EncodedEvent,
}

impl Ring {
    fn oldest(&self) -> u64 {
        self.events
            .front()
            .map_or(self.head.saturating_add(1), |s| s.encoded.seq)
    }
}

/// What a subscriber finds when it looks at the ring after `cursor`.
enum Read {
    /// Nothing newer than the cursor.
    UpToDate,
    /// Events the ring no longer holds were never queued for this subscriber.
    Lagged { oldest: u64 },
    /// The wanted events among those examined; `cursor` is the newest
    /// examined sequence (filtered-out events advance it too).
    Batch {
        events: Vec<EncodedEvent>,
        cursor: u64,
    },
}

impl Hub {
    /// A hub retaining the newest `replay_capacity` events, with at most
    /// `client_queue` messages queued per subscriber (both at least 1).
    #[must_use]
    pub fn new(replay_capacity: usize, client_queue: usize) -> Arc<Hub> {
        let capacity = replay_capacity.max(1);
        Arc::new(Hub {
            ring: Mutex::new(Ring {
                // Grows on demand: a large configured capacity costs nothing
                // until the events actually arrive.
                events: VecDeque::with_capacity(capacity.min(4096)),
                capacity,
                head: 0,
            }),
            head_tx: watch::channel(0).0,
            client_queue: client_queue.max(1),
            lag_threshold: u64::try_from(capacity - capacity / 4).unwrap_or(u64::MAX),
        })
    }

    /// A panic while the lock was held cannot leave the ring inconsistent
    /// (every mutation is a single push or pop), so poisoning is ignored
    /// rather than taking the collector down.
    fn lock(&self) -> MutexGuard<'_, Ring> {
        self.ring.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Numbers `events` (overwriting their `seq`) in order, appends them to
    /// the ring and wakes the subscribers.  Returns the newest sequence
    /// number (the current head when `events` is empty).
    pub fn publish(&self, events: Vec<Event>) -> u64 {
        // Encoded before taking the lock, without their seq (assigned under
        // it and written in front of the body at send time).
        let encoded: Vec<Stored> = events
            .into_iter()
            .map(|mut e| {
                e.seq = 0;
                Stored {
                    kind: event_kind(&e),
                    encoded: EncodedEvent::from_unsequenced(&e),
                }
            })
            .collect();
        let head = {
            let mut ring = self.lock();
            for mut stored in encoded {
                ring.head = ring.head.saturating_add(1);
                stored.encoded.seq = ring.head;
                ring.events.push_back(stored);
                if ring.events.len() > ring.capacity {
                    ring.events.pop_front();
                }
            }
            ring.head
        };
        // Outside the lock; concurrent publishers may race here, so keep
        // the maximum rather than the last writer's value.
        self.head_tx.send_if_modified(|h| {
            let changed = *h < head;
            *h = (*h).max(head);
            changed
        });
        head
    }

    /// The newest sequence number assigned (0 before the first event).
    #[must_use]
    pub fn head_seq(&self) -> u64 {
        self.lock().head
    }

    /// The oldest sequence number still in the ring (`head_seq + 1` when the
    /// ring is empty).
    #[must_use]
    pub fn oldest_seq(&self) -> u64 {
        self.lock().oldest()
    }

    /// A stream of the events after `resume_after` (after the current head
    /// when `None`), restricted to `kinds` (empty: all; notices always pass).
    ///
    /// `resume_after` beyond the head must have been rejected by the caller;
    /// the stream then yields `INVALID_ARGUMENT`.  A sequence no longer
    /// retained yields one `RESYNC_REQUIRED` notice and ends.  Must be called
    /// inside a tokio runtime (the subscriber task is spawned on it);
    /// otherwise the stream yields `INTERNAL`.
    pub fn subscribe(
        self: &Arc<Self>,
        resume_after: Option<u64>,
        kinds: impl IntoIterator<Item = EventKind>,
    ) -> Subscription {
        let (tx, rx) = mpsc::channel(self.client_queue);
        let sub = Subscription { rx };
        // Subscribe to wake-ups before reading the head: an event published
        // in between is then both seen by the first read and signalled.
        let wake = self.head_tx.subscribe();
        let (head, oldest) = {
            let ring = self.lock();
            (ring.head, ring.oldest())
        };
        let cursor = match resume_after {
            None => head,
            Some(n) if n > head => {
                let msg = format!("resume_after_seq: {n} is ahead of the newest sequence {head}");
                // The queue is empty and has room for at least one message.
                let _ = tx.try_send(Err(Status::invalid_argument(msg)));
                return sub;
            }
            Some(n) if n.saturating_add(1) < oldest => {
                let _ = tx.try_send(Ok(notice_response(resync_notice(n, oldest))));
                return sub;
            }
            Some(n) => n,
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            let _ = tx.try_send(Err(Status::internal(
                "event hub used outside a tokio runtime",
            )));
            return sub;
        };
        let filter = KindFilter::new(kinds);
        runtime.spawn(forward(Arc::downgrade(self), cursor, filter, tx, wake));
        sub
    }

    fn read_after(&self, cursor: u64, filter: KindFilter) -> Read {
        let ring = self.lock();
        if cursor >= ring.head {
            return Read::UpToDate;
        }
        let oldest = ring.oldest();
        if cursor.saturating_add(1) < oldest {
            return Read::Lagged { oldest };
        }
        // cursor + 1 >= oldest and cursor < head, so the index is inside the ring.
        let start = usize::try_from(cursor.saturating_add(1) - oldest).unwrap_or(usize::MAX);
        let start = start.min(ring.events.len());
        let mut events = Vec::new();
        let mut bytes = 0;
        let mut last = cursor;
        for stored in ring.events.range(start..).take(MAX_SCAN_PER_LOCK) {
            last = stored.encoded.seq;
            if filter.wants(stored.kind) {
                events.push(stored.encoded.clone());
                bytes += stored.encoded.wire_len();
                if events.len() == MAX_EVENTS_PER_MESSAGE || bytes >= MAX_BYTES_PER_MESSAGE {
                    break;
                }
            }
        }
        Read::Batch {
            events,
            cursor: last,
        }
    }
}

/// The stream of `WatchEvents` responses for one subscriber.
#[derive(Debug)]
pub struct Subscription {
    rx: mpsc::Receiver<Item>,
}

impl Stream for Subscription {
    type Item = Item;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Item>> {
        self.rx.poll_recv(cx)
    }
}

/// Which event kinds a subscriber wants, as a bit per `EventKind` value.
#[derive(Clone, Copy, Debug)]
struct KindFilter(u64);

impl KindFilter {
    fn new(kinds: impl IntoIterator<Item = EventKind>) -> Self {
        Self(kinds.into_iter().fold(0, |mask, k| mask | bit(k)))
    }

    fn wants(self, kind: Option<EventKind>) -> bool {
        match kind {
            _ if self.0 == 0 => true,
            // Notices always pass; an event without a kind has nothing to
            // filter on, so it passes too.
            None => true,
            Some(k) => self.0 & bit(k) != 0,
        }
    }
}

fn bit(kind: EventKind) -> u64 {
    let n = u32::try_from(i32::from(kind)).unwrap_or(0);
    1u64.checked_shl(n).unwrap_or(0)
}

/// The `EventKind` of an event; `None` for notices and kind-less events.
#[must_use]
pub fn event_kind(event: &Event) -> Option<EventKind> {
    Some(match event.kind.as_ref()? {
        Kind::Exec(_) => EventKind::Exec,
        Kind::Fork(_) => EventKind::Fork,
        Kind::Exit(_) => EventKind::Exit,
        Kind::Update(_) => EventKind::Update,
        Kind::ProcessSamples(_) => EventKind::ProcessSamples,
        Kind::HostSample(_) => EventKind::HostSample,
        Kind::Action(_) => EventKind::Action,
        Kind::Security(_) => EventKind::Security,
        Kind::Notice(_) => return None,
    })
}

#[cfg(test)]
mod tests;
