//! Any `:authority` on the Unix socket.  gRPC C-core clients (Python, Ruby,
//! C++...) send the socket's path, percent-encoded, as the `:authority` of
//! a `unix:` target; h2 parses `:authority` as a URI authority and resets
//! every such stream (`PROTOCOL_ERROR`), so those clients only worked with
//! `grpc.default_authority` set.  On a socket the authority names nothing,
//! so perchd replaces it before h2 reads the request.
//!
//! The client-to-server bytes pass through [`Rewriter`]: the connection
//! preface and every frame other than a request's header block go through
//! as they are; a header block (HEADERS and its CONTINUATIONs) is decoded
//! with an HPACK decoder that follows the client's compression state, its
//! `:authority` becomes `localhost`, and it is re-encoded with literals
//! that are never indexed, so h2's own decoder state stays empty and in
//! step.  Malformed input ends the connection, as h2 would.
use std::io;

use loona_hpack::Decoder;

/// The client connection preface (RFC 9113, 3.4).
const PREFACE_LEN: usize = 24;
const HEADER_LEN: usize = 9;
const HEADERS: u8 = 0x1;
const CONTINUATION: u8 = 0x9;
const END_STREAM: u8 = 0x1;
const END_HEADERS: u8 = 0x4;
const PADDED: u8 = 0x8;
const PRIORITY: u8 = 0x20;
/// Frames perchd accepts: h2's advertised `SETTINGS_MAX_FRAME_SIZE` (16 KiB).
const MAX_FRAME: usize = 16 * 1024;
/// A header block at most this large (gRPC requests carry a few hundred
/// bytes of headers).
const MAX_BLOCK: usize = 64 * 1024;
/// h2's header table size (`SETTINGS_HEADER_TABLE_SIZE`, its default).
const TABLE_SIZE: usize = 4096;
/// What `:authority` becomes.
const AUTHORITY: &[u8] = b"localhost";

/// The client's side of one connection, rewritten.
pub(super) struct Rewriter {
    decoder: Decoder<'static>,
    preface_left: usize,
    input: Vec<u8>,
    output: Vec<u8>,
    /// Bytes of `output` already handed out.
    taken: usize,
    /// A header block waiting for its CONTINUATION frames.
    block: Option<Block>,
}

struct Block {
    stream: u32,
    end_stream: bool,
    fragments: Vec<u8>,
}

fn malformed(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("HTTP/2 from the client: {what}"),
    )
}

impl Rewriter {
    pub fn new() -> Self {
        let mut decoder = Decoder::new();
        decoder.set_max_allowed_table_size(TABLE_SIZE);
        Self {
            decoder,
            preface_left: PREFACE_LEN,
            input: Vec::new(),
            output: Vec::new(),
            taken: 0,
            block: None,
        }
    }

    /// Bytes ready for h2.
    pub fn ready(&self) -> &[u8] {
        &self.output[self.taken..]
    }

    /// `n` bytes of [`ready`](Self::ready) were handed to h2.
    pub fn take(&mut self, n: usize) {
        self.taken += n;
        if self.taken == self.output.len() {
            self.output.clear();
            self.taken = 0;
        }
    }

    /// Bytes read from the client.
    pub fn feed(&mut self, data: &[u8]) -> io::Result<()> {
        self.input.extend_from_slice(data);
        let mut at = 0;
        let result = self.process(&mut at);
        self.input.drain(..at);
        result
    }

    /// Moves every complete unit of `input` (from `at`) to `output`.
    fn process(&mut self, at: &mut usize) -> io::Result<()> {
        loop {
            let rest = &self.input[*at..];
            if self.preface_left > 0 {
                let n = self.preface_left.min(rest.len());
                self.output.extend_from_slice(&rest[..n]);
                self.preface_left -= n;
                *at += n;
                if self.preface_left > 0 {
                    return Ok(());
                }
                continue;
            }
            let Some(head) = rest.get(..HEADER_LEN) else {
                return Ok(());
            };
            let len = usize::from(head[0]) << 16 | usize::from(head[1]) << 8 | usize::from(head[2]);
            let (kind, flags) = (head[3], head[4]);
            let stream = u32::from_be_bytes([head[5], head[6], head[7], head[8]]) & 0x7fff_ffff;
            if len > MAX_FRAME {
                return Err(malformed("a frame larger than 16 KiB"));
            }
            let Some(frame) = rest.get(..HEADER_LEN + len) else {
                return Ok(());
            };
            let payload = &frame[HEADER_LEN..];
            match kind {
                HEADERS => {
                    if self.block.is_some() {
                        return Err(malformed("HEADERS inside a header block"));
                    }
                    let fragment = fragment(payload, flags)?;
                    self.block = Some(Block {
                        stream,
                        end_stream: flags & END_STREAM != 0,
                        fragments: fragment.to_vec(),
                    });
                }
                CONTINUATION => match &mut self.block {
                    Some(b) if b.stream == stream => {
                        if b.fragments.len() + payload.len() > MAX_BLOCK {
                            return Err(malformed("a header block larger than 64 KiB"));
                        }
                        b.fragments.extend_from_slice(payload);
                    }
                    _ => return Err(malformed("CONTINUATION outside a header block")),
                },
                _ if self.block.is_some() => {
                    return Err(malformed("a frame inside a header block"));
                }
                _ => self.output.extend_from_slice(frame),
            }
            *at += HEADER_LEN + len;
            if matches!(kind, HEADERS | CONTINUATION) && flags & END_HEADERS != 0 {
                self.emit()?;
            }
        }
    }

    /// The finished header block, decoded, its authority replaced, and
    /// re-encoded as HEADERS (and CONTINUATION) frames.
    fn emit(&mut self) -> io::Result<()> {
        let Some(block) = self.block.take() else {
            return Ok(());
        };
        let mut encoded = Vec::with_capacity(block.fragments.len() + 64);
        self.decoder
            .decode_with_cb(&block.fragments, |name, value| {
                let value: &[u8] = if name.as_ref() == b":authority" {
                    AUTHORITY
                } else {
                    &value
                };
                never_indexed(&mut encoded, &name, value);
            })
            .map_err(|e| malformed(&format!("header block: {e}")))?;
        let mut chunks = encoded.chunks(MAX_FRAME).peekable();
        let mut first = true;
        // An empty block is still one HEADERS frame.
        let empty: &[u8] = &[];
        while let Some(chunk) = chunks.next().or_else(|| first.then_some(empty)) {
            let last = chunks.peek().is_none();
            let mut flags = if last { END_HEADERS } else { 0 };
            let kind = if first { HEADERS } else { CONTINUATION };
            if first && block.end_stream {
                flags |= END_STREAM;
            }
            let len = u32::try_from(chunk.len()).map_err(|_| malformed("frame length"))?;
            self.output.extend_from_slice(&len.to_be_bytes()[1..]);
            self.output.push(kind);
            self.output.push(flags);
            self.output.extend_from_slice(&block.stream.to_be_bytes());
            self.output.extend_from_slice(chunk);
            first = false;
            if last {
                break;
            }
        }
        Ok(())
    }
}

/// The header block fragment of a HEADERS payload (padding and priority
/// fields removed).
fn fragment(payload: &[u8], flags: u8) -> io::Result<&[u8]> {
    let mut body = payload;
    let mut pad = 0;
    if flags & PADDED != 0 {
        let (&n, rest) = body
            .split_first()
            .ok_or_else(|| malformed("a padded HEADERS frame without its pad length"))?;
        pad = usize::from(n);
        body = rest;
    }
    if flags & PRIORITY != 0 {
        body = body
            .get(5..)
            .ok_or_else(|| malformed("HEADERS with a short priority field"))?;
    }
    let end = body
        .len()
        .checked_sub(pad)
        .ok_or_else(|| malformed("HEADERS padding longer than the frame"))?;
    Ok(&body[..end])
}

/// One header as a "literal header field never indexed" with a literal
/// name and plain (not Huffman) strings (RFC 7541, 6.2.3).
fn never_indexed(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    out.push(0x10);
    string(out, name);
    string(out, value);
}

/// A string literal: its length as a 7-bit-prefix integer, then the bytes.
fn string(out: &mut Vec<u8>, s: &[u8]) {
    let mut n = s.len();
    if n < 0x7f {
        out.push(u8::try_from(n).unwrap_or(0x7f));
    } else {
        out.push(0x7f);
        n -= 0x7f;
        while n >= 0x80 {
            out.push(u8::try_from(n & 0x7f).unwrap_or(0) | 0x80);
            n >>= 7;
        }
        out.push(u8::try_from(n).unwrap_or(0));
    }
    out.extend_from_slice(s);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
        let len = u32::try_from(payload.len()).unwrap().to_be_bytes();
        let mut f = vec![len[1], len[2], len[3], kind, flags];
        f.extend_from_slice(&stream.to_be_bytes());
        f.extend_from_slice(payload);
        f
    }

    fn decode(block: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
        Decoder::new().decode(block).unwrap()
    }

    #[test]
    fn authority_is_replaced_and_everything_else_kept() {
        let mut client = loona_hpack::Encoder::new();
        let headers: Vec<(&[u8], &[u8])> = vec![
            (b":method", b"POST"),
            (b":scheme", b"http"),
            (b":authority", b"%2Frun%2Fperch%2Fperchd.sock"),
            (b":path", b"/perch.v1.Collector/GetInfo"),
            (b"te", b"trailers"),
        ];
        let block = client.encode(headers.clone());
        let mut input = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
        input.extend(frame(0x4, 0, 0, &[])); // SETTINGS
        // The block split over HEADERS (padded) and a CONTINUATION.
        let (a, b) = block.split_at(block.len() / 2);
        let mut padded = vec![3];
        padded.extend_from_slice(a);
        padded.extend_from_slice(&[0, 0, 0]);
        input.extend(frame(HEADERS, PADDED | END_STREAM, 1, &padded));
        input.extend(frame(CONTINUATION, END_HEADERS, 1, b));
        input.extend(frame(0x0, END_STREAM, 1, b"\0\0\0\0\0")); // DATA

        let mut r = Rewriter::new();
        // Byte by byte: nothing depends on how reads are cut.
        for byte in &input {
            r.feed(std::slice::from_ref(byte)).unwrap();
        }
        let out = r.ready().to_vec();
        assert_eq!(
            &out[..24 + 9],
            &input[..24 + 9],
            "preface and SETTINGS as they were"
        );
        let rest = &out[24 + 9..];
        let len = usize::from(rest[1]) << 8 | usize::from(rest[2]);
        assert_eq!((rest[3], rest[4]), (HEADERS, END_HEADERS | END_STREAM));
        let got = decode(&rest[9..9 + len]);
        let want: Vec<(Vec<u8>, Vec<u8>)> = headers
            .iter()
            .map(|(n, v)| {
                let v: &[u8] = if *n == b":authority" { b"localhost" } else { v };
                (n.to_vec(), v.to_vec())
            })
            .collect();
        assert_eq!(got, want);
        assert_eq!(
            &rest[9 + len..],
            &frame(0x0, END_STREAM, 1, b"\0\0\0\0\0")[..]
        );
        r.take(out.len());
        assert!(r.ready().is_empty());

        // The client's dynamic table is followed: a second request that
        // refers to entries of the first decodes the same.
        let block2 = client.encode(headers);
        r.feed(&frame(HEADERS, END_HEADERS, 3, &block2)).unwrap();
        let out = r.ready();
        assert_eq!(decode(&out[9..]), want);
    }

    #[test]
    fn malformed_input_is_an_error_not_a_panic() {
        let preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
        for bad in [
            frame(
                HEADERS,
                END_HEADERS,
                1,
                &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
            ),
            frame(HEADERS, PADDED | END_HEADERS, 1, &[9, 0x82]),
            frame(HEADERS, PRIORITY | END_HEADERS, 1, &[0, 0]),
            frame(CONTINUATION, END_HEADERS, 1, &[0x82]),
            [frame(HEADERS, 0, 1, &[0x82]), frame(0x0, 0, 1, b"x")].concat(),
            vec![0xff, 0xff, 0xff, HEADERS, 0, 0, 0, 0, 1],
        ] {
            let mut r = Rewriter::new();
            r.feed(preface).unwrap();
            assert!(r.feed(&bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn long_strings_use_multi_byte_lengths() {
        let mut out = Vec::new();
        let value = vec![b'a'; 300];
        never_indexed(&mut out, b"x-long", &value);
        assert_eq!(decode(&out), vec![(b"x-long".to_vec(), value)]);
    }
}
