//! Unix socket connections that carry their peer's credentials: read once
//! at accept (`SO_PEERCRED` and `SO_PEERGROUPS`) and attached to every request
//! on the connection, where `roles::identify` finds them; the connection's
//! place among the socket's connections; and its requests' `:authority`
//! made acceptable to h2 whatever the client sent ([`Rewriter`]).
use std::{
    io,
    pin::Pin,
    task::{Context, Poll},
};

use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::UnixStream,
};
use tonic::transport::server::Connected;

use super::{authority::Rewriter, gate::Slot};
use crate::roles::UnixPeer;

pub(in crate::server) struct PeerStream {
    inner: UnixStream,
    peer: UnixPeer,
    /// Given back when the connection is dropped.
    _slot: Option<Slot>,
    rewriter: Rewriter,
}

/// How much is read from the socket at a time.
const READ_CHUNK: usize = 16 * 1024;

impl PeerStream {
    pub(super) fn new(inner: UnixStream) -> io::Result<Self> {
        let peer = UnixPeer::of(&inner)?;
        Ok(Self {
            inner,
            peer,
            _slot: None,
            rewriter: Rewriter::new(),
        })
    }

    pub(super) fn peer(&self) -> &UnixPeer {
        &self.peer
    }

    /// Holds `slot` for as long as the connection lives.
    pub(super) fn hold(self, slot: Slot) -> Self {
        Self {
            _slot: Some(slot),
            ..self
        }
    }
}

impl Connected for PeerStream {
    type ConnectInfo = UnixPeer;

    fn connect_info(&self) -> UnixPeer {
        self.peer.clone()
    }
}

impl AsyncRead for PeerStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let me = self.get_mut();
        loop {
            let ready = me.rewriter.ready();
            if !ready.is_empty() {
                let n = ready.len().min(buf.remaining());
                buf.put_slice(&ready[..n]);
                me.rewriter.take(n);
                return Poll::Ready(Ok(()));
            }
            let mut chunk = [0u8; READ_CHUNK];
            let mut read = ReadBuf::new(&mut chunk);
            match Pin::new(&mut me.inner).poll_read(cx, &mut read) {
                Poll::Ready(Ok(())) if read.filled().is_empty() => return Poll::Ready(Ok(())),
                Poll::Ready(Ok(())) => me.rewriter.feed(read.filled())?,
                other => return other,
            }
        }
    }
}

impl AsyncWrite for PeerStream {
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
