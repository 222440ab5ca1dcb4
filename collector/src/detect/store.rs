//! The flags held in memory: oldest first, bounded by count and age, found
//! by their number (`flag:<n>`).
use std::collections::VecDeque;

use perch_proto::v1 as pb;

use super::rules::Severity;

#[derive(Debug)]
pub struct FlagRec {
    pub flag: pb::Flag,
    pub severity: Severity,
    /// The trace's number, when the flag joined one.
    pub trace: Option<u64>,
}

#[derive(Debug, Default)]
pub struct FlagStore {
    items: VecDeque<FlagRec>,
    /// Number of `items[0]`.
    first: u64,
    pub evicted: u64,
}

impl FlagStore {
    /// Adds a flag; returns its number.
    pub fn push(&mut self, mut rec: FlagRec) -> u64 {
        let no = self.first + self.items.len() as u64;
        rec.flag.id = format!("flag:{no}");
        self.items.push_back(rec);
        no
    }

    pub fn get_mut(&mut self, no: u64) -> Option<&mut FlagRec> {
        let i = usize::try_from(no.checked_sub(self.first)?).ok()?;
        self.items.get_mut(i)
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Drops the oldest flags beyond `max` and those whose last match is
    /// older than `max_age_ns` at `now_ns`.
    pub fn evict(&mut self, max: usize, max_age_ns: u64, now_ns: u64) {
        while let Some(front) = self.items.front() {
            let old = now_ns.saturating_sub(front.flag.last_time_ns) > max_age_ns;
            if self.items.len() <= max && !old {
                break;
            }
            self.items.pop_front();
            self.first += 1;
            self.evicted += 1;
        }
    }
}

/// Checked `ListFlags` arguments.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlagQuery {
    pub since_ns: u64,
    pub min_severity: Option<Severity>,
    pub limit: usize,
    pub include_excepted: bool,
    pub trace_id: String,
}

impl FlagStore {
    /// Newest first.
    #[must_use]
    pub fn list(&self, q: &FlagQuery) -> pb::ListFlagsResponse {
        let flags = self
            .items
            .iter()
            .rev()
            .filter(|r| r.flag.last_time_ns >= q.since_ns)
            .filter(|r| q.min_severity.is_none_or(|m| r.severity >= m))
            .filter(|r| q.include_excepted || !r.flag.excepted)
            .filter(|r| q.trace_id.is_empty() || r.flag.trace_id == q.trace_id)
            .take(q.limit)
            .map(|r| r.flag.clone())
            .collect();
        pb::ListFlagsResponse {
            flags,
            held: self.items.len() as u64,
            evicted: self.evicted,
        }
    }
}
