//! The gRPC codec of every perch.v1 call: prost's, except that a message is
//! decoded from its bytes as one slice.  tonic hands the decoder a
//! `DecodeBuf`, and prost reading through it pays a bounds check and a
//! length update on every field it steps over — about a sixth of decoding
//! a 10,000-process listing or state (BENCHMARKS.md, "seek").  The buffer
//! behind it is one contiguous `BytesMut`, so the slice is taken as is.
use std::marker::PhantomData;

use bytes::Buf as _;
use prost::Message;
use tonic::{
    Status,
    codec::{Codec, DecodeBuf, Decoder},
};
use tonic_prost::ProstEncoder;

/// prost's encoder, and [`SliceDecoder`].
#[derive(Debug, Clone)]
pub struct SliceCodec<T, U>(PhantomData<(T, U)>);

impl<T, U> Default for SliceCodec<T, U> {
    fn default() -> Self {
        Self(PhantomData)
    }
}

impl<T, U> Codec for SliceCodec<T, U>
where
    T: Message + Send + 'static,
    U: Message + Default + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = ProstEncoder<T>;
    type Decoder = SliceDecoder<U>;

    fn encoder(&mut self) -> Self::Encoder {
        ProstEncoder::default()
    }

    fn decoder(&mut self) -> Self::Decoder {
        SliceDecoder(PhantomData)
    }
}

/// Decodes a `U` from the message's bytes as one slice when they are one
/// (always, with tonic's buffer), else through the buffer.
#[derive(Debug, Clone)]
pub struct SliceDecoder<U>(PhantomData<U>);

impl<U: Message + Default> Decoder for SliceDecoder<U> {
    type Item = U;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<U>, Status> {
        let len = buf.remaining();
        let decoded = if buf.chunk().len() == len {
            let m = U::decode(buf.chunk());
            buf.advance(len);
            m
        } else {
            U::decode(buf)
        };
        // As prost's codec: a message that does not parse is INTERNAL
        // (gRPC's status code guide).
        decoded
            .map(Some)
            .map_err(|e| Status::internal(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use bytes::{BufMut as _, Bytes, BytesMut};
    use http_body_util::Full;
    use tonic::{Code, codec::Streaming};

    use super::*;
    use crate::v1::{Process, ProcessKey};

    /// gRPC's framing: uncompressed, a 4-byte big-endian length, the bytes.
    fn framed(messages: &[&[u8]]) -> Full<Bytes> {
        let mut out = BytesMut::new();
        for m in messages {
            out.put_u8(0);
            out.put_u32(u32::try_from(m.len()).unwrap_or(u32::MAX));
            out.put_slice(m);
        }
        Full::new(out.freeze())
    }

    fn read(body: Full<Bytes>) -> Vec<Result<Option<Process>, Status>> {
        let mut s = Streaming::new_request(SliceDecoder(PhantomData), body, None, None);
        let mut out = Vec::new();
        loop {
            let m = futures::executor::block_on(s.message());
            let end = !matches!(m, Ok(Some(_)));
            out.push(m);
            if end {
                return out;
            }
        }
    }

    #[test]
    fn each_message_decodes_as_prost_decodes_it() {
        let a = Process {
            key: Some(ProcessKey {
                pid: 42,
                start_time_ns: 7,
            }),
            argv: vec!["sleep".into(), "60".into()],
            ..Process::default()
        };
        let b = Process {
            comm: "sh".into(),
            ..Process::default()
        };
        let got = read(framed(&[&a.encode_to_vec(), &[], &b.encode_to_vec()]));
        let got: Vec<_> = got.into_iter().map(Result::ok).collect();
        assert_eq!(
            got,
            [
                Some(Some(a)),
                Some(Some(Process::default())),
                Some(Some(b)),
                Some(None)
            ]
        );
    }

    #[test]
    fn a_message_that_does_not_parse_is_internal() {
        // Field 1 (key) says 100 bytes follow; two do.
        let got = read(framed(&[&[0x0a, 100, 1, 2]]));
        let Some(Err(e)) = got.first() else {
            panic!("not an error: {got:?}");
        };
        assert_eq!(e.code(), Code::Internal, "{e}");
    }
}
