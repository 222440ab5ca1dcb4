//! Where the service listens: a Unix socket (the default, mode 0660) and/or
//! TCP, which is only ever served with TLS.  Binding is a separate step from
//! serving so that a busy socket or a bad certificate stops perchd before it
//! loads eBPF or reports itself ready.
use std::{
    future::Future,
    io,
    net::SocketAddr,
    path::{Path, PathBuf},
    pin::pin,
    sync::Arc,
    time::Duration,
};

use futures::{Stream, TryFutureExt as _};
use perch_proto::v1::{FILE_DESCRIPTOR_SET, collector_server::CollectorServer};
use tokio::{
    net::{TcpListener, UnixListener},
    sync::watch,
};
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};

use super::{CollectorApi, CollectorService};

mod error;
mod peer;
mod unix;
pub use error::ServeError;
use peer::PeerStream;
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
/// Pause after a failed accept (for example out of file descriptors), so a
/// persistent error does not spin a core.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Where to serve.  At least one of `socket` and `listen` must be set, and
/// `listen` needs `tls`.
#[derive(Clone, Debug, Default)]
pub struct ServeOptions {
    pub socket: Option<PathBuf>,
    pub listen: Option<SocketAddr>,
    pub tls: Option<TlsFiles>,
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
        (Some(_), Some(files)) => Some(tls_server(files)?),
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
        Some(path) => Some(bind_unix(path).await?),
        None => None,
    };
    Ok(Bound { unix, tcp })
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
    /// ends open event streams, waits briefly for calls in flight and
    /// removes the socket file.
    pub async fn serve<A: CollectorApi>(
        self,
        api: Arc<A>,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServeError> {
        let Bound { unix, tcp } = self;
        let (stop_tx, stop_rx) = watch::channel(false);
        let service = CollectorServer::new(CollectorService::with_shutdown(api, stop_rx.clone()));
        let (health_reporter, health) = tonic_health::server::health_reporter();
        health_reporter
            .set_serving::<CollectorServer<CollectorService<A>>>()
            .await;
        let reflection = || {
            tonic_reflection::server::Builder::configure()
                .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
                .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        };
        let reflect_v1 = reflection().build_v1().map_err(ServeError::reflection)?;
        let reflect_v1alpha = reflection()
            .build_v1alpha()
            .map_err(ServeError::reflection)?;
        let router = |server: Server| {
            server
                .clone()
                .max_concurrent_streams(MAX_STREAMS_PER_CONNECTION)
                .add_service(service.clone())
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
                    router(Server::builder())
                        .serve_with_incoming_shutdown(accepted_unix(l), stopped(stop_rx.clone()))
                        .await
                }
                None => Ok(()),
            }
        };
        let tcp_serve = async {
            match tcp {
                Some((l, server)) => {
                    router(server)
                        .serve_with_incoming_shutdown(accepted_tcp(l), stopped(stop_rx.clone()))
                        .await
                }
                None => Ok(()),
            }
        };
        let mut servers = pin!(
            futures::future::try_join(unix_serve, tcp_serve).map_err(|e| ServeError::transport(&e))
        );
        let mut shutdown = pin!(shutdown);
        tokio::select! {
            result = &mut servers => return result.map(|((), ())| ()),
            () = &mut shutdown => {}
        }
        stop_tx.send_replace(true);
        if let Ok(result) = tokio::time::timeout(DRAIN_TIMEOUT, servers).await {
            result.map(|((), ())| ())
        } else {
            tracing::warn!("calls still open after {DRAIN_TIMEOUT:?}; stopping anyway");
            Ok(())
        }
    }
}

/// Reads and checks the PEM files, naming the file at fault, then builds a
/// TLS server from them.
fn tls_server(files: &TlsFiles) -> Result<Server, ServeError> {
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
    if let Err(e) = PrivateKeyDer::from_pem_slice(&key) {
        return Err(ServeError::tls_file(
            &files.key,
            "key",
            format!("no usable PEM private key: {e}"),
        ));
    }
    let mut config = ServerTlsConfig::new().identity(Identity::from_pem(cert, key));
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

pub(super) fn accepted_unix(listener: UnixListener) -> impl Stream<Item = io::Result<PeerStream>> {
    futures::stream::unfold(listener, |l| async move {
        loop {
            match l.accept().await {
                Ok((stream, _)) => match PeerStream::new(stream) {
                    Ok(s) => return Some((Ok(s), l)),
                    // Without credentials there is no telling who it is.
                    Err(e) => tracing::warn!("dropping a connection: no peer credentials: {e}"),
                },
                Err(e) => accept_failed(&e).await,
            }
        }
    })
}

fn accepted_tcp(listener: TcpListener) -> impl Stream<Item = io::Result<tokio::net::TcpStream>> {
    futures::stream::unfold(listener, |l| async move {
        loop {
            match l.accept().await {
                Ok((stream, _)) => {
                    // gRPC messages are small and latency matters more than
                    // packet count.
                    let _ = stream.set_nodelay(true);
                    return Some((Ok(stream), l));
                }
                Err(e) => accept_failed(&e).await,
            }
        }
    })
}

async fn accept_failed(e: &io::Error) {
    tracing::warn!("accepting a connection failed: {e}");
    tokio::time::sleep(ACCEPT_BACKOFF).await;
}
