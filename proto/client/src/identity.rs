//! Who asks for an action, as the client sees itself: its own process (so
//! perchd refuses it as a target) and where the user sits (`ssh …` or
//! `tty …`) for the audit log.
use std::io::IsTerminal as _;

use perch_proto::{stat, v1::ProcessKey};

use crate::text::clean;

/// The requesting console or command.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientIdentity {
    pub pid: u32,
    /// `CLOCK_BOOTTIME` nanoseconds, at clock-tick precision (from /proc).
    pub start_time_ns: u64,
    /// `ssh 10.0.0.5 51234 22` or `tty pts/3`; empty when neither is known.
    pub origin: String,
}

impl ClientIdentity {
    /// This process, read from /proc/self/stat and the environment.
    #[must_use]
    pub fn current() -> ClientIdentity {
        ClientIdentity {
            pid: std::process::id(),
            start_time_ns: stat::read_self().map_or(0, |s| s.start_time_ns()),
            origin: origin(std::env::var("SSH_CLIENT").ok().as_deref(), tty_name()),
        }
    }

    /// The key perchd compares targets with; `None` when unknown.
    #[must_use]
    pub fn key(&self) -> Option<ProcessKey> {
        (self.pid > 0).then_some(ProcessKey {
            pid: self.pid,
            start_time_ns: self.start_time_ns,
        })
    }
}

/// `ssh <SSH_CLIENT>` when set, else `tty <name>`, else empty.
fn origin(ssh_client: Option<&str>, tty: Option<String>) -> String {
    match (ssh_client.map(str::trim).filter(|s| !s.is_empty()), tty) {
        (Some(ssh), _) => format!("ssh {}", clean(ssh)),
        (None, Some(tty)) => format!("tty {}", clean(&tty)),
        (None, None) => String::new(),
    }
}

/// The terminal on stdin, without `/dev/` (`pts/3`).
fn tty_name() -> Option<String> {
    if !std::io::stdin().is_terminal() {
        return None;
    }
    let path = std::fs::read_link("/proc/self/fd/0").ok()?;
    let path = path.to_string_lossy();
    Some(path.strip_prefix("/dev/").unwrap_or(&path).to_owned())
}

#[cfg(test)]
mod tests {
    use perch_proto::NS_PER_TICK;

    use super::*;

    /// Field 22 (`starttime`) of a stat line, through the shared parser.
    fn start_ticks(line: &str) -> Option<u64> {
        stat::parse_stat(line.as_bytes()).map(|(s, _)| s.starttime)
    }

    #[test]
    fn start_time_comes_from_field_22() {
        let stat = "4242 (a) b) c) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 \
                    12345 1000 200 18446744073709551615";
        assert_eq!(start_ticks(stat), Some(12_345));
        assert_eq!(start_ticks("garbage"), None);
        // This process: the same start time /proc reports for it.
        let me = ClientIdentity::current();
        assert_eq!(me.pid, std::process::id());
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", me.pid)).unwrap();
        assert_eq!(me.start_time_ns, start_ticks(&stat).unwrap() * NS_PER_TICK);
        assert!(me.start_time_ns > 0);
    }

    #[test]
    fn origin_prefers_ssh() {
        assert_eq!(
            origin(Some("10.0.0.5 51234 22"), Some("pts/3".into())),
            "ssh 10.0.0.5 51234 22"
        );
        assert_eq!(origin(Some(" "), Some("pts/3".into())), "tty pts/3");
        assert_eq!(origin(None, None), "");
        assert_eq!(origin(Some("x\x1b[2J"), None), "ssh x\\u{1b}[2J");
    }
}
