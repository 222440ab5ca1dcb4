//! `perch policy`: perchd's stored policies (Spyderbat policy YAML).
use std::path::PathBuf;

use clap::{Args, Subcommand};

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
    /// Learn a workload policy (audit mode) from what ran in one scope in
    /// perchd's history: the process tree, users, listening sockets and
    /// connections.
    Learn {
        /// A linux-service: its cgroup path (as `perch ps` shows it).
        #[arg(long, value_name = "CGROUP", group = "scope", required_unless_present_any = ["container", "exe"])]
        service: Option<String>,
        /// A container: its id.
        #[arg(long, value_name = "ID", group = "scope")]
        container: Option<String>,
        /// A binary's own process trees, anywhere on this machine.
        #[arg(long, value_name = "PATH", group = "scope")]
        exe: Option<String>,
        /// The policy's name (default: from the scope).
        #[arg(long, value_name = "NAME")]
        name: Option<String>,
        #[command(flatten)]
        window: Window,
        /// Write the policy here instead of stdout.
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Judge a policy against perchd's history: every deviation and the
    /// responses it would have taken; touches nothing.
    Test {
        #[arg(short = 'f', long = "file", value_name = "FILE")]
        file: PathBuf,
        #[command(flatten)]
        window: Window,
        /// One JSON object per deviation and line.
        #[arg(long)]
        json: bool,
    },
    /// The lines merging the window's deviations would add to a policy.
    Diff {
        #[arg(short = 'f', long = "file", value_name = "FILE")]
        file: PathBuf,
        #[command(flatten)]
        window: Window,
    },
    /// The policy with the window's deviations folded in.
    Merge {
        #[arg(short = 'f', long = "file", value_name = "FILE")]
        file: PathBuf,
        #[command(flatten)]
        window: Window,
        /// Write the merged policy here instead of stdout.
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Check policy files without perchd: every error as
    /// `FILE:LINE: field: message` (exit status 1 on any).
    Check {
        #[arg(value_name = "FILE", required = true)]
        files: Vec<PathBuf>,
    },
}

/// A window of perchd's history.
#[derive(Debug, Args)]
pub struct Window {
    /// From (RFC 3339, local time, `-1h`, `10 minutes ago`, Unix seconds).
    #[arg(long, value_name = "TIME", default_value = "-1h")]
    pub from: String,
    /// To (default: now).
    #[arg(long, value_name = "TIME")]
    pub to: Option<String>,
}
