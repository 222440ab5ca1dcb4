use std::collections::HashMap;

use super::*;
use crate::net::diag::DiagEntry;

const S: u64 = 1_000_000_000;

fn key(pid: u32) -> ProcKey {
    ProcKey {
        pid,
        start_ns: u64::from(pid) * 1000,
    }
}

fn owner(k: ProcKey) -> Owner {
    Owner {
        key: k,
        comm: format!("p{}", k.pid),
    }
}

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("addr")
}

fn rec(op: NetOp, cookie: u64, local: &str, remote: &str, task: Option<u32>) -> NetRecord {
    NetRecord {
        op,
        task: task.map(key),
        sk: 0xffff_0000_0000_0000 | cookie,
        cookie,
        ino: 0,
        proto: Proto::Tcp,
        local: addr(local),
        remote: addr(remote),
        old_state: 0,
        new_state: 0,
        counters: None,
        netns: 1,
    }
}

fn model() -> NetModel {
    NetModel::new(NetLimits::default(), 1)
}

fn apply(m: &mut NetModel, r: &NetRecord, t: u64) -> Option<NetChange> {
    m.apply(r, t, &owner)
}

/// A loopback connection as the kernel reports it: the client's connect
/// and established, the server's established (softirq) and accept, then
/// both closes with final counters.
#[test]
fn a_loopback_connection_end_to_end() {
    let mut m = model();
    let listen = apply(
        &mut m,
        &rec(NetOp::Listen, 1, "127.0.0.1:9000", "0.0.0.0:0", Some(10)),
        1,
    );
    assert!(matches!(listen, Some(NetChange::Listen(l)) if l.owner == Some(owner(key(10)))));

    // Client pid 20: the port is not chosen at SYN_SENT.
    let c = rec(NetOp::Connect, 2, "127.0.0.1:0", "127.0.0.1:9000", Some(20));
    assert_eq!(apply(&mut m, &c, 2), None);
    let mut est = rec(
        NetOp::Established,
        2,
        "127.0.0.1:40000",
        "127.0.0.1:9000",
        None,
    );
    est.old_state = perch_common::TCP_SYN_SENT;
    let Some(NetChange::Connect(client)) = apply(&mut m, &est, 3) else {
        panic!("connect announced when established");
    };
    assert_eq!(client.direction, Direction::Outbound);
    assert_eq!(client.owner, Some(owner(key(20))));
    assert_eq!(client.local, Some(addr("127.0.0.1:40000")));
    assert_eq!(client.start_ns, 2);

    // Server side: established in softirq, owned by the listener until accepted.
    let mut inbound = rec(
        NetOp::Established,
        3,
        "127.0.0.1:9000",
        "127.0.0.1:40000",
        None,
    );
    inbound.old_state = perch_common::TCP_SYN_RECV;
    assert_eq!(apply(&mut m, &inbound, 4), None);
    let accept = rec(
        NetOp::Accept,
        3,
        "127.0.0.1:9000",
        "127.0.0.1:40000",
        Some(11),
    );
    let Some(NetChange::Accept(server)) = apply(&mut m, &accept, 5) else {
        panic!("accept announced");
    };
    assert_eq!(server.direction, Direction::Inbound);
    assert_eq!(server.owner, Some(owner(key(11))));
    assert_eq!(server.peer, Some(owner(key(20))), "peer resolved");

    // The client learns its peer in the next update batch.
    let updates = m.take_updates();
    let NetChange::Updates(batch) = &updates[0] else {
        panic!("{updates:?}")
    };
    assert!(
        batch
            .iter()
            .any(|c| c.id == client.id && c.peer == Some(owner(key(11))))
    );

    let mut close = rec(NetOp::Close, 2, "127.0.0.1:40000", "127.0.0.1:9000", None);
    close.counters = Some(Counters {
        bytes_tx: 5000,
        bytes_rx: 10,
        packets_tx: 7,
        packets_rx: 6,
    });
    let Some(NetChange::CloseConn(closed)) = apply(&mut m, &close, 6) else {
        panic!("close");
    };
    assert_eq!(closed.end_ns, Some(6));
    assert_eq!(closed.counters.bytes_tx, 5000);
    assert_eq!(m.open_connections(), 1);
    // Retained, then expired.
    m.expire(6 + m.retention_ns());
    assert_eq!(m.connections().count(), 2);
    m.expire(7 + m.retention_ns());
    assert_eq!(m.connections().count(), 1);
    // The listener's close.
    assert!(matches!(
        apply(
            &mut m,
            &rec(NetOp::Close, 1, "127.0.0.1:9000", "0.0.0.0:0", None),
            8
        ),
        Some(NetChange::CloseListen(_))
    ));
    assert_eq!(m.open_listening(), 0);
}

#[test]
fn a_refused_connect_is_announced_by_its_close() {
    let mut m = model();
    apply(
        &mut m,
        &rec(NetOp::Connect, 5, "127.0.0.1:0", "127.0.0.1:1", Some(3)),
        1,
    );
    let close = rec(NetOp::Close, 5, "127.0.0.1:0", "127.0.0.1:1", None);
    let Some(NetChange::CloseConn(c)) = apply(&mut m, &close, 2) else {
        panic!("close");
    };
    assert_eq!(c.owner, Some(owner(key(3))));
    assert_eq!(c.direction, Direction::Outbound);
    assert!(m.take_updates().is_empty(), "not announced twice");
}

#[test]
fn bounds_evict_closed_then_oldest_and_count() {
    let mut m = NetModel::new(
        NetLimits {
            max_connections: 16,
            ..NetLimits::default()
        },
        1,
    );
    for i in 1..=16 {
        let r = rec(
            NetOp::Accept,
            i,
            "127.0.0.1:80",
            &format!("10.0.0.1:{i}"),
            Some(1),
        );
        apply(&mut m, &r, i);
    }
    // Close #5: it is the first to go.
    apply(
        &mut m,
        &rec(NetOp::Close, 5, "127.0.0.1:80", "10.0.0.1:5", None),
        20,
    );
    apply(
        &mut m,
        &rec(NetOp::Accept, 17, "127.0.0.1:80", "10.0.0.1:17", Some(1)),
        21,
    );
    assert_eq!(m.evicted(), 1);
    assert!(
        m.connections()
            .all(|c| c.remote != Some(addr("10.0.0.1:5")))
    );
    // Then the oldest open one.
    apply(
        &mut m,
        &rec(NetOp::Accept, 18, "127.0.0.1:80", "10.0.0.1:18", Some(1)),
        22,
    );
    assert_eq!(m.evicted(), 2);
    assert!(
        m.connections()
            .all(|c| c.remote != Some(addr("10.0.0.1:1")))
    );
    assert_eq!(m.connections().count(), 16);
    // An evicted socket's close changes nothing.
    assert_eq!(
        apply(
            &mut m,
            &rec(NetOp::Close, 1, "127.0.0.1:80", "10.0.0.1:1", None),
            23
        ),
        None
    );
}

#[test]
fn udp_flows_are_per_destination_and_binds_listen() {
    let mut m = model();
    let udp = |op, remote: &str| NetRecord {
        proto: Proto::Udp,
        ino: 77,
        cookie: 0,
        ..rec(op, 0, "127.0.0.1:5353", remote, Some(4))
    };
    assert!(matches!(
        apply(&mut m, &udp(NetOp::UdpBind, "0.0.0.0:0"), 1),
        Some(NetChange::Listen(l)) if l.proto == Proto::Udp
    ));
    assert!(matches!(
        apply(&mut m, &udp(NetOp::UdpSend, "127.0.0.1:53"), 2),
        Some(NetChange::Connect(c)) if !c.counters_known && c.owner == Some(owner(key(4)))
    ));
    assert_eq!(apply(&mut m, &udp(NetOp::UdpSend, "127.0.0.1:53"), 3), None);
    assert!(apply(&mut m, &udp(NetOp::UdpSend, "127.0.0.2:53"), 4).is_some());
    assert_eq!(m.open_connections(), 2);
    // A datagram to this host's unconnected socket names its owner as the
    // peer; one to a wildcard listener's port on another host does not.
    let server = NetRecord {
        ino: 88,
        ..udp(NetOp::UdpBind, "0.0.0.0:0")
    };
    let server = NetRecord {
        local: addr("0.0.0.0:6000"),
        task: Some(key(9)),
        ..server
    };
    assert!(apply(&mut m, &server, 5).is_some());
    let Some(NetChange::Connect(c)) = apply(&mut m, &udp(NetOp::UdpSend, "127.0.0.1:6000"), 6)
    else {
        panic!("a new destination is announced");
    };
    assert_eq!(c.peer, Some(owner(key(9))));
    let Some(NetChange::Connect(c)) = apply(&mut m, &udp(NetOp::UdpSend, "10.0.0.1:6000"), 7)
    else {
        panic!("a new destination is announced");
    };
    assert_eq!(c.peer, None);
}

fn entry(proto: Proto, state: u8, local: &str, remote: &str, cookie: u64, ino: u64) -> DiagEntry {
    DiagEntry {
        proto,
        state,
        local: addr(local),
        remote: addr(remote),
        cookie,
        ino,
        uid: 0,
        counters: (proto == Proto::Tcp).then_some(Counters::default()),
    }
}

fn refresh(
    m: &mut NetModel,
    now: u64,
    entries: &[DiagEntry],
    pids: Option<HashMap<u64, u32>>,
) -> NetSample {
    m.refresh(
        now,
        S,
        Sources {
            entries,
            dump_ns: now,
            inode_pids: pids,
            ephemeral: 32768..=60999,
        },
        &|pid| Some(owner(key(pid))),
    )
}

/// Sockets open at start-up come from `sock_diag` with owners from /proc;
/// counters make per-process rates; a socket gone from the dump closes.
#[test]
fn sock_diag_seeds_rates_and_closes() {
    let mut m = model();
    let mut entries = vec![
        entry(Proto::Tcp, 10, "0.0.0.0:22", "0.0.0.0:0", 100, 1000),
        entry(Proto::Tcp, 1, "10.0.0.2:22", "10.0.0.9:51000", 101, 1001),
        entry(Proto::Tcp, 1, "10.0.0.2:45000", "10.0.0.9:443", 102, 1002),
        entry(Proto::Udp, 7, "0.0.0.0:68", "0.0.0.0:0", 103, 1003),
    ];
    assert!(m.needs_scan(&entries));
    let pids = HashMap::from([(1000, 7), (1001, 8), (1002, 9), (1003, 10)]);
    let first = refresh(&mut m, 10 * S, &entries, Some(pids));
    assert_eq!(m.open_listening(), 2);
    assert_eq!(m.open_connections(), 2);
    assert!(!m.needs_scan(&entries));
    let dir = |port: u16| {
        m.connections()
            .find(|c| c.local.is_some_and(|l| l.port() == port))
            .map(|c| (c.direction, c.owner.clone()))
    };
    assert_eq!(dir(22), Some((Direction::Inbound, Some(owner(key(8))))));
    assert_eq!(dir(45000), Some((Direction::Outbound, Some(owner(key(9))))));
    assert!(
        first
            .changes
            .iter()
            .any(|c| matches!(c, NetChange::Updates(b) if b.len() == 2))
    );

    entries[1].counters = Some(Counters {
        bytes_tx: 3000,
        bytes_rx: 1000,
        ..Counters::default()
    });
    let second = refresh(&mut m, 11 * S, &entries, None);
    assert_eq!(second.rates, [(key(8), 1000.0, 3000.0)]);
    // Gone from the dump: closed; the quiet process gets a zero rate.
    entries.remove(2);
    entries.remove(1);
    let third = refresh(&mut m, 12 * S, &entries, None);
    assert_eq!(third.rates, [(key(8), 0.0, 0.0)]);
    assert_eq!(
        third
            .changes
            .iter()
            .filter(|c| matches!(c, NetChange::CloseConn(_)))
            .count(),
        2
    );
    assert_eq!(m.open_connections(), 0);
}

/// A socket of another network namespace is never in perchd's dump: it
/// stays open until its own close record.
#[test]
fn other_namespaces_are_not_closed_by_the_dump() {
    let mut m = model();
    let mut r = rec(NetOp::Accept, 9, "10.1.0.2:80", "10.1.0.3:5000", Some(5));
    r.netns = 2;
    apply(&mut m, &r, 1);
    refresh(&mut m, 5 * S, &[], None);
    assert_eq!(m.open_connections(), 1);
    let mut own = rec(NetOp::Accept, 10, "10.0.0.2:80", "10.0.0.3:5000", Some(5));
    own.netns = 1;
    apply(&mut m, &own, 2);
    refresh(&mut m, 6 * S, &[], None);
    assert_eq!(m.open_connections(), 1);
}

/// A listener whose process the process model does not know yet (procfs
/// mode between polls) gets its owner on a later pass.
#[test]
fn a_listener_owner_unknown_at_first_is_filled_in_later() {
    let mut m = model();
    let entries = [entry(
        Proto::Tcp,
        10,
        "127.0.0.1:9000",
        "0.0.0.0:0",
        100,
        1000,
    )];
    let pass = |m: &mut NetModel, now: u64, live: bool| {
        m.refresh(
            now,
            S,
            Sources {
                entries: &entries,
                dump_ns: now,
                inode_pids: Some(HashMap::from([(1000, 7)])),
                ephemeral: 32768..=60999,
            },
            &|pid| live.then(|| owner(key(pid))),
        )
    };
    pass(&mut m, S, false);
    assert_eq!(m.listening().next().map(|l| l.owner.clone()), Some(None));
    pass(&mut m, 2 * S, true);
    assert_eq!(
        m.listening().next().map(|l| l.owner.clone()),
        Some(Some(owner(key(7))))
    );
}

/// `sock_diag` may list a new connection before perchd reads its kernel
/// records (the ring is read in batches, the dump runs on its own clock):
/// the records still publish the connect and the accept, once each, with
/// the kernel's owner and direction.
#[test]
fn a_connection_listed_before_its_records_still_gets_its_events() {
    let mut m = model();
    apply(
        &mut m,
        &rec(NetOp::Listen, 1, "127.0.0.1:9000", "0.0.0.0:0", Some(10)),
        1,
    );
    let entries = [
        entry(Proto::Tcp, 1, "127.0.0.1:40000", "127.0.0.1:9000", 2, 2000),
        entry(Proto::Tcp, 1, "127.0.0.1:9000", "127.0.0.1:40000", 3, 3000),
    ];
    let first = refresh(&mut m, 2 * S, &entries, Some(HashMap::new()));
    assert!(
        first
            .changes
            .iter()
            .any(|c| matches!(c, NetChange::Updates(b) if b.len() == 2)),
        "{:?}",
        first.changes
    );

    let mut est = rec(
        NetOp::Established,
        2,
        "127.0.0.1:40000",
        "127.0.0.1:9000",
        Some(20),
    );
    est.old_state = perch_common::TCP_SYN_SENT;
    let Some(NetChange::Connect(client)) = apply(&mut m, &est, 3) else {
        panic!("connect after the dump listed it");
    };
    assert_eq!(client.owner, Some(owner(key(20))));
    assert_eq!(client.direction, Direction::Outbound);
    let accept = rec(
        NetOp::Accept,
        3,
        "127.0.0.1:9000",
        "127.0.0.1:40000",
        Some(10),
    );
    let Some(NetChange::Accept(server)) = apply(&mut m, &accept, 4) else {
        panic!("accept after the dump listed it");
    };
    assert_eq!(server.owner, Some(owner(key(10))));
    assert_eq!(server.direction, Direction::Inbound);
    assert_eq!(apply(&mut m, &est, 5), None, "one connect");
    assert_eq!(apply(&mut m, &accept, 6), None, "one accept");
}
