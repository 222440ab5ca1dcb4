//! A recorded conversation with one collector, for tests, benchmarks and bug
//! reports: the `GetInfo` answer, the `ListProcesses` snapshot and some
//! seconds of `WatchEvents`, as the collector sent them.
//!
//! File format: the 8 bytes `PERCHREC`, then frames of one tag byte (see
//! [`Frame`]) followed by a length-delimited protobuf message.  Protobuf keeps
//! the fixture faithful to the wire (new fields survive a re-record) and
//! prost already knows how to read it.
use perch_proto::v1::{GetInfoResponse, ListProcessesResponse, Process, WatchEventsResponse};
use prost::Message as _;

const MAGIC: &[u8; 8] = b"PERCHREC";

/// The tag byte before each message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Frame {
    Info = 1,
    Processes = 2,
    Events = 3,
}

/// Everything one recording holds, in arrival order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Recording {
    pub info: GetInfoResponse,
    pub processes: Vec<Process>,
    pub events: Vec<WatchEventsResponse>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RecordingError {
    #[error("not a perch recording (no PERCHREC header)")]
    NotARecording,
    #[error("unknown frame tag {0} at byte {1}")]
    UnknownFrame(u8, usize),
    #[error("damaged message at byte {at}: {reason}")]
    Damaged { at: usize, reason: String },
}

/// Starts a recording: the header.
#[must_use]
pub fn header() -> Vec<u8> {
    MAGIC.to_vec()
}

/// Appends one message as a frame.
pub fn push_frame(out: &mut Vec<u8>, frame: Frame, msg: &impl prost::Message) {
    out.push(frame as u8);
    // Encoding into a Vec cannot run out of room, the only failure prost has.
    let _ = msg.encode_length_delimited(out);
}

impl Recording {
    /// Encodes the whole recording (the inverse of [`Recording::decode`]).
    #[must_use]
    pub fn encode(&self) -> Vec<u8> {
        let mut out = header();
        push_frame(&mut out, Frame::Info, &self.info);
        push_frame(
            &mut out,
            Frame::Processes,
            &ListProcessesResponse {
                processes: self.processes.clone(),
                snapshot_seq: 0,
                last: true,
            },
        );
        for e in &self.events {
            push_frame(&mut out, Frame::Events, e);
        }
        out
    }

    /// Reads a recording; a damaged file is an error, never a panic.
    pub fn decode(bytes: &[u8]) -> Result<Recording, RecordingError> {
        let mut rest = bytes
            .strip_prefix(MAGIC.as_slice())
            .ok_or(RecordingError::NotARecording)?;
        let mut rec = Recording::default();
        while let Some((&tag, body)) = rest.split_first() {
            let at = bytes.len() - rest.len();
            let damaged = |e: prost::DecodeError| RecordingError::Damaged {
                at,
                reason: e.to_string(),
            };
            let mut cursor = body;
            match tag {
                t if t == Frame::Info as u8 => {
                    rec.info =
                        GetInfoResponse::decode_length_delimited(&mut cursor).map_err(damaged)?;
                }
                t if t == Frame::Processes as u8 => {
                    let chunk = ListProcessesResponse::decode_length_delimited(&mut cursor)
                        .map_err(damaged)?;
                    rec.processes.extend(chunk.processes);
                }
                t if t == Frame::Events as u8 => {
                    rec.events.push(
                        WatchEventsResponse::decode_length_delimited(&mut cursor)
                            .map_err(damaged)?,
                    );
                }
                t => return Err(RecordingError::UnknownFrame(t, at)),
            }
            rest = cursor;
        }
        Ok(rec)
    }
}

#[cfg(test)]
mod tests {
    use perch_proto::v1::{Event, ProcessKey};

    use super::*;

    #[test]
    fn round_trip_and_damage() {
        let rec = Recording {
            info: GetInfoResponse {
                host: "h".to_owned(),
                ..GetInfoResponse::default()
            },
            processes: vec![Process {
                key: Some(ProcessKey {
                    pid: 7,
                    start_time_ns: 1,
                }),
                ..Process::default()
            }],
            events: vec![WatchEventsResponse {
                events: vec![Event {
                    seq: 3,
                    ..Event::default()
                }],
                encoded: Vec::new(),
            }],
        };
        let bytes = rec.encode();
        assert_eq!(Recording::decode(&bytes), Ok(rec));
        assert_eq!(
            Recording::decode(b"nope"),
            Err(RecordingError::NotARecording)
        );
        for cut in MAGIC.len() + 1..bytes.len() {
            // Any truncation is an error or a shorter recording, not a panic.
            let _ = Recording::decode(&bytes[..cut]);
        }
        let mut bad = bytes.clone();
        bad[MAGIC.len()] = 9;
        assert!(matches!(
            Recording::decode(&bad),
            Err(RecordingError::UnknownFrame(9, 8))
        ));
    }
}
