//! `perch flags`, `perch traces`, `perch trace ID` and `perch rules`.
use std::path::PathBuf;

use clap::{Args, Subcommand};

#[derive(Debug, Args)]
pub struct FlagsArgs {
    /// One JSON object per flag and line instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Only flags at least this severe (info, low, medium, high, critical).
    #[arg(long, value_name = "SEVERITY", value_parser = severity)]
    pub min_severity: Option<i32>,
    /// Also the flags an exception of their rule covers.
    #[arg(long)]
    pub excepted: bool,
    /// At most N flags, newest first [1..=10000, default 1000].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub limit: Option<u32>,
    /// The flags raised since TIME, from perchd's history store (also
    /// those perchd no longer holds), oldest first.
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub since: Option<String>,
}

#[derive(Debug, Args)]
pub struct TracesArgs {
    /// One JSON object per trace and line instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Only traces scoring at least N [0..=10000].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(0..=10_000))]
    pub min_score: Option<u32>,
    /// Also list suppressed traces (a suppression policy selects them).
    #[arg(long)]
    pub all: bool,
    /// The traces updated since TIME, from perchd's history store, each as
    /// it last stood.
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub since: Option<String>,
}

#[derive(Debug, Args)]
pub struct TraceArgs {
    /// The trace's id (`trace:N`, or just N), as `perch traces` shows it.
    #[arg(value_name = "ID")]
    pub id: String,
}

#[derive(Debug, Args)]
pub struct SuppressArgs {
    /// The trace's id (`trace:N`, or just N), as `perch traces` shows it.
    #[arg(value_name = "TRACE_ID")]
    pub id: String,
    /// Why (required; recorded in perchd's audit log).
    #[arg(long, value_name = "TEXT")]
    pub reason: String,
    /// Print perchd's answer as one JSON object instead of the path and
    /// the policy's YAML.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// The rules perchd runs with (id, kind, severity, MITRE, source).
    List {
        /// One JSON object per rule and line.
        #[arg(long)]
        json: bool,
    },
    /// Check a rule file without perchd: the built-in rules, then FILE,
    /// as perchd would load them.  Every error names the file, line, rule
    /// and field (exit status 1).
    Check {
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
}

/// A severity name as its `perch.v1` number.
fn severity(v: &str) -> Result<i32, String> {
    perch_proto::names::parse::<perch_proto::v1::Severity>(v)
        .filter(|s| *s != perch_proto::v1::Severity::Unspecified)
        .map(i32::from)
        .ok_or_else(|| format!("{v:?}: use info, low, medium, high or critical"))
}
