//! Bounds and lifetimes of the network model: inserting with room made
//! first (oldest closed, then oldest open, each drop counted), closing
//! (unlinked from the live indexes, kept for the retention), and expiry.
use super::{Entry, NetModel, Slot, Sock};
use crate::net::{Conn, Counters, Listening, NetChange, Proto};
use perch_common::TCP_CLOSE;

impl NetModel {
    /// Adds a connection with a fresh id, making room first.
    pub(super) fn insert_conn(&mut self, mut c: Conn, slot: Slot) -> u64 {
        while self.conns.len() >= self.limits.max_connections.max(1) {
            if !self.evict_conn() {
                break;
            }
        }
        self.next_id += 1;
        c.id = self.next_id;
        self.conn_order.push_back(c.id);
        self.conns.insert(
            c.id,
            Entry {
                conn: c,
                opened: false,
                rated: Counters::default(),
                slot,
            },
        );
        self.next_id
    }

    pub(super) fn insert_listening(&mut self, mut l: Listening, slot: Slot) -> Listening {
        while self.listening.len() >= self.limits.max_listening.max(1) {
            if !self.evict_listening() {
                break;
            }
        }
        self.next_id += 1;
        l.id = self.next_id;
        self.listen_order.push_back(l.id);
        self.listen_slots.insert(l.id, slot);
        self.listening.insert(l.id, l.clone());
        l
    }

    /// Drops the oldest closed connection, else the oldest open one.
    pub(super) fn evict_conn(&mut self) -> bool {
        let victim = match self.closed_conns.pop_front() {
            Some((_, id)) => Some(id),
            None => loop {
                match self.conn_order.pop_front() {
                    Some(id) if self.conns.contains_key(&id) => break Some(id),
                    Some(_) => {}
                    None => break None,
                }
            },
        };
        let Some(id) = victim else { return false };
        self.forget_conn(id);
        self.evicted += 1;
        true
    }

    pub(super) fn evict_listening(&mut self) -> bool {
        let victim = match self.closed_listening.pop_front() {
            Some((_, id)) => Some(id),
            None => loop {
                match self.listen_order.pop_front() {
                    Some(id) if self.listening.contains_key(&id) => break Some(id),
                    Some(_) => {}
                    None => break None,
                }
            },
        };
        let Some(id) = victim else { return false };
        self.forget_listening(id);
        self.evicted += 1;
        true
    }

    /// Removes a connection and every index that names it.
    pub(super) fn forget_conn(&mut self, id: u64) {
        self.unlink_conn(id);
        self.conns.remove(&id);
        self.dirty.remove(&id);
    }

    pub(super) fn forget_listening(&mut self, id: u64) {
        self.unlink_listening(id);
        self.listening.remove(&id);
        self.listen_slots.remove(&id);
    }

    /// Removes an open connection from the live indexes.
    pub(super) fn unlink_conn(&mut self, id: u64) {
        let Some(e) = self.conns.get(&id) else { return };
        let c = &e.conn;
        if let (Some(l), Some(r)) = (c.local, c.remote)
            && self.tuples.get(&(c.proto, e.slot.netns, l, r)) == Some(&id)
        {
            self.tuples.remove(&(c.proto, e.slot.netns, l, r));
        }
        let key = e.slot.key;
        match c.proto {
            Proto::Tcp => {
                if self.tcp.get(&key) == Some(&Sock::Conn(id)) {
                    self.tcp.remove(&key);
                }
            }
            Proto::Udp => {
                if let Some(u) = self.udp.get_mut(&key) {
                    u.flows.retain(|&(_, f)| f != id);
                    if u.flows.is_empty() && u.listen.is_none() {
                        self.udp.remove(&key);
                    }
                }
            }
        }
    }

    pub(super) fn unlink_listening(&mut self, id: u64) {
        let (Some(l), Some(&Slot { key, .. })) =
            (self.listening.get(&id), self.listen_slots.get(&id))
        else {
            return;
        };
        match l.proto {
            Proto::Tcp => {
                if self.tcp.get(&key) == Some(&Sock::Listen(id)) {
                    self.tcp.remove(&key);
                }
            }
            Proto::Udp => {
                if let Some(u) = self.udp.get_mut(&key)
                    && u.listen == Some(id)
                {
                    u.listen = None;
                    if u.flows.is_empty() {
                        self.udp.remove(&key);
                    }
                }
            }
        }
    }

    pub(super) fn close_conn(&mut self, id: u64, time_ns: u64) -> Option<NetChange> {
        if self.conns.get(&id)?.conn.end_ns.is_some() {
            return None;
        }
        self.unlink_conn(id);
        let e = self.conns.get_mut(&id)?;
        e.conn.end_ns = Some(time_ns);
        e.conn.state = TCP_CLOSE;
        e.opened = true;
        self.dirty.remove(&id);
        self.closed_conns.push_back((time_ns, id));
        Some(NetChange::CloseConn(e.conn.clone()))
    }

    pub(super) fn close_listening(&mut self, id: u64, time_ns: u64) -> Option<NetChange> {
        if self.listening.get(&id)?.end_ns.is_some() {
            return None;
        }
        self.unlink_listening(id);
        let l = self.listening.get_mut(&id)?;
        l.end_ns = Some(time_ns);
        self.closed_listening.push_back((time_ns, id));
        Some(NetChange::CloseListen(l.clone()))
    }

    /// Drops what closed longer than the retention ago.
    pub fn expire(&mut self, now_ns: u64) {
        let keep = self.limits.retention_ns;
        while let Some(&(end, id)) = self.closed_conns.front() {
            if now_ns.saturating_sub(end) <= keep {
                break;
            }
            self.closed_conns.pop_front();
            self.forget_conn(id);
        }
        while let Some(&(end, id)) = self.closed_listening.front() {
            if now_ns.saturating_sub(end) <= keep {
                break;
            }
            self.closed_listening.pop_front();
            self.forget_listening(id);
        }
        // Order queues hold ids of dropped entries until they reach the
        // front; keep them from growing without bound.
        if self.conn_order.len() > 2 * self.conns.len() + 1024 {
            let conns = &self.conns;
            self.conn_order.retain(|id| conns.contains_key(id));
        }
        if self.listen_order.len() > 2 * self.listening.len() + 1024 {
            let listening = &self.listening;
            self.listen_order.retain(|id| listening.contains_key(id));
        }
    }
}
