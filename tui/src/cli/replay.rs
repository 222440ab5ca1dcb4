//! `perch replay FILE` and `perch record`: recordings in and out.
use std::path::PathBuf;

use clap::Args;

use crate::cmd::audit::when;

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The recording: NDJSON, one record per line (gzip-compressed or
    /// not), as Spyderbat/Spydertop saves it or `perch record` writes it.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Print the state at --at instead of opening the console.
    #[arg(long)]
    pub print: bool,
    #[arg(
        long,
        value_name = "TIME",
        value_parser = when::parse,
        allow_hyphen_values = true,
        help = "The instant to show (default: the last sample with --print, the first in the console): 15:04[:05] (today), \
                2026-11-23T15:04[:05] (local time unless followed by Z or +hh:mm, so RFC 3339 \
                works), @UNIX_SECONDS, or an age like 30m; it must lie in the recording"
    )]
    pub at: Option<i128>,
    /// One JSON object (import counts and the whole state), not text.
    #[arg(long)]
    pub json: bool,
    /// Processes, flags and traces listed in the text [1..=10000].
    #[arg(long, value_name = "N", default_value_t = 10,
          value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub top: u32,
}

/// `perch record`: a window of a collector's history to a file.
#[derive(Debug, Args)]
pub struct RecordArgs {
    /// Start of the window: 15:04[:05], 2026-11-23T15:04[:05][Z|+hh:mm],
    /// `@UNIX_SECONDS` or `UNIX_SECONDS`, -5m / "10 minutes ago" (the same
    /// forms as every other command).
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub from: String,
    /// End of the window (default: now).
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub to: Option<String>,
    /// Seconds between recorded states [1..=3600].
    #[arg(long, value_name = "SECS", default_value_t = 1,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub step: u64,
    /// The file to write: Spyderbat's NDJSON record schemas (so it opens in
    /// `perch replay` and in Spydertop), gzip-compressed when it ends in .gz.
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: PathBuf,
}
