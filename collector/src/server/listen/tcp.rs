//! TCP connections as perchd holds them: a place in the listener's
//! [`Gate`](super::gate::Gate), and an idle deadline for callers that have
//! not shown who they are.  A connection whose peer has presented no client
//! certificate and has had no call in flight for the idle timeout is closed
//! (its next read returns end-of-file, and hyper drops it).  The deadline
//! runs from accept, so a peer that never finishes its TLS handshake is
//! covered too (the handshake has its own, usually shorter, timeout).
use std::{
    future::Future as _,
    io,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering},
    },
    task::{Context, Poll},
    time::Duration,
};

use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::TcpStream,
    time::{Instant, Sleep},
};
use tonic::transport::server::{Connected, TcpConnectInfo};

use super::gate::Slot;

/// What the calls on one connection tell the connection about itself.
#[derive(Debug, Default)]
pub struct Activity {
    /// Calls started and not finished (response body still open).
    in_flight: AtomicUsize,
    /// Calls started so far.
    started: AtomicU64,
    /// A call came with a verified client certificate.
    authenticated: AtomicBool,
}

impl Activity {
    /// A call starts; the guard ends it when dropped.
    pub fn begin(self: &Arc<Self>, authenticated: bool) -> CallGuard {
        if authenticated {
            self.authenticated.store(true, Ordering::Relaxed);
        }
        self.started.fetch_add(1, Ordering::Relaxed);
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        CallGuard(Arc::clone(self))
    }
}

/// One call in flight on a connection.
#[derive(Debug)]
pub struct CallGuard(Arc<Activity>);

impl Drop for CallGuard {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// What every request on a TCP connection carries (inside tonic's
/// `TlsConnectInfo`): the peer's address and the connection's activity.
#[derive(Clone, Debug)]
pub struct TcpPeer {
    pub tcp: TcpConnectInfo,
    pub activity: Arc<Activity>,
}

/// An accepted TCP connection.
pub(in crate::server) struct TcpConn {
    inner: TcpStream,
    activity: Arc<Activity>,
    idle: Duration,
    deadline: Pin<Box<Sleep>>,
    /// `Activity::started` when the deadline was set.
    seen: u64,
    _slot: Slot,
}

impl TcpConn {
    pub(super) fn new(inner: TcpStream, slot: Slot, idle: Duration) -> Self {
        Self {
            inner,
            activity: Arc::default(),
            idle,
            deadline: Box::pin(tokio::time::sleep(idle)),
            seen: 0,
            _slot: slot,
        }
    }

    /// Whether the connection has been idle and unauthenticated for the
    /// whole timeout; otherwise makes sure `cx` is woken at the deadline.
    fn idle_out(&mut self, cx: &mut Context<'_>) -> bool {
        loop {
            if self.activity.authenticated.load(Ordering::Relaxed) {
                return false;
            }
            if self.deadline.as_mut().poll(cx).is_pending() {
                return false;
            }
            let started = self.activity.started.load(Ordering::Relaxed);
            let busy = self.activity.in_flight.load(Ordering::Relaxed) > 0;
            if !busy && started == self.seen {
                return true;
            }
            // Something happened in this period: look again one timeout on
            // (so an idle connection goes after one to two timeouts).
            self.seen = started;
            let next = Instant::now() + self.idle;
            self.deadline.as_mut().reset(next);
        }
    }
}

impl Connected for TcpConn {
    type ConnectInfo = TcpPeer;

    fn connect_info(&self) -> TcpPeer {
        TcpPeer {
            tcp: self.inner.connect_info(),
            activity: Arc::clone(&self.activity),
        }
    }
}

impl AsyncRead for TcpConn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let me = self.get_mut();
        if me.idle_out(cx) {
            tracing::debug!(peer = ?me.inner.peer_addr().ok(), "closing an idle unauthenticated connection");
            // End of file: hyper closes the connection.
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut me.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for TcpConn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}
