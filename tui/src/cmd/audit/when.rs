//! Times on the audit command line: `--since` / `--until` accept RFC 3339
//! (`2026-11-23T10:00:00Z`, any offset), a date (`2026-11-23`, midnight
//! UTC), `@UNIX_SECONDS`, or an age (`30s`, `15m`, `2h`, `7d` ago); the
//! table shows UTC.
use time::{Date, Month, OffsetDateTime, format_description::well_known::Rfc3339};

const FORMS: &str = "expected RFC 3339 (2026-11-23T10:00:00Z), a date (2026-11-23), \
                     @UNIX_SECONDS, or an age like 30s, 15m, 2h, 7d";

/// `s` as Unix nanoseconds; ages count back from `now_ns`.
pub fn parse_at(s: &str, now_ns: i128) -> Result<i128, String> {
    let bad = || format!("{s:?}: {FORMS}");
    let s = s.trim();
    if let Some(secs) = s.strip_prefix('@') {
        let secs: i64 = secs.parse().map_err(|_| bad())?;
        return Ok(i128::from(secs) * 1_000_000_000);
    }
    if let Some(unit) = s.chars().last().filter(char::is_ascii_alphabetic)
        && s[..s.len() - 1].bytes().all(|b| b.is_ascii_digit())
        && s.len() > 1
    {
        let secs = match unit {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return Err(bad()),
        };
        let n: i128 = s[..s.len() - 1].parse().map_err(|_| bad())?;
        return Ok(now_ns - n * secs * 1_000_000_000);
    }
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return Ok(t.unix_timestamp_nanos());
    }
    date(s)
        .map(|d| d.midnight().assume_utc().unix_timestamp_nanos())
        .ok_or_else(bad)
}

fn date(s: &str) -> Option<Date> {
    let mut parts = s.splitn(3, '-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let month = Month::try_from(m.parse::<u8>().ok()?).ok()?;
    Date::from_calendar_date(y.parse().ok()?, month, d.parse().ok()?).ok()
}

/// `s` against the clock now (the clap value parser).
pub fn parse(s: &str) -> Result<i128, String> {
    parse_at(s, OffsetDateTime::now_utc().unix_timestamp_nanos())
}

/// `2026-11-23 23:40:41` (UTC) for the table.
#[must_use]
pub fn format(unix_ns: u64) -> String {
    match OffsetDateTime::from_unix_timestamp_nanos(i128::from(unix_ns)) {
        Ok(t) => format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        ),
        Err(_) => unix_ns.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i128 = 1_800_000_000 * 1_000_000_000;

    #[test]
    fn accepted_forms() {
        let at = |s| parse_at(s, NOW).unwrap();
        assert_eq!(at("@1700000000"), 1_700_000_000 * 1_000_000_000);
        assert_eq!(at("2023-11-14T22:13:20Z"), 1_700_000_000 * 1_000_000_000);
        assert_eq!(
            at("2023-11-15T00:13:20+02:00"),
            1_700_000_000 * 1_000_000_000
        );
        assert_eq!(at("2023-11-14T22:13:20.5Z"), 1_700_000_000_500_000_000);
        assert_eq!(at("2023-11-14"), 1_699_920_000 * 1_000_000_000);
        assert_eq!(at("90s"), NOW - 90 * 1_000_000_000);
        assert_eq!(at("15m"), NOW - 900 * 1_000_000_000);
        assert_eq!(at("2h"), NOW - 7_200 * 1_000_000_000);
        assert_eq!(at("7d"), NOW - 604_800 * 1_000_000_000);
    }

    #[test]
    fn bad_forms_say_what_is_accepted() {
        for s in [
            "",
            "yesterday",
            "5w",
            "h",
            "@x",
            "2023-13-01",
            "2023-02-30",
            "2023-1-1",
            "-5m",
        ] {
            let e = parse_at(s, NOW).unwrap_err();
            assert!(e.contains("expected RFC 3339"), "{s}: {e}");
        }
    }

    #[test]
    fn table_times_are_utc() {
        assert_eq!(format(1_700_000_000_123_000_000), "2023-11-14 22:13:20");
        assert_eq!(format(0), "1970-01-01 00:00:00");
    }
}
