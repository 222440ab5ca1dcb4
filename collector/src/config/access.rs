//! `[access]`: how much of perchd any one caller can take — refused
//! requests recorded one by one before they are summed up, connections per
//! listener and per peer, and how long a connection may sit without
//! proving who it is.  The defaults suit a host with a few consoles; every
//! value is checked against its range like the rest of the file.
//!
//! ```toml
//! [access]
//! refusal_burst = 20             # refusals recorded one by one at once
//! refusal_per_minute = 60        # ... and then per minute, per caller
//! max_connections_unix = 512     # non-root connections on the Unix socket
//! max_connections_tcp = 1024     # TLS connections (kept below RLIMIT_NOFILE)
//! max_connections_per_peer = 32  # per uid on the socket (root exempt), per IP on TCP
//! tls_handshake_timeout_ms = 10000
//! idle_timeout_secs = 60         # TLS peers without a client certificate
//! ```
use std::{ops::RangeInclusive, time::Duration};

use serde::Deserialize;
use toml::Spanned;

use super::ConfigError;
use crate::refusals::RefusalLimit;

/// Allowed ranges, for the file and the messages.
pub mod ranges {
    use std::ops::RangeInclusive;
    pub const REFUSAL_BURST: RangeInclusive<u64> = 1..=100_000;
    pub const REFUSAL_PER_MINUTE: RangeInclusive<u64> = 1..=60_000;
    pub const MAX_CONNECTIONS: RangeInclusive<u64> = 1..=1_000_000;
    pub const TLS_HANDSHAKE_TIMEOUT_MS: RangeInclusive<u64> = 100..=600_000;
    pub const IDLE_TIMEOUT_SECS: RangeInclusive<u64> = 1..=86_400;
}

/// Connection limits and timeouts of the listeners.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnLimits {
    /// Connections on the Unix socket from callers other than root (root
    /// has a reserve of its own, so it always gets in).
    pub unix: usize,
    /// TLS connections (handshaking or established); perchd lowers it at
    /// start-up to fit its file descriptor limit.
    pub tcp: usize,
    /// Per uid on the Unix socket (root exempt), per IP address on TCP.
    pub per_peer: usize,
    /// From accept to a finished TLS handshake.
    pub tls_handshake: Duration,
    /// A TLS connection without a client certificate and with no call in
    /// flight for this long is closed.
    pub idle: Duration,
}

impl Default for ConnLimits {
    fn default() -> Self {
        Self {
            unix: 512,
            tcp: 1024,
            per_peer: 32,
            tls_handshake: Duration::from_secs(10),
            idle: Duration::from_mins(1),
        }
    }
}

/// Everything `[access]` sets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Access {
    pub refusals: RefusalLimit,
    pub connections: ConnLimits,
}

/// The `[access]` table as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AccessFile {
    refusal_burst: Option<Spanned<u64>>,
    refusal_per_minute: Option<Spanned<u64>>,
    max_connections_unix: Option<Spanned<u64>>,
    max_connections_tcp: Option<Spanned<u64>>,
    max_connections_per_peer: Option<Spanned<u64>>,
    tls_handshake_timeout_ms: Option<Spanned<u64>>,
    idle_timeout_secs: Option<Spanned<u64>>,
}

/// Checks one value against its range (the caller knows the file and line).
pub(super) type Ranged<'a> =
    &'a dyn Fn(&Spanned<u64>, &'static str, RangeInclusive<u64>) -> Result<u64, ConfigError>;

impl AccessFile {
    /// Applies the values given onto `access`.
    pub(super) fn apply(&self, access: &mut Access, ranged: Ranged<'_>) -> Result<(), ConfigError> {
        use ranges as r;
        let get = |v: &Option<Spanned<u64>>, key: &'static str, range| {
            v.as_ref().map(|v| ranged(v, key, range)).transpose()
        };
        let count = |n: u64| u32::try_from(n).unwrap_or(u32::MAX);
        let size = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
        let c = &mut access.connections;
        if let Some(n) = get(
            &self.refusal_burst,
            "access.refusal_burst",
            r::REFUSAL_BURST,
        )? {
            access.refusals.burst = count(n);
        }
        let key = "access.refusal_per_minute";
        if let Some(n) = get(&self.refusal_per_minute, key, r::REFUSAL_PER_MINUTE)? {
            access.refusals.per_minute = count(n);
        }
        let key = "access.max_connections_unix";
        if let Some(n) = get(&self.max_connections_unix, key, r::MAX_CONNECTIONS)? {
            c.unix = size(n);
        }
        let key = "access.max_connections_tcp";
        if let Some(n) = get(&self.max_connections_tcp, key, r::MAX_CONNECTIONS)? {
            c.tcp = size(n);
        }
        let key = "access.max_connections_per_peer";
        if let Some(n) = get(&self.max_connections_per_peer, key, r::MAX_CONNECTIONS)? {
            c.per_peer = size(n);
        }
        let key = "access.tls_handshake_timeout_ms";
        if let Some(n) = get(
            &self.tls_handshake_timeout_ms,
            key,
            r::TLS_HANDSHAKE_TIMEOUT_MS,
        )? {
            c.tls_handshake = Duration::from_millis(n);
        }
        let key = "access.idle_timeout_secs";
        if let Some(n) = get(&self.idle_timeout_secs, key, r::IDLE_TIMEOUT_SECS)? {
            c.idle = Duration::from_secs(n);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::config::tests::merge;

    use super::*;

    #[test]
    fn access_values_are_read() {
        let s = merge(
            "socket_group = \"perch\"\n[access]\nrefusal_burst = 5\nrefusal_per_minute = 2\n\
             max_connections_unix = 10\nmax_connections_tcp = 20\nmax_connections_per_peer = 3\n\
             tls_handshake_timeout_ms = 1500\nidle_timeout_secs = 9\n",
        )
        .expect("valid");
        assert_eq!(s.socket_group.as_deref(), Some("perch"));
        assert_eq!(
            s.access,
            Access {
                refusals: RefusalLimit {
                    burst: 5,
                    per_minute: 2
                },
                connections: ConnLimits {
                    unix: 10,
                    tcp: 20,
                    per_peer: 3,
                    tls_handshake: Duration::from_millis(1500),
                    idle: Duration::from_secs(9),
                },
            }
        );
        assert_eq!(merge("").expect("empty").access, Access::default());
    }

    #[test]
    fn access_values_out_of_range_name_key_and_line() {
        let e = |text: &str| merge(text).expect_err("bad").to_string();
        assert_eq!(
            e("[access]\nrefusal_burst = 0\n"),
            "config perchd.toml line 2: access.refusal_burst must be in 1..=100000 (got 0)"
        );
        assert_eq!(
            e("[access]\n\ntls_handshake_timeout_ms = 5\n"),
            "config perchd.toml line 3: access.tls_handshake_timeout_ms must be in 100..=600000 (got 5)"
        );
        assert!(e("[access]\nmax_conections = 5\n").contains("max_conections"));
    }
}
