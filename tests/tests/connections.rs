//! No one can starve perchd of connections: thousands of idle TCP
//! connections (never sending a `ClientHello`) are held only up to the
//! listener's and the per-peer limits, the rest closed at once, and root's
//! `perch ps` on the Unix socket still answers.  A TLS handshake that never
//! starts, and a TLS connection without a client certificate that makes no
//! call, are closed after their timeouts; a call in flight keeps its
//! connection.
#![expect(
    clippy::expect_used,
    reason = "helpers of end-to-end tests: a broken environment should fail the test loudly"
)]
use std::{
    collections::HashMap,
    net::{IpAddr, Ipv4Addr, SocketAddr},
    path::Path,
    process::Command,
    time::Duration,
};

use perch_e2e::{
    Perchd, binary, have_root_or_skip,
    procs::run_bounded,
    tls::{Pki, free_port},
};
use perch_proto::v1::{WatchEventsRequest, collector_client::CollectorClient};
use tokio::{io::AsyncReadExt as _, net::TcpStream};
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint};

const WAIT: Duration = Duration::from_mins(1);
const SOURCES: u8 = 10;
const EACH: usize = 500;
const TCP_MAX: usize = 2000;
const PER_PEER: usize = 300;

/// perchd listening with TLS on `port`, `[access]` as given, under
/// `prlimit` when `nofile` is set.
async fn perchd(dir: &Path, pki: &Pki, port: u16, access: &str, nofile: Option<u32>) -> Perchd {
    let config = dir.join("perchd.toml");
    std::fs::write(&config, format!("[access]\n{access}")).expect("config");
    let cmd = match nofile {
        Some(n) => {
            let mut c = Command::new("prlimit");
            c.arg(format!("--nofile={n}:{n}")).arg(binary("perchd"));
            c
        }
        None => Command::new(binary("perchd")),
    };
    let listen = format!("127.0.0.1:{port}");
    let s = |p: &Path| p.display().to_string();
    Perchd::start_with(
        cmd,
        &[
            "--config",
            &s(&config),
            "--listen",
            &listen,
            "--tls-cert",
            &s(&pki.cert),
            "--tls-key",
            &s(&pki.key),
        ],
    )
    .await
}

/// Whether perchd has closed this connection (end of file or reset).
fn closed(stream: &TcpStream) -> bool {
    let mut buf = [0u8; 16];
    match stream.try_read(&mut buf) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => e.kind() != std::io::ErrorKind::WouldBlock,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn thousands_of_idle_tcp_connections_leave_the_unix_socket_answering() {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    if !have_root_or_skip("thousands_of_idle_tcp_connections_leave_the_unix_socket_answering") {
        return;
    }
    // This test holds 5,000 sockets.
    let (_, hard) = getrlimit(Resource::RLIMIT_NOFILE).expect("getrlimit");
    setrlimit(Resource::RLIMIT_NOFILE, hard, hard).expect("setrlimit");

    let dir = tempfile::tempdir().expect("tempdir");
    let pki = Pki::make(&dir.path().join("pki"));
    let port = free_port();
    // Fewer descriptors than connections: without limits perchd runs out.
    let access = format!(
        "max_connections_tcp = {TCP_MAX}\nmax_connections_per_peer = {PER_PEER}\n\
         tls_handshake_timeout_ms = 600000\nidle_timeout_secs = 86400\n"
    );
    let perchd = perchd(dir.path(), &pki, port, &access, Some(4096)).await;
    let server = SocketAddr::from(([127, 0, 0, 1], port));

    // 127.0.0.1 .. 127.0.0.10 are ten peers as far as perchd can tell.
    let mut conns: Vec<(IpAddr, TcpStream)> = Vec::new();
    for i in 1..=SOURCES {
        let ip = IpAddr::V4(Ipv4Addr::new(127, 0, 0, i));
        for _ in 0..EACH {
            let sock = tokio::net::TcpSocket::new_v4().expect("socket");
            sock.bind(SocketAddr::new(ip, 0)).expect("bind source");
            let stream = tokio::time::timeout(WAIT, sock.connect(server))
                .await
                .expect("connect timed out")
                .expect("connect");
            conns.push((ip, stream));
        }
    }

    // perchd closes every connection over a limit as it accepts it.
    let total = usize::from(SOURCES) * EACH;
    let mut open = total;
    for _ in 0..600 {
        open = conns.iter().filter(|(_, s)| !closed(s)).count();
        if open <= TCP_MAX {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Let any straggler over the limit be closed too, then count.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut per_ip: HashMap<IpAddr, usize> = HashMap::new();
    for (ip, s) in &conns {
        if !closed(s) {
            *per_ip.entry(*ip).or_insert(0) += 1;
        }
    }
    let accepted: usize = per_ip.values().sum();
    assert_eq!(
        accepted, TCP_MAX,
        "held at once (open after the wait: {open})"
    );
    assert_eq!(total - accepted, total - TCP_MAX, "refused");
    assert!(per_ip.values().all(|&n| n <= PER_PEER), "{per_ip:?}");
    let first = IpAddr::V4(Ipv4Addr::LOCALHOST);
    assert_eq!(per_ip.get(&first), Some(&PER_PEER), "{per_ip:?}");

    // Root's `perch ps` on the Unix socket still answers.
    let socket = perchd.socket.display().to_string();
    let ps = tokio::task::block_in_place(|| {
        run_bounded(
            Command::new(binary("perch")).args(["ps", "--socket", &socket]),
            WAIT,
        )
    });
    assert!(ps.status.success(), "{ps:?}");
    assert!(ps.stdout.lines().count() > 3, "{ps:?}");
    drop(conns);
}

#[tokio::test(flavor = "multi_thread")]
async fn silent_and_idle_unauthenticated_tls_connections_are_closed() {
    if !have_root_or_skip("silent_and_idle_unauthenticated_tls_connections_are_closed") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let pki = Pki::make(&dir.path().join("pki"));
    let port = free_port();
    let access = "tls_handshake_timeout_ms = 500\nidle_timeout_secs = 1\n";
    let _perchd = perchd(dir.path(), &pki, port, access, None).await;

    // No ClientHello ever: closed after the handshake timeout.
    let mut silent = TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    let mut buf = [0u8; 64];
    let read = tokio::time::timeout(WAIT, silent.read(&mut buf)).await;
    assert!(
        matches!(read, Ok(Ok(0) | Err(_))),
        "a silent connection was kept: {read:?}"
    );

    // A finished handshake without a client certificate and no call:
    // closed after the idle timeout (s_client then exits on its own).
    let ca = pki.ca.display().to_string();
    let connect = format!("127.0.0.1:{port}");
    let idle = tokio::task::block_in_place(|| {
        run_bounded(
            Command::new("openssl").args([
                "s_client", "-connect", &connect, "-CAfile", &ca, "-alpn", "h2", "-ign_eof",
            ]),
            WAIT,
        )
    });
    assert!(
        idle.stdout.contains("Verify return code: 0 (ok)"),
        "the handshake finished: {idle:?}"
    );

    // A call in flight keeps its connection past the idle timeout.
    let tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(
            std::fs::read(&pki.ca).expect("read CA"),
        ))
        .domain_name("localhost");
    let channel = Endpoint::from_shared(format!("https://127.0.0.1:{port}"))
        .expect("endpoint")
        .tls_config(tls)
        .expect("tls")
        .connect()
        .await
        .expect("connect over TLS");
    let mut stream = CollectorClient::new(channel)
        .watch_events(WatchEventsRequest::default())
        .await
        .expect("watch")
        .into_inner();
    let until = tokio::time::Instant::now() + Duration::from_secs(3);
    while let Ok(msg) = tokio::time::timeout_at(until, stream.message()).await {
        assert!(
            matches!(msg, Ok(Some(_))),
            "the stream was cut while in flight: {msg:?}"
        );
    }
}
