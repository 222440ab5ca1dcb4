use std::{
    io::{Read as _, Write as _},
    net::{TcpListener, TcpStream, UdpSocket},
    os::fd::AsFd as _,
};

use super::*;

fn ino_of(fd: impl std::os::fd::AsFd) -> u64 {
    nix::sys::stat::fstat(fd).expect("fstat").st_ino
}

/// A real loopback connection: both ends and the listener are listed,
/// with the counters of what was sent.
#[test]
fn dumps_a_real_connection_with_its_counters() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let mut client = TcpStream::connect(addr).expect("connect");
    let (mut server, _) = listener.accept().expect("accept");
    let sent = vec![7u8; 100_000];
    client.write_all(&sent).expect("write");
    let mut got = vec![0u8; sent.len()];
    server.read_exact(&mut got).expect("read");
    let entries = DiagSocket::open().expect("open").dump_all().expect("dump");
    let find = |local: SocketAddr| {
        entries
            .iter()
            .find(|e| e.proto == Proto::Tcp && e.local == local && e.state != 10)
            .unwrap_or_else(|| panic!("{local} not in {entries:?}"))
    };
    let c = find(client.local_addr().expect("addr"));
    assert_eq!(c.remote, addr);
    assert_eq!(c.state, 1, "established");
    assert_eq!(c.ino, ino_of(client.as_fd()));
    assert_ne!(c.cookie, 0);
    let counters = c.counters.expect("tcp_info");
    assert_eq!(counters.bytes_tx, 100_000);
    assert!(counters.packets_tx >= 2, "{counters:?}");
    let s = find(server.local_addr().expect("addr"));
    assert_eq!(s.counters.expect("tcp_info").bytes_rx, 100_000);
    assert_ne!(s.cookie, c.cookie);
    let l = entries
        .iter()
        .find(|e| e.local == addr && e.state == 10)
        .expect("listener listed");
    assert_eq!(l.ino, ino_of(listener.as_fd()));
    assert_eq!(l.uid, nix::unistd::getuid().as_raw());
}

#[test]
fn dumps_udp_sockets_and_ipv6() {
    let udp = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let v6 = TcpListener::bind("[::1]:0").expect("bind v6");
    let entries = DiagSocket::open().expect("open").dump_all().expect("dump");
    let u = entries
        .iter()
        .find(|e| e.proto == Proto::Udp && e.local == udp.local_addr().expect("addr"))
        .expect("udp listed");
    assert_eq!(u.state, 7, "unconnected");
    assert_eq!(u.counters, None);
    assert!(
        entries
            .iter()
            .any(|e| e.local == v6.local_addr().expect("addr") && e.state == 10)
    );
}

/// A message as the kernel frames it, for the parser tests.
fn message(kind: u16, seq: u32, body: &[u8]) -> Vec<u8> {
    let len = u32::try_from(NLMSG_HDR + body.len()).expect("len");
    let mut m = Vec::new();
    m.extend_from_slice(&len.to_ne_bytes());
    m.extend_from_slice(&kind.to_ne_bytes());
    m.extend_from_slice(&0u16.to_ne_bytes());
    m.extend_from_slice(&seq.to_ne_bytes());
    m.extend_from_slice(&0u32.to_ne_bytes());
    m.extend_from_slice(body);
    while m.len() % 4 != 0 {
        m.push(0);
    }
    m
}

fn diag_msg(info: Option<&[u8]>) -> Vec<u8> {
    let mut b = vec![0u8; MSG_LEN];
    b[0] = AF_INET;
    b[1] = 1;
    b[4..6].copy_from_slice(&8080u16.to_be_bytes());
    b[6..8].copy_from_slice(&443u16.to_be_bytes());
    b[8..12].copy_from_slice(&[127, 0, 0, 1]);
    b[24..28].copy_from_slice(&[10, 1, 2, 3]);
    b[44..48].copy_from_slice(&5u32.to_ne_bytes());
    b[48..52].copy_from_slice(&1u32.to_ne_bytes());
    b[64..68].copy_from_slice(&1000u32.to_ne_bytes());
    b[68..72].copy_from_slice(&77u32.to_ne_bytes());
    if let Some(info) = info {
        let len = u16::try_from(4 + info.len()).expect("len");
        b.extend_from_slice(&len.to_ne_bytes());
        b.extend_from_slice(&INET_DIAG_INFO.to_ne_bytes());
        b.extend_from_slice(info);
    }
    b
}

#[test]
fn parses_a_message_and_its_tcp_info() {
    let mut info = vec![0u8; 232];
    info[TI_BYTES_SENT..TI_BYTES_SENT + 8].copy_from_slice(&1300u64.to_ne_bytes());
    info[TI_BYTES_RETRANS..TI_BYTES_RETRANS + 8].copy_from_slice(&66u64.to_ne_bytes());
    info[TI_BYTES_RECEIVED..TI_BYTES_RECEIVED + 8].copy_from_slice(&99u64.to_ne_bytes());
    info[TI_SEGS_OUT..TI_SEGS_OUT + 4].copy_from_slice(&4u32.to_ne_bytes());
    info[TI_SEGS_IN..TI_SEGS_IN + 4].copy_from_slice(&3u32.to_ne_bytes());
    let mut buf = message(SOCK_DIAG_BY_FAMILY, 9, &diag_msg(Some(&info)));
    // Another dump's message is skipped.
    buf.extend(message(SOCK_DIAG_BY_FAMILY, 8, &diag_msg(None)));
    buf.extend(message(NLMSG_DONE, 9, &[0; 4]));
    let mut out = Vec::new();
    assert!(parse(&buf, Proto::Tcp, 9, &mut out).expect("parses"));
    assert_eq!(
        out,
        [DiagEntry {
            proto: Proto::Tcp,
            state: 1,
            local: "127.0.0.1:8080".parse().expect("addr"),
            remote: "10.1.2.3:443".parse().expect("addr"),
            cookie: (1 << 32) | 5,
            ino: 77,
            uid: 1000,
            counters: Some(Counters {
                bytes_tx: 1234,
                bytes_rx: 99,
                packets_tx: 4,
                packets_rx: 3,
            }),
        }]
    );
}

#[test]
fn malformed_answers_are_errors_not_panics() {
    let good = message(SOCK_DIAG_BY_FAMILY, 1, &diag_msg(None));
    let mut out = Vec::new();
    // Every truncation of a valid message: an error or nothing, never a panic.
    for cut in 0..good.len() {
        let _ = parse(&good[..cut], Proto::Tcp, 1, &mut out);
    }
    let mut long = good.clone();
    long[0..4].copy_from_slice(&10_000u32.to_ne_bytes());
    assert!(matches!(
        parse(&long, Proto::Tcp, 1, &mut out),
        Err(DiagError::Malformed(_))
    ));
    let mut short = good.clone();
    short[0..4].copy_from_slice(&3u32.to_ne_bytes());
    assert!(parse(&short, Proto::Tcp, 1, &mut out).is_err());
    // A too-short body or a bad attribute is skipped, not trusted.
    let mut bad_attr = diag_msg(None);
    bad_attr.extend_from_slice(&[200, 0, 2, 0, 1, 2, 3, 4]);
    out.clear();
    parse(
        &message(SOCK_DIAG_BY_FAMILY, 1, &bad_attr),
        Proto::Tcp,
        1,
        &mut out,
    )
    .expect("ok");
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].counters, None);
    let err = message(NLMSG_ERROR, 1, &(-22i32).to_ne_bytes());
    assert!(matches!(
        parse(&err, Proto::Tcp, 1, &mut out),
        Err(DiagError::Kernel(22))
    ));
}
