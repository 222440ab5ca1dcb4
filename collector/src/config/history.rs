//! `[history]`: the on-disk history store (see [`crate::history`]).
//!
//! ```toml
//! [history]
//! enabled = true
//! path = "/var/lib/perch/history.db"
//! max_bytes = 1073741824   # database and log, 1 MiB ..= 1 TiB
//! max_age_secs = 604800    # 7 days, 60 s ..= 366 days
//! ```
use std::path::PathBuf;

use serde::Deserialize;
use toml::Spanned;

use super::{ConfigError, access::Ranged};
use crate::history::HistorySettings;

/// Allowed ranges, for the file and the messages.
pub mod ranges {
    use std::ops::RangeInclusive;
    /// 1 MiB ..= 1 TiB.
    pub const MAX_BYTES: RangeInclusive<u64> = 1 << 20..=1 << 40;
    /// A minute ..= a leap year.
    pub const MAX_AGE_SECS: RangeInclusive<u64> = 60..=366 * 86_400;
}

/// The `[history]` table as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct HistoryFile {
    enabled: Option<bool>,
    path: Option<PathBuf>,
    max_bytes: Option<Spanned<u64>>,
    max_age_secs: Option<Spanned<u64>>,
}

impl HistoryFile {
    /// Applies the values given onto `history`.
    pub(super) fn apply(
        &self,
        history: &mut HistorySettings,
        ranged: Ranged<'_>,
    ) -> Result<(), ConfigError> {
        if let Some(v) = self.enabled {
            history.enabled = v;
        }
        if let Some(p) = &self.path {
            history.path.clone_from(p);
        }
        if let Some(v) = &self.max_bytes {
            history.max_bytes = ranged(v, "history.max_bytes", ranges::MAX_BYTES)?;
        }
        if let Some(v) = &self.max_age_secs {
            let secs = ranged(v, "history.max_age_secs", ranges::MAX_AGE_SECS)?;
            history.max_age = std::time::Duration::from_secs(secs);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::config::tests::merge;
    use std::path::Path;

    use crate::config::Settings;

    #[test]
    fn history_values_are_read() {
        let s = merge(
            "[history]\nenabled = false\npath = \"/tmp/h.db\"\nmax_bytes = 2097152\nmax_age_secs = 3600\n",
        )
        .expect("valid");
        assert!(!s.history.enabled);
        assert_eq!(s.history.path, Path::new("/tmp/h.db"));
        assert_eq!(s.history.max_bytes, 2 << 20);
        assert_eq!(s.history.max_age.as_secs(), 3600);
        let d = Settings::default();
        assert!(d.history.enabled);
        assert_eq!(d.history.max_bytes, 1 << 30);
        assert_eq!(d.history.max_age.as_secs(), 7 * 86_400);
    }

    #[test]
    fn bad_history_values_name_key_and_range() {
        let e = merge("[history]\nmax_bytes = 1000\n")
            .expect_err("too small")
            .to_string();
        assert_eq!(
            e,
            "config perchd.toml line 2: history.max_bytes must be in 1048576..=1099511627776 (got 1000)"
        );
        let e = merge("[history]\n\nmax_age_secs = 5\n")
            .expect_err("too short")
            .to_string();
        assert!(
            e.contains("line 3: history.max_age_secs must be in 60..=31622400"),
            "{e}"
        );
        let e = merge("[history]\nmax_byte = 1\n")
            .expect_err("typo")
            .to_string();
        assert!(e.contains("max_byte"), "{e}");
    }
}
