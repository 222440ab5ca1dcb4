//! `perch.v1.WatchEventsResponse`, written by hand (prost `extern_path`) so
//! that perchd can send an event it encoded once to every subscriber, instead
//! of copying and re-encoding it per client.  On the wire it is exactly the
//! message in `collector.proto` (`repeated Event events = 1`); clients decode
//! it into `events` as usual.
use bytes::{Buf, BufMut, Bytes};
use prost::{
    DecodeError, Message,
    encoding::{
        DecodeContext, WireType, encode_key, encode_varint, encoded_len_varint, key_len, message,
        skip_field, uint64,
    },
};

use crate::v1::Event;

/// An `Event` encoded without its `seq` (field 1), which is written in front
/// of it at send time: the sequence number is assigned under the hub's lock,
/// the encoding is done before taking it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EncodedEvent {
    pub seq: u64,
    pub body: Bytes,
}

impl EncodedEvent {
    /// Encodes `event` (its `seq` is ignored).
    #[must_use]
    pub fn new(event: &Event) -> Self {
        let mut e = event.clone();
        e.seq = 0;
        Self::from_unsequenced(&e)
    }

    /// Encodes an event whose `seq` is already 0, without copying it.
    #[must_use]
    pub fn from_unsequenced(event: &Event) -> Self {
        debug_assert_eq!(event.seq, 0);
        Self {
            seq: 0,
            body: Bytes::from(event.encode_to_vec()),
        }
    }

    fn inner_len(&self) -> usize {
        let seq = if self.seq == 0 {
            0
        } else {
            uint64::encoded_len(1, &self.seq)
        };
        seq + self.body.len()
    }

    /// Length on the wire as field 1 of the response.
    #[must_use]
    pub fn wire_len(&self) -> usize {
        let inner = self.inner_len();
        key_len(1) + encoded_len_varint(inner as u64) + inner
    }

    /// Appends it as one `perch.v1.StoredEvent` (stored at `unix_ns`) in the
    /// form of field 1 of `ListHistoryResponse`: a run of these decodes as
    /// that message.  perchd's history store keeps a batch of events as one
    /// such blob, copied from the encoding the hub already made.
    pub fn encode_stored(&self, unix_ns: u64, buf: &mut impl BufMut) {
        let event = self.inner_len();
        let stored = if unix_ns == 0 {
            0
        } else {
            uint64::encoded_len(1, &unix_ns)
        } + key_len(2)
            + encoded_len_varint(event as u64)
            + event;
        encode_key(1, WireType::LengthDelimited, buf);
        encode_varint(stored as u64, buf);
        if unix_ns != 0 {
            uint64::encode(1, &unix_ns, buf);
        }
        encode_key(2, WireType::LengthDelimited, buf);
        encode_varint(event as u64, buf);
        if self.seq != 0 {
            uint64::encode(1, &self.seq, buf);
        }
        buf.put_slice(&self.body);
    }

    /// Decodes it back (tests and in-process consumers).
    pub fn decode(&self) -> Result<Event, DecodeError> {
        let mut e = Event::decode(self.body.clone())?;
        e.seq = self.seq;
        Ok(e)
    }
}

/// `perch.v1.WatchEventsResponse`.  A message carries either decoded
/// `events` (clients, notices) or pre-encoded ones (perchd's event
/// batches); on the wire both are `repeated Event events = 1`, in order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WatchEventsResponse {
    pub events: Vec<Event>,
    /// Server side only: sent after `events`; never filled by decoding.
    pub encoded: Vec<EncodedEvent>,
}

impl WatchEventsResponse {
    /// All events as decoded messages (decoding `encoded` if needed).
    pub fn into_events(self) -> Result<Vec<Event>, DecodeError> {
        let mut out = self.events;
        for e in &self.encoded {
            out.push(e.decode()?);
        }
        Ok(out)
    }
}

impl Message for WatchEventsResponse {
    fn encode_raw(&self, buf: &mut impl BufMut) {
        message::encode_repeated(1, &self.events, buf);
        for e in &self.encoded {
            encode_key(1, WireType::LengthDelimited, buf);
            encode_varint(e.inner_len() as u64, buf);
            if e.seq != 0 {
                uint64::encode(1, &e.seq, buf);
            }
            buf.put_slice(&e.body);
        }
    }

    fn merge_field(
        &mut self,
        tag: u32,
        wire_type: WireType,
        buf: &mut impl Buf,
        ctx: DecodeContext,
    ) -> Result<(), DecodeError> {
        if tag == 1 {
            message::merge_repeated(wire_type, &mut self.events, buf, ctx).map_err(|mut e| {
                e.push("WatchEventsResponse", "events");
                e
            })
        } else {
            skip_field(wire_type, tag, buf, ctx)
        }
    }

    fn encoded_len(&self) -> usize {
        message::encoded_len_repeated(1, &self.events)
            + self
                .encoded
                .iter()
                .map(EncodedEvent::wire_len)
                .sum::<usize>()
    }

    fn clear(&mut self) {
        self.events.clear();
        self.encoded.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v1::{Notice, ProcessExit, ProcessKey, event::Kind};

    fn exit(pid: u32) -> Event {
        Event {
            seq: 0,
            time_ns: 7,
            kind: Some(Kind::Exit(ProcessExit {
                key: Some(ProcessKey {
                    pid,
                    start_time_ns: 9,
                }),
                exit: None,
            })),
        }
    }

    /// A run of `encode_stored` is a `ListHistoryResponse` of those events.
    #[test]
    fn stored_runs_decode_as_a_history_response() {
        let mut a = exit(1);
        a.seq = 7;
        let b = exit(2);
        let mut buf = Vec::new();
        let mut ea = EncodedEvent::new(&a);
        ea.seq = 7;
        ea.encode_stored(1_000, &mut buf);
        EncodedEvent::new(&b).encode_stored(0, &mut buf);
        let want = crate::v1::ListHistoryResponse {
            events: vec![
                crate::v1::StoredEvent {
                    unix_ns: 1_000,
                    event: Some(a),
                },
                crate::v1::StoredEvent {
                    unix_ns: 0,
                    event: Some(b),
                },
            ],
            ..Default::default()
        };
        assert_eq!(buf, want.encode_to_vec());
        assert_eq!(
            crate::v1::ListHistoryResponse::decode(buf.as_slice()).expect("decode"),
            want
        );
    }

    /// What the server writes from pre-encoded events decodes, byte for
    /// byte, as if it had been encoded from the events themselves.
    #[test]
    fn pre_encoded_events_are_wire_identical() {
        let mut a = exit(1);
        a.seq = 41;
        let mut b = exit(2);
        b.seq = 42;
        let typed = WatchEventsResponse {
            events: vec![a.clone(), b.clone()],
            encoded: vec![],
        };
        let mut ea = EncodedEvent::new(&a);
        ea.seq = 41;
        let mut eb = EncodedEvent::new(&b);
        eb.seq = 42;
        let shared = WatchEventsResponse {
            events: vec![],
            encoded: vec![ea, eb],
        };
        assert_eq!(typed.encode_to_vec(), shared.encode_to_vec());
        assert_eq!(shared.encoded_len(), shared.encode_to_vec().len());
        let decoded =
            WatchEventsResponse::decode(shared.encode_to_vec().as_slice()).expect("decode");
        assert_eq!(decoded.events, vec![a, b]);
        assert_eq!(shared.into_events().expect("decode").len(), 2);
    }

    #[test]
    fn unknown_fields_are_skipped() {
        let notice = Event {
            kind: Some(Kind::Notice(Notice {
                message: "x".into(),
                ..Notice::default()
            })),
            ..Event::default()
        };
        let mut bytes = WatchEventsResponse {
            events: vec![notice],
            encoded: vec![],
        }
        .encode_to_vec();
        uint64::encode(9, &5, &mut bytes);
        let decoded = WatchEventsResponse::decode(bytes.as_slice()).expect("decode");
        assert_eq!(decoded.events.len(), 1);
    }
}
