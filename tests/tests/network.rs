//! Connections and listening sockets, for real: python listeners and
//! clients on loopback (IPv4 and IPv6, TCP and UDP) seen by a real perchd
//! in `ListConnections` and on `WatchEvents`, with the owning processes,
//! directions, loopback peers and byte counts; a listener started before
//! perchd is seeded from `sock_diag`, and `--procfs` mode sees the same.
#![expect(
    clippy::expect_used,
    clippy::panic,
    reason = "helpers of end-to-end tests: a broken environment or a missing socket should fail \
              the test loudly, with what was listed"
)]
use std::{
    io::{BufRead as _, BufReader},
    process::{Command, Stdio},
};

use perch_e2e::{
    Perchd, binary,
    events::{EventLog, WAIT, info},
    procs::{ChildGuard, eventually, run_bounded},
};
use perch_proto::v1::{
    self as pb, Connection, ConnectionDirection, ListeningSocket, NetProtocol, NetSource,
    event::Kind,
};

type Client = pb::collector_client::CollectorClient<tonic::transport::Channel>;

/// Accepts one connection and reads `total` bytes, then idles: prints its
/// port first.  argv: family (4/6), address, total.
const SERVER: &str = "
import socket, sys, time
fam = socket.AF_INET6 if sys.argv[1] == '6' else socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM)
s.bind((sys.argv[2], 0)); s.listen(8)
print(s.getsockname()[1], flush=True)
c, _ = s.accept()
n = 0
while n < int(sys.argv[3]):
    d = c.recv(65536)
    if not d: break
    n += len(d)
print(n, flush=True)
time.sleep(120)
";

/// Connects and sends `total` bytes, then idles.  argv: address, port,
/// total.
const CLIENT: &str = "
import socket, sys, time
c = socket.create_connection((sys.argv[1], int(sys.argv[2])))
c.sendall(b'x' * int(sys.argv[3]))
print('sent', flush=True)
time.sleep(120)
";

/// One UDP datagram to the address, then idles.  argv: address, port.
const UDP_SENDER: &str = "
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(b'hello', (sys.argv[1], int(sys.argv[2])))
print('sent', flush=True)
time.sleep(120)
";

/// A python process running `script` with `args`, and its stdout lines.
struct Py {
    guard: ChildGuard,
    out: BufReader<std::process::ChildStdout>,
}

impl Py {
    fn spawn(script: &str, args: &[&str]) -> Self {
        let mut guard = ChildGuard::spawn(
            Command::new("python3")
                .arg("-c")
                .arg(script)
                .args(args)
                .stdout(Stdio::piped()),
        );
        let out = BufReader::new(guard.child.stdout.take().expect("stdout"));
        Self { guard, out }
    }

    fn line(&mut self) -> String {
        let mut s = String::new();
        tokio::task::block_in_place(|| self.out.read_line(&mut s)).expect("read line");
        s.trim().to_owned()
    }

    fn pid(&self) -> u32 {
        self.guard.pid()
    }
}

/// A listener on `addr` (family 4 or 6) reading `total` bytes, and its port.
fn listener(family: &str, addr: &str, total: usize) -> (Py, u32) {
    let mut py = Py::spawn(SERVER, &[family, addr, &total.to_string()]);
    let port = py.line().parse().expect("port");
    (py, port)
}

async fn snapshot(client: &mut Client) -> (Vec<Connection>, Vec<ListeningSocket>) {
    let mut stream = client
        .list_connections(pb::ListConnectionsRequest::default())
        .await
        .expect("ListConnections")
        .into_inner();
    let (mut conns, mut listening) = (Vec::new(), Vec::new());
    while let Some(chunk) = stream.message().await.expect("chunk") {
        conns.extend(chunk.connections);
        listening.extend(chunk.listening);
        if chunk.last {
            break;
        }
    }
    (conns, listening)
}

fn owner(pid: Option<pb::ProcessKey>) -> u32 {
    pid.map_or(0, |k| k.pid)
}

/// Waits until the listening socket on `port` is listed, owned by `pid`.
async fn listed_listener(client: &mut Client, port: u32, pid: u32) -> ListeningSocket {
    let mut last = Vec::new();
    let found = eventually(WAIT, async || {
        let (_, listening) = snapshot(client).await;
        let l = listening
            .iter()
            .find(|l| l.local_port == port && owner(l.process) == pid)
            .cloned();
        last = listening;
        l
    })
    .await;
    found.unwrap_or_else(|| panic!("no listener on port {port} owned by {pid}: {last:#?}"))
}

/// Waits until both ends of the loopback connection to `port` are listed
/// with their owners, peers and at least `total` bytes (within 5%).
async fn listed_pair(
    client: &mut Client,
    port: u32,
    (client_pid, server_pid): (u32, u32),
    total: u64,
) -> (Connection, Connection) {
    let near = |n: u64| n.abs_diff(total) * 20 <= total;
    let mut last = Vec::new();
    let found = eventually(WAIT, async || {
        let (conns, _) = snapshot(client).await;
        let out = conns
            .iter()
            .find(|c| c.remote_port == port && owner(c.process) == client_pid)
            .filter(|c| near(c.bytes_tx) && owner(c.peer_process) == server_pid)
            .cloned();
        let inb = conns
            .iter()
            .find(|c| c.local_port == port && owner(c.process) == server_pid)
            .filter(|c| near(c.bytes_rx) && owner(c.peer_process) == client_pid)
            .cloned();
        last = conns;
        out.zip(inb)
    })
    .await;
    found.unwrap_or_else(|| {
        panic!("no complete pair on port {port} ({client_pid} -> {server_pid}): {last:#?}")
    })
}

/// `perch conns --json` and `perch listening --json` (and their tables)
/// show the listener and both ends of the connection.
fn cli_lists(perchd: &Perchd, port: u32, (client_pid, server_pid): (u32, u32)) {
    let run = |args: &[&str]| {
        let out = run_bounded(
            Command::new(binary("perch"))
                .arg("--socket")
                .arg(&perchd.socket)
                .args(args),
            WAIT,
        );
        assert_eq!(out.status.code(), Some(0), "{args:?}: {out:?}");
        out.stdout
    };
    let json = |text: String| -> Vec<serde_json::Value> {
        text.lines()
            .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
            .collect()
    };
    let pid_of = |v: &serde_json::Value| v["process"]["pid"].as_u64();
    let listening = json(run(&["listening", "--json"]));
    assert!(
        listening.iter().any(|l| l["local_port"] == port
            && pid_of(l) == Some(u64::from(server_pid))
            && l["proto"] == "tcp"),
        "{listening:#?}"
    );
    let conns = json(run(&["conns", "--json", "--pid", &client_pid.to_string()]));
    assert!(
        conns
            .iter()
            .all(|c| pid_of(c) == Some(u64::from(client_pid))),
        "--pid filters: {conns:#?}"
    );
    assert!(
        conns.iter().any(|c| c["remote_port"] == port
            && c["direction"] == "outbound"
            && c["peer_process"]["pid"].as_u64() == Some(u64::from(server_pid))),
        "{conns:#?}"
    );
    let table = run(&["conns"]);
    assert!(table.starts_with("PTCL "), "{table}");
    assert!(
        table
            .lines()
            .any(|l| l.contains(&format!("--> 127.0.0.1:{port}")) && l.contains("python3")),
        "{table}"
    );
}

/// A listener started before perchd is seeded; a new loopback connection
/// shows outbound at the client and inbound at the server, each naming the
/// other as its peer, with the bytes sent; listen, connect and accept come
/// as events.
#[tokio::test(flavor = "multi_thread")]
async fn loopback_tcp_listener_connection_peers_and_bytes() {
    const TOTAL: usize = 200_000;
    let (seeded, seeded_port) = listener("4", "127.0.0.1", TOTAL);
    let perchd = Perchd::start(&["--sample-interval-ms", "200"]).await;
    let mut client = perchd.client().await.expect("connect");
    let start = info(&mut client).await;
    assert!(
        start.network_source.contains("NETLINK_SOCK_DIAG"),
        "{:?}",
        start.network_source
    );
    let l = listed_listener(&mut client, seeded_port, seeded.pid()).await;
    assert_eq!(l.source(), NetSource::SockDiag, "{l:?}");
    assert_eq!(
        (l.proto(), l.local_ip.as_str()),
        (NetProtocol::Tcp, "127.0.0.1")
    );
    assert_eq!(l.proc_name, "python3", "{l:?}");

    let mut log = EventLog::watch(
        &mut client,
        Some(start.head_seq),
        &[
            pb::EventKind::Listen,
            pb::EventKind::Connect,
            pb::EventKind::Accept,
        ],
    )
    .await
    .expect("WatchEvents");
    let (server, port) = listener("4", "127.0.0.1", TOTAL);
    let l = listed_listener(&mut client, port, server.pid()).await;
    assert_eq!(l.source(), NetSource::Ebpf, "{l:?}");
    let mut sender = Py::spawn(
        CLIENT,
        &["127.0.0.1", &port.to_string(), &TOTAL.to_string()],
    );
    assert_eq!(sender.line(), "sent");
    let pids = (sender.pid(), server.pid());
    let (out, inb) = listed_pair(&mut client, port, pids, TOTAL as u64).await;
    assert_eq!(out.direction(), ConnectionDirection::Outbound, "{out:?}");
    assert_eq!(inb.direction(), ConnectionDirection::Inbound, "{inb:?}");
    assert_eq!(
        (out.local_port, inb.remote_port),
        (inb.remote_port, out.local_port)
    );
    assert_eq!(out.status, "ESTABLISHED", "{out:?}");
    assert!(out.counters_known && inb.counters_known);
    assert_eq!(out.peer_proc_name, "python3", "{out:?}");
    cli_lists(&perchd, port, pids);

    let saw = log
        .until(WAIT, |evs| {
            let conn = |e: &pb::Event| match &e.kind {
                Some(Kind::Connect(c) | Kind::Accept(c)) => c.connection.clone(),
                _ => None,
            };
            let listen = evs.iter().any(|e| {
                matches!(&e.kind, Some(Kind::Listen(x))
                    if x.socket.as_ref().is_some_and(|s| s.local_port == port
                        && owner(s.process) == server.pid()))
            });
            let connect = evs.iter().any(|e| {
                matches!(e.kind, Some(Kind::Connect(_)))
                    && conn(e).is_some_and(|c| c.remote_port == port && owner(c.process) == pids.0)
            });
            let accept = evs.iter().any(|e| {
                matches!(e.kind, Some(Kind::Accept(_)))
                    && conn(e).is_some_and(|c| c.local_port == port && owner(c.process) == pids.1)
            });
            listen && connect && accept
        })
        .await;
    assert!(saw, "listen, connect and accept events: {:#?}", log.events);
}

/// An IPv6 loopback connection, and a UDP datagram from another process to
/// a socket this test bound.
#[tokio::test(flavor = "multi_thread")]
async fn ipv6_connection_and_udp_send() {
    const TOTAL: usize = 10_000;
    let perchd = Perchd::start(&["--sample-interval-ms", "200"]).await;
    let mut client = perchd.client().await.expect("connect");
    let (server, port) = listener("6", "::1", TOTAL);
    let l = listed_listener(&mut client, port, server.pid()).await;
    assert_eq!(
        (l.family(), l.local_ip.as_str()),
        (pb::AddressFamily::Ipv6, "::1")
    );
    let mut sender = Py::spawn(CLIENT, &["::1", &port.to_string(), &TOTAL.to_string()]);
    assert_eq!(sender.line(), "sent");
    let (out, inb) = listed_pair(
        &mut client,
        port,
        (sender.pid(), server.pid()),
        TOTAL as u64,
    )
    .await;
    assert_eq!(out.family(), pb::AddressFamily::Ipv6, "{out:?}");
    assert_eq!(
        (out.local_ip.as_str(), out.remote_ip.as_str()),
        ("::1", "::1")
    );
    assert_eq!(inb.direction(), ConnectionDirection::Inbound, "{inb:?}");

    let target = std::net::UdpSocket::bind("127.0.0.1:0").expect("udp bind");
    let udp_port = u32::from(target.local_addr().expect("addr").port());
    listed_listener(&mut client, udp_port, std::process::id()).await;
    let mut udp = Py::spawn(UDP_SENDER, &["127.0.0.1", &udp_port.to_string()]);
    assert_eq!(udp.line(), "sent");
    let mut buf = [0u8; 16];
    let (n, _) = target.recv_from(&mut buf).expect("recv");
    assert_eq!(&buf[..n], b"hello");
    let mut last = Vec::new();
    let found = eventually(WAIT, async || {
        let (conns, _) = snapshot(&mut client).await;
        let c = conns
            .iter()
            .find(|c| c.proto() == NetProtocol::Udp && c.remote_port == udp_port)
            .cloned();
        last = conns;
        c
    })
    .await;
    let c = found.unwrap_or_else(|| panic!("no UDP flow to {udp_port}: {last:#?}"));
    assert_eq!(owner(c.process), udp.pid(), "{c:?}");
    assert_eq!(c.direction(), ConnectionDirection::Outbound, "{c:?}");
    assert_eq!(owner(c.peer_process), std::process::id(), "{c:?}");
    assert!(
        !c.counters_known,
        "sock_diag has no UDP byte counters: {c:?}"
    );
}

/// Without the kernel programs: `sock_diag` polling and /proc fds find the
/// listener, its connection and their owners.
#[tokio::test(flavor = "multi_thread")]
async fn procfs_mode_sees_listener_and_connection() {
    const TOTAL: usize = 50_000;
    let perchd = Perchd::start(&["--procfs", "--sample-interval-ms", "200"]).await;
    let mut client = perchd.client().await.expect("connect");
    let start = info(&mut client).await;
    assert!(start.network_source.starts_with("procfs"), "{start:?}");
    let (server, port) = listener("4", "127.0.0.1", TOTAL);
    let l = listed_listener(&mut client, port, server.pid()).await;
    assert_eq!(l.source(), NetSource::SockDiag, "{l:?}");
    let mut sender = Py::spawn(
        CLIENT,
        &["127.0.0.1", &port.to_string(), &TOTAL.to_string()],
    );
    assert_eq!(sender.line(), "sent");
    let (out, inb) = listed_pair(
        &mut client,
        port,
        (sender.pid(), server.pid()),
        TOTAL as u64,
    )
    .await;
    assert_eq!(out.direction(), ConnectionDirection::Outbound, "{out:?}");
    assert_eq!(inb.direction(), ConnectionDirection::Inbound, "{inb:?}");
}
