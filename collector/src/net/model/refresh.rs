//! A sample pass over the network model: `sock_diag`'s dump refreshes state
//! and counters, opens what no kernel record reported (sockets open when
//! perchd started, procfs mode, lost records) and closes what is gone;
//! then per-process rates are summed and changed connections batched.
use std::{
    collections::{HashMap, HashSet},
    net::SocketAddr,
    ops::RangeInclusive,
};

use super::{Entry, NetModel, Slot, Sock};
use crate::{
    model::ProcKey,
    net::{Conn, Direction, Listening, NetChange, NetSource, Owner, Proto, diag::DiagEntry},
};

const TCP_LISTEN: u8 = 10;
/// Connections per update event: a host with many busy connections gets
/// several reasonably sized events rather than one huge one.
const UPDATES_PER_EVENT: usize = 512;

/// What one pass read.
#[derive(Debug)]
pub struct Sources<'a> {
    /// `sock_diag`'s sockets (this network namespace only).
    pub entries: &'a [DiagEntry],
    /// `CLOCK_BOOTTIME` when the dump started: sockets the model learnt of
    /// later are not closed for missing from it.
    pub dump_ns: u64,
    /// Socket inode -> pid, when /proc was scanned for this pass.
    pub inode_pids: Option<HashMap<u64, u32>>,
    /// The local ports the kernel picks for outgoing connections.
    pub ephemeral: RangeInclusive<u16>,
}

/// What a pass produced.
#[derive(Debug, Default)]
pub struct NetSample {
    /// Bytes per second received and sent by each process over the
    /// interval; processes that had a rate last time and none now get 0.
    pub rates: Vec<(ProcKey, f64, f64)>,
    /// Listens, closes and update batches to publish.
    pub changes: Vec<NetChange>,
}

impl NetModel {
    /// Whether `entries` name sockets without an owner that no /proc scan
    /// has looked for yet.
    #[must_use]
    pub fn needs_scan(&self, entries: &[DiagEntry]) -> bool {
        entries.iter().any(|e| {
            e.ino != 0
                && !self.inode_pids.contains_key(&e.ino)
                && !self.unowned.contains(&e.ino)
                && !self.owned(e)
        })
    }

    /// Whether the model already knows who owns `e`'s socket.
    fn owned(&self, e: &DiagEntry) -> bool {
        match e.proto {
            Proto::Tcp => match self.tcp.get(&e.cookie) {
                Some(Sock::Conn(id)) => self.conns.get(id).is_some_and(|c| c.conn.owner.is_some()),
                Some(Sock::Listen(id)) => self.listening.get(id).is_some_and(|l| l.owner.is_some()),
                None => false,
            },
            Proto::Udp => self.udp.contains_key(&e.ino),
        }
    }

    /// One sample pass: `owner` names a live process by pid.
    pub fn refresh(
        &mut self,
        now_ns: u64,
        interval_ns: u64,
        src: Sources<'_>,
        owner: &dyn Fn(u32) -> Option<Owner>,
    ) -> NetSample {
        if let Some(map) = src.inode_pids {
            for e in src.entries {
                if e.ino != 0 && !map.contains_key(&e.ino) {
                    self.unowned.insert(e.ino);
                }
            }
            self.inode_pids = map;
        }
        let by_ino =
            |model: &NetModel, ino: u64| model.inode_pids.get(&ino).and_then(|&pid| owner(pid));
        let mut changes = Vec::new();
        // Listeners first: connections' directions depend on them.
        for e in src.entries.iter().filter(|e| is_listener(e)) {
            let o = by_ino(self, e.ino);
            changes.extend(self.seen_listener(e, now_ns, o));
        }
        for e in src.entries.iter().filter(|e| !is_listener(e)) {
            let o = by_ino(self, e.ino);
            self.seen_conn(e, now_ns, o, &src.ephemeral);
        }
        changes.extend(self.close_missing(src.entries, src.dump_ns, now_ns));
        let open: Vec<u64> = self.tuples.values().copied().collect();
        for id in open {
            if self.conns.get(&id).is_some_and(|e| e.conn.peer.is_none()) {
                self.find_peer(id);
            }
        }
        let rates = self.rates(interval_ns);
        changes.extend(self.take_updates());
        self.expire(now_ns);
        NetSample { rates, changes }
    }

    fn seen_listener(&mut self, e: &DiagEntry, now_ns: u64, o: Option<Owner>) -> Option<NetChange> {
        let (key, known) = match e.proto {
            Proto::Tcp => (e.cookie, self.tcp.contains_key(&e.cookie)),
            Proto::Udp => (e.ino, self.udp.contains_key(&e.ino)),
        };
        if known {
            // An owner the last pass could not name (the process was not
            // in the process model yet, as in procfs mode between polls).
            let id = match e.proto {
                Proto::Tcp => match self.tcp.get(&key) {
                    Some(Sock::Listen(id)) => Some(*id),
                    _ => None,
                },
                Proto::Udp => self.udp.get(&key).and_then(|u| u.listen),
            };
            if let Some(l) = id.and_then(|id| self.listening.get_mut(&id))
                && l.owner.is_none()
            {
                l.owner = o;
            }
            return None;
        }
        if key == 0 {
            return None;
        }
        let l = self.insert_listening(
            Listening {
                proto: e.proto,
                local: Some(e.local),
                owner: o,
                start_ns: now_ns,
                cookie: e.cookie,
                ino: e.ino,
                source: NetSource::Diag,
                ..Listening::default()
            },
            Slot {
                key,
                netns: self.netns,
            },
        );
        match e.proto {
            Proto::Tcp => {
                self.tcp.insert(key, Sock::Listen(l.id));
            }
            Proto::Udp => self.udp.entry(key).or_default().listen = Some(l.id),
        }
        Some(NetChange::Listen(l))
    }

    fn seen_conn(
        &mut self,
        e: &DiagEntry,
        now_ns: u64,
        o: Option<Owner>,
        eph: &RangeInclusive<u16>,
    ) {
        let known = match e.proto {
            Proto::Tcp => match self.tcp.get(&e.cookie) {
                Some(Sock::Conn(id)) => Some(*id),
                Some(Sock::Listen(_)) => return,
                None => None,
            },
            Proto::Udp => self
                .udp
                .get(&e.ino)
                .and_then(|u| u.flows.iter().find(|(r, _)| *r == e.remote))
                .map(|&(_, id)| id),
        };
        let Some(id) = known else {
            let key = match e.proto {
                Proto::Tcp => e.cookie,
                Proto::Udp => e.ino,
            };
            if key == 0 {
                return;
            }
            let id = self.insert_conn(
                Conn {
                    proto: e.proto,
                    local: Some(e.local),
                    remote: Some(e.remote),
                    direction: self.guess_direction(e.proto, e.local, e.remote, eph),
                    owner: o,
                    start_ns: now_ns,
                    state: e.state,
                    counters: e.counters.unwrap_or_default(),
                    counters_known: e.counters.is_some(),
                    cookie: e.cookie,
                    ino: e.ino,
                    source: NetSource::Diag,
                    ..Conn::default()
                },
                Slot {
                    key,
                    netns: self.netns,
                },
            );
            match e.proto {
                Proto::Tcp => {
                    self.tcp.insert(key, Sock::Conn(id));
                }
                Proto::Udp => self.udp.entry(key).or_default().flows.push((e.remote, id)),
            }
            self.tuples
                .insert((e.proto, self.netns, e.local, e.remote), id);
            self.dirty.insert(id);
            return;
        };
        let Some(Entry { conn: c, slot, .. }) = self.conns.get_mut(&id) else {
            return;
        };
        let netns = slot.netns;
        let before = c.clone();
        if let Some(counters) = e.counters {
            c.counters = counters;
            c.counters_known = true;
        }
        if e.proto == Proto::Tcp {
            c.state = e.state;
        }
        if c.local.is_none_or(|l| l.port() == 0) {
            c.local = Some(e.local);
        }
        if c.remote.is_none() {
            c.remote = Some(e.remote);
        }
        if c.ino == 0 {
            c.ino = e.ino;
        }
        if c.cookie == 0 {
            c.cookie = e.cookie;
        }
        if c.owner.is_none() {
            c.owner = o;
        }
        if *c != before {
            if let (Some(l), Some(r)) = (c.local, c.remote) {
                self.tuples.insert((c.proto, netns, l, r), id);
            }
            self.dirty.insert(id);
        }
    }

    /// Inbound when it arrived on one of our listeners, outbound when it
    /// goes to one (loopback) or leaves from an ephemeral port.
    fn guess_direction(
        &self,
        proto: Proto,
        local: SocketAddr,
        remote: SocketAddr,
        eph: &RangeInclusive<u16>,
    ) -> Direction {
        let listens_on = |a: SocketAddr| {
            self.listening.values().any(|l| {
                l.end_ns.is_none()
                    && l.proto == proto
                    && l.local.is_some_and(|la| {
                        la.port() == a.port() && (la.ip().is_unspecified() || la.ip() == a.ip())
                    })
            })
        };
        if listens_on(local) {
            Direction::Inbound
        } else if listens_on(remote) || eph.contains(&local.port()) {
            Direction::Outbound
        } else {
            Direction::Unknown
        }
    }

    /// Closes the sockets of this namespace that the dump no longer lists
    /// (their close record was lost, or procfs mode has none).
    fn close_missing(
        &mut self,
        entries: &[DiagEntry],
        dump_ns: u64,
        now_ns: u64,
    ) -> Vec<NetChange> {
        let tcp: HashSet<u64> = entries
            .iter()
            .filter(|e| e.proto == Proto::Tcp)
            .map(|e| e.cookie)
            .collect();
        let udp: HashSet<u64> = entries
            .iter()
            .filter(|e| e.proto == Proto::Udp)
            .map(|e| e.ino)
            .collect();
        // Only sockets a dump can list: seen by one (source Diag), or from
        // a record of this network namespace.  A kernel record of another
        // namespace's socket (a container's) is closed by its own record.
        let listable = |source: NetSource, slot: Option<&Slot>, model: &NetModel| {
            source == NetSource::Diag || slot.is_some_and(|s| s.netns == model.netns)
        };
        let mut gone: Vec<Sock> = Vec::new();
        for (key, sock) in &self.tcp {
            if tcp.contains(key) {
                continue;
            }
            let (start, source, slot) = match sock {
                Sock::Conn(id) => match self.conns.get(id) {
                    Some(e) => (e.conn.start_ns, e.conn.source, Some(&e.slot)),
                    None => continue,
                },
                Sock::Listen(id) => match self.listening.get(id) {
                    Some(l) => (l.start_ns, l.source, self.listen_slots.get(id)),
                    None => continue,
                },
            };
            if start < dump_ns && listable(source, slot, self) {
                gone.push(*sock);
            }
        }
        for (ino, u) in &self.udp {
            if udp.contains(ino) {
                continue;
            }
            for id in u
                .listen
                .iter()
                .map(|&l| Sock::Listen(l))
                .chain(u.flows.iter().map(|&(_, f)| Sock::Conn(f)))
            {
                let ok = match id {
                    Sock::Conn(id) => self.conns.get(&id).is_some_and(|e| {
                        e.conn.start_ns < dump_ns && listable(e.conn.source, Some(&e.slot), self)
                    }),
                    Sock::Listen(id) => self.listening.get(&id).is_some_and(|l| {
                        l.start_ns < dump_ns && listable(l.source, self.listen_slots.get(&id), self)
                    }),
                };
                if ok {
                    gone.push(id);
                }
            }
        }
        gone.into_iter()
            .filter_map(|s| match s {
                Sock::Conn(id) => self.close_conn(id, now_ns),
                Sock::Listen(id) => self.close_listening(id, now_ns),
            })
            .collect()
    }

    /// Sums each owner's counter deltas since the last pass.
    fn rates(&mut self, interval_ns: u64) -> Vec<(ProcKey, f64, f64)> {
        let mut sums: HashMap<ProcKey, (u64, u64)> = HashMap::new();
        for e in self.conns.values_mut() {
            let c = &e.conn;
            let rx = c.counters.bytes_rx.saturating_sub(e.rated.bytes_rx);
            let tx = c.counters.bytes_tx.saturating_sub(e.rated.bytes_tx);
            e.rated = c.counters;
            if let Some(o) = &c.owner
                && (rx > 0 || tx > 0)
            {
                let s = sums.entry(o.key).or_default();
                s.0 += rx;
                s.1 += tx;
            }
        }
        let secs = (interval_ns.max(1)) as f64 / 1e9;
        let mut rates: Vec<(ProcKey, f64, f64)> = sums
            .iter()
            .map(|(k, &(rx, tx))| (*k, rx as f64 / secs, tx as f64 / secs))
            .collect();
        for k in &self.rated_procs {
            if !sums.contains_key(k) {
                rates.push((*k, 0.0, 0.0));
            }
        }
        self.rated_procs = sums.into_keys().collect();
        rates
    }

    /// The connections changed since the last batch, in batches.
    pub(super) fn take_updates(&mut self) -> Vec<NetChange> {
        let mut ids: Vec<u64> = self.dirty.drain().collect();
        ids.sort_unstable();
        let conns: Vec<Conn> = ids
            .into_iter()
            .filter_map(|id| Some(self.conns.get(&id)?.conn.clone()))
            .collect();
        conns
            .chunks(UPDATES_PER_EVENT)
            .map(|c| NetChange::Updates(c.to_vec()))
            .collect()
    }
}

fn is_listener(e: &DiagEntry) -> bool {
    match e.proto {
        Proto::Tcp => e.state == TCP_LISTEN,
        Proto::Udp => e.remote.port() == 0,
    }
}
