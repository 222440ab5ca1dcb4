//! The little of an encoded event the writer needs to file it: its time,
//! and for a process event which pid it opens or closes a version of.  An
//! exec's `Process` (argv, environment, ancestry) is skipped by length
//! rather than decoded: in an exec storm that decoding was most of the
//! writer's cost, and most versions never need it (they open and close in
//! the same batch, which keeps them as events only).
//!
//! The messages below are views of `perch.v1.Event` with the same field
//! numbers; prost skips every field they leave out.
use perch_proto::v1::ProcessKey;
use prost::Message as _;

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

#[derive(Clone, PartialEq, prost::Message)]
struct EventView {
    #[prost(uint64, tag = "2")]
    time_ns: u64,
    #[prost(oneof = "KindView", tags = "10, 11, 12, 13, 16, 18")]
    kind: Option<KindView>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
enum KindView {
    #[prost(message, tag = "10")]
    Exec(WithProcess),
    #[prost(message, tag = "11")]
    Fork(WithProcess),
    #[prost(message, tag = "12")]
    Exit(WithKey),
    #[prost(message, tag = "13")]
    Update(WithProcess),
    #[prost(message, tag = "16")]
    Notice(Empty),
    #[prost(message, tag = "18")]
    ThreadSamples(Empty),
}

/// `ProcessExec.process`, `ProcessFork.child`, `ProcessUpdate.process`:
/// field 1 each.
#[derive(Clone, PartialEq, prost::Message)]
struct WithProcess {
    #[prost(message, optional, tag = "1")]
    process: Option<WithKey>,
}

/// `Process.key` and `ProcessExit.key`: field 1 each.
#[derive(Clone, PartialEq, prost::Message)]
struct WithKey {
    #[prost(message, optional, tag = "1")]
    key: Option<ProcessKey>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct Empty {}

/// Reads the head of an encoded `Event` (without its seq).
pub fn read(body: &[u8]) -> Result<Head, prost::DecodeError> {
    let view = EventView::decode(body)?;
    let pid = |k: Option<ProcessKey>| k.map_or(0, |k| k.pid);
    let open = |w: WithProcess| Step::Open(pid(w.process.and_then(|p| p.key)));
    let step = match view.kind {
        Some(KindView::Exec(w) | KindView::Fork(w) | KindView::Update(w)) => open(w),
        Some(KindView::Exit(w)) => Step::Exit(pid(w.key)),
        Some(KindView::Notice(_) | KindView::ThreadSamples(_)) => return Ok(Head::Skip),
        None => return Ok(Head::Other),
    };
    Ok(Head::Process {
        time_ns: view.time_ns,
        step,
    })
}

#[cfg(test)]
mod tests {
    use perch_proto::v1::{
        Event, HostSample, Notice, Process, ProcessExec, ProcessExit, ProcessFork, event::Kind,
    };

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
        assert_eq!(head(Kind::Notice(Notice::default())), Head::Skip);
        assert_eq!(head(Kind::HostSample(HostSample::default())), Head::Other);
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
