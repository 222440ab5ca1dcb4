//! Network model types to `perch.v1` messages (network.proto).
use std::net::{IpAddr, SocketAddr};

use perch_proto::v1 as pb;

use super::key;
use crate::net::{Conn, Direction, Listening, NetChange, NetSource, Owner, Proto};

/// TCP states as `ss` names them (`tcp_states.h` order).
fn tcp_state(state: u8) -> &'static str {
    match state {
        1 => "ESTABLISHED",
        2 => "SYN_SENT",
        3 => "SYN_RECV",
        4 => "FIN_WAIT1",
        5 => "FIN_WAIT2",
        6 => "TIME_WAIT",
        7 => "CLOSED",
        8 => "CLOSE_WAIT",
        9 => "LAST_ACK",
        10 => "LISTEN",
        11 => "CLOSING",
        12 => "NEW_SYN_RECV",
        _ => "UNKNOWN",
    }
}

fn proto(p: Proto) -> pb::NetProtocol {
    match p {
        Proto::Tcp => pb::NetProtocol::Tcp,
        Proto::Udp => pb::NetProtocol::Udp,
    }
}

fn family(a: Option<SocketAddr>) -> pb::AddressFamily {
    match a.map(|a| a.ip()) {
        Some(IpAddr::V4(_)) => pb::AddressFamily::Ipv4,
        Some(IpAddr::V6(_)) => pb::AddressFamily::Ipv6,
        None => pb::AddressFamily::Unspecified,
    }
}

fn source(s: NetSource) -> pb::NetSource {
    match s {
        NetSource::Ebpf => pb::NetSource::Ebpf,
        NetSource::Diag => pb::NetSource::SockDiag,
    }
}

fn ip(a: Option<SocketAddr>) -> String {
    a.map(|a| a.ip().to_string()).unwrap_or_default()
}

fn port(a: Option<SocketAddr>) -> u32 {
    a.map_or(0, |a| u32::from(a.port()))
}

fn owner(o: Option<&Owner>) -> (Option<pb::ProcessKey>, String) {
    o.map_or((None, String::new()), |o| {
        (Some(key(&o.key)), o.comm.clone())
    })
}

#[must_use]
pub fn connection(c: &Conn) -> pb::Connection {
    let (process, proc_name) = owner(c.owner.as_ref());
    let (peer_process, peer_proc_name) = owner(c.peer.as_ref());
    let status = match (c.proto, c.end_ns) {
        (_, Some(_)) => "CLOSED",
        (Proto::Tcp, None) => tcp_state(c.state),
        (Proto::Udp, None) => "OPEN",
    };
    pb::Connection {
        id: c.id,
        proto: proto(c.proto).into(),
        family: family(c.local.or(c.remote)).into(),
        local_ip: ip(c.local),
        local_port: port(c.local),
        remote_ip: ip(c.remote),
        remote_port: port(c.remote),
        direction: match c.direction {
            Direction::Unknown => pb::ConnectionDirection::Unknown,
            Direction::Inbound => pb::ConnectionDirection::Inbound,
            Direction::Outbound => pb::ConnectionDirection::Outbound,
        }
        .into(),
        process,
        proc_name,
        create_time_ns: c.start_ns,
        end_time_ns: c.end_ns.unwrap_or(0),
        status: status.to_owned(),
        bytes_tx: c.counters.bytes_tx,
        bytes_rx: c.counters.bytes_rx,
        packets_tx: c.counters.packets_tx,
        packets_rx: c.counters.packets_rx,
        counters_known: c.counters_known,
        peer_process,
        peer_proc_name,
        cookie: c.cookie,
        inode: c.ino,
        source: source(c.source).into(),
    }
}

#[must_use]
pub fn listening(l: &Listening) -> pb::ListeningSocket {
    let (process, proc_name) = owner(l.owner.as_ref());
    pb::ListeningSocket {
        id: l.id,
        proto: proto(l.proto).into(),
        family: family(l.local).into(),
        local_ip: ip(l.local),
        local_port: port(l.local),
        process,
        proc_name,
        create_time_ns: l.start_ns,
        end_time_ns: l.end_ns.unwrap_or(0),
        cookie: l.cookie,
        inode: l.ino,
        source: source(l.source).into(),
    }
}

/// The event's payload for a network change.
#[must_use]
pub fn change(c: &NetChange) -> pb::event::Kind {
    use pb::event::Kind;
    match c {
        NetChange::Connect(c) => Kind::Connect(pb::ConnectionEvent {
            connection: Some(connection(c)),
        }),
        NetChange::Accept(c) => Kind::Accept(pb::ConnectionEvent {
            connection: Some(connection(c)),
        }),
        NetChange::Listen(l) => Kind::Listen(pb::ListenEvent {
            socket: Some(listening(l)),
        }),
        NetChange::CloseConn(c) => Kind::Close(pb::CloseEvent {
            connection: Some(connection(c)),
            listening: None,
        }),
        NetChange::CloseListen(l) => Kind::Close(pb::CloseEvent {
            connection: None,
            listening: Some(listening(l)),
        }),
        NetChange::Updates(cs) => Kind::ConnectionUpdates(pb::ConnectionUpdates {
            connections: cs.iter().map(connection).collect(),
        }),
    }
}

/// A network change as a wire event (seq is assigned by the hub).
#[must_use]
pub fn event(time_ns: u64, c: &NetChange) -> pb::Event {
    pb::Event {
        seq: 0,
        time_ns,
        kind: Some(change(c)),
    }
}
