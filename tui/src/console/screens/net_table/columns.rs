//! The network screens' columns: titles, widths, cells and sort order.
//! Spydertop's order: PTCL, DURATION, bytes, PROCESS, LOCAL, DIR, REMOTE,
//! PEER for connections; FAMILY, PTCL, DURATION, LOCAL, PROCESS for
//! listening sockets.  HOST leads when more than one collector is shown.
use std::cmp::Ordering;

use perch_proto::v1::AddressFamily;

use super::{Kind, Row, by_num};
use crate::{
    console::{app::Data, format, model::ProcessKey},
    text::net::{arrow, endpoint, protocol},
};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(in crate::console::screens) enum NetCol {
    Host,
    Family,
    Ptcl,
    Duration,
    Tx,
    Rx,
    Process,
    Local,
    Dir,
    Remote,
    Peer,
}

const CONNECTIONS: &[NetCol] = &[
    NetCol::Host,
    NetCol::Ptcl,
    NetCol::Duration,
    NetCol::Tx,
    NetCol::Rx,
    NetCol::Process,
    NetCol::Local,
    NetCol::Dir,
    NetCol::Remote,
    NetCol::Peer,
];

const LISTENING: &[NetCol] = &[
    NetCol::Host,
    NetCol::Family,
    NetCol::Ptcl,
    NetCol::Duration,
    NetCol::Local,
    NetCol::Process,
];

impl NetCol {
    pub(in crate::console::screens) fn of(kind: Kind) -> &'static [NetCol] {
        match kind {
            Kind::Connections => CONNECTIONS,
            Kind::Listening => LISTENING,
        }
    }

    pub(in crate::console::screens) fn title(self) -> &'static str {
        match self {
            NetCol::Host => "HOST",
            NetCol::Family => "FAMILY",
            NetCol::Ptcl => "PTCL",
            NetCol::Duration => "DURATION",
            NetCol::Tx => "TX BYTES",
            NetCol::Rx => "RX BYTES",
            NetCol::Process => "PROCESS",
            NetCol::Local => "LOCAL",
            NetCol::Dir => "DIR",
            NetCol::Remote => "REMOTE",
            NetCol::Peer => "PEER",
        }
    }

    /// Its title in `width` columns: `TX` for `TX BYTES` when narrow.
    pub(in crate::console::screens) fn title_in(self, width: u16) -> &'static str {
        match self {
            NetCol::Tx if width < 8 => "TX",
            NetCol::Rx if width < 8 => "RX",
            _ => self.title(),
        }
    }

    /// Its least width, and its share of what is left (0: fixed).
    pub(in crate::console::screens) fn width(self) -> (u16, u16) {
        match self {
            NetCol::Host => (10, 0),
            NetCol::Family | NetCol::Tx | NetCol::Rx => (6, 0),
            NetCol::Ptcl => (4, 0),
            NetCol::Duration => (8, 0),
            NetCol::Dir => (3, 0),
            // An IPv4 address and port whole at 80 columns.
            NetCol::Process | NetCol::Peer => (7, 2),
            NetCol::Local | NetCol::Remote => (15, 3),
        }
    }

    /// Numbers and durations sort largest first when first chosen.
    pub(super) fn descending_first(self) -> bool {
        matches!(self, NetCol::Tx | NetCol::Rx)
    }

    pub(super) fn compare(self, a: Row<'_>, b: Row<'_>, now_a: u64, now_b: u64) -> Ordering {
        match self {
            NetCol::Duration => by_num(age(a, now_a), age(b, now_b)),
            NetCol::Tx => by_num(bytes(a).map(|x| x.0), bytes(b).map(|x| x.0)),
            NetCol::Rx => by_num(bytes(a).map(|x| x.1), bytes(b).map(|x| x.1)),
            NetCol::Local => local(a).cmp(&local(b)),
            NetCol::Remote => remote(a).cmp(&remote(b)),
            NetCol::Process => {
                (name(a), a.owner().map(|k| k.pid)).cmp(&(name(b), b.owner().map(|k| k.pid)))
            }
            _ => self.cell_sort(a).cmp(&self.cell_sort(b)),
        }
    }

    /// The text sort of the short columns.
    fn cell_sort(self, r: Row<'_>) -> String {
        match (self, r) {
            (NetCol::Host, r) => r.host().0.to_string(),
            (NetCol::Family, Row::C(c)) => family(c.c.family).to_owned(),
            (NetCol::Family, Row::L(l)) => family(l.l.family).to_owned(),
            (NetCol::Ptcl, Row::C(c)) => protocol(c.c.proto).to_owned(),
            (NetCol::Ptcl, Row::L(l)) => protocol(l.l.proto).to_owned(),
            (NetCol::Dir, Row::C(c)) => arrow(c.c.direction).to_owned(),
            (NetCol::Peer, Row::C(c)) => who(c.peer, &c.c.peer_proc_name),
            _ => String::new(),
        }
    }

    /// What the cell says; `now` is the row's host boot clock.
    pub(in crate::console::screens) fn cell(self, r: Row<'_>, data: &Data, now: u64) -> String {
        match (self, r) {
            (NetCol::Host, r) => data.host_name(r.host()).to_owned(),
            (NetCol::Duration, r) => age(r, now).map_or_else(|| "-".to_owned(), format::elapsed),
            (NetCol::Tx | NetCol::Rx, r) => match bytes(r) {
                Some((tx, rx)) => format::bytes(if self == NetCol::Tx { tx } else { rx }),
                None => "-".to_owned(),
            },
            (NetCol::Process, Row::C(c)) => who(c.owner, &c.c.proc_name),
            (NetCol::Process, Row::L(l)) => who(l.owner, &l.l.proc_name),
            (NetCol::Local, r) => {
                let (ip, port) = local(r);
                endpoint(ip, port)
            }
            (NetCol::Remote, r) => {
                let (ip, port) = remote(r);
                endpoint(ip, port)
            }
            _ => self.cell_sort(r),
        }
    }
}

/// `ipv4` / `ipv6`.
fn family(raw: i32) -> &'static str {
    match AddressFamily::try_from(raw) {
        Ok(AddressFamily::Ipv4) => "ipv4",
        Ok(AddressFamily::Ipv6) => "ipv6",
        _ => "?",
    }
}

/// `1234 nc`, or `-` when not known.
fn who(key: Option<ProcessKey>, name: &str) -> String {
    key.map_or_else(|| "-".to_owned(), |k| format!("{} {name}", k.pid))
}

fn name(r: Row<'_>) -> &str {
    match r {
        Row::C(c) => &c.c.proc_name,
        Row::L(l) => &l.l.proc_name,
    }
}

/// How long it has been open, or was (closed ones stop counting).
fn age(r: Row<'_>, now: u64) -> Option<u64> {
    let (start, end) = match r {
        Row::C(c) => (c.c.create_time_ns, c.c.end_time_ns),
        Row::L(l) => (l.l.create_time_ns, l.l.end_time_ns),
    };
    let end = if end == 0 { now } else { end };
    (start != 0 && end >= start).then(|| end - start)
}

/// (tx, rx), when the collector counts them (TCP).
fn bytes(r: Row<'_>) -> Option<(u64, u64)> {
    match r {
        Row::C(c) if c.c.counters_known => Some((c.c.bytes_tx, c.c.bytes_rx)),
        _ => None,
    }
}

fn local(r: Row<'_>) -> (&str, u32) {
    match r {
        Row::C(c) => (&c.c.local_ip, c.c.local_port),
        Row::L(l) => (&l.l.local_ip, l.l.local_port),
    }
}

fn remote(r: Row<'_>) -> (&str, u32) {
    match r {
        Row::C(c) => (&c.c.remote_ip, c.c.remote_port),
        Row::L(_) => ("", 0),
    }
}

/// What `/` searches: the row's process, peer and addresses.
pub(super) fn haystack(r: Row<'_>, data: &Data) -> String {
    [NetCol::Process, NetCol::Local, NetCol::Remote, NetCol::Peer]
        .iter()
        .map(|c| c.cell(r, data, 0))
        .collect::<Vec<_>>()
        .join(" ")
}
