//! The `event` context of network changes (connections, new listening
//! sockets) and of OOM kills.
use super::{EventCtx, Field, address, int, s};
use crate::{
    detect::rules::On,
    model::ProcKey,
    net::{Conn, Direction, Listening, NetChange, Proto},
};

fn proto(p: Proto) -> Field {
    s(match p {
        Proto::Tcp => "tcp",
        Proto::Udp => "udp",
    })
}

fn conn(kind: On, time_ns: u64, x: &Conn) -> Option<EventCtx> {
    let owner = x.owner.as_ref()?;
    let mut c = EventCtx::new(kind, owner.key, time_ns);
    c.set("protocol", proto(x.proto));
    address(&mut c, "local", x.local);
    address(&mut c, "remote", x.remote);
    c.set(
        "direction",
        s(match x.direction {
            Direction::Inbound => "inbound",
            Direction::Outbound => "outbound",
            Direction::Unknown => "unknown",
        }),
    );
    // A peer process means both ends are on this host.
    let loopback = matches!(c.get("remote_is_loopback"), Some(Field::Bool(true)));
    c.set("remote_is_local", Field::Bool(loopback || x.peer.is_some()));
    c.set(
        "peer_name",
        s(x.peer.as_ref().map_or("", |p| p.comm.as_str())),
    );
    c.set("peer_pid", int(x.peer.as_ref().map_or(0, |p| p.key.pid)));
    Some(c)
}

/// A listening socket's context; `new_port`: nothing listened on this
/// protocol and port since perchd started.
fn listen(time_ns: u64, l: &Listening, new_port: bool) -> Option<EventCtx> {
    let owner = l.owner.as_ref()?;
    let mut c = EventCtx::new(On::Listen, owner.key, time_ns);
    c.set("protocol", proto(l.proto));
    address(&mut c, "local", l.local);
    c.set(
        "wildcard",
        Field::Bool(l.local.is_some_and(|a| a.ip().is_unspecified())),
    );
    c.set("new_port", Field::Bool(new_port));
    Some(c)
}

/// A network change's context (connections and new listeners only).
#[must_use]
pub fn net(time_ns: u64, change: &NetChange, new_port: bool) -> Option<EventCtx> {
    match change {
        NetChange::Connect(x) => conn(On::Connect, time_ns, x),
        NetChange::Accept(x) => conn(On::Accept, time_ns, x),
        NetChange::Listen(l) => listen(time_ns, l, new_port),
        _ => None,
    }
}

/// The kind a network change has for rules, if any.
#[must_use]
pub fn net_kind(change: &NetChange) -> Option<On> {
    match change {
        NetChange::Connect(_) => Some(On::Connect),
        NetChange::Accept(_) => Some(On::Accept),
        NetChange::Listen(_) => Some(On::Listen),
        _ => None,
    }
}

/// An OOM kill of `key`: `oom_kills` is the host's count so far.
#[must_use]
pub fn oom(key: ProcKey, time_ns: u64, oom_kills: u64) -> EventCtx {
    let mut c = EventCtx::new(On::Oom, key, time_ns);
    c.set("signal", int(9));
    c.set(
        "oom_kills",
        int(i64::try_from(oom_kills).unwrap_or(i64::MAX)),
    );
    c
}

/// The host's OOM kill count (`oom_kill` in /proc/vmstat), if readable.
#[must_use]
pub fn oom_kills() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/vmstat").ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("oom_kill "))
        .and_then(|v| v.trim().parse().ok())
}
