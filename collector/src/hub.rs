//! The event fan-out: numbers every published event, keeps the newest ones in
//! a bounded replay ring, and feeds each `WatchEvents` subscriber from that
//! ring with its own cursor.
//!
//! Slow clients are the design constraint.  `publish` only takes a short
//! lock and never waits for a subscriber.  Each subscriber has one task that
//! copies events from the ring into a bounded queue (`client_queue`
//! messages and `client_queue_bytes`).  When the queue is full the task
//! waits and the ring moves on without it; once the backlog behind its
//! cursor passes three quarters of the ring (in events or in bytes), or the
//! ring has already evicted events it had not queued, the task sends a
//! final `LAGGED` notice and ends.  Cutting it off before the eviction
//! gives the client a chance to reconnect and resume without loss.
//!
//! Memory is bounded in bytes, whatever the events are: the ring by
//! `replay_bytes`, and what a subscriber pins beyond it (queued events the
//! ring has since evicted) by `client_queue_bytes`.
use std::{
    pin::Pin,
    sync::{
        Arc, Mutex, MutexGuard, PoisonError,
        atomic::{AtomicUsize, Ordering},
    },
    task::{Context, Poll},
};

use futures::Stream;
use perch_proto::v1::{EncodedEvent, Event, EventKind, WatchEventsResponse, event::Kind};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, watch};
use tonic::Status;

mod forward;
mod ring;
use forward::{forward, notice_response, resync_notice};
pub(crate) use ring::Read;
use ring::Ring;

/// At most this many events go into one `WatchEventsResponse`, so a client
/// catching up on a large backlog gets reasonably sized messages.
pub const MAX_EVENTS_PER_MESSAGE: usize = 512;

/// A message is closed once its events reach this many encoded bytes (the
/// contract's chunk size): with every string capped, an event is at most a
/// few tens of KiB, so a message stays far below what clients accept
/// (`limits::MAX_MESSAGE_BYTES`).
pub const MAX_BYTES_PER_MESSAGE: usize = perch_proto::limits::CHUNK_BYTES;

/// At most this many ring entries are examined per lock hold, so a
/// subscriber filtering out most kinds cannot hold the lock for a whole ring.
const MAX_SCAN_PER_LOCK: usize = 4 * MAX_EVENTS_PER_MESSAGE;

/// Events encoded per lock hold when publishing.
const PUBLISH_GROUP: usize = 64;

/// The hub's bounds (perchd's config: `replay_capacity`, `replay_bytes`,
/// `client_queue`, `client_queue_bytes`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HubLimits {
    /// Most events retained for resuming clients.
    pub replay_events: usize,
    /// Most bytes they may take (encoded size plus bookkeeping).
    pub replay_bytes: usize,
    /// Most messages queued per subscriber.
    pub client_queue: usize,
    /// Most bytes queued per subscriber.
    pub client_queue_bytes: usize,
}

impl Default for HubLimits {
    fn default() -> Self {
        Self {
            replay_events: 65_536,
            replay_bytes: 16 << 20,
            client_queue: 16,
            client_queue_bytes: 256 << 10,
        }
    }
}

/// A queued message and the share of its subscriber's byte budget it holds
/// until the client's stream takes it.
type Queued = (Item, Option<OwnedSemaphorePermit>);
type Item = Result<WatchEventsResponse, Status>;

/// Sequence numbers, the replay ring and the subscriber wake-up signal.
pub struct Hub {
    ring: Mutex<Ring>,
    /// Carries the head sequence; subscribers only use it as a wake-up.
    head_tx: watch::Sender<u64>,
    limits: HubLimits,
    /// Subscribers that asked for thread samples: the sampler reads every
    /// thread only while this is not 0.
    thread_watchers: Arc<AtomicUsize>,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("head_seq", &self.head_seq())
            .field("oldest_seq", &self.oldest_seq())
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl Hub {
    /// A hub retaining the newest `replay_capacity` events, with at most
    /// `client_queue` messages queued per subscriber (both at least 1), and
    /// the default byte bounds.
    #[must_use]
    pub fn new(replay_capacity: usize, client_queue: usize) -> Arc<Hub> {
        Hub::with_limits(HubLimits {
            replay_events: replay_capacity,
            client_queue,
            ..HubLimits::default()
        })
    }

    /// A hub with these bounds (each at least 1).
    #[must_use]
    pub fn with_limits(limits: HubLimits) -> Arc<Hub> {
        let limits = HubLimits {
            replay_events: limits.replay_events.max(1),
            replay_bytes: limits.replay_bytes.max(1),
            client_queue: limits.client_queue.max(1),
            client_queue_bytes: limits.client_queue_bytes.max(1),
        };
        Arc::new(Hub {
            ring: Mutex::new(Ring::new(limits.replay_events, limits.replay_bytes)),
            head_tx: watch::channel(0).0,
            limits,
            thread_watchers: Arc::new(AtomicUsize::new(0)),
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
        self.publish_iter(events)
    }

    /// [`publish`](Self::publish) from an iterator: each event is encoded
    /// (and dropped) before the next is taken, so a lazy iterator never
    /// holds a whole batch as messages (an 8 KiB argv of one-byte
    /// arguments is ~200 KiB as a `Vec<String>`).
    pub fn publish_iter(&self, events: impl IntoIterator<Item = Event>) -> u64 {
        let mut events = events.into_iter().peekable();
        let mut head = self.head_seq();
        // In groups: encoded before taking the lock, without their seq
        // (assigned under it and written in front of the body at send
        // time), and a group at a time, so that a large batch is not held
        // twice (as the ring's and as the batch's) before it is pushed.
        while events.peek().is_some() {
            let encoded: Vec<(Option<EventKind>, EncodedEvent)> = events
                .by_ref()
                .take(PUBLISH_GROUP)
                .map(|mut e| {
                    e.seq = 0;
                    (event_kind(&e), EncodedEvent::from_unsequenced(&e))
                })
                .collect();
            let mut ring = self.lock();
            for (kind, e) in encoded {
                ring.push(kind, e);
            }
            head = ring.head;
        }
        // Outside the lock; concurrent publishers may race here, so keep
        // the maximum rather than the last writer's value.
        self.head_tx.send_if_modified(|h| {
            let changed = *h < head;
            *h = (*h).max(head);
            changed
        });
        head
    }

    /// How many subscribers asked for thread samples by name.
    #[must_use]
    pub fn thread_watchers(&self) -> usize {
        self.thread_watchers.load(Ordering::Relaxed)
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

    /// Bytes the ring holds now (encoded events and their bookkeeping).
    #[must_use]
    pub fn replay_bytes(&self) -> usize {
        self.lock().bytes()
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
        let (tx, rx) = mpsc::channel(self.limits.client_queue);
        let filter = KindFilter::new(kinds);
        let watching = filter
            .names(EventKind::ThreadSamples)
            .then(|| Watching::new(&self.thread_watchers));
        let sub = Subscription {
            rx,
            _watching: watching,
        };
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
                let _ = tx.try_send((Err(Status::invalid_argument(msg)), None));
                return sub;
            }
            Some(n) if n.saturating_add(1) < oldest => {
                let _ = tx.try_send((Ok(notice_response(resync_notice(n, oldest))), None));
                return sub;
            }
            Some(n) => n,
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            let _ = tx.try_send((
                Err(Status::internal("event hub used outside a tokio runtime")),
                None,
            ));
            return sub;
        };
        let budget = Arc::new(Semaphore::new(self.limits.client_queue_bytes));
        runtime.spawn(forward(
            Arc::downgrade(self),
            cursor,
            filter,
            tx,
            budget,
            wake,
        ));
        sub
    }

    /// Every event after `cursor` (at most one message's worth), for a
    /// reader that looks at the ring on its own schedule instead of being
    /// woken at every publish as a subscriber is: the history writer's
    /// feed, which takes what gathered every few tenths of a second.
    pub(crate) fn read_all_after(&self, cursor: u64) -> Read {
        self.read_after(cursor, KindFilter::new([]))
    }

    fn read_after(&self, cursor: u64, filter: KindFilter) -> Read {
        self.lock().read_after(
            cursor,
            filter,
            (
                MAX_SCAN_PER_LOCK,
                MAX_EVENTS_PER_MESSAGE,
                MAX_BYTES_PER_MESSAGE,
            ),
        )
    }

    /// Whether a subscriber whose queue is full should be cut off: more
    /// than three quarters of the ring (in events or in bytes) waits behind
    /// `cursor`, or the ring no longer holds the next event it needs.  A
    /// quarter is then still retained when it reconnects.
    fn too_far_behind(&self, cursor: u64) -> bool {
        let Some((events, bytes)) = self.lock().backlog(cursor) else {
            return true;
        };
        let three_quarters = |n: usize| u64::try_from(n - n / 4).unwrap_or(u64::MAX);
        events > three_quarters(self.limits.replay_events)
            || bytes > three_quarters(self.limits.replay_bytes)
    }
}

/// The stream of `WatchEvents` responses for one subscriber.
#[derive(Debug)]
pub struct Subscription {
    rx: mpsc::Receiver<Queued>,
    /// Counted among the thread watchers while the stream lives.
    _watching: Option<Watching>,
}

/// One count in `Hub::thread_watchers`, given back when dropped.
#[derive(Debug)]
struct Watching(Arc<AtomicUsize>);

impl Watching {
    fn new(count: &Arc<AtomicUsize>) -> Self {
        count.fetch_add(1, Ordering::Relaxed);
        Self(Arc::clone(count))
    }
}

impl Drop for Watching {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Stream for Subscription {
    type Item = Item;

    /// The next message; its share of the queue's byte budget is released
    /// as the client's stream takes it.
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Item>> {
        self.rx.poll_recv(cx).map(|q| q.map(|(item, _permit)| item))
    }
}

/// Which event kinds a subscriber wants, as a bit per `EventKind` value.
#[derive(Clone, Copy, Debug)]
struct KindFilter(u64);

impl KindFilter {
    fn new(kinds: impl IntoIterator<Item = EventKind>) -> Self {
        Self(kinds.into_iter().fold(0, |mask, k| mask | bit(k)))
    }

    /// Whether `kind` was asked for by name (not only through "all").
    fn names(self, kind: EventKind) -> bool {
        self.0 & bit(kind) != 0
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
        Kind::ThreadSamples(_) => EventKind::ThreadSamples,
        Kind::Flag(_) => EventKind::Flag,
        Kind::Trace(_) => EventKind::Trace,
        Kind::Deviation(_) => EventKind::Deviation,
        Kind::Connect(_) => EventKind::Connect,
        Kind::Accept(_) => EventKind::Accept,
        Kind::Listen(_) => EventKind::Listen,
        Kind::Close(_) => EventKind::Close,
        Kind::ConnectionUpdates(_) => EventKind::ConnectionUpdates,
        Kind::Security(_) => EventKind::Security,
        Kind::Notice(_) => return None,
    })
}

#[cfg(test)]
mod tests;
