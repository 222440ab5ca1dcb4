//! The accept loops: each connection gets a place in its listener's
//! [`Gate`] or is closed at once, so a flood of connections costs perchd a
//! bounded number of descriptors.  A failed accept (out of descriptors
//! after all) pauses the loop instead of spinning.
use std::{io, time::Duration};

use futures::Stream;
use tokio::net::{TcpListener, UnixListener};

use super::{
    gate::{Gate, Peer},
    peer::PeerStream,
    tcp::TcpConn,
};

/// Pause after a failed accept (for example out of file descriptors), so a
/// persistent error does not spin a core.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

pub(in crate::server) fn accepted_unix(
    listener: UnixListener,
    gate: Gate,
) -> impl Stream<Item = io::Result<PeerStream>> {
    futures::stream::unfold((listener, gate), |(l, gate)| async move {
        loop {
            match l.accept().await {
                Ok((stream, _)) => match PeerStream::new(stream) {
                    Ok(s) => {
                        // Over the limit: dropped here, which closes it.
                        if let Some(slot) = gate.admit(Peer::Uid(s.peer().uid)) {
                            return Some((Ok(s.hold(slot)), (l, gate)));
                        }
                    }
                    // Without credentials there is no telling who it is.
                    Err(e) => tracing::warn!("dropping a connection: no peer credentials: {e}"),
                },
                Err(e) => accept_failed(&e).await,
            }
        }
    })
}

pub(super) fn accepted_tcp(
    listener: TcpListener,
    gate: Gate,
    idle: Duration,
) -> impl Stream<Item = io::Result<TcpConn>> {
    futures::stream::unfold((listener, gate), move |(l, gate)| async move {
        loop {
            match l.accept().await {
                Ok((stream, addr)) => {
                    if let Some(slot) = gate.admit(Peer::Ip(addr.ip())) {
                        // gRPC messages are small and latency matters more
                        // than packet count.
                        let _ = stream.set_nodelay(true);
                        return Some((Ok(TcpConn::new(stream, slot, idle)), (l, gate)));
                    }
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
