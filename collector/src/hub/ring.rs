//! The replay ring: the newest events, encoded once, bounded both in count
//! and in bytes.  Any user decides how large their exec events are (a
//! command line of 8 KiB), so a bound in events alone is no bound on
//! memory: 65,536 events of 8 KiB are half a gigabyte.
use std::collections::VecDeque;

use perch_proto::v1::{EncodedEvent, EventKind};

use super::KindFilter;

/// What one retained event costs besides its encoded bytes: its slot in
/// the ring (kind, seq, the `Bytes` handle, the running total) and the
/// allocator's and `Bytes`' headers.  Counted so that a flood of tiny
/// events is bounded by the byte limit too.
pub(super) const EVENT_OVERHEAD: usize = 128;

/// An event as every subscriber will send it: encoded once at publish
/// time, shared by reference count (no per-client copy or re-encoding).
pub(super) struct Stored {
    pub kind: Option<EventKind>,
    pub encoded: EncodedEvent,
    /// Bytes published up to and including this event (see [`Ring::total`]).
    pub end: u64,
}

impl Stored {
    pub fn cost(&self) -> usize {
        cost(&self.encoded)
    }
}

/// What an event counts against the byte limits.
pub(super) fn cost(e: &EncodedEvent) -> usize {
    e.wire_len() + EVENT_OVERHEAD
}

pub(super) struct Ring {
    events: VecDeque<Stored>,
    /// Most events retained.
    capacity: usize,
    /// Most bytes retained (by [`cost`]); at least one event is always kept.
    max_bytes: usize,
    /// Bytes retained now.
    bytes: usize,
    /// Bytes ever published: with each event's `end`, how many bytes wait
    /// behind a subscriber's cursor, without a walk.
    total: u64,
    pub head: u64,
}

/// What a subscriber finds when it looks at the ring after `cursor`.
pub(crate) enum Read {
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

impl Ring {
    pub fn new(capacity: usize, max_bytes: usize) -> Self {
        Self {
            // Grows on demand: a large configured capacity costs nothing
            // until the events actually arrive.
            events: VecDeque::with_capacity(capacity.min(4096)),
            capacity,
            max_bytes,
            bytes: 0,
            total: 0,
            head: 0,
        }
    }

    pub fn oldest(&self) -> u64 {
        self.events
            .front()
            .map_or(self.head.saturating_add(1), |s| s.encoded.seq)
    }

    /// Numbers and appends one event, then evicts the oldest ones past
    /// either limit.
    pub fn push(&mut self, kind: Option<EventKind>, mut encoded: EncodedEvent) {
        self.head = self.head.saturating_add(1);
        encoded.seq = self.head;
        let stored = Stored {
            kind,
            encoded,
            end: 0,
        };
        let cost = stored.cost();
        self.total = self.total.saturating_add(cost as u64);
        self.bytes += cost;
        self.events.push_back(Stored {
            end: self.total,
            ..stored
        });
        while self.events.len() > self.capacity
            || (self.bytes > self.max_bytes && self.events.len() > 1)
        {
            let Some(old) = self.events.pop_front() else {
                break;
            };
            self.bytes -= old.cost();
        }
    }

    /// Bytes retained now (by the ring's own count).
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    fn index(&self, seq: u64) -> Option<usize> {
        let i = usize::try_from(seq.checked_sub(self.oldest())?).ok()?;
        (i < self.events.len()).then_some(i)
    }

    /// Events and bytes published after `cursor`; `None` once the event
    /// after it is no longer retained.
    pub fn backlog(&self, cursor: u64) -> Option<(u64, u64)> {
        if cursor >= self.head {
            return Some((0, 0));
        }
        let next = self.events.get(self.index(cursor.saturating_add(1))?)?;
        let start = next.end - next.cost() as u64;
        Some((self.head - cursor, self.total - start))
    }

    /// Up to `max_scan` events after `cursor`, those `filter` wants, in a
    /// batch closed at `max_events` events or `max_bytes` encoded bytes.
    pub fn read_after(
        &self,
        cursor: u64,
        filter: KindFilter,
        limits: (usize, usize, usize),
    ) -> Read {
        let (max_scan, max_events, max_bytes) = limits;
        if cursor >= self.head {
            return Read::UpToDate;
        }
        let oldest = self.oldest();
        let Some(start) = self.index(cursor.saturating_add(1)) else {
            return Read::Lagged { oldest };
        };
        let mut events = Vec::new();
        let mut bytes = 0;
        let mut last = cursor;
        for stored in self.events.range(start..).take(max_scan) {
            last = stored.encoded.seq;
            if filter.wants(stored.kind) {
                events.push(stored.encoded.clone());
                bytes += stored.encoded.wire_len();
                if events.len() == max_events || bytes >= max_bytes {
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
