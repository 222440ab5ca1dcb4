//! Request validation: every bad field becomes `INVALID_ARGUMENT` with a
//! message naming the field, the allowed range and the value received, so a
//! client author can fix the call from the message alone.
use perch_proto::v1::{
    EventKind, ListConnectionsRequest, ListFlagsRequest, ListProcessesRequest, ListTracesRequest,
    Severity as PbSeverity, WatchEventsRequest,
};

use crate::detect::{FlagQuery, Severity, TraceQuery};
use tonic::Status;

/// Processes per chunk when the request says 0.
pub const DEFAULT_CHUNK_SIZE: usize = 1000;
/// Largest `chunk_size` accepted.
pub const MAX_CHUNK_SIZE: u32 = 10_000;
/// Most pids one `ListProcesses` may name: the filter is matched against
/// every process, so an unbounded list would let one caller burn the
/// collector's CPU.
pub const MAX_PIDS: usize = 10_000;

/// The kinds a client may ask for, as ranges of their numbers ("1..=7, 30").
fn kind_range() -> String {
    let mut values: Vec<i32> = perch_proto::names::every::<EventKind>()
        .filter(|k| *k != EventKind::Unspecified)
        .map(i32::from)
        .collect();
    values.sort_unstable();
    let mut ranges: Vec<(i32, i32)> = Vec::new();
    for v in values {
        match ranges.last_mut() {
            Some((_, end)) if *end + 1 == v => *end = v,
            _ => ranges.push((v, v)),
        }
    }
    ranges
        .iter()
        .map(|&(a, b)| {
            if a == b {
                a.to_string()
            } else {
                format!("{a}..={b}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A checked `ListProcessesRequest`: the pids sorted without duplicates and
/// the chunk size to use.
#[derive(Debug, PartialEq, Eq)]
pub struct ListArgs {
    pub pids: Vec<u32>,
    pub chunk_size: usize,
}

pub fn list(req: &ListProcessesRequest) -> Result<ListArgs, Status> {
    pids_and_chunk(&req.pids, req.chunk_size)
}

/// A checked `ListConnectionsRequest` (same fields, same rules).
pub fn list_connections(req: &ListConnectionsRequest) -> Result<ListArgs, Status> {
    pids_and_chunk(&req.pids, req.chunk_size)
}

fn pids_and_chunk(pids: &[u32], chunk_size: u32) -> Result<ListArgs, Status> {
    let req = ListProcessesRequest {
        include_exited: false,
        pids: pids.to_vec(),
        chunk_size,
    };
    if req.pids.len() > MAX_PIDS {
        return Err(invalid(format!(
            "pids: at most {MAX_PIDS} entries (got {})",
            req.pids.len()
        )));
    }
    if let Some(i) = req.pids.iter().position(|&p| p == 0) {
        return Err(invalid(format!("pids[{i}]: must be > 0 (got 0)")));
    }
    if req.chunk_size > MAX_CHUNK_SIZE {
        return Err(invalid(format!(
            "chunk_size: must be 0..={MAX_CHUNK_SIZE} (got {})",
            req.chunk_size
        )));
    }
    let chunk_size = match req.chunk_size {
        0 => DEFAULT_CHUNK_SIZE,
        n => usize::try_from(n).unwrap_or(DEFAULT_CHUNK_SIZE),
    };
    let mut pids = req.pids.clone();
    pids.sort_unstable();
    pids.dedup();
    Ok(ListArgs { pids, chunk_size })
}

/// A checked `WatchEventsRequest`: where to resume and which kinds to send.
#[derive(Debug, PartialEq, Eq)]
pub struct WatchArgs {
    pub resume_after: Option<u64>,
    pub kinds: Vec<EventKind>,
}

/// `head` is the hub's newest sequence: resuming after a sequence that was
/// never assigned means the client talks to a different (restarted)
/// collector than it thinks.
pub fn watch(req: &WatchEventsRequest, head: u64) -> Result<WatchArgs, Status> {
    let mut kinds = Vec::with_capacity(req.kinds.len());
    for (i, &raw) in req.kinds.iter().enumerate() {
        match EventKind::try_from(raw) {
            Ok(EventKind::Unspecified) => {
                return Err(invalid(format!(
                    "kinds[{i}]: EVENT_KIND_UNSPECIFIED (0) is not a kind to watch \
                     (allowed {})",
                    kind_range()
                )));
            }
            Ok(kind) => kinds.push(kind),
            Err(_) => {
                return Err(invalid(format!(
                    "kinds[{i}]: unknown event kind {raw} (allowed {})",
                    kind_range()
                )));
            }
        }
    }
    if let Some(n) = req.resume_after_seq
        && n > head
    {
        return Err(invalid(format!(
            "resume_after_seq: {n} is ahead of the newest sequence {head}"
        )));
    }
    // Empty means every kind but thread samples, which a client asks for
    // with `threads` (or by naming the kind): reading every thread costs.
    if kinds.is_empty() {
        kinds = perch_proto::names::every::<EventKind>()
            .filter(|k| !matches!(k, EventKind::Unspecified | EventKind::ThreadSamples))
            .collect();
    }
    if req.threads && !kinds.contains(&EventKind::ThreadSamples) {
        kinds.push(EventKind::ThreadSamples);
    }
    Ok(WatchArgs {
        resume_after: req.resume_after_seq,
        kinds,
    })
}

/// Flags or traces per list when the request says 0, and the most allowed.
pub const DEFAULT_LIST_LIMIT: usize = 1000;
pub const MAX_LIST_LIMIT: u32 = 10_000;
/// Highest `min_score` accepted.
pub const MAX_MIN_SCORE: u32 = 10_000;
/// Longest trace id accepted.
const MAX_ID: usize = 64;

fn limit(raw: u32) -> Result<usize, Status> {
    if raw > MAX_LIST_LIMIT {
        return Err(invalid(format!(
            "limit: must be 0..={MAX_LIST_LIMIT} (got {raw})"
        )));
    }
    Ok(match raw {
        0 => DEFAULT_LIST_LIMIT,
        n => usize::try_from(n).unwrap_or(DEFAULT_LIST_LIMIT),
    })
}

fn severity(raw: i32) -> Result<Option<Severity>, Status> {
    Ok(Some(match PbSeverity::try_from(raw) {
        Ok(PbSeverity::Unspecified) => return Ok(None),
        Ok(PbSeverity::Info) => Severity::Info,
        Ok(PbSeverity::Low) => Severity::Low,
        Ok(PbSeverity::Medium) => Severity::Medium,
        Ok(PbSeverity::High) => Severity::High,
        Ok(PbSeverity::Critical) => Severity::Critical,
        Err(_) => {
            return Err(invalid(format!(
                "min_severity: unknown severity {raw} (allowed 0..=5)"
            )));
        }
    }))
}

fn id(field: &str, raw: &str) -> Result<String, Status> {
    if raw.len() > MAX_ID {
        return Err(invalid(format!(
            "{field}: at most {MAX_ID} bytes (got {})",
            raw.len()
        )));
    }
    Ok(raw.to_owned())
}

pub fn flags(req: &ListFlagsRequest) -> Result<FlagQuery, Status> {
    Ok(FlagQuery {
        since_ns: req.since_ns,
        min_severity: severity(req.min_severity)?,
        limit: limit(req.limit)?,
        include_excepted: req.include_excepted,
        trace_id: id("trace_id", &req.trace_id)?,
    })
}

pub fn traces(req: &ListTracesRequest) -> Result<TraceQuery, Status> {
    if req.min_score > MAX_MIN_SCORE {
        return Err(invalid(format!(
            "min_score: must be 0..={MAX_MIN_SCORE} (got {})",
            req.min_score
        )));
    }
    Ok(TraceQuery {
        since_ns: req.since_ns,
        min_severity: severity(req.min_severity)?,
        min_score: req.min_score,
        limit: limit(req.limit)?,
        id: id("id", &req.id)?,
    })
}

fn invalid(msg: String) -> Status {
    Status::invalid_argument(msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list_req(pids: Vec<u32>, chunk_size: u32) -> ListProcessesRequest {
        ListProcessesRequest {
            include_exited: false,
            pids,
            chunk_size,
        }
    }

    fn message(r: Result<impl std::fmt::Debug, Status>) -> String {
        match r {
            Err(s) if s.code() == tonic::Code::InvalidArgument => s.message().to_owned(),
            other => panic!("expected INVALID_ARGUMENT, got {other:?}"),
        }
    }

    #[test]
    fn list_defaults_and_normalises() {
        let args = list(&list_req(vec![7, 3, 7], 0)).unwrap();
        assert_eq!(
            args,
            ListArgs {
                pids: vec![3, 7],
                chunk_size: DEFAULT_CHUNK_SIZE
            }
        );
        assert_eq!(list(&list_req(vec![], 10_000)).unwrap().chunk_size, 10_000);
    }

    #[test]
    fn list_rejects_bad_fields() {
        assert_eq!(
            message(list(&list_req(vec![4, 5, 0], 0))),
            "pids[2]: must be > 0 (got 0)"
        );
        assert_eq!(
            message(list(&list_req(vec![], 20_000))),
            "chunk_size: must be 0..=10000 (got 20000)"
        );
        assert_eq!(
            message(list(&list_req(vec![1; MAX_PIDS + 1], 0))),
            "pids: at most 10000 entries (got 10001)"
        );
    }

    #[test]
    fn detection_lists_name_bad_fields() {
        let f = |min_severity, limit| ListFlagsRequest {
            min_severity,
            limit,
            ..ListFlagsRequest::default()
        };
        assert_eq!(
            message(flags(&f(9, 0))),
            "min_severity: unknown severity 9 (allowed 0..=5)"
        );
        assert_eq!(
            message(flags(&f(0, 10_001))),
            "limit: must be 0..=10000 (got 10001)"
        );
        assert_eq!(flags(&f(4, 0)).unwrap().min_severity, Some(Severity::High));
        let t = |min_score| ListTracesRequest {
            min_score,
            ..ListTracesRequest::default()
        };
        assert_eq!(
            message(traces(&t(20_000))),
            "min_score: must be 0..=10000 (got 20000)"
        );
        assert_eq!(traces(&t(50)).unwrap().limit, DEFAULT_LIST_LIMIT);
        let long = ListTracesRequest {
            id: "x".repeat(65),
            ..ListTracesRequest::default()
        };
        assert_eq!(message(traces(&long)), "id: at most 64 bytes (got 65)");
    }

    #[test]
    fn watch_checks_kinds_and_resume() {
        let req = |kinds: Vec<i32>, resume| WatchEventsRequest {
            resume_after_seq: resume,
            kinds,
            threads: false,
        };
        assert_eq!(
            message(watch(&req(vec![1, 42], None), 0)),
            "kinds[1]: unknown event kind 42 (allowed 1..=8, 19..=23, 30, 60..=62)"
        );
        assert!(
            message(watch(&req(vec![0], None), 0)).starts_with("kinds[0]: EVENT_KIND_UNSPECIFIED")
        );
        assert_eq!(
            message(watch(&req(vec![], Some(900)), 12)),
            "resume_after_seq: 900 is ahead of the newest sequence 12"
        );
        let ok = watch(&req(vec![3, 6], Some(12)), 12).unwrap();
        assert_eq!(
            ok,
            WatchArgs {
                resume_after: Some(12),
                kinds: vec![EventKind::Exit, EventKind::HostSample]
            }
        );
    }
}
