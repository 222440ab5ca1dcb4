//! `perch ps` and `perch events`: their arguments.  The field names `ps`
//! sorts and prints by, and the event kinds `events` filters on, are
//! checked here, so a bad one fails with the allowed values named.
use clap::Args;
use perch_proto::v1::EventKind;

use super::enum_arg;
use crate::cmd::ps::{Field, SortBy};

#[derive(Debug, Default, Args)]
pub struct PsArgs {
    /// One JSON object per process per line, instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Include processes that exited recently (within the collector's retention).
    #[arg(long, short = 'a')]
    pub all: bool,
    /// The processes as they were at TIME, from perchd's history store
    /// (RFC 3339 or local `15:04:05`, `2026-11-23T15:04`, `@UNIX_SECONDS`,
    /// an age like `5m`); with -a also those that had exited shortly before.
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub at: Option<String>,
    // A help string: the field list is built from the one list `ps` uses.
    #[arg(
        long,
        value_name = "FIELD",
        allow_hyphen_values = true,
        value_parser = SortBy::parse,
        help = format!(
            "Sort by FIELD ({}); a leading `-` reverses it (`--sort=-cpu`).  \
             Default: pid",
            Field::names()
        )
    )]
    pub sort: Option<SortBy>,
    /// Reverse the order (largest CPU, memory, time first with their sort).
    #[arg(long, short = 'r')]
    pub reverse: bool,
    #[arg(
        short = 'o',
        long = "fields",
        value_name = "FIELD,FIELD",
        value_delimiter = ',',
        value_parser = Field::parse,
        help = format!(
            "The columns to print, in this order ({}).  Default: the \
             PID PPID USER COMMAND table",
            Field::names()
        )
    )]
    pub fields: Vec<Field>,
    /// Only processes that pass this filter, in the console's `\` filter
    /// syntax: free text, `user:root`, `cpu>5%`, `rss>100M`, `time>1m`,
    /// `is:exited`, `!` to negate; several words must all hold.
    #[arg(value_name = "FILTER", num_args = 0..)]
    pub filter: Vec<String>,
}

#[derive(Debug, Default, Args)]
pub struct EventsArgs {
    /// One JSON object per event per line (NDJSON).
    #[arg(long)]
    pub json: bool,
    /// Start after this sequence number (the last one seen) instead of with
    /// the next new event.
    #[arg(long, value_name = "SEQ", conflicts_with = "from")]
    pub resume_after: Option<u64>,
    /// Print the stored events from TIME (perchd's history store) instead
    /// of watching live ones, and stop at --to (default: now).
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub from: Option<String>,
    /// With --from: the end of the range (exclusive).
    #[arg(
        long,
        value_name = "TIME",
        requires = "from",
        allow_hyphen_values = true
    )]
    pub to: Option<String>,
    /// Print times in UTC instead of local time.
    #[arg(long)]
    pub utc: bool,
    /// Only events about this process (an exec, fork (as child or parent),
    /// exit or update of it, or an action on it).  Repeatable.
    #[arg(long, value_name = "PID")]
    pub pid: Vec<u32>,
    #[arg(
        long,
        value_name = "KIND",
        alias = "kinds",
        value_delimiter = ',',
        value_parser = enum_arg::<EventKind>,
        help = "Only events of these kinds (exec, fork, exit, update, process_samples, \
                host_sample, action, connect, accept, listen, close, connection_updates, \
                security, flag, trace, deviation); repeatable or comma-separated.  Notices \
                are always printed"
    )]
    pub kind: Vec<EventKind>,
    /// Only events about processes whose command name (comm) contains NAME
    /// (any case).
    #[arg(long, value_name = "NAME")]
    pub comm: Option<String>,
}
