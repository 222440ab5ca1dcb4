use std::time::Instant;

use perch_proto::v1::{
    AddressFamily, Connection, ConnectionDirection, ListeningSocket, NetProtocol,
    ProcessKey as PKey,
};

use super::*;
use crate::console::{model::HostId, net::NetStore};

fn store() -> NetStore {
    let out = Connection {
        id: 1,
        proto: NetProtocol::Tcp as i32,
        family: AddressFamily::Ipv4 as i32,
        local_ip: "127.0.0.1".to_owned(),
        local_port: 41_000,
        remote_ip: "127.0.0.1".to_owned(),
        remote_port: 9000,
        direction: ConnectionDirection::Outbound as i32,
        process: Some(PKey {
            pid: 20,
            start_time_ns: 0,
        }),
        proc_name: "curl".to_owned(),
        peer_process: Some(PKey {
            pid: 10,
            start_time_ns: 0,
        }),
        peer_proc_name: "nc".to_owned(),
        status: "ESTABLISHED".to_owned(),
        ..Connection::default()
    };
    let udp = Connection {
        id: 2,
        proto: NetProtocol::Udp as i32,
        family: AddressFamily::Ipv6 as i32,
        local_ip: "::1".to_owned(),
        local_port: 5353,
        remote_ip: "::1".to_owned(),
        remote_port: 53,
        direction: ConnectionDirection::Inbound as i32,
        proc_name: "dns".to_owned(),
        end_time_ns: 9,
        ..Connection::default()
    };
    let l = ListeningSocket {
        id: 3,
        proto: NetProtocol::Tcp as i32,
        local_ip: "0.0.0.0".to_owned(),
        local_port: 9000,
        proc_name: "nc".to_owned(),
        ..ListeningSocket::default()
    };
    let mut s = NetStore::default();
    let now = Instant::now();
    s.snapshot(HostId(0), vec![out, udp], vec![l], 0, |_| now);
    s
}

/// The ids of the connections, then of the listening sockets, `f` keeps.
fn kept(f: &str) -> (Vec<u64>, Vec<u64>) {
    let s = store();
    let f = NetFilter::parse(f).expect("valid");
    let mut c: Vec<u64> = s
        .conns()
        .filter(|c| f.matches(&c.fields("h")))
        .map(|c| c.c.id)
        .collect();
    let mut l: Vec<u64> = s
        .listening()
        .filter(|l| f.matches(&l.fields("h")))
        .map(|l| l.l.id)
        .collect();
    c.sort_unstable();
    l.sort_unstable();
    (c, l)
}

#[test]
fn port_dir_proto_terms() {
    assert_eq!(kept("port:9000"), (vec![1], vec![3]));
    assert_eq!(kept("lport:9000"), (vec![], vec![3]));
    assert_eq!(kept("rport:53"), (vec![2], vec![]));
    assert_eq!(kept("dir:out"), (vec![1], vec![]));
    assert_eq!(kept("dir:in"), (vec![2], vec![]));
    assert_eq!(kept("!dir:out"), (vec![2], vec![3]));
    assert_eq!(kept("proto:udp"), (vec![2], vec![]));
    assert_eq!(kept("proto:TCP"), (vec![1], vec![3]));
    assert_eq!(kept("family:6"), (vec![2], vec![]));
    assert_eq!(kept("pid:20"), (vec![1], vec![]));
    assert_eq!(kept("peer:nc"), (vec![1], vec![]));
    assert_eq!(kept("peer:10"), (vec![1], vec![]));
    assert_eq!(kept("is:closed"), (vec![2], vec![]));
    assert_eq!(kept("is:open proto:tcp"), (vec![1], vec![3]));
    assert_eq!(kept("state:estab"), (vec![1], vec![]));
    assert_eq!(kept("comm:nc"), (vec![], vec![3]));
    assert_eq!(
        kept("nc"),
        (vec![1], vec![3]),
        "free text: the process or the peer"
    );
    assert_eq!(kept("41000"), (vec![1], vec![]), "free text: a port");
    assert_eq!(kept(""), (vec![1, 2], vec![3]));
}

#[test]
fn bad_terms_name_the_key_and_the_allowed_values() {
    let err = |s: &str| NetFilter::parse(s).expect_err("invalid");
    let e = err("port:70000");
    assert_eq!(
        e.message,
        "`port` must be a port in 0..=65535 (got `70000`)"
    );
    assert_eq!(e.at, 5);
    assert_eq!(
        err("dir:sideways").message,
        "`dir` must be in, out or unknown (got `sideways`)"
    );
    assert_eq!(
        err("proto:icmp").message,
        "`proto` must be tcp or udp (got `icmp`)"
    );
    assert_eq!(
        err("is:maybe").message,
        "`is` must be open or closed (got `maybe`)"
    );
    assert!(
        err("bogus:1")
            .message
            .starts_with("unknown key `bogus` (try port")
    );
    assert_eq!(err("port:").message, "`port` needs a value");
    assert_eq!(err("!").message, "`!` needs a term after it");
    assert_eq!(err("\"open").message, "unterminated quote");
}
