//! A stored process version made into the state's answer without decoding
//! it: its usage as of the instant spliced into the stored bytes.
use perch_proto::v1::{EncodedProcess, Process, ProcessSample};

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

/// The stored version with its usage as of the instant: the stored bytes
/// with the sampled fields (and, alive, the exit) cut out and the sample's
/// appended, so that ten thousand processes are sent without decoding
/// them.  The same as decoding, setting the fields and encoding again
/// (tested).
pub(super) fn spliced(
    f: &Found,
    sample: Option<&ProcessSample>,
) -> Result<EncodedProcess, prost::DecodeError> {
    let Some(s) = sample else {
        let drop: &[u32] = if f.alive { &[EXIT] } else { &[] };
        return EncodedProcess::spliced(f.blob, drop, &Process::default());
    };
    // The sampled fields, with the nice when sampled and the exit when
    // alive: one of four fixed lists, nothing allocated per process.
    let drop: &[u32] = match (f.alive, s.nice.is_some()) {
        (false, false) => &[USAGE, THREADS, STATE, FROZEN],
        (false, true) => &[USAGE, THREADS, STATE, FROZEN, NICE],
        (true, false) => &[USAGE, THREADS, STATE, FROZEN, EXIT],
        (true, true) => &[USAGE, THREADS, STATE, FROZEN, NICE, EXIT],
    };
    let overlay = Process {
        usage: s.usage,
        threads: s.threads,
        state: s.state.clone(),
        frozen: s.frozen,
        nice: s.nice.unwrap_or(0),
        ..Process::default()
    };
    EncodedProcess::spliced(f.blob, drop, &overlay)
}

#[cfg(test)]
#[path = "splice_tests.rs"]
mod tests;
