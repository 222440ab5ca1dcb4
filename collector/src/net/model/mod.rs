//! The connection and listening-socket model.  Kernel records open,
//! attribute and close sockets as they happen ([`NetModel::apply`]);
//! `sock_diag` dumps refresh state and counters and find what the records
//! missed (`refresh`).  TCP sockets are known by their cookie, UDP sockets
//! by their inode (a UDP record may come before any cookie exists).
//!
//! Memory is bounded: at most `max_connections` connections and
//! `max_listening` listening sockets are held, open and closed together;
//! past that the oldest closed one goes first, then the oldest open one,
//! and every such drop is counted (`evicted`).  Closed ones are kept for
//! `retention_ns`, like exited processes.
mod bounds;
mod refresh;

use std::{
    collections::{HashMap, HashSet, VecDeque},
    net::SocketAddr,
};

pub use refresh::{NetSample, Sources};

use super::{
    Conn, Counters, Direction, Listening, NetChange, NetOp, NetRecord, NetSource, Owner, Proto,
};
use crate::model::ProcKey;
use perch_common::{TCP_ESTABLISHED, TCP_SYN_SENT};

/// Bounds and retention (perchd's `[network]` settings).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NetLimits {
    pub max_connections: usize,
    pub max_listening: usize,
    pub retention_ns: u64,
}

impl Default for NetLimits {
    fn default() -> Self {
        Self {
            max_connections: 65_536,
            max_listening: 16_384,
            retention_ns: 30 * perch_proto::NS_PER_SEC,
        }
    }
}

/// A live socket's entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sock {
    Conn(u64),
    Listen(u64),
}

/// A live UDP socket: its listening entry and its flows, by remote.
#[derive(Debug, Default)]
struct UdpSock {
    listen: Option<u64>,
    flows: Vec<(SocketAddr, u64)>,
}

/// A connection and what the model tracks about it.
#[derive(Debug)]
struct Entry {
    conn: Conn,
    /// A connect or accept event carried it to clients (or its close did).
    /// An update may have carried it before: `sock_diag` can list a new
    /// connection before its kernel record is read, and the record still
    /// makes its event.
    opened: bool,
    /// Counters when per-process rates were last sampled.
    rated: Counters,
    slot: Slot,
}

/// Where a socket is indexed: its key in `tcp` (cookie, else kernel
/// address) or `udp` (inode), and its network namespace.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Slot {
    key: u64,
    netns: u32,
}

/// Both ends of an open connection, in its network namespace.
type Tuple = (Proto, u32, SocketAddr, SocketAddr);

#[derive(Debug, Default)]
pub struct NetModel {
    limits: NetLimits,
    conns: HashMap<u64, Entry>,
    listening: HashMap<u64, Listening>,
    /// Each listening socket's index entry.
    listen_slots: HashMap<u64, Slot>,
    /// Live TCP sockets by cookie.
    tcp: HashMap<u64, Sock>,
    /// Live UDP sockets by inode.
    udp: HashMap<u64, UdpSock>,
    /// Open connections by (proto, local, remote), to find loopback peers.
    tuples: HashMap<Tuple, u64>,
    /// Ids oldest first, open and closed (lazily pruned), for eviction.
    conn_order: VecDeque<u64>,
    listen_order: VecDeque<u64>,
    /// Closed ones by end time, for retention and eviction.
    closed_conns: VecDeque<(u64, u64)>,
    closed_listening: VecDeque<(u64, u64)>,
    /// Connections to carry in the next update batch.
    dirty: HashSet<u64>,
    next_id: u64,
    evicted: u64,
    /// Inodes a /proc scan did not find (not looked for again).
    unowned: HashSet<u64>,
    /// The last /proc scan: socket inode -> pid.
    inode_pids: HashMap<u64, u32>,
    /// Processes that had a network rate in the last pass.
    rated_procs: HashSet<ProcKey>,
    /// perchd's network namespace: the one `sock_diag` lists.
    netns: u32,
}

impl NetModel {
    /// A model whose `sock_diag` dumps list the namespace `netns` (the
    /// inode of perchd's `/proc/self/ns/net`).
    #[must_use]
    pub fn new(limits: NetLimits, netns: u32) -> Self {
        Self {
            limits,
            netns,
            ..Self::default()
        }
    }

    /// Open connections and listening sockets, and closed ones retained.
    pub fn connections(&self) -> impl Iterator<Item = &Conn> {
        self.conns.values().map(|e| &e.conn)
    }

    pub fn listening(&self) -> impl Iterator<Item = &Listening> {
        self.listening.values()
    }

    #[must_use]
    pub fn open_connections(&self) -> usize {
        self.conns.len() - self.closed_conns.len()
    }

    #[must_use]
    pub fn open_listening(&self) -> usize {
        self.listening.len() - self.closed_listening.len()
    }

    /// Entries dropped to stay within the bounds.
    #[must_use]
    pub fn evicted(&self) -> u64 {
        self.evicted
    }

    #[must_use]
    pub fn retention_ns(&self) -> u64 {
        self.limits.retention_ns
    }

    /// Applies a kernel record; `owner` names a process (its comm) from
    /// the process model.  Returns the change to publish, if any.
    pub fn apply(
        &mut self,
        r: &NetRecord,
        time_ns: u64,
        owner: &dyn Fn(ProcKey) -> Owner,
    ) -> Option<NetChange> {
        let task = r.task.map(owner);
        match (r.proto, r.op) {
            (Proto::Tcp, NetOp::Listen) => self.listen_tcp(r, time_ns, task),
            (Proto::Tcp, NetOp::Close) => self.close_tcp(r, time_ns),
            (Proto::Tcp, NetOp::Connect | NetOp::Established | NetOp::Accept) => {
                self.tcp_conn(r, time_ns, task)
            }
            (Proto::Udp, NetOp::UdpBind) => self.bind_udp(r, time_ns, task),
            (Proto::Udp, NetOp::UdpConnect | NetOp::UdpSend) => self.udp_flow(r, time_ns, task),
            _ => None,
        }
    }

    fn tcp_key(r: &NetRecord) -> u64 {
        // Kernel addresses and cookies (a counter from 1) never meet.
        if r.cookie != 0 { r.cookie } else { r.sk }
    }

    fn tcp_conn(&mut self, r: &NetRecord, time_ns: u64, task: Option<Owner>) -> Option<NetChange> {
        let key = Self::tcp_key(r);
        // What the record says of the direction: it beats sock_diag's guess
        // when sock_diag listed the connection first.  A passive
        // established (softirq) says nothing, but only inbound ones are.
        let said = match (r.op, r.old_state) {
            (NetOp::Connect, _) | (NetOp::Established, TCP_SYN_SENT) => Some(Direction::Outbound),
            (NetOp::Accept, _) => Some(Direction::Inbound),
            _ => None,
        };
        let id = match self.tcp.get(&key) {
            Some(Sock::Conn(id)) => *id,
            Some(Sock::Listen(_)) => return None,
            None => {
                let id = self.insert_conn(
                    Conn {
                        proto: Proto::Tcp,
                        direction: said.unwrap_or(Direction::Inbound),
                        start_ns: time_ns,
                        counters_known: true,
                        cookie: r.cookie,
                        source: NetSource::Ebpf,
                        ..Conn::default()
                    },
                    Slot {
                        key,
                        netns: r.netns,
                    },
                );
                self.tcp.insert(key, Sock::Conn(id));
                id
            }
        };
        let listener_owner = (r.op == NetOp::Established && r.old_state != TCP_SYN_SENT)
            .then(|| self.listener_owner(Proto::Tcp, r.local))
            .flatten();
        let e = self.conns.get_mut(&id)?;
        let c = &mut e.conn;
        if let Some(d) = said {
            c.direction = d;
        }
        c.local = Some(r.local);
        if r.remote.port() != 0 {
            c.remote = Some(r.remote);
        }
        c.state = match r.op {
            NetOp::Connect => TCP_SYN_SENT,
            _ => TCP_ESTABLISHED,
        };
        if r.ino != 0 {
            c.ino = r.ino;
        }
        if r.cookie != 0 {
            c.cookie = r.cookie;
        }
        if let Some(t) = task {
            c.owner = Some(t);
        } else if c.owner.is_none() {
            // Inbound and not accepted yet: the listener's owner stands in.
            c.owner = listener_owner;
        }
        let announce = match r.op {
            // The local port may not be chosen yet: announced when established.
            NetOp::Connect => None,
            NetOp::Accept => Some(NetChange::Accept as fn(Conn) -> NetChange),
            // Inbound: announced when accepted (or by the next update).
            _ if c.direction == Direction::Inbound => None,
            _ => Some(NetChange::Connect as fn(Conn) -> NetChange),
        };
        let tuple = c
            .remote
            .map(|remote| (Proto::Tcp, r.netns, r.local, remote));
        if let Some(t) = tuple {
            self.tuples.insert(t, id);
        }
        self.find_peer(id);
        self.announce(id, announce)
    }

    /// Publishes `id` with `how` unless its connect or accept was published
    /// already (then it rides the next update batch).
    fn announce(&mut self, id: u64, how: Option<fn(Conn) -> NetChange>) -> Option<NetChange> {
        let e = self.conns.get_mut(&id)?;
        match how {
            Some(how) if !e.opened => {
                e.opened = true;
                self.dirty.remove(&id);
                Some(how(e.conn.clone()))
            }
            _ => {
                self.dirty.insert(id);
                None
            }
        }
    }

    fn listen_tcp(
        &mut self,
        r: &NetRecord,
        time_ns: u64,
        task: Option<Owner>,
    ) -> Option<NetChange> {
        let key = Self::tcp_key(r);
        if self.tcp.contains_key(&key) {
            return None;
        }
        let l = self.insert_listening(
            Listening {
                proto: Proto::Tcp,
                local: Some(r.local),
                owner: task,
                start_ns: time_ns,
                cookie: r.cookie,
                ino: r.ino,
                source: NetSource::Ebpf,
                ..Listening::default()
            },
            Slot {
                key,
                netns: r.netns,
            },
        );
        self.tcp.insert(key, Sock::Listen(l.id));
        Some(NetChange::Listen(l))
    }

    fn close_tcp(&mut self, r: &NetRecord, time_ns: u64) -> Option<NetChange> {
        match self.tcp.get(&Self::tcp_key(r)).copied()? {
            Sock::Conn(id) => {
                if let (Some(counters), Some(e)) = (r.counters, self.conns.get_mut(&id)) {
                    e.conn.counters = counters;
                }
                self.close_conn(id, time_ns)
            }
            Sock::Listen(id) => self.close_listening(id, time_ns),
        }
    }

    fn bind_udp(&mut self, r: &NetRecord, time_ns: u64, task: Option<Owner>) -> Option<NetChange> {
        if self.udp.get(&r.ino).is_some_and(|u| u.listen.is_some()) {
            return None;
        }
        let l = self.insert_listening(
            Listening {
                proto: Proto::Udp,
                local: Some(r.local),
                owner: task,
                start_ns: time_ns,
                cookie: r.cookie,
                ino: r.ino,
                source: NetSource::Ebpf,
                ..Listening::default()
            },
            Slot {
                key: r.ino,
                netns: r.netns,
            },
        );
        self.udp.entry(r.ino).or_default().listen = Some(l.id);
        Some(NetChange::Listen(l))
    }

    fn udp_flow(&mut self, r: &NetRecord, time_ns: u64, task: Option<Owner>) -> Option<NetChange> {
        let known = self
            .udp
            .get(&r.ino)
            .and_then(|u| u.flows.iter().find(|(remote, _)| *remote == r.remote))
            .map(|&(_, id)| id);
        if let Some(id) = known {
            let e = self.conns.get_mut(&id)?;
            if e.conn.local.is_none_or(|l| l.port() == 0) {
                e.conn.local = Some(r.local);
                self.dirty.insert(id);
            }
            return None;
        }
        let id = self.insert_conn(
            Conn {
                proto: Proto::Udp,
                local: Some(r.local),
                remote: Some(r.remote),
                direction: Direction::Outbound,
                owner: task,
                start_ns: time_ns,
                cookie: r.cookie,
                ino: r.ino,
                source: NetSource::Ebpf,
                ..Conn::default()
            },
            Slot {
                key: r.ino,
                netns: r.netns,
            },
        );
        self.udp
            .entry(r.ino)
            .or_default()
            .flows
            .push((r.remote, id));
        self.tuples
            .insert((Proto::Udp, r.netns, r.local, r.remote), id);
        self.find_peer(id);
        self.announce(id, Some(NetChange::Connect))
    }

    /// The owner of the listening socket that `local` arrived on.
    fn listener_owner(&self, proto: Proto, local: SocketAddr) -> Option<Owner> {
        self.listening
            .values()
            .filter(|l| l.end_ns.is_none() && l.proto == proto)
            .find(|l| {
                l.local.is_some_and(|a| {
                    a.port() == local.port() && (a.ip().is_unspecified() || a.ip() == local.ip())
                })
            })
            .and_then(|l| l.owner.clone())
    }

    /// Sets the loopback peer of `id` (and `id` as its peer's) when the
    /// other end is a connection of this host; for UDP to a loopback
    /// address, the owner of the unconnected socket the datagrams go to.
    fn find_peer(&mut self, id: u64) {
        let Some(e) = self.conns.get(&id) else { return };
        let c = &e.conn;
        let (Some(local), Some(remote)) = (c.local, c.remote) else {
            return;
        };
        let Some(&other) = self.tuples.get(&(c.proto, e.slot.netns, remote, local)) else {
            // A wildcard listener matches any address: only loopback
            // destinations are surely this host's.
            let peer = (c.proto == Proto::Udp && remote.ip().is_loopback())
                .then(|| self.listener_owner(Proto::Udp, remote))
                .flatten();
            if let (Some(peer), Some(e)) = (peer, self.conns.get_mut(&id))
                && e.conn.peer.as_ref() != Some(&peer)
            {
                e.conn.peer = Some(peer);
                self.dirty.insert(id);
            }
            return;
        };
        let mine = c.owner.clone();
        let theirs = self.conns.get(&other).and_then(|o| o.conn.owner.clone());
        for (at, peer) in [(id, theirs), (other, mine)] {
            if let (Some(e), Some(peer)) = (self.conns.get_mut(&at), peer)
                && e.conn.peer.as_ref() != Some(&peer)
            {
                e.conn.peer = Some(peer);
                self.dirty.insert(at);
            }
        }
    }
}

#[cfg(test)]
mod tests;
