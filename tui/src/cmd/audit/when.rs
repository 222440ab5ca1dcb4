//! Times on the audit command line: `--since` / `--until` take
//! `perch::when`'s grammar, the one the console's action log filter takes
//! (local time unless a zone is written, `@UNIX_SECONDS`, ages like `15m`);
//! the table shows UTC.
use perch::when::{self, Clock};
use perch_proto::NS_PER_SEC;

/// `s` as the Unix nanoseconds it starts at, against the clock now (the
/// clap value parser).
pub fn parse(s: &str) -> Result<i128, String> {
    when::parse(s, Clock::system())
        .map(|span| span.start_ns)
        .map_err(|e| e.to_string())
}

/// `2026-11-23 23:40:41` (UTC) for the table.
#[must_use]
pub fn format(unix_ns: u64) -> String {
    let secs = i64::try_from(unix_ns / NS_PER_SEC).unwrap_or(i64::MAX);
    when::date_time(secs, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_times_are_utc() {
        assert_eq!(format(1_700_000_000_123_000_000), "2023-11-14 22:13:20");
        assert_eq!(format(0), "1970-01-01 00:00:00");
    }
}
