//! The Connections and Listening screens' `\` filter, in the process
//! filter's syntax: terms separated by spaces, all must hold, `!` negates,
//! `"…"` quotes.
//!
//! - `port:9000`: the local or the remote port (`lport:`, `rport:` for one);
//! - `dir:in`, `dir:out`, `dir:unknown` (connections only);
//! - `proto:tcp`, `proto:udp`; `family:ipv4`, `family:ipv6` (or `4`, `6`);
//! - `pid:42`: the owner's pid (`peer:` for the peer process, pid or name);
//! - `comm:`, `ip:`, `state:`, `host:`: a substring, any case;
//! - `is:open`, `is:closed`;
//! - free text: a substring of the process, the addresses, the peer or the
//!   state.
use perch_proto::v1::{AddressFamily, ConnectionDirection, NetProtocol};

use super::{Conn, Listen};
use crate::console::filter::{FilterError, contains_ci, words};

/// What a filter tests of one row: a connection or a listening socket.
#[derive(Clone, Copy, Debug)]
pub struct Fields<'a> {
    pub proto: i32,
    pub family: i32,
    /// `None` for a listening socket.
    pub direction: Option<i32>,
    pub local_ip: &'a str,
    pub local_port: u32,
    pub remote_ip: &'a str,
    pub remote_port: Option<u32>,
    pub pid: Option<u32>,
    pub name: &'a str,
    pub peer_pid: Option<u32>,
    pub peer_name: &'a str,
    pub status: &'a str,
    pub closed: bool,
    pub host: &'a str,
}

impl Conn {
    #[must_use]
    pub fn fields<'a>(&'a self, host: &'a str) -> Fields<'a> {
        let c = &self.c;
        Fields {
            proto: c.proto,
            family: c.family,
            direction: Some(c.direction),
            local_ip: &c.local_ip,
            local_port: c.local_port,
            remote_ip: &c.remote_ip,
            remote_port: Some(c.remote_port),
            pid: self.owner.map(|k| k.pid),
            name: &c.proc_name,
            peer_pid: self.peer.map(|k| k.pid),
            peer_name: &c.peer_proc_name,
            status: &c.status,
            closed: self.is_closed(),
            host,
        }
    }
}

impl Listen {
    #[must_use]
    pub fn fields<'a>(&'a self, host: &'a str) -> Fields<'a> {
        let l = &self.l;
        Fields {
            proto: l.proto,
            family: l.family,
            direction: None,
            local_ip: &l.local_ip,
            local_port: l.local_port,
            remote_ip: "",
            remote_port: None,
            pid: self.owner.map(|k| k.pid),
            name: &l.proc_name,
            peer_pid: None,
            peer_name: "",
            status: if self.is_closed() { "CLOSED" } else { "LISTEN" },
            closed: self.is_closed(),
            host,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Text {
    Comm,
    Ip,
    State,
    Host,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Test {
    Free(String),
    Text(Text, String),
    Port(u32),
    LocalPort(u32),
    RemotePort(u32),
    Dir(ConnectionDirection),
    Proto(NetProtocol),
    Family(AddressFamily),
    Pid(u32),
    Peer(String),
    Closed(bool),
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Term {
    negate: bool,
    test: Test,
}

/// A parsed network filter; the empty one keeps everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NetFilter {
    terms: Vec<Term>,
}

const KEYS: &str = "port lport rport dir proto family pid peer comm ip state host is";

fn term(at: usize, word: &str) -> Result<Term, FilterError> {
    let (negate, body, at) = match word.strip_prefix('!') {
        Some(rest) => (true, rest, at + 1),
        None => (false, word, at),
    };
    let err = |at, message: String| Err(FilterError { at, message });
    if body.is_empty() {
        return err(at, "`!` needs a term after it".to_owned());
    }
    let Some((name, value)) = body.split_once(':') else {
        return Ok(Term {
            negate,
            test: Test::Free(body.to_lowercase()),
        });
    };
    let name = name.to_ascii_lowercase();
    let value_at = at + name.chars().count() + 1;
    if value.is_empty() {
        return err(value_at, format!("`{name}` needs a value"));
    }
    let lower = value.to_ascii_lowercase();
    let port = |v: &str| match v.parse::<u32>() {
        Ok(p) if p <= 65_535 => Ok(p),
        _ => Err(FilterError {
            at: value_at,
            message: format!("`{name}` must be a port in 0..=65535 (got `{v}`)"),
        }),
    };
    let test = match name.as_str() {
        "port" => Test::Port(port(value)?),
        "lport" => Test::LocalPort(port(value)?),
        "rport" => Test::RemotePort(port(value)?),
        "dir" => Test::Dir(match lower.as_str() {
            "in" | "inbound" => ConnectionDirection::Inbound,
            "out" | "outbound" => ConnectionDirection::Outbound,
            "unknown" | "?" => ConnectionDirection::Unknown,
            _ => {
                return err(
                    value_at,
                    format!("`dir` must be in, out or unknown (got `{value}`)"),
                );
            }
        }),
        "proto" => Test::Proto(match lower.as_str() {
            "tcp" => NetProtocol::Tcp,
            "udp" => NetProtocol::Udp,
            _ => {
                return err(
                    value_at,
                    format!("`proto` must be tcp or udp (got `{value}`)"),
                );
            }
        }),
        "family" => Test::Family(match lower.as_str() {
            "ipv4" | "4" | "inet" => AddressFamily::Ipv4,
            "ipv6" | "6" | "inet6" => AddressFamily::Ipv6,
            _ => {
                return err(
                    value_at,
                    format!("`family` must be ipv4 or ipv6 (got `{value}`)"),
                );
            }
        }),
        "pid" => match value.parse::<u32>() {
            Ok(pid) => Test::Pid(pid),
            Err(_) => return err(value_at, format!("`pid` must be a number (got `{value}`)")),
        },
        "peer" => Test::Peer(value.to_lowercase()),
        "is" => match lower.as_str() {
            "open" => Test::Closed(false),
            "closed" => Test::Closed(true),
            _ => {
                return err(
                    value_at,
                    format!("`is` must be open or closed (got `{value}`)"),
                );
            }
        },
        "comm" | "process" => Test::Text(Text::Comm, value.to_lowercase()),
        "ip" | "addr" => Test::Text(Text::Ip, value.to_lowercase()),
        "state" | "status" => Test::Text(Text::State, value.to_lowercase()),
        "host" => Test::Text(Text::Host, value.to_lowercase()),
        _ => return err(at, format!("unknown key `{name}` (try {KEYS})")),
    };
    Ok(Term { negate, test })
}

impl NetFilter {
    /// Parses what was typed.
    ///
    /// # Errors
    /// An unterminated quote, an unknown key, or a value out of its range,
    /// each naming where.
    pub fn parse(input: &str) -> Result<NetFilter, FilterError> {
        let terms = words(input)?
            .into_iter()
            .map(|(at, w)| term(at, &w))
            .collect::<Result<_, _>>()?;
        Ok(NetFilter { terms })
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// True when every term holds for the row.
    #[must_use]
    pub fn matches(&self, f: &Fields<'_>) -> bool {
        self.terms.iter().all(|t| test(&t.test, f) != t.negate)
    }
}

fn test(t: &Test, f: &Fields<'_>) -> bool {
    match t {
        Test::Free(s) => {
            contains_ci(f.name, s)
                || contains_ci(f.local_ip, s)
                || contains_ci(f.remote_ip, s)
                || contains_ci(f.peer_name, s)
                || contains_ci(f.status, s)
                || f.pid.is_some_and(|p| p.to_string() == *s)
                || f.local_port.to_string() == *s
                || f.remote_port.is_some_and(|p| p.to_string() == *s)
        }
        Test::Text(Text::Comm, s) => contains_ci(f.name, s),
        Test::Text(Text::Ip, s) => contains_ci(f.local_ip, s) || contains_ci(f.remote_ip, s),
        Test::Text(Text::State, s) => contains_ci(f.status, s),
        Test::Text(Text::Host, s) => contains_ci(f.host, s),
        Test::Port(p) => f.local_port == *p || f.remote_port == Some(*p),
        Test::LocalPort(p) => f.local_port == *p,
        Test::RemotePort(p) => f.remote_port == Some(*p),
        Test::Dir(d) => f.direction == Some(*d as i32),
        Test::Proto(p) => f.proto == *p as i32,
        Test::Family(a) => f.family == *a as i32,
        Test::Pid(p) => f.pid == Some(*p),
        Test::Peer(s) => {
            contains_ci(f.peer_name, s) || f.peer_pid.is_some_and(|p| p.to_string() == *s)
        }
        Test::Closed(c) => f.closed == *c,
    }
}

#[cfg(test)]
mod tests;
