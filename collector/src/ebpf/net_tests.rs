//! The network programs, loaded for real and driven by real sockets.
use std::{
    io::{Read as _, Write as _},
    net::{TcpListener, TcpStream, UdpSocket},
    time::Duration,
};

use super::*;
use crate::{
    model::ModelEvent,
    net::{NetOp, NetRecord, Proto},
};

async fn records_until(
    src: &mut EbpfSource,
    done: impl Fn(&[NetRecord]) -> bool,
) -> Vec<NetRecord> {
    let decoder = Decoder::default();
    let mut out = Vec::new();
    for _ in 0..300 {
        src.wait(Duration::from_millis(10)).await;
        src.drain(|bytes| {
            if let Some(ModelEvent::NetRecord { record, .. }) = decoder.decode(bytes) {
                out.push(record);
            }
        });
        if done(&out) {
            break;
        }
    }
    out
}

/// A TCP connection in this process: listen, connect, accept and both
/// closes, attributed to us where the syscall is ours, with the bytes sent.
#[tokio::test]
async fn sees_a_tcp_connection_and_a_udp_send() {
    let mut src = EbpfSource::start(&LoadOptions {
        wakeup_bytes: 4096,
        ..LoadOptions::default()
    })
    .expect("eBPF loads (run as root)");
    let me = std::process::id();
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let server_addr = listener.local_addr().expect("addr");
    let mut client = TcpStream::connect(server_addr).expect("connect");
    let client_addr = client.local_addr().expect("addr");
    let (mut server, _) = listener.accept().expect("accept");
    client.write_all(&vec![5u8; 64_000]).expect("write");
    let mut got = vec![0u8; 64_000];
    server.read_exact(&mut got).expect("read");
    drop(client);
    drop(server);
    let udp = UdpSocket::bind("127.0.0.1:0").expect("udp bind");
    let target = UdpSocket::bind("127.0.0.1:0").expect("udp target");
    udp.send_to(b"hello", target.local_addr().expect("addr"))
        .expect("send");
    let recs = records_until(&mut src, |r| {
        r.iter().filter(|r| r.op == NetOp::Close).count() >= 2
            && r.iter()
                .any(|r| r.op == NetOp::UdpSend && r.local == udp.local_addr().expect("addr"))
    })
    .await;
    let find = |op: NetOp, local| {
        recs.iter()
            .find(|r| r.op == op && r.local == local)
            .unwrap_or_else(|| panic!("no {op:?} at {local} in {recs:#?}"))
    };
    let listen = find(NetOp::Listen, server_addr);
    assert_eq!(listen.task.map(|k| k.pid), Some(me));
    let connect = recs
        .iter()
        .find(|r| r.op == NetOp::Connect && r.remote == server_addr)
        .expect("connect");
    assert_eq!(connect.task.map(|k| k.pid), Some(me));
    let est = find(NetOp::Established, client_addr);
    assert_eq!(est.cookie, connect.cookie, "one socket, one cookie");
    assert_ne!(est.cookie, 0);
    let accept = recs
        .iter()
        .find(|r| r.op == NetOp::Accept && r.remote == client_addr)
        .expect("accept");
    assert_eq!(accept.task.map(|k| k.pid), Some(me));
    assert_ne!(accept.ino, 0);
    // The port is released before the close is traced: found by cookie.
    let close = recs
        .iter()
        .find(|r| r.op == NetOp::Close && r.cookie == connect.cookie)
        .unwrap_or_else(|| panic!("client close {recs:#?}"));
    assert_eq!(close.counters.map(|c| c.bytes_tx), Some(64_000));
    let server_close = recs
        .iter()
        .find(|r| r.op == NetOp::Close && r.cookie == accept.cookie)
        .expect("server close");
    assert_eq!(
        server_close.counters.map(|c| c.bytes_rx),
        Some(64_001),
        "data and FIN"
    );
    let send = find(NetOp::UdpSend, udp.local_addr().expect("addr"));
    assert_eq!(send.proto, Proto::Udp);
    assert_eq!(send.remote, target.local_addr().expect("addr"));
    assert_eq!(send.task.map(|k| k.pid), Some(me));
    assert_ne!(send.netns, 0);
    assert_eq!(src.lost(), 0);
}
