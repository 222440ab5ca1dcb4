//! How many connections each listener holds at once, and from whom: a cap
//! per listener and per peer (a uid on the Unix socket, an IP address on
//! TCP), checked at accept; a connection over a cap is closed at once.
//! Root's connections on the Unix socket have a reserve of their own, and
//! the TCP cap is kept below the file descriptor limit, so whatever
//! happens on TCP or from other users, root's `perch ps` gets an answer.
use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant},
};

use crate::config::ConnLimits;

/// Unix socket connections root may hold on top of everyone else's.
pub const ROOT_RESERVE: usize = 64;
/// Descriptors kept for everything but TCP connections: eBPF maps and
/// ring buffers, /proc and cgroup reads, the audit log, pidfds.
pub const BASE_RESERVE: u64 = 256;
/// How often a listener logs the connections it refused.
const WARN_EVERY: Duration = Duration::from_secs(10);

/// Who holds a connection, for the per-peer cap.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(in crate::server) enum Peer {
    Uid(u32),
    Ip(IpAddr),
}

#[derive(Debug)]
struct State {
    /// Connections counted against `max` (root's reserve aside).
    open: usize,
    root: usize,
    per_peer: HashMap<Peer, usize>,
    refused: u64,
    last_warn: Option<Instant>,
}

/// One listener's counts.
#[derive(Clone, Debug)]
pub(in crate::server) struct Gate {
    name: &'static str,
    max: usize,
    per_peer: usize,
    state: Arc<Mutex<State>>,
}

/// A connection's place; given back when the connection is dropped.
#[derive(Debug)]
pub(in crate::server) struct Slot {
    gate: Arc<Mutex<State>>,
    peer: Peer,
    root: bool,
}

impl Gate {
    pub fn new(name: &'static str, max: usize, per_peer: usize) -> Self {
        Self {
            name,
            max,
            per_peer,
            state: Arc::new(Mutex::new(State {
                open: 0,
                root: 0,
                per_peer: HashMap::new(),
                refused: 0,
                last_warn: None,
            })),
        }
    }

    /// A place for a connection from `peer`, or `None` when a cap is
    /// reached (the refusal is counted and logged now and then).
    pub fn admit(&self, peer: Peer) -> Option<Slot> {
        let mut s = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let root = peer == Peer::Uid(0);
        let mine = s.per_peer.get(&peer).copied().unwrap_or(0);
        let fits = if root {
            s.root < ROOT_RESERVE || s.open < self.max
        } else {
            s.open < self.max && mine < self.per_peer
        };
        if !fits {
            s.refused += 1;
            if s.last_warn.is_none_or(|t| t.elapsed() >= WARN_EVERY) {
                s.last_warn = Some(Instant::now());
                tracing::warn!(
                    listener = self.name,
                    "refused {} connections so far over the limit ({} at once, {} per peer); \
                     the last from {peer:?}",
                    s.refused,
                    self.max,
                    self.per_peer
                );
            }
            return None;
        }
        // Root fills its reserve first, then shares the common pool.
        let in_reserve = root && s.root < ROOT_RESERVE;
        if in_reserve {
            s.root += 1;
        } else {
            s.open += 1;
        }
        *s.per_peer.entry(peer).or_insert(0) += 1;
        Some(Slot {
            gate: Arc::clone(&self.state),
            peer,
            root: in_reserve,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut s = self.gate.lock().unwrap_or_else(PoisonError::into_inner);
        if self.root {
            s.root -= 1;
        } else {
            s.open -= 1;
        }
        if let Some(n) = s.per_peer.get_mut(&self.peer) {
            *n -= 1;
            if *n == 0 {
                s.per_peer.remove(&self.peer);
            }
        }
    }
}

/// Raises this process's soft `RLIMIT_NOFILE` to its hard limit (what a
/// server that holds a descriptor per connection should run with) and
/// returns the soft limit now in force.
pub fn raise_fd_limit() -> std::io::Result<u64> {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE)?;
    if soft < hard {
        setrlimit(Resource::RLIMIT_NOFILE, hard, hard)?;
    }
    Ok(getrlimit(Resource::RLIMIT_NOFILE)?.0)
}

/// `limits` with the TCP cap lowered to fit `nofile` descriptors after the
/// Unix socket's connections, root's reserve and [`BASE_RESERVE`]; and a
/// sentence for the log when it was lowered.
#[must_use]
pub fn fit_to_fd_limit(limits: ConnLimits, nofile: u64) -> (ConnLimits, Option<String>) {
    let unix = u64::try_from(limits.unix.saturating_add(ROOT_RESERVE)).unwrap_or(u64::MAX);
    let room = nofile.saturating_sub(unix.saturating_add(BASE_RESERVE));
    let room = usize::try_from(room).unwrap_or(usize::MAX).max(1);
    if limits.tcp <= room {
        return (limits, None);
    }
    let why = format!(
        "max_connections_tcp lowered from {} to {room} to fit the file descriptor limit \
         ({nofile}, less {} for the Unix socket and {BASE_RESERVE} for the rest)",
        limits.tcp, unix
    );
    (
        ConnLimits {
            tcp: room,
            ..limits
        },
        Some(why),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_per_listener_and_per_peer_and_slots_come_back() {
        let gate = Gate::new("test", 3, 2);
        let a = Peer::Uid(1000);
        let b = Peer::Uid(1001);
        let a1 = gate.admit(a).expect("first");
        let a2 = gate.admit(a).expect("second");
        assert!(gate.admit(a).is_none(), "per peer");
        let b1 = gate.admit(b).expect("b");
        assert!(gate.admit(Peer::Uid(1002)).is_none(), "per listener");
        drop(a1);
        let a3 = gate.admit(a).expect("a slot came back");
        drop((a2, a3, b1));
        let s = gate.state.lock().unwrap();
        assert_eq!((s.open, s.root, s.per_peer.len(), s.refused), (0, 0, 0, 2));
    }

    #[test]
    fn root_always_gets_in_through_its_reserve() {
        let gate = Gate::new("unix", 2, 2);
        let _others: Vec<Slot> = (0..2)
            .filter_map(|u| gate.admit(Peer::Uid(u + 1)))
            .collect();
        assert!(gate.admit(Peer::Uid(5)).is_none());
        let roots: Vec<Slot> = (0..ROOT_RESERVE)
            .map(|_| gate.admit(Peer::Uid(0)).expect("root's reserve"))
            .collect();
        assert!(gate.admit(Peer::Uid(0)).is_none(), "the reserve is bounded");
        drop(roots);
        assert_eq!(gate.state.lock().unwrap().root, 0);
    }

    #[test]
    fn tcp_is_sized_below_the_descriptor_limit() {
        let limits = ConnLimits::default();
        let (same, note) = fit_to_fd_limit(limits, 1_048_576);
        assert_eq!((same, note), (limits, None));
        let (fitted, note) = fit_to_fd_limit(limits, 1024);
        // 1024 - (512 + 64) - 256
        assert_eq!(fitted.tcp, 192);
        assert!(note.expect("said").contains("lowered from 1024 to 192"));
        assert_eq!(fit_to_fd_limit(limits, 10).0.tcp, 1, "never zero");
    }
}
