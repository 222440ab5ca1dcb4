//! Connections and listening sockets as JSON (`perch conns --json`,
//! `perch listening --json`, and the network events of `perch events`).
//! Keys are the proto field names; strings stay raw, as JSON escapes
//! control characters itself.
use perch_proto::v1::{
    AddressFamily, CloseEvent, Connection, ConnectionDirection, ConnectionEvent, ConnectionUpdates,
    ListenEvent, ListeningSocket, NetProtocol, NetSource,
};
use serde_json::{Map, Value};

use super::{enum_name, key, put_opt};

/// A connection, as one JSON object.
#[must_use]
pub fn connection(c: &Connection) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), c.id.into());
    m.insert("proto".into(), enum_name::<NetProtocol>(c.proto));
    m.insert("family".into(), enum_name::<AddressFamily>(c.family));
    m.insert("local_ip".into(), c.local_ip.clone().into());
    m.insert("local_port".into(), c.local_port.into());
    m.insert("remote_ip".into(), c.remote_ip.clone().into());
    m.insert("remote_port".into(), c.remote_port.into());
    m.insert(
        "direction".into(),
        enum_name::<ConnectionDirection>(c.direction),
    );
    put_opt(&mut m, "process", c.process.as_ref().map(key));
    m.insert("proc_name".into(), c.proc_name.clone().into());
    m.insert("create_time_ns".into(), c.create_time_ns.into());
    m.insert("end_time_ns".into(), c.end_time_ns.into());
    m.insert("status".into(), c.status.clone().into());
    m.insert("bytes_tx".into(), c.bytes_tx.into());
    m.insert("bytes_rx".into(), c.bytes_rx.into());
    m.insert("packets_tx".into(), c.packets_tx.into());
    m.insert("packets_rx".into(), c.packets_rx.into());
    m.insert("counters_known".into(), c.counters_known.into());
    put_opt(&mut m, "peer_process", c.peer_process.as_ref().map(key));
    m.insert("peer_proc_name".into(), c.peer_proc_name.clone().into());
    m.insert("cookie".into(), c.cookie.into());
    m.insert("inode".into(), c.inode.into());
    m.insert("source".into(), enum_name::<NetSource>(c.source));
    Value::Object(m)
}

/// A listening socket, as one JSON object.
#[must_use]
pub fn listening(l: &ListeningSocket) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), l.id.into());
    m.insert("proto".into(), enum_name::<NetProtocol>(l.proto));
    m.insert("family".into(), enum_name::<AddressFamily>(l.family));
    m.insert("local_ip".into(), l.local_ip.clone().into());
    m.insert("local_port".into(), l.local_port.into());
    put_opt(&mut m, "process", l.process.as_ref().map(key));
    m.insert("proc_name".into(), l.proc_name.clone().into());
    m.insert("create_time_ns".into(), l.create_time_ns.into());
    m.insert("end_time_ns".into(), l.end_time_ns.into());
    m.insert("cookie".into(), l.cookie.into());
    m.insert("inode".into(), l.inode.into());
    m.insert("source".into(), enum_name::<NetSource>(l.source));
    Value::Object(m)
}

pub(super) fn connection_event(e: &ConnectionEvent) -> Map<String, Value> {
    let mut o = Map::new();
    put_opt(&mut o, "connection", e.connection.as_ref().map(connection));
    o
}

pub(super) fn listen_event(e: &ListenEvent) -> Map<String, Value> {
    let mut o = Map::new();
    put_opt(&mut o, "socket", e.socket.as_ref().map(listening));
    o
}

pub(super) fn close_event(e: &CloseEvent) -> Map<String, Value> {
    let mut o = Map::new();
    put_opt(&mut o, "connection", e.connection.as_ref().map(connection));
    put_opt(&mut o, "listening", e.listening.as_ref().map(listening));
    o
}

pub(super) fn updates(e: &ConnectionUpdates) -> Map<String, Value> {
    let mut o = Map::new();
    o.insert(
        "connections".into(),
        e.connections.iter().map(connection).collect(),
    );
    o
}
