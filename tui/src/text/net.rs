//! Connections and listening sockets as text: `perch conns` and `perch
//! listening` tables and the network lines of `perch events`.  Process
//! names are escaped like everything else a process controls.
use std::fmt::Write as _;

use perch_proto::v1::{
    CloseEvent, Connection, ConnectionDirection, ConnectionUpdates, ListeningSocket, NetProtocol,
    ProcessKey,
};

use super::clean;

/// `127.0.0.1:80`, `[::1]:80`; `*` for an address not known yet.
#[must_use]
pub fn endpoint(ip: &str, port: u32) -> String {
    if ip.is_empty() {
        "*".to_owned()
    } else if ip.contains(':') {
        format!("[{}]:{port}", clean(ip))
    } else {
        format!("{}:{port}", clean(ip))
    }
}

/// `tcp` or `udp`.
#[must_use]
pub fn protocol(raw: i32) -> &'static str {
    match NetProtocol::try_from(raw) {
        Ok(NetProtocol::Tcp) => "tcp",
        Ok(NetProtocol::Udp) => "udp",
        _ => "?",
    }
}

/// Spydertop's DIR arrows: `-->` outbound, `<--` inbound, `?` unknown.
#[must_use]
pub fn arrow(raw: i32) -> &'static str {
    match ConnectionDirection::try_from(raw) {
        Ok(ConnectionDirection::Outbound) => "-->",
        Ok(ConnectionDirection::Inbound) => "<--",
        _ => "?",
    }
}

/// `name[pid]`, or `-` when the owner is not known.
fn who(key: Option<&ProcessKey>, name: &str) -> String {
    match key {
        Some(k) => format!("{}[{}]", clean(name), k.pid),
        None => "-".to_owned(),
    }
}

/// A connection on one line: `tcp 127.0.0.1:5000 --> 127.0.0.1:80 ...`.
#[must_use]
pub fn connection_line(c: &Connection) -> String {
    let mut s = format!(
        "{} {} {} {} {} {}",
        protocol(c.proto),
        endpoint(&c.local_ip, c.local_port),
        arrow(c.direction),
        endpoint(&c.remote_ip, c.remote_port),
        clean(&c.status),
        who(c.process.as_ref(), &c.proc_name),
    );
    if c.peer_process.is_some() {
        let _ = write!(
            s,
            " peer={}",
            who(c.peer_process.as_ref(), &c.peer_proc_name)
        );
    }
    if c.counters_known {
        let _ = write!(s, " tx={} rx={}", c.bytes_tx, c.bytes_rx);
    }
    s
}

/// A listening socket on one line.
#[must_use]
pub fn listening_line(l: &ListeningSocket) -> String {
    format!(
        "{} {} {}",
        protocol(l.proto),
        endpoint(&l.local_ip, l.local_port),
        who(l.process.as_ref(), &l.proc_name)
    )
}

pub(super) fn close_text(x: &CloseEvent) -> String {
    match (&x.connection, &x.listening) {
        (Some(c), _) => connection_line(c),
        (None, Some(l)) => format!("listening {}", listening_line(l)),
        (None, None) => String::new(),
    }
}

pub(super) fn updates_text(x: &ConnectionUpdates) -> String {
    let mut s = format!("{} connections", x.connections.len());
    for c in x.connections.iter().take(3) {
        let _ = write!(s, "; {}", connection_line(c));
    }
    if x.connections.len() > 3 {
        s.push_str("; ...");
    }
    s
}

/// Seconds (or minutes, hours) since `start_ns`, until `end_ns` or `now_ns`.
fn duration(start_ns: u64, end_ns: u64, now_ns: u64) -> String {
    let end = if end_ns == 0 { now_ns } else { end_ns };
    let secs = end.saturating_sub(start_ns) / perch_proto::NS_PER_SEC;
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s => format!("{}h", s / 3600),
    }
}

/// Aligns `rows` under `head`; the last column is left unpadded.
fn table(head: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = head.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let line = |out: &mut String, cells: &mut dyn Iterator<Item = &str>| {
        let cells: Vec<&str> = cells.collect();
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            if i + 1 == cells.len() {
                out.push_str(cell);
            } else {
                let _ = write!(out, "{cell:<w$} ");
            }
        }
        // Trailing blanks (an empty last cell) help no one.
        out.truncate(out.trim_end_matches(' ').len());
        out.push('\n');
    };
    line(&mut out, &mut head.iter().copied());
    for r in rows {
        line(&mut out, &mut r.iter().map(String::as_str));
    }
    out
}

/// `perch conns`: PTCL STATE DURATION TX RX PID PROCESS LOCAL DIR REMOTE
/// PEER, one row per connection (`now_ns`: the host's boot clock, for
/// durations).
#[must_use]
pub fn connections_table(conns: &[Connection], now_ns: u64) -> String {
    let bytes = |c: &Connection, n: u64| {
        if c.counters_known {
            n.to_string()
        } else {
            "-".to_owned()
        }
    };
    let rows: Vec<Vec<String>> = conns
        .iter()
        .map(|c| {
            vec![
                protocol(c.proto).to_owned(),
                clean(&c.status).into_owned(),
                duration(c.create_time_ns, c.end_time_ns, now_ns),
                bytes(c, c.bytes_tx),
                bytes(c, c.bytes_rx),
                c.process
                    .map_or_else(|| "-".to_owned(), |k| k.pid.to_string()),
                clean(&c.proc_name).into_owned(),
                endpoint(&c.local_ip, c.local_port),
                arrow(c.direction).to_owned(),
                endpoint(&c.remote_ip, c.remote_port),
                c.peer_process
                    .as_ref()
                    .map_or_else(String::new, |k| who(Some(k), &c.peer_proc_name)),
            ]
        })
        .collect();
    table(
        &[
            "PTCL", "STATE", "DURATION", "TX", "RX", "PID", "PROCESS", "LOCAL", "DIR", "REMOTE",
            "PEER",
        ],
        &rows,
    )
}

/// `perch listening`: FAMILY PTCL DURATION LOCAL PID PROCESS.
#[must_use]
pub fn listening_table(socks: &[ListeningSocket], now_ns: u64) -> String {
    let rows: Vec<Vec<String>> = socks
        .iter()
        .map(|l| {
            vec![
                if l.local_ip.contains(':') {
                    "ipv6"
                } else {
                    "ipv4"
                }
                .to_owned(),
                protocol(l.proto).to_owned(),
                duration(l.create_time_ns, l.end_time_ns, now_ns),
                endpoint(&l.local_ip, l.local_port),
                l.process
                    .map_or_else(|| "-".to_owned(), |k| k.pid.to_string()),
                clean(&l.proc_name).into_owned(),
            ]
        })
        .collect();
    table(
        &["FAMILY", "PTCL", "DURATION", "LOCAL", "PID", "PROCESS"],
        &rows,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn() -> Connection {
        Connection {
            proto: NetProtocol::Tcp.into(),
            local_ip: "::1".into(),
            local_port: 40_000,
            remote_ip: "::1".into(),
            remote_port: 9000,
            direction: ConnectionDirection::Outbound.into(),
            process: Some(ProcessKey {
                pid: 42,
                start_time_ns: 1,
            }),
            proc_name: "evil\x1b[2J".into(),
            status: "ESTABLISHED".into(),
            create_time_ns: 5 * perch_proto::NS_PER_SEC,
            bytes_tx: 100,
            counters_known: true,
            ..Connection::default()
        }
    }

    #[test]
    fn a_connection_row_is_aligned_and_escaped() {
        let t = connections_table(&[conn()], 95 * perch_proto::NS_PER_SEC);
        let mut lines = t.lines();
        let head = lines.next().expect("head");
        let row = lines.next().expect("row");
        assert!(
            head.starts_with("PTCL STATE       DURATION TX  RX PID PROCESS"),
            "{head}"
        );
        assert!(!row.contains('\x1b'), "{row:?}");
        assert!(row.contains("[::1]:40000 --> [::1]:9000"), "{row}");
        assert!(
            row.starts_with("tcp  ESTABLISHED 90s      100 0  42"),
            "{row}"
        );
    }

    #[test]
    fn lines_name_direction_owner_and_peer() {
        let mut c = conn();
        c.direction = ConnectionDirection::Inbound.into();
        c.peer_process = Some(ProcessKey {
            pid: 7,
            start_time_ns: 1,
        });
        c.peer_proc_name = "nc".into();
        let line = connection_line(&c);
        assert!(
            line.starts_with("tcp [::1]:40000 <-- [::1]:9000 ESTABLISHED evil"),
            "{line}"
        );
        assert!(line.ends_with("[42] peer=nc[7] tx=100 rx=0"), "{line}");
        let l = ListeningSocket {
            proto: NetProtocol::Udp.into(),
            local_ip: "0.0.0.0".into(),
            local_port: 53,
            ..ListeningSocket::default()
        };
        assert_eq!(listening_line(&l), "udp 0.0.0.0:53 -");
        assert_eq!(
            listening_table(&[l], 0),
            "FAMILY PTCL DURATION LOCAL      PID PROCESS\nipv4   udp  0s       0.0.0.0:53 -\n"
        );
    }
}
