//! A stored process version made into the state's answer without decoding
//! it: its usage as of the instant spliced into the stored bytes, taken
//! from the stored samples' bytes as they are (a `ProcessSample`'s fields
//! re-keyed as the `Process` fields they set).
use std::ops::Range;

use foldhash::HashMap;

use bytes::BytesMut;
use perch_proto::v1::EncodedProcess;
use prost::{
    DecodeError,
    encoding::{WireType, encode_key},
};

use super::wire;

/// A process version of a state, as the store holds it.
pub(super) struct Found<'a> {
    /// Alive at the instant: an exit stored with the version came later.
    pub alive: bool,
    /// The encoded `Process`.
    pub blob: &'a [u8],
}

// `Process` field numbers (collector.proto): those a state sets from the
// usage sample (`nice` only when the sample has it), and the exit, which a
// process alive at the instant had not reached.  The splice test sets each
// of them, so a wrong number fails it.
const EXIT: u32 = 25;
const USAGE: u32 = 26;
const THREADS: u32 = 27;
const NICE: u32 = 28;
const STATE: u32 = 40;
const FROZEN: u32 = 41;

/// `ProcessSample`'s fields 2 to 6 (usage, threads, state, frozen, nice)
/// as the `Process` fields they set, in the order prost writes those (by
/// number), so the splice's bytes are the ones decode-set-encode makes.
const SAMPLE_TO_PROCESS: [(u32, u32); 5] =
    [(2, USAGE), (3, THREADS), (6, NICE), (4, STATE), (5, FROZEN)];

/// The usage samples of a state by pid, as stored: each an encoded
/// `ProcessSample` inside one of the blobs read.
#[derive(Default)]
pub(super) struct Samples {
    blobs: Vec<Vec<u8>>,
    by_pid: HashMap<u32, (usize, Range<usize>)>,
}

impl Samples {
    /// Adds the samples of an encoded `ProcessSamples` found at `range` of
    /// `blob`; a pid's later sample replaces its earlier one.
    pub fn add(&mut self, blob: Vec<u8>, range: Range<usize>) -> Result<(), DecodeError> {
        let i = self.blobs.len();
        let base = range.start;
        let samples = blob.get(range).unwrap_or_default();
        let mut rest = samples;
        while !rest.is_empty() {
            let f = wire::next(&mut rest)?;
            // `ProcessSamples.samples`.
            if f.tag != 1 || f.wire_type != WireType::LengthDelimited {
                continue;
            }
            // A sample without a key belongs to no process.
            if let Some(key) = wire::message(f.body, 1)? {
                let at = wire::body_range(samples, rest, &f);
                let pid = wire::pid(key)?;
                self.by_pid.insert(pid, (i, base + at.start..base + at.end));
            }
        }
        self.blobs.push(blob);
        Ok(())
    }

    /// `pid`'s latest sample (an encoded `ProcessSample`).
    pub fn get(&self, pid: u32) -> Option<&[u8]> {
        let (i, r) = self.by_pid.get(&pid)?;
        self.blobs.get(*i)?.get(r.clone())
    }
}

/// The `Process` fields `sample` sets, encoded into `out` (cleared first),
/// and whether it has a nice value.
fn overlay(sample: &[u8], out: &mut Vec<u8>) -> Result<bool, DecodeError> {
    let mut values: [Option<wire::Field>; 5] = Default::default();
    let mut rest = sample;
    while !rest.is_empty() {
        let f = wire::next(&mut rest)?;
        if let Some(i) = SAMPLE_TO_PROCESS.iter().position(|(s, _)| *s == f.tag) {
            values[i] = Some(f);
        }
    }
    out.clear();
    let mut nice = false;
    for ((_, tag), f) in SAMPLE_TO_PROCESS.iter().zip(&values) {
        let Some(f) = f else { continue };
        if *tag == NICE {
            nice = true;
            // `Process.nice` is not optional: a 0 is not written.
            if f.varint()? == 0 {
                continue;
            }
        }
        encode_key(*tag, f.wire_type, out);
        out.extend_from_slice(f.value);
    }
    Ok(nice)
}

/// The stored version with its usage as of the instant: the stored bytes
/// with the sampled fields (and, alive, the exit) cut out and the sample's
/// appended, so that ten thousand processes are sent without decoding
/// them.  The same as decoding, setting the fields and encoding again
/// (tested).  `scratch` is reused from one process to the next, and the
/// bytes are written into `arena`'s blocks (see `spliced_in`).
pub(super) fn spliced(
    f: &Found,
    sample: Option<&[u8]>,
    scratch: &mut Vec<u8>,
    arena: &mut BytesMut,
) -> Result<EncodedProcess, DecodeError> {
    let Some(s) = sample else {
        let drop: &[u32] = if f.alive { &[EXIT] } else { &[] };
        return EncodedProcess::spliced_in(arena, f.blob, drop, &[]);
    };
    let nice = overlay(s, scratch)?;
    // The sampled fields, with the nice when sampled and the exit when
    // alive: one of four fixed lists, nothing allocated per process.
    let drop: &[u32] = match (f.alive, nice) {
        (false, false) => &[USAGE, THREADS, STATE, FROZEN],
        (false, true) => &[USAGE, THREADS, STATE, FROZEN, NICE],
        (true, false) => &[USAGE, THREADS, STATE, FROZEN, EXIT],
        (true, true) => &[USAGE, THREADS, STATE, FROZEN, NICE, EXIT],
    };
    EncodedProcess::spliced_in(arena, f.blob, drop, scratch)
}

#[cfg(test)]
#[path = "splice_tests.rs"]
mod tests;
