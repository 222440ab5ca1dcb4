//! `perch audit verify` and `perch audit list`: their arguments.  The
//! connection options apply only where perchd is asked (`verify` compares
//! with perchd's head on --socket, `list --perchd` asks perchd); the help
//! hides the rest (see [`super::help`]).
use std::path::PathBuf;

use clap::{Args, Subcommand};
use perch_audit::DEFAULT_PATH as DEFAULT_AUDIT_LOG;
use perch_proto::v1::{ActionKind, ActionResult};

use super::enum_arg;
use crate::cmd::audit::when;

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the hash chain: prints "ok: N records, chain intact", or names
    /// the first broken line and why (exit status 1).  Also checks the log
    /// against its head file (PATH.head) and, when perchd answers on
    /// --socket and keeps this log, against perchd's head: a log cut at a
    /// line boundary fails there.  What could not be compared is said on
    /// stderr.
    Verify {
        /// The audit log.
        #[arg(value_name = "PATH", default_value = DEFAULT_AUDIT_LOG)]
        path: PathBuf,
    },
    /// Print the records, oldest first, one entry per action (a live
    /// action's result stands for its intent; an intent without a result
    /// shows as outcome unknown): a table, or the log's own JSON lines with
    /// --json.
    /// Lines that do not verify are left out and reported (exit status 1).
    List(AuditListArgs),
}

#[derive(Debug, Args)]
pub struct AuditListArgs {
    /// The audit log.
    #[arg(value_name = "PATH", default_value = DEFAULT_AUDIT_LOG)]
    pub path: PathBuf,
    /// The log's JSON lines (one record per line) instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Times in UTC instead of local time.
    #[arg(long)]
    pub utc: bool,
    #[arg(
        long,
        value_name = "ACTION",
        value_parser = enum_arg::<ActionKind>,
        help = "Only this action (kill, kill_tree, kill_group, renice, kill_pod, \
                freeze_tree, thaw_tree, freeze_pod, thaw_pod, suppress_trace)"
    )]
    pub action: Option<ActionKind>,
    #[arg(
        long,
        value_name = "RESULT",
        value_parser = enum_arg::<ActionResult>,
        help = "Only this result (success, partial, not_successful)"
    )]
    pub result: Option<ActionResult>,
    /// Only actions by this user name or uid.
    #[arg(long, value_name = "USER")]
    pub actor: Option<String>,
    #[arg(
        long,
        value_name = "TIME",
        value_parser = when::parse,
        allow_hyphen_values = true,
        help = "Only records at or after TIME: 15:04[:05] (today), a date 2026-11-23, \
                2026-11-23T15:04[:05] (local time unless followed by Z or +hh:mm, so RFC 3339 \
                works), Unix seconds (1764300000 or @1764300000), or an age like 30m, -2h, 7d, \
                10 minutes ago; the same forms as the \
                console's since:"
    )]
    pub since: Option<i128>,
    /// Only records before TIME (same forms as --since).
    #[arg(long, value_name = "TIME", value_parser = when::parse, allow_hyphen_values = true)]
    pub until: Option<i128>,
    /// Only records whose line contains TEXT (any case).
    #[arg(long, value_name = "TEXT")]
    pub grep: Option<String>,
    /// Only the newest N matching records.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub limit: Option<u64>,
    /// Ask perchd (--socket or --connect) instead of reading the file: for
    /// users who may not read it.  perchd shows operators and admins every
    /// record, viewers only their own requests.  --json then prints
    /// perch's JSON form of each record.
    #[arg(long)]
    pub perchd: bool,
}
