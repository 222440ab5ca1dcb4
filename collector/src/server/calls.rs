//! Around every call, outside tonic's decoding: who is calling over TLS
//! ([`TlsPeer`], for `roles::identify`), the connection's activity (for the
//! idle timeout of unauthenticated connections), and requests that never
//! reach a handler because their body was over [`MAX_REQUEST_BYTES`] or
//! not a valid message.  tonic answers those `OUT_OF_RANGE` or
//! `INTERNAL`; the contract promises `INVALID_ARGUMENT` (and, for `Act`,
//! an audit record), so that is what the client gets.
//!
//! A handler marks the request as [`Reached`]; a request that ends in an
//! error without that mark was refused by tonic itself.
use std::{
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    task::{Context, Poll},
};

use futures::future::BoxFuture;
use tonic::{Code, Status, body::Body, codegen::http, transport::server::TlsConnectInfo};

use super::{
    CollectorApi,
    act::Ctx,
    listen::{CallGuard, MAX_REQUEST_BYTES, TcpPeer},
};
use crate::roles::{TlsPeer, common_name, identify_peer};

/// The service's path prefix, and `Act`'s path.
const SERVICE: &str = "/perch.v1.Collector/";
const ACT: &str = "/perch.v1.Collector/Act";

/// Set by a handler on its request: the request was decoded.
#[derive(Clone, Debug, Default)]
pub struct Reached(Arc<AtomicBool>);

impl Reached {
    /// Marks the request that carries this (if any) as decoded.
    pub fn mark(ext: &tonic::Extensions) {
        if let Some(r) = ext.get::<Reached>() {
            r.0.store(true, Ordering::Relaxed);
        }
    }
}

/// The layer, for `Server::layer`.
pub struct CallLayer<A> {
    api: Arc<A>,
}

// Not derived: that would require `A: Clone`.
impl<A> Clone for CallLayer<A> {
    fn clone(&self) -> Self {
        Self {
            api: Arc::clone(&self.api),
        }
    }
}

impl<A> CallLayer<A> {
    pub fn new(api: Arc<A>) -> Self {
        Self { api }
    }
}

impl<A, S> tower::Layer<S> for CallLayer<A> {
    type Service = Calls<A, S>;

    fn layer(&self, inner: S) -> Calls<A, S> {
        Calls {
            api: Arc::clone(&self.api),
            inner,
        }
    }
}

pub struct Calls<A, S> {
    api: Arc<A>,
    inner: S,
}

impl<A, S: Clone> Clone for Calls<A, S> {
    fn clone(&self) -> Self {
        Self {
            api: Arc::clone(&self.api),
            inner: self.inner.clone(),
        }
    }
}

impl<A, S> tower::Service<http::Request<Body>> for Calls<A, S>
where
    A: CollectorApi,
    S: tower::Service<http::Request<Body>, Response = http::Response<Body>>
        + Clone
        + Send
        + 'static,
    S::Future: Send,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: http::Request<Body>) -> Self::Future {
        let path = req.uri().path().to_owned();
        let reached = Reached::default();
        let mut guard = None;
        if let Some(tls) = req.extensions().get::<TlsConnectInfo<TcpPeer>>() {
            let cert_cn = tls
                .peer_certs()
                .and_then(|certs| certs.first().and_then(|c| common_name(c)));
            let peer = tls.get_ref();
            guard = Some(peer.activity.begin(cert_cn.is_some()));
            let tls_peer = TlsPeer {
                remote: peer.tcp.remote_addr(),
                cert_cn,
            };
            req.extensions_mut().insert(tls_peer);
        }
        req.extensions_mut().insert(reached.clone());
        // Who it was, kept only for the case the request never reaches `act`.
        let who = (path == ACT).then(|| {
            let ext = req.extensions();
            identify_peer(ext.get(), ext.get())
        });
        // The service was polled ready; the clone takes its place.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let api = Arc::clone(&self.api);
        Box::pin(async move {
            let resp = inner.call(req).await?;
            let resp = match guard {
                Some(g) => resp.map(|body| Body::new(Guarded { body, _call: g })),
                None => resp,
            };
            if reached.0.load(Ordering::Relaxed) || !path.starts_with(SERVICE) {
                return Ok(resp);
            }
            let Some(status) = Status::from_header_map(resp.headers()) else {
                return Ok(resp);
            };
            let detail = match status.code() {
                Code::OutOfRange => format!(
                    "request too large: at most {MAX_REQUEST_BYTES} bytes ({})",
                    status.message()
                ),
                Code::Internal => format!(
                    "malformed request: not a valid {} message ({})",
                    method_message(&path),
                    status.message()
                ),
                _ => return Ok(resp),
            };
            let answer = match who {
                Some(who) => {
                    let role = api.roles().role_of(&who);
                    tokio::task::spawn_blocking(move || match api.responder() {
                        Some(r) => r.malformed(&Ctx(&*api), &who, role, &detail),
                        None => Status::invalid_argument(detail),
                    })
                    .await
                    .unwrap_or_else(|e| Status::internal(format!("auditing the request: {e}")))
                }
                None => Status::invalid_argument(detail),
            };
            Ok(answer.into_http())
        })
    }
}

/// "perch.v1.ActRequest" for "/perch.v1.Collector/Act".
fn method_message(path: &str) -> String {
    let method = path.rsplit('/').next().unwrap_or_default();
    format!("perch.v1.{method}Request")
}

/// A response body that keeps its call counted as in flight until the
/// body is done (a stream lives as long as its client reads it).
struct Guarded {
    body: Body,
    _call: CallGuard,
}

impl http_body::Body for Guarded {
    type Data = tonic::codegen::Bytes;
    type Error = Status;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}
