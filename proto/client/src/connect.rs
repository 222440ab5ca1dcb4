//! Connecting to a collector: its Unix socket (the default) or, for a
//! remote host, TCP with TLS (optionally presenting a client certificate,
//! which perchd maps to a role).  Every connect is bounded in time: a
//! collector that accepts but never answers is reported, not waited for.
//! Failures become one sentence the user can act on, never a transport
//! error stack.
use std::{
    io,
    path::{Path, PathBuf},
    time::Duration,
};

use hyper_util::rt::TokioIo;
pub use perch_proto::DEFAULT_SOCKET;
use perch_proto::{
    limits,
    v1::{
        collector_client::CollectorClient, history_client::HistoryClient,
        policies_client::PoliciesClient,
    },
};
use tokio::net::UnixStream;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity, Uri};

/// How long a connect (and, for commands, a request's answer) may take
/// unless `--timeout` says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// A client certificate and its key (PEM), presented over TLS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientCert {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Which collector to talk to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// perchd's Unix socket on this host.
    Unix(PathBuf),
    /// A remote perchd over TCP with TLS; `ca` signed its certificate.
    /// With `client`, perch presents that certificate (perchd's roles can
    /// name its CN).
    Tls {
        host: String,
        port: u16,
        ca: PathBuf,
        // Boxed: keeps `Target` (and every error that names one) small.
        client: Option<Box<ClientCert>>,
    },
}

impl Default for Target {
    fn default() -> Self {
        Target::Unix(PathBuf::from(DEFAULT_SOCKET))
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Unix(path) => write!(f, "{}", path.display()),
            Target::Tls { host, port, .. } if host.contains(':') => write!(f, "[{host}]:{port}"),
            Target::Tls { host, port, .. } => write!(f, "{host}:{port}"),
        }
    }
}

impl Target {
    /// What to try when nothing answers at this target.
    fn hint(&self) -> &'static str {
        match self {
            Target::Unix(_) => "start perchd or pass --socket PATH",
            Target::Tls { .. } => "check the address and that perchd listens there (--listen)",
        }
    }

    /// A `--connect` value: a Unix socket path (`/…`, `./…` or `unix:…`),
    /// else `HOST:PORT` over TLS, which needs the CA file `tls_ca` (and
    /// presents `client`, if given).
    pub fn parse(
        addr: &str,
        tls_ca: Option<&Path>,
        client: Option<ClientCert>,
    ) -> Result<Target, ConnectError> {
        let addr = addr.trim();
        if let Some(path) = addr.strip_prefix("unix:") {
            return Ok(Target::Unix(path.into()));
        }
        if addr.starts_with('/') || addr.starts_with('.') {
            return Ok(Target::Unix(addr.into()));
        }
        let ca = tls_ca.ok_or_else(|| ConnectError::NeedsCa {
            addr: addr.to_owned(),
        })?;
        Target::tls(addr, ca.to_owned(), client)
    }

    /// Parses `HOST:PORT` (IPv6 hosts in brackets) for a TLS target.
    pub fn tls(
        host_port: &str,
        ca: PathBuf,
        client: Option<ClientCert>,
    ) -> Result<Target, ConnectError> {
        let bad = || ConnectError::BadAddress {
            addr: host_port.to_owned(),
        };
        let (host, port) = host_port.rsplit_once(':').ok_or_else(bad)?;
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        let port = port.parse::<u16>().map_err(|_| bad())?;
        if host.is_empty() || port == 0 {
            return Err(bad());
        }
        Ok(Target::Tls {
            host: host.to_owned(),
            port,
            ca,
            client: client.map(Box::new),
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// Nothing listens at the socket (missing, stale, or refused).
    #[error("no collector at {target} ({reason}); {}", .target.hint())]
    NoCollector { target: Target, reason: String },
    /// Something is there but we may not talk to it, or it is unreachable.
    #[error("cannot connect to the collector at {target} ({reason})")]
    Unreachable { target: Target, reason: String },
    #[error("not a HOST:PORT address: {addr:?}")]
    BadAddress { addr: String },
    #[error("TLS CA file {} ({reason})", .path.display())]
    TlsCa { path: PathBuf, reason: String },
    #[error("TLS client {what} {} ({reason})", .path.display())]
    TlsClient {
        what: &'static str,
        path: PathBuf,
        reason: String,
    },
    #[error(
        "the collector at {target} did not answer within {} s (busy, stuck, or not a \
         collector); --timeout SECS waits longer",
        .after.as_secs()
    )]
    TimedOut { target: Target, after: Duration },
    #[error(
        "--connect {addr}: a TCP collector needs --tls-ca FILE (a Unix socket path starts with / or .)"
    )]
    NeedsCa { addr: String },
    #[error(
        "this command talks to one collector at a time, not {count}; the console watches several"
    )]
    OneTarget { count: usize },
}

/// Connects now (not lazily), so a missing collector is reported at once;
/// within [`DEFAULT_TIMEOUT`].
pub async fn connect(target: &Target) -> Result<CollectorClient<Channel>, ConnectError> {
    connect_within(target, DEFAULT_TIMEOUT).await
}

/// A client on `channel` that accepts every message a collector can send:
/// the contract's `MAX_MESSAGE_BYTES` (16 MiB) instead of gRPC's default
/// 4 MiB.  perchd keeps its messages far smaller; the explicit limit keeps
/// that margin from depending on a library default.
#[must_use]
pub fn client(channel: Channel) -> CollectorClient<Channel> {
    CollectorClient::new(channel).max_decoding_message_size(limits::MAX_MESSAGE_BYTES)
}

/// A `History` client on `channel`, with [`client`]'s message limit.
#[must_use]
pub fn history_client(channel: Channel) -> HistoryClient<Channel> {
    HistoryClient::new(channel).max_decoding_message_size(limits::MAX_MESSAGE_BYTES)
}

/// A `Policies` client on `channel`, with [`client`]'s message limit.
#[must_use]
pub fn policies_client(channel: Channel) -> PoliciesClient<Channel> {
    PoliciesClient::new(channel).max_decoding_message_size(limits::MAX_MESSAGE_BYTES)
}

/// Connects now, giving up after `timeout` (the socket or TCP connect, the
/// TLS and HTTP/2 handshakes) with [`ConnectError::TimedOut`].
pub async fn connect_within(
    target: &Target,
    timeout: Duration,
) -> Result<CollectorClient<Channel>, ConnectError> {
    channel_within(target, timeout).await.map(client)
}

/// The connection [`connect_within`] makes, for clients of the other
/// services on the same endpoint (`History`).
pub async fn channel_within(target: &Target, timeout: Duration) -> Result<Channel, ConnectError> {
    let connecting = async {
        let channel = match target {
            Target::Unix(path) => connect_unix(path, timeout).await,
            Target::Tls {
                host,
                port,
                ca,
                client,
            } => {
                let pem = tokio::fs::read(ca).await.map_err(|e| ConnectError::TlsCa {
                    path: ca.clone(),
                    reason: os_reason(&e),
                })?;
                let identity = match client {
                    Some(c) => Some(crate::tls::client_identity(c).await?),
                    None => None,
                };
                connect_tls(host, *port, pem, identity, timeout).await
            }
        };
        channel.map_err(|e| classify(target, &e))
    };
    tokio::time::timeout(timeout, connecting)
        .await
        .unwrap_or_else(|_| {
            Err(ConnectError::TimedOut {
                target: target.clone(),
                after: timeout,
            })
        })
}

async fn connect_unix(path: &Path, timeout: Duration) -> Result<Channel, tonic::transport::Error> {
    let path = path.to_owned();
    // The URI is required by tonic but unused: every connection goes to the socket.
    Endpoint::from_static("http://perchd.local")
        .connect_timeout(timeout)
        .connect_with_connector(tower::service_fn(move |_: Uri| {
            let path = path.clone();
            async move { Ok::<_, io::Error>(TokioIo::new(UnixStream::connect(path).await?)) }
        }))
        .await
}

async fn connect_tls(
    host: &str,
    port: u16,
    ca_pem: Vec<u8>,
    identity: Option<Identity>,
    timeout: Duration,
) -> Result<Channel, tonic::transport::Error> {
    let mut tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(ca_pem))
        .domain_name(host);
    if let Some(identity) = identity {
        tls = tls.identity(identity);
    }
    let authority = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    Endpoint::from_shared(format!("https://{authority}"))?
        .connect_timeout(timeout)
        .tls_config(tls)?
        .connect()
        .await
}

/// Turns a transport error into the sentence for the user: the OS reason
/// when there is one (tonic nests it a few sources down), else the innermost
/// message.
fn classify(target: &Target, e: &tonic::transport::Error) -> ConnectError {
    let mut innermost: &(dyn std::error::Error + 'static) = e;
    let mut io_err = None;
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if io_err.is_none() {
            io_err = err.downcast_ref::<io::Error>();
        }
        innermost = err;
        cur = err.source();
    }
    let target = target.clone();
    match io_err {
        Some(io)
            if matches!(
                io.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused
            ) =>
        {
            ConnectError::NoCollector {
                target,
                reason: os_reason(io),
            }
        }
        Some(io) => ConnectError::Unreachable {
            target,
            reason: os_reason(io),
        },
        None => ConnectError::Unreachable {
            target,
            reason: crate::tls::explain(&innermost.to_string()),
        },
    }
}

/// "No such file or directory", without Rust's " (os error 2)" suffix.
pub(crate) fn os_reason(e: &io::Error) -> String {
    let text = e.to_string();
    match text.rfind(" (os error ") {
        Some(i) if text.ends_with(')') => text[..i].to_owned(),
        _ => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn missing_socket_is_one_clear_sentence() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("perchd.sock");
        let err = connect(&Target::Unix(path.clone())).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "no collector at {} (No such file or directory); start perchd or pass --socket PATH",
                path.display()
            )
        );
    }

    #[tokio::test]
    async fn stale_socket_is_no_collector_too() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("perchd.sock");
        drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
        let err = connect(&Target::Unix(path)).await.unwrap_err();
        assert!(
            matches!(&err, ConnectError::NoCollector { reason, .. } if reason == "Connection refused"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn tls_target_reports_a_missing_ca_file() {
        let target =
            Target::tls("127.0.0.1:1", PathBuf::from("/nonexistent/ca.pem"), None).unwrap();
        let err = connect(&target).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "TLS CA file /nonexistent/ca.pem (No such file or directory)"
        );
    }

    #[test]
    fn connect_arguments_name_sockets_or_tls_hosts() {
        let ca = Path::new("ca.pem");
        let unix = |p: &str| Target::Unix(PathBuf::from(p));
        assert_eq!(
            Target::parse(" /run/a.sock ", None, None).unwrap(),
            unix("/run/a.sock")
        );
        assert_eq!(
            Target::parse("./a.sock", None, None).unwrap(),
            unix("./a.sock")
        );
        assert_eq!(
            Target::parse("unix:a.sock", None, None).unwrap(),
            unix("a.sock")
        );
        assert_eq!(
            Target::parse("db1:7777", Some(ca), None).unwrap(),
            Target::Tls {
                host: "db1".to_owned(),
                port: 7777,
                ca: ca.to_owned(),
                client: None,
            }
        );
        assert_eq!(
            Target::parse("db1:7777", None, None)
                .unwrap_err()
                .to_string(),
            "--connect db1:7777: a TCP collector needs --tls-ca FILE (a Unix socket path starts \
             with / or .)"
        );
    }

    #[test]
    fn parses_host_port() {
        let ca = PathBuf::from("ca.pem");
        let t = Target::tls("[::1]:7443", ca.clone(), None).unwrap();
        assert_eq!(
            t,
            Target::Tls {
                host: "::1".to_owned(),
                port: 7443,
                ca: ca.clone(),
                client: None,
            }
        );
        assert_eq!(t.to_string(), "[::1]:7443");
        assert_eq!(
            Target::tls("box.example:7443", ca.clone(), None)
                .unwrap()
                .to_string(),
            "box.example:7443"
        );
        for bad in ["box", "box:", ":7443", "box:http", "box:0", "box:70000"] {
            assert!(Target::tls(bad, ca.clone(), None).is_err(), "{bad}");
        }
    }
}
