//! Walking protobuf fields without decoding the message: what the writer
//! needs of an event's head ([`super::head`]) and what a seek needs to
//! splice stored bytes ([`super::splice`]).  prost does the varints and
//! the bounds checks; these only step from field to field.
use std::ops::Range;

use prost::{
    DecodeError,
    encoding::{DecodeContext, WireType, check_wire_type, decode_key, decode_varint, skip_field},
};

/// One field of an encoded message.
pub struct Field<'a> {
    pub tag: u32,
    pub wire_type: WireType,
    /// The value as on the wire after the key (a length-delimited one with
    /// its length in front).
    pub value: &'a [u8],
    /// A length-delimited field's bytes (empty for other wire types).
    pub body: &'a [u8],
}

impl Field<'_> {
    /// The value of a varint field.
    pub fn varint(&self) -> Result<u64, DecodeError> {
        check_wire_type(WireType::Varint, self.wire_type)?;
        decode_varint(&mut &*self.value)
    }
}

/// The next field of `rest`, stepped over.  A length past the end is an
/// error.
pub fn next<'a>(rest: &mut &'a [u8]) -> Result<Field<'a>, DecodeError> {
    let (tag, wire_type) = decode_key(rest)?;
    let at = *rest;
    skip_field(wire_type, tag, rest, DecodeContext::default())?;
    let value = at.get(..at.len() - rest.len()).unwrap_or_default();
    let body = if wire_type == WireType::LengthDelimited {
        let mut b = value;
        decode_varint(&mut b)?;
        b
    } else {
        &[]
    };
    Ok(Field {
        tag,
        wire_type,
        value,
        body,
    })
}

/// Where the body of `f`, just read from `msg` by [`next`] (which left
/// `rest`), lies in `msg`: a length-delimited body ends where its field
/// does.
pub fn body_range(msg: &[u8], rest: &[u8], f: &Field) -> Range<usize> {
    let end = msg.len() - rest.len();
    end - f.body.len()..end
}

/// The first field numbered `tag` in `msg`, when there is one.  (A field
/// repeated on the wire merges or replaces; perchd writes each once, so
/// the first is the one.)
fn first(mut msg: &[u8], tag: u32) -> Result<Option<Field<'_>>, DecodeError> {
    while !msg.is_empty() {
        let f = next(&mut msg)?;
        if f.tag == tag {
            return Ok(Some(f));
        }
    }
    Ok(None)
}

/// The body of the message in field `tag` of `msg`, when there is one.
pub fn message(msg: &[u8], tag: u32) -> Result<Option<&[u8]>, DecodeError> {
    let Some(f) = first(msg, tag)? else {
        return Ok(None);
    };
    check_wire_type(WireType::LengthDelimited, f.wire_type)?;
    Ok(Some(f.body))
}

/// The pid of an encoded `ProcessKey` (field 1; 0 when absent, as prost
/// decodes a missing field).
pub fn pid(key: &[u8]) -> Result<u32, DecodeError> {
    let Some(f) = first(key, 1)? else {
        return Ok(0);
    };
    // Truncated to 32 bits, as prost decodes a uint32.
    #[expect(clippy::cast_possible_truncation, reason = "protobuf uint32 semantics")]
    Ok(f.varint()? as u32)
}

/// The pid in field 1 (a `ProcessKey`) of an encoded message: a
/// `Process`, a `ProcessSample` or a `ProcessExit`.
pub fn key_pid(msg: &[u8]) -> Result<u32, DecodeError> {
    message(msg, 1)?.map_or(Ok(0), pid)
}
