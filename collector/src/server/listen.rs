//! Where the service listens: a Unix socket (the default, mode 0660, in
//! the group given) and/or TCP, which is only ever served with TLS.
//! Binding is a separate step from serving so that a busy socket or a bad
//! certificate stops perchd before it loads eBPF or reports itself ready.
//!
//! Every listener holds a bounded number of connections ([`gate`]); TLS
//! handshakes and unauthenticated idle TCP connections time out
//! ([`tcp`]); requests are capped in size before they are decoded, and a
//! request that cannot be decoded is answered `INVALID_ARGUMENT` and, for
//! `Act`, audited ([`super::calls`]).
use std::{
    future::Future,
    net::SocketAddr,
    path::{Path, PathBuf},
    pin::pin,
    sync::Arc,
    time::Duration,
};

use futures::TryFutureExt as _;
use perch_proto::v1::{
    FILE_DESCRIPTOR_SET, collector_server::CollectorServer, history_server::HistoryServer,
    policies_server::PoliciesServer,
};
use tokio::{
    net::{TcpListener, UnixListener},
    sync::watch,
};
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};

use super::{CollectorApi, CollectorService, calls::CallLayer};
use crate::config::ConnLimits;

mod accept;
mod authority;
mod error;
pub(super) mod gate;
mod peer;
mod tcp;
mod tls_check;
mod unix;
use accept::accepted_tcp;
pub(super) use accept::accepted_unix;
pub use error::ServeError;
pub use gate::{fit_to_fd_limit, raise_fd_limit};
pub use tcp::{CallGuard, TcpPeer};
pub use unix::default_socket_group;
use unix::{SocketFile, bind_unix};

/// How long a connect to an existing socket may take before we conclude
/// that something is listening there (its backlog is full).
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);
/// How long shutdown waits for open calls to finish.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);
/// HTTP/2 streams one connection may have open.  A stream's unsent data
/// stays in HTTP/2's buffers (up to 400 KiB each) until the client reads
/// it, even after perchd has finished the call, and such a stream still
/// counts as open: this bounds what one stalled connection can hold.  A
/// console uses two or three.
const MAX_STREAMS_PER_CONNECTION: u32 = 16;
/// How often refusals held back by the rate limit are looked at.
const REFUSAL_FLUSH_EVERY: Duration = Duration::from_secs(1);
/// Largest request accepted, checked before decoding.  The largest legal
/// request is a `ListProcesses` naming `MAX_PIDS` (10,000) pids, under
/// 50 KB; an `Act` is a few KB at most.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;

/// Where to serve.  At least one of `socket` and `listen` must be set, and
/// `listen` needs `tls`.
#[derive(Clone, Debug, Default)]
pub struct ServeOptions {
    pub socket: Option<PathBuf>,
    /// The socket file's group (a name or a number); `None` leaves it to
    /// the process's own group.
    pub socket_group: Option<String>,
    pub listen: Option<SocketAddr>,
    pub tls: Option<TlsFiles>,
    pub limits: ConnLimits,
}

/// PEM files for the TCP listener's TLS identity, and optionally the CA
/// whose client certificates identify callers.
#[derive(Clone, Debug)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
    /// When set, clients may present a certificate signed by it (and one
    /// that is not is refused); clients without one are still served.
    pub client_ca: Option<PathBuf>,
}

/// Listeners that are bound but not serving yet.  Dropping it removes the
/// socket file.
#[derive(Debug)]
pub struct Bound {
    unix: Option<(UnixListener, SocketFile)>,
    tcp: Option<(TcpListener, Server)>,
    limits: ConnLimits,
}

/// Binds and then serves until `shutdown` completes; see [`bind`] and
/// [`Bound::serve`].
pub async fn serve<A: CollectorApi>(
    api: Arc<A>,
    opts: ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    bind(opts).await?.serve(api, shutdown).await
}

/// Checks the options, loads the TLS identity and binds the listeners.
pub async fn bind(opts: ServeOptions) -> Result<Bound, ServeError> {
    if opts.socket.is_none() && opts.listen.is_none() {
        return Err(ServeError::NoListener);
    }
    // Everything that can be checked without side effects comes first, so
    // a refused option leaves no socket file behind.
    let tcp_server = match (opts.listen, &opts.tls) {
        (Some(addr), None) => return Err(ServeError::PlainTcp { addr }),
        (Some(_), Some(files)) => Some(tls_server(files, opts.limits.tls_handshake)?),
        (None, _) => None,
    };
    let tcp = match (opts.listen, tcp_server) {
        (Some(addr), Some(server)) => {
            let listener = TcpListener::bind(addr)
                .await
                .map_err(|error| ServeError::Tcp { addr, error })?;
            Some((listener, server))
        }
        _ => None,
    };
    let unix = match &opts.socket {
        Some(path) => Some(bind_unix(path, opts.socket_group.as_deref()).await?),
        None => None,
    };
    Ok(Bound {
        unix,
        tcp,
        limits: opts.limits,
    })
}

impl Bound {
    /// The Unix socket's path, when serving on one.
    #[must_use]
    pub fn socket_path(&self) -> Option<&Path> {
        self.unix.as_ref().map(|(_, f)| f.path.as_path())
    }

    /// The TCP address actually bound (useful with port 0).
    #[must_use]
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.tcp.as_ref().and_then(|(l, _)| l.local_addr().ok())
    }

    /// Serves `perch.v1.Collector`, gRPC health (reporting it `SERVING`)
    /// and reflection until `shutdown` completes; then stops accepting,
    /// ends open event streams, waits briefly for calls in flight, writes
    /// the refusals still held by the rate limit and removes the socket
    /// file.
    #[expect(
        clippy::too_many_lines,
        reason = "the services, both listeners and the shutdown sequence in one place; the History service tipped it over"
    )]
    pub async fn serve<A: CollectorApi>(
        self,
        api: Arc<A>,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServeError> {
        let Bound { unix, tcp, limits } = self;
        let (stop_tx, stop_rx) = watch::channel(false);
        let collector = CollectorService::with_shutdown(Arc::clone(&api), stop_rx.clone());
        // History calls count against the same stream limits.
        let history = HistoryServer::new(super::HistoryService::new(
            Arc::clone(&api),
            Arc::clone(&collector.slots),
        ))
        .max_decoding_message_size(MAX_REQUEST_BYTES);
        let policies = PoliciesServer::new(super::PoliciesService::new(Arc::clone(&api)))
            .max_decoding_message_size(MAX_REQUEST_BYTES);
        let service = CollectorServer::new(collector).max_decoding_message_size(MAX_REQUEST_BYTES);
        let (health_reporter, health) = tonic_health::server::health_reporter();
        let health = health.max_decoding_message_size(MAX_REQUEST_BYTES);
        health_reporter
            .set_serving::<CollectorServer<CollectorService<A>>>()
            .await;
        let reflection = || {
            tonic_reflection::server::Builder::configure()
                .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
                .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        };
        let reflect_v1 = reflection()
            .build_v1()
            .map_err(ServeError::reflection)?
            .max_decoding_message_size(MAX_REQUEST_BYTES);
        let reflect_v1alpha = reflection()
            .build_v1alpha()
            .map_err(ServeError::reflection)?
            .max_decoding_message_size(MAX_REQUEST_BYTES);
        let calls = CallLayer::new(Arc::clone(&api));
        let router = |server: Server| {
            server
                .clone()
                .max_concurrent_streams(MAX_STREAMS_PER_CONNECTION)
                .layer(calls.clone())
                .add_service(service.clone())
                .add_service(history.clone())
                .add_service(policies.clone())
                .add_service(health.clone())
                .add_service(reflect_v1.clone())
                .add_service(reflect_v1alpha.clone())
        };
        let stopped = |mut rx: watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|stop| *stop).await;
        };

        // The socket file lives until serving is over, whatever the outcome.
        let (unix_listener, _socket_file) = unix.unzip();
        let unix_serve = async {
            match unix_listener {
                Some(l) => {
                    let gate = gate::Gate::new("unix", limits.unix, limits.per_peer);
                    router(Server::builder())
                        .serve_with_incoming_shutdown(
                            accepted_unix(l, gate),
                            stopped(stop_rx.clone()),
                        )
                        .await
                }
                None => Ok(()),
            }
        };
        let tcp_serve = async {
            match tcp {
                Some((l, server)) => {
                    let gate = gate::Gate::new("tcp", limits.tcp, limits.per_peer);
                    router(server)
                        .serve_with_incoming_shutdown(
                            accepted_tcp(l, gate, limits.idle),
                            stopped(stop_rx.clone()),
                        )
                        .await
                }
                None => Ok(()),
            }
        };
        let flusher = tokio::spawn(flush_refusals(Arc::clone(&api), stop_rx.clone()));
        let mut servers = pin!(
            futures::future::try_join(unix_serve, tcp_serve).map_err(|e| ServeError::transport(&e))
        );
        let mut shutdown = pin!(shutdown);
        let ended = tokio::select! {
            result = &mut servers => Some(result.map(|((), ())| ())),
            () = &mut shutdown => None,
        };
        let result = if let Some(result) = ended {
            result
        } else {
            stop_tx.send_replace(true);
            if let Ok(result) = tokio::time::timeout(DRAIN_TIMEOUT, servers).await {
                result.map(|((), ())| ())
            } else {
                tracing::warn!("calls still open after {DRAIN_TIMEOUT:?}; stopping anyway");
                Ok(())
            }
        };
        stop_tx.send_replace(true);
        let _ = flusher.await;
        // Held refusals are written, not lost with the process.
        let _ = tokio::task::spawn_blocking(move || {
            if let Some(r) = api.responder() {
                r.flush_refusals(&super::act::Ctx(&*api), true);
            }
        })
        .await;
        result
    }
}

/// Writes the aggregate records of held refusals as they fall due, until
/// `stop` turns true.
async fn flush_refusals<A: CollectorApi>(api: Arc<A>, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(REFUSAL_FLUSH_EVERY);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        let api = Arc::clone(&api);
        // Appends fsync: off the async workers.
        let _ = tokio::task::spawn_blocking(move || {
            if let Some(r) = api.responder() {
                r.flush_refusals(&super::act::Ctx(&*api), false);
            }
        })
        .await;
    }
}

/// Reads and checks the PEM files, naming the file at fault, then builds a
/// TLS server from them whose handshakes time out after `handshake`.
fn tls_server(files: &TlsFiles, handshake: Duration) -> Result<Server, ServeError> {
    use rustls_pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject as _};

    let read = |path: &Path, what: &'static str| {
        std::fs::read(path).map_err(|e| ServeError::tls_file(path, what, e.to_string()))
    };
    let has_certs = |pem: &[u8], path: &Path, what: &'static str| {
        let certs: Result<Vec<_>, _> = CertificateDer::pem_slice_iter(pem).collect();
        match certs {
            Ok(c) if !c.is_empty() => Ok(()),
            Ok(_) => Err(ServeError::tls_file(path, what, "no PEM certificate found")),
            Err(e) => Err(ServeError::tls_file(path, what, e.to_string())),
        }
    };
    let cert = read(&files.cert, "certificate")?;
    let key = read(&files.key, "key")?;
    has_certs(&cert, &files.cert, "certificate")?;
    tls_check::server_certificate(&cert, &files.cert)?;
    if let Err(e) = PrivateKeyDer::from_pem_slice(&key) {
        return Err(ServeError::tls_file(
            &files.key,
            "key",
            format!("no usable PEM private key: {e}"),
        ));
    }
    let mut config = ServerTlsConfig::new()
        .identity(Identity::from_pem(cert, key))
        .timeout(handshake);
    if let Some(ca_path) = &files.client_ca {
        let ca = read(ca_path, "client CA")?;
        has_certs(&ca, ca_path, "client CA")?;
        config = config
            .client_ca_root(Certificate::from_pem(ca))
            .client_auth_optional(true);
    }
    Server::builder()
        .tls_config(config)
        .map_err(|e| ServeError::tls_identity(files, &e))
}
