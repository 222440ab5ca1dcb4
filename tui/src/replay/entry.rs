//! Objects over time: every version of a process, connection, socket
//! or trace by id, with when it was valid, and which are visible at an
//! instant (the rule in the module above).
use std::collections::HashMap;

use super::{EXITED_RETENTION_NS, secs_to_ns};

/// One object over time: when it was valid and its versions by time.
#[derive(Debug)]
pub struct Entry<T> {
    pub valid_from_ns: u64,
    pub valid_to_ns: Option<u64>,
    /// Sorted by time; never empty.
    pub versions: Vec<(u64, T)>,
    /// Processes: the exit code and signal of the closing version.
    pub exit: (Option<i32>, Option<i32>),
}

impl<T> Entry<T> {
    pub fn visible(&self, at: u64) -> bool {
        self.valid_from_ns <= at
            && self
                .valid_to_ns
                .is_none_or(|to| to.saturating_add(EXITED_RETENTION_NS) >= at)
    }

    /// Ended at or before `at`: when.
    pub fn ended(&self, at: u64) -> Option<u64> {
        self.valid_to_ns.filter(|&to| to <= at)
    }

    pub fn at(&self, at: u64) -> Option<&T> {
        let i = self.versions.partition_point(|(t, _)| *t <= at);
        self.versions.get(i.saturating_sub(1)).map(|(_, v)| v)
    }
}

/// Groups `records` by id into entries sorted by `valid_from`.
pub fn entries<R, T>(
    records: &[R],
    id: impl Fn(&R) -> &str,
    span: impl Fn(&R) -> (f64, f64, Option<f64>),
    convert: impl Fn(&R) -> T,
    exit: impl Fn(&R) -> (Option<i32>, Option<i32>),
) -> Vec<Entry<T>> {
    let mut by_id: HashMap<&str, Entry<T>> = HashMap::new();
    for r in records {
        let (time, from, to) = span(r);
        let (time, from) = (secs_to_ns(time), secs_to_ns(from));
        let to = to.map(secs_to_ns);
        let e = by_id.entry(id(r)).or_insert_with(|| Entry {
            valid_from_ns: from,
            valid_to_ns: None,
            versions: Vec::new(),
            exit: (None, None),
        });
        e.valid_from_ns = e.valid_from_ns.min(from);
        if let Some(to) = to.filter(|&t| t > 0) {
            e.valid_to_ns = Some(e.valid_to_ns.map_or(to, |old| old.max(to)));
            e.exit = exit(r);
        }
        e.versions.push((time, convert(r)));
    }
    let mut out: Vec<Entry<T>> = by_id.into_values().collect();
    for e in &mut out {
        e.versions.sort_by_key(|(t, _)| *t);
    }
    out.sort_by_key(|e| e.valid_from_ns);
    out
}

/// The entries visible at `at` (`entries` sorted by `valid_from`).
pub fn visible<T>(entries: &[Entry<T>], at: u64) -> impl Iterator<Item = &Entry<T>> {
    let n = entries.partition_point(|e| e.valid_from_ns <= at);
    entries[..n].iter().filter(move |e| e.visible(at))
}
