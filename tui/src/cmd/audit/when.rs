//! Times on the audit command line: `--since` / `--until` take
//! `perch::when`'s grammar, the one the console's action log filter takes
//! (local time unless a zone is written, `@UNIX_SECONDS`, ages like `15m`);
//! the table shows local time like the console (UTC with --utc).
use perch::when::{self, Clock};
use perch_proto::NS_PER_SEC;

/// `s` as the Unix nanoseconds it starts at, against the clock now (the
/// clap value parser).
pub fn parse(s: &str) -> Result<i128, String> {
    when::parse(s, Clock::system())
        .map(|span| span.start_ns)
        .map_err(|e| e.to_string())
}

/// `2026-11-23 23:40:41`, `utc_offset_secs` east of UTC.
#[must_use]
pub fn format_at(unix_ns: u64, utc_offset_secs: i32) -> String {
    let secs = i64::try_from(unix_ns / NS_PER_SEC).unwrap_or(i64::MAX);
    when::date_time(secs, utc_offset_secs)
}

/// The table's offset: UTC with `--utc`, else this machine's local time
/// (as the console shows times).
#[must_use]
pub fn offset(utc: bool) -> i32 {
    if utc {
        0
    } else {
        when::local_utc_offset_secs()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_what_the_console_takes() {
        // One grammar (perch::when): a clock time today, in local time.
        let clock = Clock::system();
        let at = when::parse("15:47", clock).unwrap().start_ns;
        assert_eq!(parse("15:47"), Ok(at));
        let secs = i64::try_from(at / i128::from(NS_PER_SEC)).unwrap();
        assert!(when::date_time(secs, clock.utc_offset_secs).ends_with(" 15:47:00"));
        assert!(parse("15:47").is_ok() && parse("2h").is_ok() && parse("@1700000000").is_ok());
        assert!(parse("25:61").is_err());
    }

    #[test]
    fn local_times_are_offset() {
        assert_eq!(
            format_at(1_700_000_000_000_000_000, 3600),
            "2023-11-14 23:13:20"
        );
    }

    #[test]
    fn table_times_are_utc() {
        assert_eq!(
            format_at(1_700_000_000_123_000_000, 0),
            "2023-11-14 22:13:20"
        );
        assert_eq!(format_at(0, 0), "1970-01-01 00:00:00");
    }
}
