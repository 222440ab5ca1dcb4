//! Recordings: a Spyderbat/Spydertop NDJSON file (or a Perch recording,
//! which uses the same record schemas) opened as a [`TimeSource`], so
//! `perch replay FILE` shows any instant of it as the console shows a
//! collector's past.  [`import`] reads the records, [`map`] turns them
//! into perch.v1 messages, [`top`] undoes `event_top_data`'s compression,
//! [`export`] writes states back as records.
//!
//! What is shown at an instant T (as Spydertop does, shared/notes/
//! spyderbat.md §1.3): objects with `valid_from <= T` that had not ended
//! more than [`EXITED_RETENTION_NS`] before T, each as its newest version
//! at or before T (the oldest when every version is later: a file may
//! hold only an object's last version); flags with `time <= T`; usage and
//! host meters from the newest sample at or before T.
mod entry;
pub mod export;
pub mod fixture;
pub mod import;
pub mod map;
pub mod record;
pub mod schema;
pub mod top;

use std::{collections::HashMap, path::Path};

use futures::future::{BoxFuture, FutureExt as _};
use perch_proto::{
    NS_PER_SEC,
    v1::{Connection, Exit, Flag, ListeningSocket, Process, Trace, TraceStatus},
};

use crate::travel::{SourceError, StateAt, TimeSource};
use entry::{Entry, entries, visible};
use import::Records;
pub use import::{ImportError, ImportReport};
use map::Keys;
use top::Sample;

/// How long an ended process, connection or socket is still shown: one
/// sample interval of Spyderbat's agent, as Spydertop keeps them.
pub const EXITED_RETENTION_NS: u64 = NS_PER_SEC;

/// Unix seconds (as Spyderbat writes them) in Unix ns; 0 for anything
/// that is not a time.
#[must_use]
#[expect(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "checked finite and positive; times before 2554 fit in u64 ns"
)]
pub fn secs_to_ns(secs: f64) -> u64 {
    if secs.is_finite() && secs > 0.0 {
        (secs * 1e9).round() as u64
    } else {
        0
    }
}

/// Unix ns as the seconds Spyderbat writes.
#[must_use]
pub fn ns_to_secs(ns: u64) -> f64 {
    ns as f64 / 1e9
}

/// A recording, indexed by time.
#[derive(Debug)]
pub struct Recording {
    name: String,
    host_name: String,
    boot_ns: u64,
    machine_memory: u64,
    range: (u64, u64),
    samples: Vec<Sample>,
    processes: Vec<Entry<Process>>,
    connections: Vec<Entry<Connection>>,
    listening: Vec<Entry<ListeningSocket>>,
    traces: Vec<Entry<Trace>>,
    /// Sorted by (Unix ns) time.
    flags: Vec<(u64, Flag)>,
    /// Per trace id, its flags' (Unix ns, id), by time.
    trace_flags: HashMap<String, Vec<(u64, String)>>,
    report: ImportReport,
    sessions: u64,
    containers: u64,
}

impl Recording {
    /// Reads and indexes the file at `path`.
    pub fn open(path: &Path) -> Result<Recording, ImportError> {
        let records = import::read_file(path)?;
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        Ok(Recording::new(&format!("replay {name}"), records))
    }

    /// Indexes `records`; `name` is what the header calls the source.
    #[must_use]
    pub fn new(name: &str, mut r: Records) -> Recording {
        let machine = r.machines.iter().max_by(|a, b| a.time.total_cmp(&b.time));
        let boot_ns = machine.map_or(0, |m| secs_to_ns(m.boot_time));
        let host_name = machine.map(|m| m.hostname.clone()).unwrap_or_default();
        let machine_memory = machine.map_or(0, |m| m.machine_memory);
        let keys = Keys::new(boot_ns, &r.processes);
        r.samples.sort_by_key(|s| s.time_ns);
        top::carry_forward(&mut r.samples);
        let processes = entries(
            &r.processes,
            |p| &p.id,
            |p| (p.time, map::start_secs(p), p.valid_to),
            |p| map::process(p, &keys),
            |p| {
                let code = p.exit.and_then(|c| i32::try_from(c).ok());
                (code.filter(|_| p.perch_signal.is_none()), p.perch_signal)
            },
        );
        let connections = entries(
            &r.connections,
            |c| &c.id,
            |c| (c.time, c.valid_from, c.valid_to),
            |c| map::connection(c, &keys),
            |_| (None, None),
        );
        let listening = entries(
            &r.listening,
            |s| &s.id,
            |s| (s.time, s.valid_from, s.valid_to),
            |s| map::listening(s, &keys),
            |_| (None, None),
        );
        let traces = entries(
            &r.traces,
            |t| &t.id,
            |t| (t.time, t.valid_from, None),
            |t| map::trace(t, &keys),
            |_| (None, None),
        );
        let mut flags: Vec<(u64, Flag)> = r
            .flags
            .iter()
            .map(|f| (secs_to_ns(f.time), map::flag(f, &keys)))
            .collect();
        flags.sort_by(|(t, f), (u, g)| (t, &f.id).cmp(&(u, &g.id)));
        let mut trace_flags: HashMap<String, Vec<(u64, String)>> = HashMap::new();
        for f in &r.flags {
            for t in &f.traces {
                trace_flags
                    .entry(t.clone())
                    .or_default()
                    .push((secs_to_ns(f.time), f.id.clone()));
            }
        }
        for v in trace_flags.values_mut() {
            v.sort();
        }
        let range = match (r.samples.first(), r.samples.last()) {
            (Some(a), Some(b)) => (a.time_ns, b.time_ns),
            _ => record_span(&r),
        };
        Recording {
            name: name.to_owned(),
            host_name,
            boot_ns,
            machine_memory,
            range,
            samples: r.samples,
            processes,
            connections,
            listening,
            traces,
            flags,
            trace_flags,
            report: r.report,
            sessions: r.sessions,
            containers: r.containers,
        }
    }

    /// What reading the file found.
    #[must_use]
    pub fn report(&self) -> &ImportReport {
        &self.report
    }

    /// `model_session` and `model_container` records read.
    #[must_use]
    pub fn sessions_and_containers(&self) -> (u64, u64) {
        (self.sessions, self.containers)
    }

    /// When the recorded machine booted (Unix ns; 0 when the file has no
    /// `model_machine`): add it to a process's or flag's time for Unix time.
    #[must_use]
    pub fn boot_time_unix_ns(&self) -> u64 {
        self.boot_ns
    }

    /// The recorded machine, as [`export::write`] takes it.
    #[must_use]
    pub fn machine(&self) -> export::Machine {
        export::Machine {
            host_name: self.host_name.clone(),
            boot_time_unix_ns: self.boot_ns,
            memory_bytes: self.machine_memory,
        }
    }

    /// The instants of the samples, oldest first.
    #[must_use]
    pub fn sample_times(&self) -> Vec<u64> {
        self.samples.iter().map(|s| s.time_ns).collect()
    }

    /// The instants the recording can answer for (first..last sample).
    #[must_use]
    pub fn span(&self) -> (u64, u64) {
        self.range
    }

    /// The state at `at` (Unix ns), or which range the file holds; rows in
    /// a fixed order (processes by pid, connections and sockets by id,
    /// flags by time, traces by id).
    pub fn state(&self, at: u64) -> Result<StateAt, SourceError> {
        let (oldest, newest) = self.range;
        if at < oldest || at > newest {
            return Err(SourceError::OutOfRange {
                oldest_unix_ns: oldest,
                newest_unix_ns: newest,
            });
        }
        let i = self.samples.partition_point(|s| s.time_ns <= at);
        let sample = i.checked_sub(1).and_then(|i| self.samples.get(i));
        let prev = i.checked_sub(2).and_then(|i| self.samples.get(i));
        let memory_total = sample
            .and_then(|s| s.memory)
            .map_or(self.machine_memory, |m| m.total);
        let boot = |ns: u64| ns.saturating_sub(self.boot_ns);
        let mut processes: Vec<Process> = visible(&self.processes, at)
            .filter_map(|e| {
                let mut p = e.at(at)?.clone();
                let key = p.key.unwrap_or_default();
                if let Some(end) = e.ended(at) {
                    p.exit = Some(Exit {
                        time_ns: boot(end),
                        code: e.exit.0,
                        signal: e.exit.1,
                        ..Exit::default()
                    });
                } else if let Some(s) = sample {
                    p.usage = s.usage(prev, key.pid, key.start_time_ns, memory_total);
                    if let Some(u) = s.pid(key.pid, key.start_time_ns) {
                        p.state.clone_from(&u.state);
                        p.nice = u.nice;
                    }
                }
                Some(p)
            })
            .collect();
        processes.sort_by_key(|p| p.key.map(|k| (k.pid, k.start_time_ns)));
        let mut connections: Vec<Connection> = visible(&self.connections, at)
            .filter_map(|e| {
                let mut c = e.at(at)?.clone();
                if let Some(end) = e.ended(at) {
                    c.end_time_ns = boot(end);
                    c.status = "CLOSED".into();
                }
                Some(c)
            })
            .collect();
        connections.sort_by_key(|c| c.id);
        let mut listening: Vec<ListeningSocket> = visible(&self.listening, at)
            .filter_map(|e| {
                let mut l = e.at(at)?.clone();
                l.end_time_ns = e.ended(at).map_or(0, boot);
                Some(l)
            })
            .collect();
        listening.sort_by_key(|l| l.id);
        let n_flags = self.flags.partition_point(|(t, _)| *t <= at);
        let flags = self.flags[..n_flags]
            .iter()
            .map(|(_, f)| f.clone())
            .collect();
        let mut traces: Vec<Trace> = visible(&self.traces, at)
            .filter_map(|e| {
                let mut t = e.at(at)?.clone();
                if t.status != i32::from(TraceStatus::Closed) {
                    t.closed_time_ns = 0;
                }
                t.flag_ids = self.trace_flags.get(&t.id).map_or_else(Vec::new, |f| {
                    f.iter()
                        .take_while(|(time, _)| *time <= at)
                        .map(|(_, id)| id.clone())
                        .collect()
                });
                Some(t)
            })
            .collect();
        traces.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(StateAt {
            at_unix_ns: sample.map_or(at, |s| s.time_ns),
            oldest_unix_ns: oldest,
            newest_unix_ns: newest,
            host_name: self.host_name.clone(),
            boot_time_unix_ns: self.boot_ns,
            processes,
            connections,
            listening,
            flags,
            traces,
            host: sample.map(|s| s.host(prev, self.boot_ns)),
            // Recordings carry neither actions nor policy deviations.
            actions: Vec::new(),
            deviations: Vec::new(),
        })
    }
}

/// First and last record time, for a file without samples.
fn record_span(r: &Records) -> (u64, u64) {
    let times = r
        .processes
        .iter()
        .map(|p| p.time)
        .chain(r.connections.iter().map(|c| c.time))
        .chain(r.listening.iter().map(|s| s.time))
        .chain(r.flags.iter().map(|f| f.time))
        .chain(r.traces.iter().map(|t| t.time))
        .map(secs_to_ns);
    times.fold((u64::MAX, 0), |(lo, hi), t| (lo.min(t), hi.max(t)))
}

impl TimeSource for Recording {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn range(&self) -> BoxFuture<'_, Result<(u64, u64), SourceError>> {
        let r = if self.range.0 <= self.range.1 {
            Ok(self.range)
        } else {
            Err(SourceError::Unavailable(format!(
                "{}: the file holds no records",
                self.name
            )))
        };
        futures::future::ready(r).boxed()
    }

    fn state_at(&self, at_unix_ns: u64) -> BoxFuture<'_, Result<StateAt, SourceError>> {
        futures::future::ready(self.state(at_unix_ns)).boxed()
    }
}

#[cfg(test)]
mod tests;
