//! How detections run (perchd.toml `[detect]`), and the rule severity as
//! the contract names it.
use perch_proto::v1 as pb;

use super::{
    rules::{self, Severity},
    score,
};

/// How detections run (perchd.toml `[detect]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DetectSettings {
    pub enabled: bool,
    /// Directories of rule files, after the built-in rules.
    pub rule_dirs: Vec<std::path::PathBuf>,
    /// The policies directory (trace suppression policies are read from
    /// it at start-up and written to it).
    pub policies_dir: std::path::PathBuf,
    pub max_flags: usize,
    pub max_traces: usize,
    pub max_age_ns: u64,
    /// A trace without a new flag for this long closes.
    pub trace_quiet_ns: u64,
    pub notable_score: u32,
    /// Failed runs of one command by one parent are counted over this window.
    pub restart_window_ns: u64,
}

impl Default for DetectSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            rule_dirs: vec![rules::SYSTEM_DIR.into()],
            policies_dir: crate::policy::SYSTEM_DIR.into(),
            max_flags: 10_000,
            max_traces: 1_000,
            max_age_ns: 24 * 3600 * perch_proto::NS_PER_SEC,
            trace_quiet_ns: 600 * perch_proto::NS_PER_SEC,
            notable_score: score::NOTABLE,
            restart_window_ns: 60 * perch_proto::NS_PER_SEC,
        }
    }
}

#[must_use]
pub fn pb_severity(s: Severity) -> pb::Severity {
    match s {
        Severity::Info => pb::Severity::Info,
        Severity::Low => pb::Severity::Low,
        Severity::Medium => pb::Severity::Medium,
        Severity::High => pb::Severity::High,
        Severity::Critical => pb::Severity::Critical,
    }
}
