//! `perch.v1.GetStateAtResponse`, written by hand (prost `extern_path`) so
//! that perchd can answer a seek with the process encodings its history
//! store already holds, instead of decoding ten thousand stored `Process`
//! messages only to encode them again.  On the wire it is exactly the
//! message in `history.proto`; clients decode it into `processes` as usual.
//! A test checks the fields here against the compiled `.proto`.
use bytes::{Buf, BufMut, Bytes, BytesMut};
use prost::{
    DecodeError, Message,
    encoding::{
        DecodeContext, WireType, bool as pbool, decode_key, encode_key, encode_varint,
        encoded_len_varint, key_len, message, skip_field, string, uint64,
    },
};

use crate::v1::{
    AuditRecord, Connection, Deviation, Flag, HostSample, ListeningSocket, Process, Trace,
};

/// Field number of `processes` in `GetStateAtResponse`.
const PROCESSES: u32 = 4;

/// A `Process` already encoded: the message's bytes, without a field key or
/// length in front.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EncodedProcess {
    pub body: Bytes,
}

/// The smallest block [`EncodedProcess::spliced_in`] takes from the heap:
/// a hundred processes or so, and below the size glibc would map on its
/// own (perchd maps blocks of 64 KiB and more).
const ARENA_BLOCK: usize = 32 << 10;

impl EncodedProcess {
    #[must_use]
    pub fn new(p: &Process) -> Self {
        Self {
            body: p.encode_to_vec().into(),
        }
    }

    /// `stored` (an encoded `Process`) without its top-level fields whose
    /// numbers are in `drop`, followed by `overlay` (encoded `Process`
    /// fields): it decodes as `stored` with the dropped fields taken from
    /// `overlay` (left at their defaults where `overlay` lacks them).  Only
    /// the field keys and lengths of `stored` are read, nothing is
    /// allocated but the result.
    ///
    /// # Errors
    /// `stored` is not a well-formed message.
    pub fn spliced(stored: &[u8], drop: &[u32], overlay: &[u8]) -> Result<Self, DecodeError> {
        Self::spliced_in(&mut BytesMut::new(), stored, drop, overlay)
    }

    /// As [`EncodedProcess::spliced`], written into `arena` and split off
    /// it: processes spliced one after another share its blocks, one heap
    /// allocation for a hundred of them (freed when the last goes) rather
    /// than one each. A state's 10,000 allocations were a tenth of
    /// perchd's time answering it, and were freed by another thread (the
    /// one sending them).
    ///
    /// # Errors
    /// `stored` is not a well-formed message (`arena` is left as it was).
    pub fn spliced_in(
        arena: &mut BytesMut,
        stored: &[u8],
        drop: &[u32],
        overlay: &[u8],
    ) -> Result<Self, DecodeError> {
        let need = stored.len() + overlay.len();
        if arena.capacity() - arena.len() < need {
            arena.reserve(need.max(ARENA_BLOCK));
        }
        let start = arena.len();
        let mut rest = stored;
        while !rest.is_empty() {
            let field = rest;
            let fields = decode_key(&mut rest).and_then(|(tag, wire_type)| {
                skip_field(wire_type, tag, &mut rest, DecodeContext::default()).map(|()| tag)
            });
            let tag = match fields {
                Ok(tag) => tag,
                Err(e) => {
                    arena.truncate(start);
                    return Err(e);
                }
            };
            if !drop.contains(&tag) {
                arena.extend_from_slice(&field[..field.len() - rest.len()]);
            }
        }
        arena.extend_from_slice(overlay);
        // Everything written goes (anything left before `start` with it,
        // but not in the body): the arena keeps only its spare capacity.
        let written = arena.split_to(arena.len()).freeze();
        Ok(Self {
            body: written.slice(start..),
        })
    }

    /// Decodes it back (tests and in-process consumers).
    ///
    /// # Errors
    /// The bytes are not a `Process`.
    pub fn decode(&self) -> Result<Process, DecodeError> {
        Process::decode(&self.body[..])
    }

    /// Length on the wire as field 4 of the response.
    #[must_use]
    pub fn wire_len(&self) -> usize {
        key_len(PROCESSES) + encoded_len_varint(self.body.len() as u64) + self.body.len()
    }
}

/// `perch.v1.GetStateAtResponse`.  `processes` and `encoded_processes` are
/// both field 4 on the wire, the decoded ones first.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GetStateAtResponse {
    pub at_unix_ns: u64,
    pub oldest_unix_ns: u64,
    pub newest_unix_ns: u64,
    pub processes: Vec<Process>,
    pub connections: Vec<Connection>,
    pub listening: Vec<ListeningSocket>,
    pub flags: Vec<Flag>,
    pub traces: Vec<Trace>,
    pub host: Option<HostSample>,
    pub actions: Vec<AuditRecord>,
    pub host_name: String,
    pub last: bool,
    pub boot_time_unix_ns: u64,
    pub deviations: Vec<Deviation>,
    /// Server side only: sent after `processes`; never filled by decoding.
    pub encoded_processes: Vec<EncodedProcess>,
}

impl Message for GetStateAtResponse {
    fn encode_raw(&self, buf: &mut impl BufMut) {
        let nonzero = |tag, v: &u64, buf: &mut _| {
            if *v != 0 {
                uint64::encode(tag, v, buf);
            }
        };
        nonzero(1, &self.at_unix_ns, buf);
        nonzero(2, &self.oldest_unix_ns, buf);
        nonzero(3, &self.newest_unix_ns, buf);
        message::encode_repeated(PROCESSES, &self.processes, buf);
        for p in &self.encoded_processes {
            encode_key(PROCESSES, WireType::LengthDelimited, buf);
            encode_varint(p.body.len() as u64, buf);
            buf.put_slice(&p.body);
        }
        message::encode_repeated(5, &self.connections, buf);
        message::encode_repeated(6, &self.listening, buf);
        message::encode_repeated(7, &self.flags, buf);
        message::encode_repeated(8, &self.traces, buf);
        if let Some(h) = &self.host {
            message::encode(9, h, buf);
        }
        message::encode_repeated(10, &self.actions, buf);
        if !self.host_name.is_empty() {
            string::encode(11, &self.host_name, buf);
        }
        if self.last {
            pbool::encode(12, &self.last, buf);
        }
        nonzero(13, &self.boot_time_unix_ns, buf);
        message::encode_repeated(14, &self.deviations, buf);
    }

    fn merge_field(
        &mut self,
        tag: u32,
        wire_type: WireType,
        buf: &mut impl Buf,
        ctx: DecodeContext,
    ) -> Result<(), DecodeError> {
        let (field, r) = match tag {
            1 => (
                "at_unix_ns",
                uint64::merge(wire_type, &mut self.at_unix_ns, buf, ctx),
            ),
            2 => (
                "oldest_unix_ns",
                uint64::merge(wire_type, &mut self.oldest_unix_ns, buf, ctx),
            ),
            3 => (
                "newest_unix_ns",
                uint64::merge(wire_type, &mut self.newest_unix_ns, buf, ctx),
            ),
            PROCESSES => (
                "processes",
                message::merge_repeated(wire_type, &mut self.processes, buf, ctx),
            ),
            5 => (
                "connections",
                message::merge_repeated(wire_type, &mut self.connections, buf, ctx),
            ),
            6 => (
                "listening",
                message::merge_repeated(wire_type, &mut self.listening, buf, ctx),
            ),
            7 => (
                "flags",
                message::merge_repeated(wire_type, &mut self.flags, buf, ctx),
            ),
            8 => (
                "traces",
                message::merge_repeated(wire_type, &mut self.traces, buf, ctx),
            ),
            9 => (
                "host",
                message::merge(wire_type, self.host.get_or_insert_default(), buf, ctx),
            ),
            10 => (
                "actions",
                message::merge_repeated(wire_type, &mut self.actions, buf, ctx),
            ),
            11 => (
                "host_name",
                string::merge(wire_type, &mut self.host_name, buf, ctx),
            ),
            12 => ("last", pbool::merge(wire_type, &mut self.last, buf, ctx)),
            13 => (
                "boot_time_unix_ns",
                uint64::merge(wire_type, &mut self.boot_time_unix_ns, buf, ctx),
            ),
            14 => (
                "deviations",
                message::merge_repeated(wire_type, &mut self.deviations, buf, ctx),
            ),
            _ => return skip_field(wire_type, tag, buf, ctx),
        };
        r.map_err(|mut e| {
            e.push("GetStateAtResponse", field);
            e
        })
    }

    fn encoded_len(&self) -> usize {
        let nonzero = |tag, v: &u64| {
            if *v == 0 {
                0
            } else {
                uint64::encoded_len(tag, v)
            }
        };
        nonzero(1, &self.at_unix_ns)
            + nonzero(2, &self.oldest_unix_ns)
            + nonzero(3, &self.newest_unix_ns)
            + message::encoded_len_repeated(PROCESSES, &self.processes)
            + self
                .encoded_processes
                .iter()
                .map(EncodedProcess::wire_len)
                .sum::<usize>()
            + message::encoded_len_repeated(5, &self.connections)
            + message::encoded_len_repeated(6, &self.listening)
            + message::encoded_len_repeated(7, &self.flags)
            + message::encoded_len_repeated(8, &self.traces)
            + self.host.as_ref().map_or(0, |h| message::encoded_len(9, h))
            + message::encoded_len_repeated(10, &self.actions)
            + if self.host_name.is_empty() {
                0
            } else {
                string::encoded_len(11, &self.host_name)
            }
            + if self.last {
                pbool::encoded_len(12, &self.last)
            } else {
                0
            }
            + nonzero(13, &self.boot_time_unix_ns)
            + message::encoded_len_repeated(14, &self.deviations)
    }

    fn clear(&mut self) {
        *self = Self::default();
    }
}

#[cfg(test)]
#[path = "state_tests.rs"]
mod tests;
