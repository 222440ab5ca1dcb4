//! `perch policy`: perchd's stored policies (Spyderbat policy YAML).
use std::path::PathBuf;

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Store a policy in perchd's policies dir (replacing one of the same
    /// name) and put it in force at once; audited, operator or admin.
    Apply {
        /// The policy document (YAML).
        #[arg(short = 'f', long = "file", value_name = "FILE")]
        file: PathBuf,
        /// Apply as a dry run: listed as such, acts on nothing whatever
        /// its mode.
        #[arg(long)]
        dry_run: bool,
        /// Why (optional; recorded in perchd's audit log).
        #[arg(long, value_name = "TEXT", default_value = "")]
        reason: String,
    },
    /// The stored policies (name, type, mode, enabled, dry run, applied
    /// by, file), and the files perchd refused.
    List {
        /// One JSON object per policy and line.
        #[arg(long)]
        json: bool,
    },
    /// Enable a stored policy (rewrites `enabled:` in its file); audited.
    Enable {
        #[arg(value_name = "NAME")]
        name: String,
        /// Why (optional; recorded in perchd's audit log).
        #[arg(long, value_name = "TEXT", default_value = "")]
        reason: String,
    },
    /// Disable a stored policy (rewrites `enabled:` in its file); audited.
    Disable {
        #[arg(value_name = "NAME")]
        name: String,
        /// Why (optional; recorded in perchd's audit log).
        #[arg(long, value_name = "TEXT", default_value = "")]
        reason: String,
    },
    /// Delete a stored policy and its file; audited.
    Delete {
        #[arg(value_name = "NAME")]
        name: String,
        /// Why (optional; recorded in perchd's audit log).
        #[arg(long, value_name = "TEXT", default_value = "")]
        reason: String,
    },
    /// Check policy files without perchd: every error as
    /// `FILE:LINE: field: message` (exit status 1 on any).
    Check {
        #[arg(value_name = "FILE", required = true)]
        files: Vec<PathBuf>,
    },
}
