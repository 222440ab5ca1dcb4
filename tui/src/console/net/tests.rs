use std::time::{Duration, Instant};

use perch_proto::v1::{
    CloseEvent, Connection, ConnectionEvent, ConnectionUpdates, Event, ListenEvent,
    ListeningSocket, ProcessKey as PKey, event::Kind,
};

use super::*;

const H: HostId = HostId(0);

fn conn(id: u64, pid: u32, end: u64) -> Connection {
    Connection {
        id,
        local_ip: "127.0.0.1".to_owned(),
        local_port: 40_000 + u32::try_from(id).unwrap_or(0),
        remote_ip: "127.0.0.1".to_owned(),
        remote_port: 9000,
        process: Some(PKey {
            pid,
            start_time_ns: 1_000_000_000,
        }),
        proc_name: "nc\u{1b}[31m".to_owned(),
        create_time_ns: id * 1_000,
        end_time_ns: end,
        ..Connection::default()
    }
}

fn listen(id: u64, end: u64) -> ListeningSocket {
    ListeningSocket {
        id,
        local_port: 9000,
        end_time_ns: end,
        ..ListeningSocket::default()
    }
}

fn ev(seq: u64, kind: Kind) -> Event {
    Event {
        seq,
        kind: Some(kind),
        ..Event::default()
    }
}

fn connect(seq: u64, c: Connection) -> Event {
    ev(
        seq,
        Kind::Connect(ConnectionEvent {
            connection: Some(c),
        }),
    )
}

#[test]
fn events_after_the_snapshot_apply_and_earlier_ones_are_skipped() {
    let now = Instant::now();
    let mut s = NetStore::default();
    s.snapshot(H, vec![conn(1, 10, 0)], vec![listen(7, 0)], 5, |_| now);
    // Already in the snapshot (seq 5): a replayed close must not close it.
    let close = ev(
        4,
        Kind::Close(CloseEvent {
            connection: Some(conn(1, 10, 99)),
            listening: None,
        }),
    );
    assert!(!s.apply(H, &close, |_| now));
    assert!(!s.conn(H, 1).expect("held").is_closed());
    // After it: applied.
    assert!(s.apply(H, &connect(6, conn(2, 11, 0)), |_| now));
    let up = ev(
        7,
        Kind::ConnectionUpdates(ConnectionUpdates {
            connections: vec![Connection {
                bytes_tx: 42,
                ..conn(1, 10, 0)
            }],
        }),
    );
    assert!(s.apply(H, &up, |_| now));
    assert_eq!(s.conn(H, 1).expect("held").c.bytes_tx, 42);
    let l = ev(
        8,
        Kind::Listen(ListenEvent {
            socket: Some(listen(8, 0)),
        }),
    );
    assert!(s.apply(H, &l, |_| now));
    assert_eq!(s.listening().count(), 2);
    // Names are cleaned of control characters once, here.
    assert!(!s.conn(H, 2).expect("held").c.proc_name.contains('\u{1b}'));
    // Owner keys carry the host.
    assert_eq!(s.conn(H, 2).expect("held").owner.map(|k| k.pid), Some(11));
    let (c, _) = s.of_process(&ProcessKey::new(H, 11, 1_000_000_000));
    assert_eq!(c.len(), 1);
    // Other kinds are not the store's.
    assert!(!s.apply(
        H,
        &ev(9, Kind::Exit(perch_proto::v1::ProcessExit::default())),
        |_| now
    ));
}

#[test]
fn closed_rows_stay_for_the_retention_then_go() {
    let t0 = Instant::now();
    let mut s = NetStore::default();
    s.snapshot(H, vec![conn(1, 10, 0)], vec![listen(7, 0)], 0, |_| t0);
    let close = ev(
        1,
        Kind::Close(CloseEvent {
            connection: Some(conn(1, 10, 500)),
            listening: Some(listen(7, 500)),
        }),
    );
    assert!(s.apply(H, &close, |_| t0));
    assert!(s.conn(H, 1).expect("kept while retained").is_closed());
    // A later update of a closed connection keeps when it first closed.
    let again = ev(
        2,
        Kind::ConnectionUpdates(ConnectionUpdates {
            connections: vec![conn(1, 10, 500)],
        }),
    );
    s.apply(H, &again, |_| t0 + Duration::from_secs(20));
    let retention = Duration::from_secs(30);
    assert!(!s.expire(t0 + Duration::from_secs(29), retention));
    assert_eq!(s.conns().count(), 1);
    assert!(s.expire(t0 + Duration::from_secs(30), retention));
    assert_eq!(s.conns().count() + s.listening().count(), 0);
}

#[test]
fn the_bound_drops_closed_rows_first_then_the_oldest() {
    let now = Instant::now();
    let mut s = NetStore::default();
    let conns = vec![
        conn(1, 10, 0),
        conn(2, 10, 900),
        conn(3, 10, 0),
        conn(4, 10, 800),
        conn(5, 10, 0),
    ];
    s.snapshot(H, conns, Vec::new(), 0, |_| now);
    assert_eq!(s.bound(10), 0);
    assert_eq!(s.bound(3), 2);
    let mut left: Vec<u64> = s.conns().map(|c| c.c.id).collect();
    left.sort_unstable();
    assert_eq!(left, [1, 3, 5]);
    assert_eq!(s.bound(2), 1);
    let mut left: Vec<u64> = s.conns().map(|c| c.c.id).collect();
    left.sort_unstable();
    assert_eq!(left, [3, 5], "the oldest open one goes next");
    assert_eq!(s.dropped(), 3);
}

#[test]
fn a_snapshot_replaces_only_its_hosts_rows() {
    let now = Instant::now();
    let mut s = NetStore::default();
    s.snapshot(H, vec![conn(1, 10, 0)], Vec::new(), 0, |_| now);
    s.snapshot(HostId(1), vec![conn(1, 20, 0)], Vec::new(), 0, |_| now);
    s.snapshot(H, vec![conn(2, 10, 0)], Vec::new(), 3, |_| now);
    assert!(s.conn(H, 1).is_none());
    assert!(s.conn(H, 2).is_some());
    assert!(s.conn(HostId(1), 1).is_some());
}
