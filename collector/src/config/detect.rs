//! `[detect]`: the detection rules and how many flags and traces perchd
//! keeps.  Every value is checked against its range like the rest of the
//! file.
//!
//! ```toml
//! [detect]
//! enabled = true
//! rules_dirs = ["/etc/perch/rules.d"]  # after the built-in rules, in order
//! policies_dir = "/etc/perch/policies.d"  # suppression policies
//! max_flags = 10000                    # flags held in memory
//! max_traces = 1000                    # traces held in memory
//! max_age_secs = 86400                 # older flags and traces are dropped
//! trace_quiet_secs = 600               # a trace without new flags closes
//! notable_score = 50                   # a trace scoring this is notable
//! restart_window_secs = 60             # restart_loop's window
//! ```
use std::path::PathBuf;

use serde::Deserialize;
use toml::Spanned;

use super::ConfigError;
use crate::detect::DetectSettings;

pub mod ranges {
    use std::ops::RangeInclusive;
    pub const MAX_FLAGS: RangeInclusive<u64> = 1..=1_000_000;
    pub const MAX_TRACES: RangeInclusive<u64> = 1..=100_000;
    pub const MAX_AGE_SECS: RangeInclusive<u64> = 60..=2_592_000;
    pub const TRACE_QUIET_SECS: RangeInclusive<u64> = 1..=86_400;
    pub const NOTABLE_SCORE: RangeInclusive<u64> = 1..=10_000;
    pub const RESTART_WINDOW_SECS: RangeInclusive<u64> = 1..=3_600;
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DetectFile {
    enabled: Option<bool>,
    rules_dirs: Option<Vec<PathBuf>>,
    policies_dir: Option<PathBuf>,
    max_flags: Option<Spanned<u64>>,
    max_traces: Option<Spanned<u64>>,
    max_age_secs: Option<Spanned<u64>>,
    trace_quiet_secs: Option<Spanned<u64>>,
    notable_score: Option<Spanned<u64>>,
    restart_window_secs: Option<Spanned<u64>>,
}

impl DetectFile {
    pub(super) fn apply(
        &self,
        d: &mut DetectSettings,
        ranged: super::access::Ranged<'_>,
    ) -> Result<(), ConfigError> {
        use ranges as r;
        let get = |v: &Option<Spanned<u64>>, key: &'static str, range| {
            v.as_ref().map(|v| ranged(v, key, range)).transpose()
        };
        let ns = |s: u64| s.saturating_mul(perch_proto::NS_PER_SEC);
        let size = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
        if let Some(v) = self.enabled {
            d.enabled = v;
        }
        if let Some(v) = &self.rules_dirs {
            d.rule_dirs.clone_from(v);
        }
        if let Some(v) = &self.policies_dir {
            d.policies_dir.clone_from(v);
        }
        if let Some(n) = get(&self.max_flags, "detect.max_flags", r::MAX_FLAGS)? {
            d.max_flags = size(n);
        }
        if let Some(n) = get(&self.max_traces, "detect.max_traces", r::MAX_TRACES)? {
            d.max_traces = size(n);
        }
        if let Some(n) = get(&self.max_age_secs, "detect.max_age_secs", r::MAX_AGE_SECS)? {
            d.max_age_ns = ns(n);
        }
        if let Some(n) = get(
            &self.trace_quiet_secs,
            "detect.trace_quiet_secs",
            r::TRACE_QUIET_SECS,
        )? {
            d.trace_quiet_ns = ns(n);
        }
        if let Some(n) = get(
            &self.notable_score,
            "detect.notable_score",
            r::NOTABLE_SCORE,
        )? {
            d.notable_score = u32::try_from(n).unwrap_or(u32::MAX);
        }
        let key = "detect.restart_window_secs";
        if let Some(n) = get(&self.restart_window_secs, key, r::RESTART_WINDOW_SECS)? {
            d.restart_window_ns = ns(n);
        }
        Ok(())
    }
}
