//! How many streaming calls (`WatchEvents`, `ListProcesses`, `ListAudit`)
//! may be open at once, in all and per caller.  Each open stream costs
//! perchd buffers it cannot bound by itself — HTTP/2 keeps up to 400 KiB
//! per stream that a client has not taken yet, on top of perchd's own
//! queue — so the number of streams is what bounds their sum.  Any local
//! user may call, so one user may not take every slot; admins (root's
//! console) are never refused, only counted.
use std::{
    collections::HashMap,
    net::IpAddr,
    pin::Pin,
    sync::{Arc, Mutex, PoisonError},
    task::{Context, Poll},
};

use futures::Stream;
use perch_proto::v1::Role;
use tonic::Status;

use crate::roles::Identity;

/// The bounds (perchd's config: `max_streams`, `max_streams_per_caller`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StreamLimits {
    pub total: usize,
    pub per_caller: usize,
}

impl Default for StreamLimits {
    fn default() -> Self {
        Self {
            total: 32,
            per_caller: 8,
        }
    }
}

/// Who a slot is counted against: the Unix uid, else the TLS client
/// certificate's CN, else the TLS peer's address.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Caller {
    Uid(u32),
    Cert(String),
    Addr(IpAddr),
    Unknown,
}

impl Caller {
    fn of(who: &Identity) -> Self {
        match (who.uid, &who.cert_cn, who.remote) {
            (Some(uid), _, _) => Caller::Uid(uid),
            (None, Some(cn), _) => Caller::Cert(cn.clone()),
            (None, None, Some(addr)) => Caller::Addr(addr.ip()),
            (None, None, None) => Caller::Unknown,
        }
    }
}

#[derive(Debug, Default)]
struct Open {
    total: usize,
    by_caller: HashMap<Caller, usize>,
}

/// The open streams, counted.
#[derive(Debug)]
pub struct StreamSlots {
    limits: StreamLimits,
    open: Mutex<Open>,
}

/// One open stream's slot, given back when dropped (with its stream).
#[derive(Debug)]
pub struct Slot {
    slots: Arc<StreamSlots>,
    caller: Caller,
}

impl StreamSlots {
    #[must_use]
    pub fn new(limits: StreamLimits) -> Arc<Self> {
        Arc::new(Self {
            limits,
            open: Mutex::new(Open::default()),
        })
    }

    /// A slot for `who`'s `rpc` stream, or `RESOURCE_EXHAUSTED` saying
    /// which limit was reached and how to raise it.
    pub fn acquire(
        self: &Arc<Self>,
        who: &Identity,
        role: Role,
        rpc: &str,
    ) -> Result<Slot, Status> {
        let caller = Caller::of(who);
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let mine = open.by_caller.get(&caller).copied().unwrap_or(0);
        if role != Role::Admin {
            if mine >= self.limits.per_caller {
                return Err(Status::resource_exhausted(format!(
                    "{rpc}: {} already has {mine} streams open, the most one caller may \
                     (perchd's config: max_streams_per_caller = {}); close one first",
                    who.caller(),
                    self.limits.per_caller
                )));
            }
            if open.total >= self.limits.total {
                return Err(Status::resource_exhausted(format!(
                    "{rpc}: {} streams are open, the most perchd serves at once \
                     (perchd's config: max_streams = {}); try again later",
                    open.total, self.limits.total
                )));
            }
        }
        open.total += 1;
        *open.by_caller.entry(caller.clone()).or_insert(0) += 1;
        Ok(Slot {
            slots: Arc::clone(self),
            caller,
        })
    }

    /// Streams open now.
    #[must_use]
    pub fn open(&self) -> usize {
        self.open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .total
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self
            .slots
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        open.total = open.total.saturating_sub(1);
        if let Some(n) = open.by_caller.get_mut(&self.caller) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.by_caller.remove(&self.caller);
            }
        }
    }
}

/// A response stream holding its slot until it ends or is dropped.
pub struct Slotted<S> {
    inner: S,
    slot: Option<Slot>,
}

impl<S> Slotted<S> {
    pub fn new(inner: S, slot: Slot) -> Self {
        Self {
            inner,
            slot: Some(slot),
        }
    }
}

impl<S: Stream + Unpin> Stream for Slotted<S> {
    type Item = S::Item;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let next = Pin::new(&mut self.inner).poll_next(cx);
        if let Poll::Ready(None) = next {
            // Ended: the slot is free even if the response lingers.
            self.slot = None;
        }
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uid(n: u32) -> Identity {
        Identity {
            uid: Some(n),
            ..Identity::default()
        }
    }

    #[test]
    fn per_caller_then_total_and_admins_are_counted_not_refused() {
        let slots = StreamSlots::new(StreamLimits {
            total: 3,
            per_caller: 2,
        });
        let a1 = slots
            .acquire(&uid(1000), Role::Viewer, "WatchEvents")
            .unwrap();
        let _a2 = slots
            .acquire(&uid(1000), Role::Viewer, "WatchEvents")
            .unwrap();
        let refused = slots
            .acquire(&uid(1000), Role::Viewer, "WatchEvents")
            .unwrap_err();
        assert_eq!(refused.code(), tonic::Code::ResourceExhausted);
        assert!(
            refused.message().contains("uid 1000")
                && refused.message().contains("max_streams_per_caller = 2"),
            "{}",
            refused.message()
        );
        let _b = slots
            .acquire(&uid(1001), Role::Operator, "ListProcesses")
            .unwrap();
        let full = slots
            .acquire(&uid(1002), Role::Viewer, "ListAudit")
            .unwrap_err();
        assert!(
            full.message().contains("max_streams = 3"),
            "{}",
            full.message()
        );
        // Root's console always gets in.
        let _root = slots.acquire(&uid(0), Role::Admin, "WatchEvents").unwrap();
        assert_eq!(slots.open(), 4);
        drop(a1);
        assert_eq!(slots.open(), 3);
        assert!(
            slots
                .acquire(&uid(1000), Role::Viewer, "WatchEvents")
                .is_err()
        );
    }
}
