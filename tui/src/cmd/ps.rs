//! `perch ps`'s choices: which processes (the console's filter, parsed by
//! the console's own parser), in which order (`--sort`), with which columns
//! (`-o`).  Rows are the console's rows ([`Proc`]), so a filter means the
//! same on the command line as in the console.
use std::{cmp::Ordering, fmt::Write as _};

use perch::console::{
    filter::Filter,
    model::{HostId, Proc},
};
use perch::{text::clean, when};
use perch_proto::{NS_PER_SEC, v1::Process};

/// A column `-o` prints and `--sort` orders by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    Pid,
    Ppid,
    User,
    Uid,
    State,
    Nice,
    Threads,
    Cpu,
    Mem,
    Rss,
    Time,
    Start,
    Tty,
    Comm,
    Exe,
    Command,
}

/// Every field: its name on the command line and its column heading.
const FIELDS: &[(Field, &str, &str)] = &[
    (Field::Pid, "pid", "PID"),
    (Field::Ppid, "ppid", "PPID"),
    (Field::User, "user", "USER"),
    (Field::Uid, "uid", "UID"),
    (Field::State, "state", "S"),
    (Field::Nice, "nice", "NI"),
    (Field::Threads, "threads", "THR"),
    (Field::Cpu, "cpu", "CPU%"),
    (Field::Mem, "mem", "MEM%"),
    (Field::Rss, "rss", "RSS"),
    (Field::Time, "time", "TIME"),
    (Field::Start, "start", "START"),
    (Field::Tty, "tty", "TTY"),
    (Field::Comm, "comm", "COMM"),
    (Field::Exe, "exe", "EXE"),
    (Field::Command, "command", "COMMAND"),
];

impl Field {
    /// "pid, ppid, …": the allowed names, for help and errors.
    #[must_use]
    pub fn names() -> String {
        FIELDS.iter().map(|f| f.1).collect::<Vec<_>>().join(", ")
    }

    /// The field named `s` (any case); the error names the allowed ones.
    pub fn parse(s: &str) -> Result<Field, String> {
        let name = s.trim().to_ascii_lowercase();
        FIELDS
            .iter()
            .find(|f| f.1 == name)
            .map(|f| f.0)
            .ok_or_else(|| format!("unknown field {s:?} (one of: {})", Field::names()))
    }

    fn heading(self) -> &'static str {
        FIELDS.iter().find(|f| f.0 == self).map_or("?", |f| f.2)
    }

    /// Text columns are left-aligned, numbers right.
    fn is_text(self) -> bool {
        matches!(
            self,
            Field::User | Field::State | Field::Tty | Field::Comm | Field::Exe | Field::Command
        )
    }
}

/// `--sort FIELD` or `--sort=-FIELD` (reversed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SortBy {
    pub field: Field,
    pub reverse: bool,
}

impl SortBy {
    /// `cpu` or `-cpu`.
    pub fn parse(s: &str) -> Result<SortBy, String> {
        let (reverse, name) = s.strip_prefix('-').map_or((false, s), |n| (true, n));
        Ok(SortBy {
            field: Field::parse(name)?,
            reverse,
        })
    }
}

/// A process as `ps` handles it: the console's row and the message it came
/// from (for `--json` and the default table).
pub struct Row {
    pub proc: Proc,
    pub process: Process,
}

/// The console's filter over the words of the command line, joined.
pub fn filter(words: &[String]) -> anyhow::Result<Filter> {
    let text = words.join(" ");
    Filter::parse(&text).map_err(|e| anyhow::anyhow!("filter {text:?}: {e}"))
}

/// `processes` (sorted by pid) that pass `filter`, in the order asked.
#[must_use]
pub fn select(
    processes: Vec<Process>,
    filter: &Filter,
    sort: Option<SortBy>,
    reverse: bool,
) -> Vec<Row> {
    let mut rows: Vec<Row> = processes
        .into_iter()
        .map(|process| Row {
            proc: Proc::from_proto(HostId::default(), &process),
            process,
        })
        .filter(|r| filter.matches(&r.proc, ""))
        .collect();
    let by = sort.unwrap_or(SortBy {
        field: Field::Pid,
        reverse: false,
    });
    // Stable: equal keys keep pid order.
    rows.sort_by(|a, b| compare(a, b, by.field));
    if by.reverse != reverse {
        rows.reverse();
    }
    rows
}

fn compare(ra: &Row, rb: &Row, f: Field) -> Ordering {
    let (a, b) = (&ra.proc, &rb.proc);
    let u = |p: &Proc| p.usage;
    match f {
        Field::Pid => a.key.pid.cmp(&b.key.pid),
        Field::Ppid => a.ppid.cmp(&b.ppid),
        Field::User => a.user.cmp(&b.user),
        Field::Uid => a.uid.cmp(&b.uid),
        Field::State => state(ra).cmp(state(rb)),
        Field::Nice => a.nice.cmp(&b.nice),
        Field::Threads => a.threads.cmp(&b.threads),
        Field::Cpu => u(a).cpu_percent.total_cmp(&u(b).cpu_percent),
        // MEM% is RSS over the host's memory: the same order.
        Field::Mem | Field::Rss => u(a).rss_bytes.cmp(&u(b).rss_bytes),
        Field::Time => u(a).cpu_time_ns.cmp(&u(b).cpu_time_ns),
        Field::Start => a.start_time_ns.cmp(&b.start_time_ns),
        Field::Tty => a.tty.cmp(&b.tty),
        Field::Comm => a.comm.cmp(&b.comm),
        Field::Exe => a.exe.cmp(&b.exe),
        Field::Command => a.command.cmp(&b.command),
    }
}

/// The state letter as last sampled; `X` once exited, `-` when unknown.
fn state(r: &Row) -> &str {
    if r.process.exit.is_some() {
        "X"
    } else if r.process.state.is_empty() {
        "-"
    } else {
        &r.process.state
    }
}

/// How to write the START column: boot time and the local offset.
#[derive(Clone, Copy, Debug, Default)]
pub struct Clock {
    pub boot_time_unix_ns: u64,
    pub utc_offset_secs: i32,
    pub now_unix_secs: i64,
}

fn cell(r: &Row, f: Field, clock: Clock) -> String {
    let (p, u) = (&r.proc, &r.proc.usage);
    match f {
        Field::Pid => p.key.pid.to_string(),
        Field::Ppid => p.ppid.to_string(),
        Field::User => p.user.to_string(),
        Field::Uid => p.uid.to_string(),
        Field::State => clean(state(r)).into_owned(),
        Field::Nice => p.nice.to_string(),
        Field::Threads => p.threads.to_string(),
        Field::Cpu => format!("{:.1}", u.cpu_percent),
        Field::Mem => format!("{:.1}", u.mem_percent),
        Field::Rss => bytes(u.rss_bytes),
        Field::Time => cpu_time(u.cpu_time_ns),
        Field::Start => start(p.start_time_ns, clock),
        Field::Tty => p.tty.to_string(),
        Field::Comm => p.comm.to_string(),
        Field::Exe => p.exe.to_string(),
        Field::Command => p.command.to_string(),
    }
}

/// `512K`, `23.5M`, `1.2G`: binary units as htop writes them.
fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["K", "M", "G", "T"];
    let mut v = n as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 || v >= 100.0 {
        format!("{v:.0}{}", UNITS[unit])
    } else {
        format!("{v:.1}{}", UNITS[unit])
    }
}

/// `1:02:03` or `2:03` (minutes:seconds).
fn cpu_time(ns: u64) -> String {
    let s = ns / NS_PER_SEC;
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

/// Local `15:04:05` for a process started today, else its date.
fn start(start_ns: u64, c: Clock) -> String {
    let unix = c.boot_time_unix_ns.saturating_add(start_ns) / NS_PER_SEC;
    let unix = i64::try_from(unix).unwrap_or(i64::MAX);
    let text = when::date_time(unix, c.utc_offset_secs);
    let today = when::local_day(c.now_unix_secs, c.utc_offset_secs).0;
    let (date, time) = text.split_once(' ').unwrap_or((&text, ""));
    if when::local_day(unix, c.utc_offset_secs).0 == today {
        time.to_owned()
    } else {
        date.to_owned()
    }
}

/// An aligned table of `fields`; the last column is not padded.
#[must_use]
pub fn table(rows: &[Row], fields: &[Field], clock: Clock) -> String {
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| fields.iter().map(|&f| cell(r, f, clock)).collect())
        .collect();
    let widths: Vec<usize> = fields
        .iter()
        .enumerate()
        .map(|(i, f)| {
            cells
                .iter()
                .map(|c| c[i].chars().count())
                .chain([f.heading().len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    let mut line = |values: &mut dyn Iterator<Item = &str>| {
        let mut l = String::new();
        for (i, v) in values.enumerate() {
            let (f, w) = (fields[i], widths[i]);
            if i > 0 {
                l.push(' ');
            }
            if i + 1 == fields.len() {
                l.push_str(v);
            } else if f.is_text() {
                let _ = write!(l, "{v:<w$}");
            } else {
                let _ = write!(l, "{v:>w$}");
            }
        }
        out.push_str(l.trim_end());
        out.push('\n');
    };
    line(&mut fields.iter().map(|f| f.heading()));
    for c in &cells {
        line(&mut c.iter().map(String::as_str));
    }
    out
}

#[cfg(test)]
mod tests;
