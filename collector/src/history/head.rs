//! The little of an encoded event the writer needs to file it: its time,
//! and for a process event which pid it opens or closes a version of.
//!
//! Read by walking the field keys of `perch.v1.Event` and stepping into
//! the kind's message only as far as the process key, which prost writes
//! first (field 1 of `Process`): an exec's argv, environment and ancestry
//! are never looked at.  Decoding views of the message with prost (as this
//! did before) still walked every field of the `Process`, a quarter of the
//! writer's thread in an exec storm.
use prost::{
    DecodeError,
    encoding::{WireType, check_wire_type},
};

use super::wire;

/// What a process event does to the versions of its pid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Exec, fork (the child) or update: a new version from now.
    Open(u32),
    /// Exit: the open version ends with the exit.
    Exit(u32),
}

/// How the writer files an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Head {
    Process {
        time_ns: u64,
        step: Step,
    },
    /// Never stored (notices, per-thread samples).
    Skip,
    /// Anything else: decoded in full.
    Other,
}

// `perch.v1.Event` field numbers (collector.proto); the test encodes each
// kind with the generated types, so a wrong number fails it.
const TIME_NS: u32 = 2;
const EXEC: u32 = 10;
const FORK: u32 = 11;
const EXIT: u32 = 12;
const UPDATE: u32 = 13;
const NOTICE: u32 = 16;
const THREAD_SAMPLES: u32 = 18;
/// `ProcessExec.process`, `ProcessFork.child` and `ProcessUpdate.process`:
/// field 1 each.
const PROCESS: u32 = 1;

/// Reads the head of an encoded `Event` (without its seq).
pub fn read(body: &[u8]) -> Result<Head, DecodeError> {
    let mut rest = body;
    let mut time_ns = 0;
    // The kind's field number and body; the last one wins, as in a oneof.
    let mut kind = None;
    while !rest.is_empty() {
        let f = wire::next(&mut rest)?;
        match f.tag {
            TIME_NS => time_ns = f.varint()?,
            EXEC | FORK | EXIT | UPDATE | NOTICE | THREAD_SAMPLES => {
                check_wire_type(WireType::LengthDelimited, f.wire_type)?;
                kind = Some((f.tag, f.body));
            }
            _ => {}
        }
    }
    let step = match kind {
        Some((EXEC | FORK | UPDATE, with_process)) => {
            Step::Open(wire::message(with_process, PROCESS)?.map_or(Ok(0), wire::key_pid)?)
        }
        Some((EXIT, exit)) => Step::Exit(wire::key_pid(exit)?),
        Some(_) => return Ok(Head::Skip),
        None => return Ok(Head::Other),
    };
    Ok(Head::Process { time_ns, step })
}

#[cfg(test)]
mod tests {
    use perch_proto::v1::{
        EnvVar, Event, HostSample, Notice, Process, ProcessExec, ProcessExit, ProcessFork,
        ProcessKey, ProcessUpdate, StdioFd, ThreadSamples, event::Kind,
    };
    use prost::Message as _;

    use super::*;

    fn head(kind: Kind) -> Head {
        let e = Event {
            seq: 0,
            time_ns: 77,
            kind: Some(kind),
        };
        read(&e.encode_to_vec()).expect("head")
    }

    fn process(pid: u32) -> Process {
        Process {
            key: Some(ProcessKey {
                pid,
                start_time_ns: 5,
            }),
            argv: vec!["sh".into(), "-c".into(), "x".into()],
            comm: "sh".into(),
            ..Process::default()
        }
    }

    #[test]
    fn reads_the_pid_and_step_of_process_events_and_nothing_else() {
        let at = |step| Head::Process { time_ns: 77, step };
        assert_eq!(
            head(Kind::Exec(ProcessExec {
                process: Some(process(10)),
                old_pid: 3,
            })),
            at(Step::Open(10))
        );
        assert_eq!(
            head(Kind::Fork(ProcessFork {
                child: Some(process(11)),
                parent: Some(ProcessKey {
                    pid: 1,
                    start_time_ns: 1,
                }),
            })),
            at(Step::Open(11))
        );
        assert_eq!(
            head(Kind::Exit(ProcessExit {
                key: Some(ProcessKey {
                    pid: 12,
                    start_time_ns: 5,
                }),
                exit: None,
            })),
            at(Step::Exit(12))
        );
        assert_eq!(
            head(Kind::Update(ProcessUpdate {
                process: Some(process(13)),
            })),
            at(Step::Open(13))
        );
        // A message without its key reads as pid 0, as prost decodes it.
        assert_eq!(
            head(Kind::Update(ProcessUpdate::default())),
            at(Step::Open(0))
        );
        assert_eq!(head(Kind::Notice(Notice::default())), Head::Skip);
        assert_eq!(
            head(Kind::ThreadSamples(ThreadSamples::default())),
            Head::Skip
        );
        assert_eq!(head(Kind::HostSample(HostSample::default())), Head::Other);
    }

    #[test]
    fn finds_the_key_wherever_it_is_and_whatever_follows_it() {
        // Written by hand with the key after the other fields (prost writes
        // it first, but the wire allows any order) and a time after the
        // kind.
        let mut p = process(0);
        p.key = None;
        p.stdio = vec![StdioFd::default(); 3];
        p.env = vec![EnvVar::default()];
        let mut body = p.encode_to_vec();
        prost::encoding::message::encode(
            1,
            &ProcessKey {
                pid: 4242,
                start_time_ns: 9,
            },
            &mut body,
        );
        let mut exec = vec![];
        prost::encoding::bytes::encode(1, &body, &mut exec);
        let mut event = vec![];
        prost::encoding::bytes::encode(10, &exec, &mut event);
        prost::encoding::uint64::encode(2, &55, &mut event);
        // The full decoder agrees with the hand-made bytes.
        let decoded = Event::decode(event.as_slice()).expect("decode");
        let Some(Kind::Exec(e)) = decoded.kind else {
            panic!("not an exec: {decoded:?}")
        };
        assert_eq!(e.process.and_then(|p| p.key).map(|k| k.pid), Some(4242));
        assert_eq!(
            read(&event).expect("head"),
            Head::Process {
                time_ns: 55,
                step: Step::Open(4242)
            }
        );
    }

    #[test]
    fn a_wrong_wire_type_is_an_error() {
        let mut event = vec![];
        prost::encoding::uint64::encode(10, &1, &mut event);
        assert!(read(&event).is_err());
        let mut event = vec![];
        prost::encoding::string::encode(2, &"x".to_owned(), &mut event);
        assert!(read(&event).is_err());
    }

    #[test]
    fn a_truncated_body_is_an_error_not_a_guess() {
        let e = Event {
            seq: 0,
            time_ns: 1,
            kind: Some(Kind::Exec(ProcessExec {
                process: Some(process(10)),
                old_pid: 0,
            })),
        }
        .encode_to_vec();
        assert!(read(&e[..e.len() - 3]).is_err());
    }
}
