//! The detection screens' columns: titles, widths, cells and sort order.
//! Traces: SCORE, NAME/TRIGGER, ROOT, STATUS, AGE, DURATION, FLAGS, PROCS,
//! USERS, I (interactive); flags: Spydertop's TIME, AGE, SEV, EXCEPTED,
//! MITRE, description (with the process, which the console can act on).
//! HOST leads when more than one collector is shown.
use std::cmp::Ordering;

use perch_proto::v1::TraceStatus;

use super::{Kind, Row};
use crate::{
    console::{app::Data, format},
    text::trace::sev,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(in crate::console::screens) enum DetCol {
    Host,
    Score,
    Name,
    Root,
    Status,
    Age,
    Duration,
    Flags,
    Procs,
    Users,
    Interactive,
    Time,
    Sev,
    Excepted,
    Mitre,
    Process,
    Description,
}

const TRACES: &[DetCol] = &[
    DetCol::Host,
    DetCol::Score,
    DetCol::Name,
    DetCol::Root,
    DetCol::Status,
    DetCol::Age,
    DetCol::Duration,
    DetCol::Flags,
    DetCol::Procs,
    DetCol::Users,
    DetCol::Interactive,
];

const FLAGS: &[DetCol] = &[
    DetCol::Host,
    DetCol::Time,
    DetCol::Age,
    DetCol::Sev,
    DetCol::Excepted,
    DetCol::Mitre,
    DetCol::Process,
    DetCol::Description,
];

impl DetCol {
    pub(in crate::console::screens) fn of(kind: Kind) -> &'static [DetCol] {
        match kind {
            Kind::Traces => TRACES,
            Kind::Flags => FLAGS,
        }
    }

    pub(in crate::console::screens) fn title(self) -> &'static str {
        match self {
            DetCol::Host => "HOST",
            DetCol::Score => "SCORE",
            DetCol::Name => "NAME/TRIGGER",
            DetCol::Root => "ROOT",
            DetCol::Status => "STATUS",
            DetCol::Age => "AGE",
            DetCol::Duration => "DURATION",
            DetCol::Flags => "FLAGS",
            DetCol::Procs => "PROCS",
            DetCol::Users => "USERS",
            DetCol::Interactive => "I",
            DetCol::Time => "TIME",
            DetCol::Sev => "SEV",
            DetCol::Excepted => "EXC",
            DetCol::Mitre => "MITRE",
            DetCol::Process => "PROCESS",
            DetCol::Description => "DESCRIPTION",
        }
    }

    /// Its least width, and its share of what is left (0: fixed).
    pub(in crate::console::screens) fn width(self) -> (u16, u16) {
        match self {
            DetCol::Host => (10, 0),
            DetCol::Score | DetCol::Flags | DetCol::Procs | DetCol::Time => (5, 0),
            DetCol::Status => (6, 0),
            // `critical` whole.
            DetCol::Age | DetCol::Duration | DetCol::Sev => (8, 0),
            DetCol::Interactive => (1, 0),
            DetCol::Excepted => (3, 0),
            DetCol::Mitre => (9, 0),
            DetCol::Name => (14, 3),
            DetCol::Root | DetCol::Process => (10, 1),
            DetCol::Users => (6, 1),
            DetCol::Description => (16, 4),
        }
    }

    /// Numbers sort largest first when first chosen.
    pub(super) fn descending_first(self) -> bool {
        matches!(
            self,
            DetCol::Score | DetCol::Flags | DetCol::Procs | DetCol::Sev | DetCol::Time
        )
    }

    pub(super) fn compare(self, a: Row<'_>, b: Row<'_>, data: &Data) -> Ordering {
        let now = |r: Row<'_>| data.host_now_ns(r.host()).unwrap_or(0);
        match self {
            DetCol::Score => score(a).cmp(&score(b)),
            DetCol::Flags | DetCol::Procs => self.number(a).cmp(&self.number(b)),
            DetCol::Sev => a.severity().cmp(&b.severity()),
            DetCol::Time => a.time().cmp(&b.time()),
            DetCol::Age => now(a)
                .saturating_sub(a.last())
                .cmp(&now(b).saturating_sub(b.last())),
            DetCol::Duration => duration(a, now(a)).cmp(&duration(b, now(b))),
            _ => self.cell(a, data, 0).cmp(&self.cell(b, data, 0)),
        }
    }

    fn number(self, r: Row<'_>) -> u32 {
        match (self, r) {
            (DetCol::Flags, Row::T(t)) => t.t.flag_count,
            (DetCol::Procs, Row::T(t)) => t.t.process_count,
            _ => 0,
        }
    }

    /// What the cell says; `utc_offset` is the local time's (TIME).
    pub(in crate::console::screens) fn cell(
        self,
        r: Row<'_>,
        data: &Data,
        utc_offset: i32,
    ) -> String {
        let now = data.host_now_ns(r.host()).unwrap_or(0);
        match (self, r) {
            (DetCol::Host, r) => data.host_name(r.host()).to_owned(),
            (DetCol::Score, Row::T(t)) => t.t.score.to_string(),
            // The trigger first: it says what happened when the column is narrow.
            (DetCol::Name, Row::T(t)) => format!("{} · {}", t.t.trigger_short_name, t.t.name),
            (DetCol::Root, Row::T(t)) => {
                format!("{} {}", t.root.map_or(0, |k| k.pid), t.t.root_proc_name)
            }
            (DetCol::Status, Row::T(t)) => match t.t.status() {
                TraceStatus::Closed => "closed",
                _ => "active",
            }
            .to_owned(),
            (DetCol::Age, r) => format::elapsed(now.saturating_sub(r.last())),
            (DetCol::Duration, r) => format::elapsed(duration(r, now)),
            (DetCol::Flags | DetCol::Procs, r) => self.number(r).to_string(),
            (DetCol::Users, Row::T(t)) => t.t.users.join(","),
            (DetCol::Interactive, Row::T(t)) => if t.t.interactive { "Y" } else { "N" }.to_owned(),
            (DetCol::Time, r) => {
                match (
                    data.unix_secs(r.host(), r.time()),
                    data.unix_secs(r.host(), now),
                ) {
                    (Some(at), Some(now)) => format::start_time(at, now, utc_offset),
                    _ => "-".to_owned(),
                }
            }
            (DetCol::Sev, r) => sev(r.severity().into()),
            (DetCol::Excepted, Row::F(f)) => if f.f.excepted { "Y" } else { "N" }.to_owned(),
            (DetCol::Mitre, Row::F(f)) => {
                f.f.mitre_mapping
                    .first()
                    .map(|m| m.technique.clone())
                    .unwrap_or_default()
            }
            (DetCol::Process, Row::F(f)) => {
                format!("{} {}", f.key.map_or(0, |k| k.pid), f.f.name)
            }
            (DetCol::Description, Row::F(f)) => {
                if f.f.repeat_count > 1 {
                    format!("{} (x{})", f.f.description, f.f.repeat_count)
                } else {
                    f.f.description.clone()
                }
            }
            _ => String::new(),
        }
    }
}

fn score(r: Row<'_>) -> u32 {
    match r {
        Row::T(t) => t.t.score,
        Row::F(_) => 0,
    }
}

/// From the first flag to the last (a trace), or to its close.
fn duration(r: Row<'_>, now: u64) -> u64 {
    match r {
        Row::T(t) => {
            let end = if t.t.closed_time_ns != 0 {
                t.t.closed_time_ns
            } else if t.is_active() {
                now
            } else {
                t.t.last_time_ns
            };
            end.saturating_sub(t.t.start_time_ns)
        }
        Row::F(f) => f.f.last_time_ns.saturating_sub(f.f.time_ns),
    }
}

/// What `/` searches: the row's names, process and description.
pub(super) fn haystack(r: Row<'_>, data: &Data) -> String {
    let cols: &[DetCol] = match r {
        Row::T(_) => &[DetCol::Name, DetCol::Root, DetCol::Users],
        Row::F(_) => &[
            DetCol::Sev,
            DetCol::Mitre,
            DetCol::Process,
            DetCol::Description,
        ],
    };
    let mut s: Vec<String> = cols.iter().map(|c| c.cell(r, data, 0)).collect();
    if let Row::F(f) = r {
        s.push(f.f.short_name.clone());
    }
    s.join(" ")
}
