//! Writing states as a recording in Spyderbat's own record schemas
//! (`model_machine`, `model_process`, `event_top_data`,
//! `model_connection`, `model_listening_socket`, `event_redflag`,
//! `model_spydertrace`), so one importer reads Spyderbat's files and
//! Perch's, and Spydertop opens Perch's.  Each object gets a new version
//! record whenever what the states show of it changes; `perch_*` keys
//! carry what Spyderbat's schemas have no field for (exact host meters,
//! TCP state, kill signal).  Records are written oldest first.
mod records;

use std::{collections::BTreeMap, io::Write};

use perch_proto::v1::{Connection, Exit, Flag, ListeningSocket, Process, Trace};

use super::{
    EXITED_RETENTION_NS, map, ns_to_secs,
    schema::{CpuTicks, MachineRec},
};
use crate::travel::StateAt;
use records::{conn_rec, flag_rec, proc_rec, sock_rec, top_rec, trace_rec};

const MUID: &str = "mach:perch";
const MS: u64 = 1_000_000;
/// Clock ticks per second of the samples written (Linux's `USER_HZ`).
const CLK_TCK: u64 = 100;

/// The machine the states are of.
#[derive(Clone, Debug, Default)]
pub struct Machine {
    pub host_name: String,
    pub boot_time_unix_ns: u64,
    /// Physical memory (bytes), 0 when not known.
    pub memory_bytes: u64,
}

/// Versions of one object: (first instant shown, what was shown).
type Versions<T> = Vec<(u64, T)>;

/// Appends `value` to `versions` unless it is what the last one says.
fn version<T: PartialEq>(versions: &mut Versions<T>, at: u64, value: T) {
    if versions.last().is_none_or(|(_, v)| *v != value) {
        versions.push((at, value));
    }
}

/// Per object its versions, the index of the last state showing it, and
/// its end (an exit, or the end time of a connection or socket).
struct Seen<T, E> {
    versions: Versions<T>,
    last: usize,
    end: E,
}

impl<T, E: Default> Default for Seen<T, E> {
    fn default() -> Self {
        Seen {
            versions: Vec::new(),
            last: 0,
            end: E::default(),
        }
    }
}

/// Everything the states show, by object.
#[derive(Default)]
struct Objects {
    procs: BTreeMap<(u64, u32), Seen<Process, Option<Exit>>>,
    conns: BTreeMap<u64, Seen<Connection, u64>>,
    socks: BTreeMap<u64, Seen<ListeningSocket, u64>>,
    traces: BTreeMap<String, Versions<Trace>>,
    flags: BTreeMap<String, Flag>,
}

impl Objects {
    /// Adds the objects of state `i`, without what the records say
    /// elsewhere (usage goes in the samples, ends in the last version).
    fn add(&mut self, i: usize, s: &StateAt) {
        let at = s.at_unix_ns;
        for p in &s.processes {
            let key = p.key.unwrap_or_default();
            let seen = self.procs.entry((key.start_time_ns, key.pid)).or_default();
            let mut fixed = p.clone();
            fixed.usage = None;
            fixed.exit = None;
            fixed.state.clear();
            fixed.nice = 0;
            version(&mut seen.versions, at, fixed);
            seen.last = i;
            seen.end = p.exit.or(seen.end);
        }
        for c in &s.connections {
            let mut fixed = c.clone();
            fixed.end_time_ns = 0;
            if fixed.status == "CLOSED" {
                fixed.status = map::open_status(c.proto());
            }
            let seen = self.conns.entry(c.id).or_default();
            version(&mut seen.versions, at, fixed);
            (seen.last, seen.end) = (i, c.end_time_ns);
        }
        for l in &s.listening {
            let mut fixed = l.clone();
            fixed.end_time_ns = 0;
            let seen = self.socks.entry(l.id).or_default();
            version(&mut seen.versions, at, fixed);
            (seen.last, seen.end) = (i, l.end_time_ns);
        }
        for t in &s.traces {
            let mut fixed = t.clone();
            fixed.flag_ids.clear();
            version(self.traces.entry(t.id.clone()).or_default(), at, fixed);
        }
        for f in &s.flags {
            self.flags.entry(f.id.clone()).or_insert_with(|| f.clone());
        }
    }
}

/// Lines to write, with the instant each is of.
type Lines = Vec<(u64, String)>;

fn push(lines: &mut Lines, at: u64, json: serde_json::Result<String>) -> std::io::Result<()> {
    lines.push((at, json.map_err(std::io::Error::other)?));
    Ok(())
}

/// Records for `states` (oldest first), written to `out` one per line;
/// returns how many were written.
pub fn write(out: &mut impl Write, machine: &Machine, states: &[StateAt]) -> std::io::Result<u64> {
    let boot = machine.boot_time_unix_ns;
    let mut lines = Lines::new();
    let first = states.first().map_or(0, |s| s.at_unix_ns);
    let machine_rec = MachineRec {
        schema: "model_machine::1.1.0".into(),
        id: MUID.into(),
        time: ns_to_secs(first),
        muid: MUID.into(),
        valid_from: ns_to_secs(first),
        hostname: states
            .first()
            .map_or(machine.host_name.clone(), |s| s.host_name.clone()),
        boot_time: ns_to_secs(boot),
        machine_cores: 0,
        machine_memory: machine.memory_bytes,
    };
    push(&mut lines, 0, serde_json::to_string(&machine_rec))?;
    let mut objects = Objects::default();
    let mut cpu_ticks: Vec<CpuTicks> = Vec::new();
    let mut prev_at = None;
    for (i, s) in states.iter().enumerate() {
        objects.add(i, s);
        let top = top_rec(s, prev_at, &mut cpu_ticks);
        push(&mut lines, s.at_unix_ns, serde_json::to_string(&top))?;
        prev_at = Some(s.at_unix_ns);
    }
    objects_lines(&mut lines, &objects, states, boot)?;
    lines.sort_by_key(|(at, _)| *at);
    for (_, line) in &lines {
        writeln!(out, "{line}")?;
    }
    Ok(lines.len() as u64)
}

/// The records of processes, connections, sockets, flags and traces.
fn objects_lines(
    lines: &mut Lines,
    o: &Objects,
    states: &[StateAt],
    boot: u64,
) -> std::io::Result<()> {
    let secs = |boot_ns: u64| ns_to_secs(boot_ns.saturating_add(boot));
    // What ended between two states without a state showing its end
    // (samples further apart than the exited retention) ends just early
    // enough to be gone from the next one.  (A millisecond's margin: the
    // times are written as f64 seconds, good to a quarter of a
    // microsecond.)
    let gone = |last: usize| {
        let (seen, next) = (states.get(last)?, states.get(last + 1)?);
        let end = next.at_unix_ns.saturating_sub(EXITED_RETENTION_NS + MS);
        Some(end.max(seen.at_unix_ns + MS).saturating_sub(boot))
    };
    for seen in o.procs.values() {
        let exit = seen.end.or_else(|| {
            gone(seen.last).map(|time_ns| Exit {
                time_ns,
                ..Exit::default()
            })
        });
        let n = seen.versions.len();
        for (i, (at, p)) in seen.versions.iter().enumerate() {
            let exit = exit.filter(|_| i + 1 == n);
            push(
                lines,
                *at,
                serde_json::to_string(&proc_rec(*at, p, exit, &secs)),
            )?;
        }
    }
    for seen in o.conns.values() {
        let end = Some(seen.end)
            .filter(|&e| e != 0)
            .or_else(|| gone(seen.last));
        let n = seen.versions.len();
        for (i, (at, c)) in seen.versions.iter().enumerate() {
            let end = end.filter(|_| i + 1 == n).unwrap_or(0);
            push(
                lines,
                *at,
                serde_json::to_string(&conn_rec(*at, c, end, &secs)),
            )?;
        }
    }
    for seen in o.socks.values() {
        let end = Some(seen.end)
            .filter(|&e| e != 0)
            .or_else(|| gone(seen.last));
        let n = seen.versions.len();
        for (i, (at, l)) in seen.versions.iter().enumerate() {
            let end = end.filter(|_| i + 1 == n).unwrap_or(0);
            push(
                lines,
                *at,
                serde_json::to_string(&sock_rec(*at, l, end, &secs)),
            )?;
        }
    }
    // A flag belongs to every trace that lists it.
    let last = states.last().map_or(&[][..], |s| &s.traces[..]);
    for f in o.flags.values() {
        let mut in_traces = vec![f.trace_id.clone()];
        for t in last {
            if t.id != f.trace_id && t.flag_ids.contains(&f.id) {
                in_traces.push(t.id.clone());
            }
        }
        in_traces.retain(|t| !t.is_empty());
        let at = f.time_ns.saturating_add(boot);
        push(
            lines,
            at,
            serde_json::to_string(&flag_rec(f, in_traces, &secs)),
        )?;
    }
    for versions in o.traces.values() {
        for (at, t) in versions {
            push(lines, *at, serde_json::to_string(&trace_rec(*at, t, &secs)))?;
        }
    }
    Ok(())
}
