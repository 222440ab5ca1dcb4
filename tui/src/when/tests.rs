//! The time grammar: every form the command line and the console took
//! before they shared it, zones, spans, and what is refused.  Clocks are
//! fixed offsets, never the machine's zone.
use super::*;

/// 2026-11-23 14:05:09 UTC.
const NOW: i64 = 1_795_442_709;
const S: i128 = 1_000_000_000;

fn utc(now_unix_secs: i64) -> Clock {
    Clock {
        utc_offset_secs: 0,
        now_unix_secs,
    }
}

fn at_offset(utc_offset_secs: i32) -> Clock {
    Clock {
        utc_offset_secs,
        now_unix_secs: NOW,
    }
}

fn span(s: &str, clock: Clock) -> Span {
    parse(s, clock).unwrap_or_else(|e| panic!("{s}: {e}"))
}

/// The forms `perch audit list --since` took (then always in UTC).
#[test]
fn accepted_forms() {
    const NOW: i128 = 1_800_000_000 * 1_000_000_000;
    let at = |s| span(s, utc(1_800_000_000)).start_ns;
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

/// Relative times and bare Unix seconds (issue 13): each names the second
/// it lands on.
#[test]
fn relative_times_and_bare_seconds() {
    const NOW_S: i64 = 1_800_000_000;
    let at = |s| span(s, utc(NOW_S));
    let second = |secs: i64| Span {
        start_ns: i128::from(secs) * S,
        end_ns: i128::from(secs + 1) * S,
    };
    for (text, secs) in [
        ("-90s", NOW_S - 90),
        ("-5m", NOW_S - 300),
        ("-2h", NOW_S - 7_200),
        ("-1d", NOW_S - 86_400),
        ("10 minutes ago", NOW_S - 600),
        ("1 minute ago", NOW_S - 60),
        ("2 hours ago", NOW_S - 7_200),
        ("1 hour ago", NOW_S - 3_600),
        ("1 day ago", NOW_S - 86_400),
        ("3 days ago", NOW_S - 259_200),
        ("30 seconds ago", NOW_S - 30),
        ("5 min ago", NOW_S - 300),
        ("5 mins ago", NOW_S - 300),
        ("  2 Hours ago ", NOW_S - 7_200),
        ("1764300000", 1_764_300_000),
        ("0", 0),
        ("@1764300000", 1_764_300_000),
    ] {
        assert_eq!(at(text), second(secs), "{text}");
    }
}

#[test]
fn signed_offsets_for_the_time_menu() {
    assert_eq!(offset_secs("+15m"), Some(900));
    assert_eq!(offset_secs("-90s"), Some(-90));
    assert_eq!(offset_secs(" +1h "), Some(3_600));
    assert_eq!(offset_secs("-2d"), Some(-172_800));
    for bad in ["15m", "+", "-", "+15", "+m", "+15w", "15:04", "+1 5m"] {
        assert_eq!(offset_secs(bad), None, "{bad}");
    }
}

#[test]
fn an_age_before_the_epoch_is_refused_not_wrapped() {
    let e = parse("-2d", utc(0)).map(|s| s.start_ns);
    assert_eq!(e, Ok(-172_800 * S));
    let e = parse("9223372036854775807m", utc(0)).unwrap_err();
    assert!(e.to_string().contains("is not a time"), "{e}");
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
        "--5m",
        "+5m",
        "5 weeks ago",
        "minutes ago",
        "x minutes ago",
        "10 minutes",
        "-",
        "12a4",
        "99999999999999999999999",
    ] {
        let e = parse(s, utc(NOW)).unwrap_err().to_string();
        assert!(e.contains("expected RFC 3339"), "{s}: {e}");
        assert!(e.contains("is not a time (15:04"), "{s}: {e}");
    }
}

/// The forms the console's `since:` / `until:` took, in local time.
#[test]
fn local_times_and_their_spans() {
    let plus1 = at_offset(3600);
    // NOW is 15:05:09 at UTC+1.
    let minute = span("15:05", plus1);
    assert_eq!(minute.start_ns, i128::from(NOW - 9) * S);
    assert_eq!(minute.end_ns - minute.start_ns, 60 * S);
    assert!(minute.contains(i128::from(NOW) * S));
    let second = span("15:05:09", plus1);
    assert_eq!(
        (second.start_ns, second.end_ns),
        (i128::from(NOW) * S, i128::from(NOW + 1) * S)
    );
    let day = span("2026-11-23", plus1);
    // Local midnight is 23:00 UTC the day before.
    assert_eq!(
        day.start_ns,
        i128::from(NOW - 14 * 3600 - 5 * 60 - 9 - 3600) * S
    );
    assert_eq!(day.end_ns - day.start_ns, 86_400 * S);
    assert_eq!(
        span("2026-11-23T15:05", plus1),
        minute,
        "a date with a time is that minute"
    );
    assert_eq!(span("2026-11-23t15:05:09", plus1), second);
    // Leap day exists in 2028, not in 2027.
    assert!(parse("2028-02-29", plus1).is_ok());
    assert!(parse("2027-02-29", plus1).is_err());
    for bad in [
        "25:00",
        "2026-11-23T",
        "1:5",
        "15:04.5",
        "2026-11-23Z",
        "15:04:05.1234567890",
    ] {
        assert!(parse(bad, plus1).is_err(), "{bad}");
    }
}

#[test]
fn a_written_zone_wins_over_local() {
    let plus1 = at_offset(3600);
    let minus5 = at_offset(-5 * 3600);
    let utc_second = i128::from(NOW) * S;
    for clock in [plus1, minus5, utc(NOW)] {
        assert_eq!(span("2026-11-23T14:05:09Z", clock).start_ns, utc_second);
        assert_eq!(
            span("2026-11-23T16:05:09+02:00", clock).start_ns,
            utc_second
        );
        assert_eq!(
            span("2026-11-23T09:05:09-05:00", clock).start_ns,
            utc_second
        );
        assert_eq!(span("2026-11-23t14:05:09z", clock).start_ns, utc_second);
        // Today, in the written zone.
        assert_eq!(span("14:05:09Z", clock).start_ns, utc_second);
        assert_eq!(
            span("14:05Z", clock).end_ns - span("14:05Z", clock).start_ns,
            60 * S
        );
    }
    // The same wall time without a zone is local: an hour apart per hour
    // of offset, however far the clock is from UTC.
    assert_eq!(
        span("2026-11-23T14:05:09", minus5).start_ns - span("2026-11-23T14:05:09", plus1).start_ns,
        6 * 3600 * S
    );
    for bad in ["15:04+24:00", "15:04+02:60", "15:04+0200", "15:04+2:00"] {
        assert!(parse(bad, plus1).is_err(), "{bad}");
    }
}

#[test]
fn today_is_the_zones_today() {
    // 00:30 on 2026-11-24 at UTC+1 is still 2026-11-23 in UTC.
    let late = Clock {
        utc_offset_secs: 3600,
        now_unix_secs: days_from_civil(2026, 11, 23) * 86_400 + 23 * 3600 + 30 * 60,
    };
    assert_eq!(
        span("00:10", late).start_ns,
        span("2026-11-24T00:10", late).start_ns
    );
    assert_eq!(
        span("23:10Z", late).start_ns,
        span("2026-11-23T23:10:00Z", late).start_ns
    );
}

#[test]
fn fractions_and_points() {
    let s = span("2026-11-23T14:05:09.25Z", utc(NOW));
    assert_eq!(s.start_ns, i128::from(NOW) * S + 250_000_000);
    assert_eq!(s.end_ns - s.start_ns, 10_000_000);
    let unix = span("@1795442709", utc(0));
    assert_eq!(
        (unix.start_ns, unix.end_ns),
        (i128::from(NOW) * S, i128::from(NOW + 1) * S)
    );
    assert_eq!(span("@-1", utc(0)).start_ns, -S);
    assert!(
        parse(&format!("{}d", i64::MAX), utc(NOW)).is_err(),
        "no overflow"
    );
}

#[test]
fn the_error_names_the_text_escaped() {
    let e = parse("x\x1b[2J", utc(NOW)).unwrap_err();
    assert!(
        e.to_string().starts_with("`x\\u{1b}[2J` is not a time"),
        "{e}"
    );
}

#[test]
fn civil_dates_round_trip() {
    assert_eq!(days_from_civil(1970, 1, 1), 0);
    assert_eq!(
        days_from_civil(2026, 11, 23) * 86_400 + 14 * 3600 + 5 * 60 + 9,
        NOW
    );
    assert_eq!(
        days_from_civil(2000, 3, 1) - days_from_civil(2000, 2, 28),
        2
    );
    for days in [-800_000, -1, 0, 59, 60, 19_000, 2_932_896] {
        let (y, m, d) = civil_from_days(days);
        assert_eq!(
            days_from_civil(y, i64::from(m), i64::from(d)),
            days,
            "{days}"
        );
    }
}

#[test]
fn dates_and_times_print_in_the_given_offset() {
    assert_eq!(date_time(NOW, 0), "2026-11-23 14:05:09");
    assert_eq!(date_time(NOW, 3600), "2026-11-23 15:05:09");
    assert_eq!(date_time(NOW, -15 * 3600), "2026-11-22 23:05:09");
    assert_eq!(date_time(-1, 0), "1969-12-31 23:59:59");
}
