//! `[network]`: how many connections and listening sockets perchd holds
//! and how long closed ones stay.  Past a bound the oldest go first
//! (closed before open), counted in `GetInfo.connections_evicted`.
//!
//! ```toml
//! [network]
//! `max_connections` = 65536     # open and closed, held at once
//! `max_listening` = 16384
//! closed_retention_secs = 30  # like exited processes
//! ```
use serde::Deserialize;
use toml::Spanned;

use super::{ConfigError, access::Ranged};
use crate::net::NetLimits;

/// Allowed ranges, for the file and the messages.
pub mod ranges {
    use std::ops::RangeInclusive;
    pub const MAX_CONNECTIONS: RangeInclusive<u64> = 16..=4_194_304;
    pub const MAX_LISTENING: RangeInclusive<u64> = 16..=1_048_576;
    pub const CLOSED_RETENTION_SECS: RangeInclusive<u64> = 1..=86_400;
}

/// The `[network]` table as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NetworkFile {
    max_connections: Option<Spanned<u64>>,
    max_listening: Option<Spanned<u64>>,
    closed_retention_secs: Option<Spanned<u64>>,
}

impl NetworkFile {
    /// Applies the values given onto `limits`.
    pub(super) fn apply(
        &self,
        limits: &mut NetLimits,
        ranged: Ranged<'_>,
    ) -> Result<(), ConfigError> {
        let size = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
        if let Some(v) = &self.max_connections {
            limits.max_connections = size(ranged(
                v,
                "network.max_connections",
                ranges::MAX_CONNECTIONS,
            )?);
        }
        if let Some(v) = &self.max_listening {
            limits.max_listening = size(ranged(v, "network.max_listening", ranges::MAX_LISTENING)?);
        }
        if let Some(v) = &self.closed_retention_secs {
            let secs = ranged(
                v,
                "network.closed_retention_secs",
                ranges::CLOSED_RETENTION_SECS,
            )?;
            limits.retention_ns = secs.saturating_mul(perch_proto::NS_PER_SEC);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::config::tests::merge;

    #[test]
    fn network_values_are_read() {
        let s = merge(
            "[network]\nmax_connections = 100\nmax_listening = 20\nclosed_retention_secs = 5\n",
        )
        .expect("valid");
        assert_eq!(s.network.max_connections, 100);
        assert_eq!(s.network.max_listening, 20);
        assert_eq!(s.network.retention_ns, 5_000_000_000);
    }

    #[test]
    fn bad_network_values_name_key_and_line() {
        let e = merge("procfs = true\n[network]\nmax_connections = 2\n")
            .expect_err("too small")
            .to_string();
        assert_eq!(
            e,
            "config perchd.toml line 3: network.max_connections must be in 16..=4194304 (got 2)"
        );
        let e = merge("[network]\nmax_conections = 100\n")
            .expect_err("typo")
            .to_string();
        assert!(e.contains("line 2") && e.contains("max_conections"), "{e}");
        let e = merge("[network]\n\nclosed_retention_secs = 0\n")
            .expect_err("zero")
            .to_string();
        assert!(
            e.contains("line 3: network.closed_retention_secs must be in 1..=86400"),
            "{e}"
        );
    }
}
