//! The console's copy of each collector's connections and listening
//! sockets: seeded from `ListConnections` at every (re)list and kept
//! current by the network events after it (connect, accept, listen,
//! close, connection updates).  Closed ones stay for the exited-process
//! retention, dimmed; the whole is bounded by a count, closed ones going
//! first, then the oldest.  Strings are cleaned of control characters
//! here, once, like the process model's.
pub mod filter;

use std::{collections::HashMap, time::Instant};

use perch_proto::v1::{self, Connection, ListeningSocket, event::Kind};

use super::model::{FxBuild, HostId, ProcessKey};
use crate::text::clean;

/// One connection as the console holds it.
#[derive(Clone, Debug)]
pub struct Conn {
    pub host: HostId,
    /// As perchd sent it, strings cleaned.
    pub c: Connection,
    pub owner: Option<ProcessKey>,
    pub peer: Option<ProcessKey>,
    /// When it closed on the console's clock (retention counts from here).
    pub closed_at: Option<Instant>,
}

/// One listening socket as the console holds it.
#[derive(Clone, Debug)]
pub struct Listen {
    pub host: HostId,
    pub l: ListeningSocket,
    pub owner: Option<ProcessKey>,
    pub closed_at: Option<Instant>,
}

impl Conn {
    fn new(host: HostId, mut c: Connection, closed_at: Option<Instant>) -> Conn {
        for s in [
            &mut c.local_ip,
            &mut c.remote_ip,
            &mut c.proc_name,
            &mut c.peer_proc_name,
            &mut c.status,
        ] {
            clean_in_place(s);
        }
        let key = |k: &v1::ProcessKey| ProcessKey::new(host, k.pid, k.start_time_ns);
        Conn {
            host,
            owner: c.process.as_ref().map(key),
            peer: c.peer_process.as_ref().map(key),
            closed_at: closed_at.filter(|_| c.end_time_ns != 0),
            c,
        }
    }

    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.c.end_time_ns != 0
    }
}

impl Listen {
    fn new(host: HostId, mut l: ListeningSocket, closed_at: Option<Instant>) -> Listen {
        clean_in_place(&mut l.local_ip);
        clean_in_place(&mut l.proc_name);
        Listen {
            host,
            owner: l
                .process
                .as_ref()
                .map(|k| ProcessKey::new(host, k.pid, k.start_time_ns)),
            closed_at: closed_at.filter(|_| l.end_time_ns != 0),
            l,
        }
    }

    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.l.end_time_ns != 0
    }
}

fn clean_in_place(s: &mut String) {
    if let std::borrow::Cow::Owned(c) = clean(s) {
        *s = c;
    }
}

/// Each host's connections and listening sockets, by perchd's id.
#[derive(Debug, Default)]
pub struct NetStore {
    conns: HashMap<(HostId, u64), Conn, FxBuild>,
    listening: HashMap<(HostId, u64), Listen, FxBuild>,
    /// Per host, the snapshot's sequence number: network events at or
    /// before it are in the snapshot already (the process snapshot, taken
    /// first, sets where the stream resumes).
    seen_through: HashMap<HostId, u64, FxBuild>,
    /// Rows dropped to stay within the bound, for the status line.
    dropped: u64,
    /// Bumped on every change (screens rebuild when it moves).
    generation: u64,
}

impl NetStore {
    /// A `ListConnections` snapshot of `host` at sequence `seq`: it
    /// replaces what the host had.  `closed_at` turns a boot-clock end time
    /// into the console's clock.
    pub fn snapshot(
        &mut self,
        host: HostId,
        conns: Vec<Connection>,
        listening: Vec<ListeningSocket>,
        seq: u64,
        closed_at: impl Fn(u64) -> Instant,
    ) {
        self.conns.retain(|k, _| k.0 != host);
        self.listening.retain(|k, _| k.0 != host);
        for c in conns {
            let at = closed_at(c.end_time_ns);
            self.conns
                .insert((host, c.id), Conn::new(host, c, Some(at)));
        }
        for l in listening {
            let at = closed_at(l.end_time_ns);
            self.listening
                .insert((host, l.id), Listen::new(host, l, Some(at)));
        }
        self.seen_through.insert(host, seq);
        self.touch();
    }

    /// One event of `host`'s stream; true when something changed.  Events
    /// the snapshot already holds (by sequence) are skipped.
    pub fn apply(
        &mut self,
        host: HostId,
        e: &v1::Event,
        closed_at: impl Fn(u64) -> Instant,
    ) -> bool {
        let Some(kind) = &e.kind else { return false };
        if !matches!(
            kind,
            Kind::Connect(_)
                | Kind::Accept(_)
                | Kind::Listen(_)
                | Kind::Close(_)
                | Kind::ConnectionUpdates(_)
        ) {
            return false;
        }
        if self
            .seen_through
            .get(&host)
            .is_some_and(|s| e.seq != 0 && e.seq <= *s)
        {
            return false;
        }
        match kind {
            Kind::Connect(x) | Kind::Accept(x) => {
                let Some(c) = &x.connection else { return false };
                self.put_conn(host, c, &closed_at);
            }
            Kind::Listen(x) => {
                let Some(l) = &x.socket else { return false };
                self.put_listen(host, l, &closed_at);
            }
            Kind::Close(x) => {
                if let Some(c) = &x.connection {
                    self.put_conn(host, c, &closed_at);
                }
                if let Some(l) = &x.listening {
                    self.put_listen(host, l, &closed_at);
                }
            }
            Kind::ConnectionUpdates(x) => {
                for c in &x.connections {
                    self.put_conn(host, c, &closed_at);
                }
            }
            _ => return false,
        }
        self.touch();
        true
    }

    /// Every message carries all of a connection's fields: it replaces
    /// what is held by id.  A closed one keeps the time it first closed.
    fn put_conn(&mut self, host: HostId, c: &Connection, closed_at: &impl Fn(u64) -> Instant) {
        let was = self.conns.get(&(host, c.id)).and_then(|o| o.closed_at);
        let at = was.unwrap_or_else(|| closed_at(c.end_time_ns));
        self.conns
            .insert((host, c.id), Conn::new(host, c.clone(), Some(at)));
    }

    fn put_listen(
        &mut self,
        host: HostId,
        l: &ListeningSocket,
        closed_at: &impl Fn(u64) -> Instant,
    ) {
        let was = self.listening.get(&(host, l.id)).and_then(|o| o.closed_at);
        let at = was.unwrap_or_else(|| closed_at(l.end_time_ns));
        self.listening
            .insert((host, l.id), Listen::new(host, l.clone(), Some(at)));
    }

    /// Closed rows past `retention` go; true when any did.
    pub fn expire(&mut self, now: Instant, retention: std::time::Duration) -> bool {
        let gone =
            |at: Option<Instant>| at.is_some_and(|t| now.saturating_duration_since(t) >= retention);
        let before = self.conns.len() + self.listening.len();
        self.conns.retain(|_, c| !gone(c.closed_at));
        self.listening.retain(|_, l| !gone(l.closed_at));
        let changed = self.conns.len() + self.listening.len() != before;
        if changed {
            self.touch();
        }
        changed
    }

    /// Keeps at most `limit` connections and `limit` listening sockets:
    /// closed ones go first (longest closed first), then the oldest open.
    /// Returns how many went.
    pub fn bound(&mut self, limit: usize) -> usize {
        let mut n = shed(&mut self.conns, limit, |c| {
            (!c.is_closed(), c.c.end_time_ns, c.c.create_time_ns)
        });
        n += shed(&mut self.listening, limit, |l| {
            (!l.is_closed(), l.l.end_time_ns, l.l.create_time_ns)
        });
        if n > 0 {
            self.dropped += n as u64;
            self.touch();
        }
        n
    }

    fn touch(&mut self) {
        self.generation = self.generation.wrapping_add(1);
    }

    #[must_use]
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Rows dropped to stay within the bound.
    #[must_use]
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    pub fn conns(&self) -> impl Iterator<Item = &Conn> {
        self.conns.values()
    }

    pub fn listening(&self) -> impl Iterator<Item = &Listen> {
        self.listening.values()
    }

    #[must_use]
    pub fn conn(&self, host: HostId, id: u64) -> Option<&Conn> {
        self.conns.get(&(host, id))
    }

    #[must_use]
    pub fn listen(&self, host: HostId, id: u64) -> Option<&Listen> {
        self.listening.get(&(host, id))
    }

    /// A process's connections and listening sockets (the detail view).
    #[must_use]
    pub fn of_process(&self, key: &ProcessKey) -> (Vec<&Conn>, Vec<&Listen>) {
        let mut c: Vec<&Conn> = self
            .conns()
            .filter(|c| c.owner.as_ref() == Some(key))
            .collect();
        c.sort_by_key(|c| (c.is_closed(), c.c.create_time_ns, c.c.id));
        let mut l: Vec<&Listen> = self
            .listening()
            .filter(|l| l.owner.as_ref() == Some(key))
            .collect();
        l.sort_by_key(|l| (l.is_closed(), l.l.local_port, l.l.id));
        (c, l)
    }
}

/// Drops the rows that sort lowest by `order` until `limit` are left.
fn shed<T, K: Ord>(
    map: &mut HashMap<(HostId, u64), T, FxBuild>,
    limit: usize,
    order: impl Fn(&T) -> K,
) -> usize {
    let excess = map.len().saturating_sub(limit);
    if excess == 0 {
        return 0;
    }
    let mut keys: Vec<((HostId, u64), K)> = map.iter().map(|(k, v)| (*k, order(v))).collect();
    keys.select_nth_unstable_by(excess - 1, |a, b| a.1.cmp(&b.1));
    for (k, _) in keys.into_iter().take(excess) {
        map.remove(&k);
    }
    excess
}

#[cfg(test)]
mod tests;
