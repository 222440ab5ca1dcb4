//! `ListConnections`' response stream: a snapshot of connections and
//! listening sockets cut into messages, connections first.
use perch_proto::v1::{Connection, ListConnectionsResponse, ListeningSocket};
use prost::Message as _;
use tonic::Status;

use crate::hub::MAX_BYTES_PER_MESSAGE;

/// At most `size` entries (connections plus listening sockets) and about
/// [`MAX_BYTES_PER_MESSAGE`] per message; an empty snapshot still yields
/// one (empty, last) message.
pub struct ConnChunks {
    conns: std::vec::IntoIter<Connection>,
    listening: std::vec::IntoIter<ListeningSocket>,
    size: usize,
    snapshot_seq: u64,
    done: bool,
}

impl ConnChunks {
    pub(super) fn new(
        conns: Vec<Connection>,
        listening: Vec<ListeningSocket>,
        size: usize,
        snapshot_seq: u64,
    ) -> Self {
        Self {
            conns: conns.into_iter(),
            listening: listening.into_iter(),
            size: size.max(1),
            snapshot_seq,
            done: false,
        }
    }
}

impl Iterator for ConnChunks {
    type Item = Result<ListConnectionsResponse, Status>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let mut msg = ListConnectionsResponse {
            snapshot_seq: self.snapshot_seq,
            ..ListConnectionsResponse::default()
        };
        let (mut n, mut bytes) = (0, 0);
        while n < self.size && bytes < MAX_BYTES_PER_MESSAGE {
            if let Some(c) = self.conns.next() {
                bytes += c.encoded_len();
                msg.connections.push(c);
            } else if let Some(l) = self.listening.next() {
                bytes += l.encoded_len();
                msg.listening.push(l);
            } else {
                break;
            }
            n += 1;
        }
        self.done = self.conns.len() == 0 && self.listening.len() == 0;
        msg.last = self.done;
        Some(Ok(msg))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_carry_everything_once_and_end_with_last() {
        let conns = (1..=5)
            .map(|id| Connection {
                id,
                ..Connection::default()
            })
            .collect();
        let listening = (6..=8)
            .map(|id| ListeningSocket {
                id,
                ..ListeningSocket::default()
            })
            .collect();
        let chunks: Vec<_> = ConnChunks::new(conns, listening, 3, 42)
            .map(|c| c.expect("ok"))
            .collect();
        assert_eq!(chunks.len(), 3);
        assert!(chunks.iter().all(|c| c.snapshot_seq == 42));
        assert_eq!(
            chunks.iter().map(|c| c.last).collect::<Vec<_>>(),
            [false, false, true]
        );
        let ids: Vec<u64> = chunks
            .iter()
            .flat_map(|c| {
                c.connections
                    .iter()
                    .map(|x| x.id)
                    .chain(c.listening.iter().map(|x| x.id))
            })
            .collect();
        assert_eq!(ids, [1, 2, 3, 4, 5, 6, 7, 8]);
        let empty: Vec<_> = ConnChunks::new(Vec::new(), Vec::new(), 3, 1).collect();
        assert_eq!(empty.len(), 1);
    }
}
