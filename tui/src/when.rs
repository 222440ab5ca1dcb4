//! Times as users write them in filters: one grammar for the command line
//! (`perch audit list --since/--until`) and the console (the action log's
//! `since:`/`until:`), and the calendar arithmetic behind it and behind
//! the dates the console shows.
//!
//! - `15:04`, `15:04:05` (today), `2026-11-23` (that whole day),
//!   `2026-11-23T15:04`, `2026-11-23T15:04:05[.fff]`: in local time, or in
//!   the zone written after the time, `Z` or `+hh:mm` / `-hh:mm` (so an
//!   RFC 3339 time means what it says);
//! - `@UNIX_SECONDS`, or the bare seconds: `1764300000`;
//! - an age before now: `30s`, `15m`, `2h`, `7d`, the same with a minus
//!   (`-90s`, `-5m`), or in words: `10 minutes ago`, `1 day ago` (units
//!   `s`/`sec`/`second`, `m`/`min`/`minute`, `h`/`hour`, `d`/`day`, with
//!   or without the plural `s`).
//!
//! A time names a [`Span`] as long as what was written: a day, a minute, a
//! second, or a fraction of one, so `until:15:04` includes all of that
//! minute.  "Local" is the [`Clock`]'s UTC offset, passed in (the console
//! and the command line take the machine's offset now, as the console
//! shows times), so tests do not depend on the machine's zone.  New forms
//! belong here, so that every command and the console get them.
use perch_proto::NS_PER_SEC;
pub use perch_proto::civil::{civil_from_days, days_from_civil};

const SECS_PER_DAY: i64 = 86_400;

/// What a time is read against: the UTC offset of "local", and now (for
/// `15:04`, today, and ages).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Clock {
    pub utc_offset_secs: i32,
    pub now_unix_secs: i64,
}

impl Clock {
    /// This machine's clock and local offset, now.
    #[must_use]
    pub fn system() -> Clock {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        Clock {
            utc_offset_secs: local_utc_offset_secs(),
            now_unix_secs: now,
        }
    }
}

/// The Unix nanoseconds a time names: from `start_ns`, up to but not
/// including `end_ns`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    pub start_ns: i128,
    pub end_ns: i128,
}

impl Span {
    /// Whether `unix_ns` falls in the span.
    #[must_use]
    pub fn contains(&self, unix_ns: i128) -> bool {
        (self.start_ns..self.end_ns).contains(&unix_ns)
    }
}

/// Text that is none of the forms, with what they are.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not a time (15:04, 15:04:05, 2026-11-23, 2026-11-23T15:04, each in local time \
     or followed by Z or +hh:mm; expected RFC 3339 dates and times, Unix seconds as \
     1764300000 or @1764300000, or an age like 30s, -5m, 2h, 7d, 10 minutes ago)"
)]
pub struct NotATime(pub String);

/// `text` as the span it names, read against `clock`.
pub fn parse(text: &str, clock: Clock) -> Result<Span, NotATime> {
    let bad = || NotATime(perch_client::clean(text).into_owned());
    let s = text.trim();
    let second = |secs: i64| {
        let start = i128::from(secs) * i128::from(NS_PER_SEC);
        Span {
            start_ns: start,
            end_ns: start + i128::from(NS_PER_SEC),
        }
    };
    if let Some(secs) = s.strip_prefix('@') {
        return secs.parse().map(second).map_err(|_| bad());
    }
    // Bare Unix seconds: all digits (no date form is).
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse().map(second).map_err(|_| bad());
    }
    if let Some(age) = age_secs(s) {
        return clock
            .now_unix_secs
            .checked_sub(age)
            .map(second)
            .ok_or_else(bad);
    }
    calendar(s, clock).ok_or_else(bad)
}

/// An age in seconds: `15m`, `-15m` and `15 minutes ago` are 900;
/// `None` for anything else.
fn age_secs(s: &str) -> Option<i64> {
    if let Some(words) = s.strip_suffix(" ago") {
        let (digits, unit) = words.trim_end().split_once(' ')?;
        return amount(digits, unit_secs(unit.trim())?);
    }
    let s = s.strip_prefix('-').unwrap_or(s);
    let (digits, unit) = s.split_at(s.len().checked_sub(1)?);
    amount(digits, unit_secs(unit)?)
}

/// A signed offset in seconds: `+15m` is 900, `-90s` is -90 (the sign is
/// required: it is what says "from the time shown", in the console's time
/// menu); `None` for anything else.
#[must_use]
pub fn offset_secs(text: &str) -> Option<i64> {
    let s = text.trim();
    let (sign, rest) = if let Some(r) = s.strip_prefix('+') {
        (1, r)
    } else {
        (-1, s.strip_prefix('-')?)
    };
    let (digits, unit) = rest.split_at(rest.len().checked_sub(1)?);
    amount(digits, unit_secs(unit)?).map(|n| sign * n)
}

/// `digits` (only digits, at least one) times `unit` seconds.
fn amount(digits: &str, unit: i64) -> Option<i64> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse::<i64>().ok()?.checked_mul(unit)
}

/// Seconds in a unit as written: `s`, `min`, `hours`, `day`.
fn unit_secs(unit: &str) -> Option<i64> {
    let unit = unit.to_ascii_lowercase();
    let unit = match unit.as_str() {
        "s" | "m" | "h" | "d" => unit.as_str(),
        u => u.strip_suffix('s').unwrap_or(u),
    };
    Some(match unit {
        "s" | "sec" | "second" => 1,
        "m" | "min" | "minute" => 60,
        "h" | "hour" => 3600,
        "d" | "day" => SECS_PER_DAY,
        _ => return None,
    })
}

/// The date and time-of-day forms, with or without a zone.
fn calendar(s: &str, clock: Clock) -> Option<Span> {
    let (date, time) = match s.find(['T', 't']) {
        Some(i) => (Some(&s[..i]), Some(&s[i + 1..])),
        None if s.contains(':') => (None, Some(s)),
        None => (Some(s), None),
    };
    let Some(time) = time else {
        // A whole day, in local time.
        let day = date.and_then(days_of_date)?;
        let start = day * SECS_PER_DAY - i64::from(clock.utc_offset_secs);
        return Some(span(
            start,
            0,
            SECS_PER_DAY * i64::try_from(NS_PER_SEC).ok()?,
        ));
    };
    let (time, offset) = split_zone(time)?;
    let offset = offset.unwrap_or(clock.utc_offset_secs);
    let (sod, nanos, span_ns) = time_of_day(time)?;
    let day = match date {
        Some(d) => days_of_date(d)?,
        // Today, where the zone says.
        None => (clock.now_unix_secs + i64::from(offset)).div_euclid(SECS_PER_DAY),
    };
    Some(span(
        day * SECS_PER_DAY + sod - i64::from(offset),
        nanos,
        span_ns,
    ))
}

fn span(start_secs: i64, nanos: i64, span_ns: i64) -> Span {
    let start = i128::from(start_secs) * i128::from(NS_PER_SEC) + i128::from(nanos);
    Span {
        start_ns: start,
        end_ns: start + i128::from(span_ns),
    }
}

/// A time and the zone written after it, in seconds east of UTC:
/// `15:04Z` -> (`15:04`, Some(0)); `15:04+02:00` -> (`15:04`, Some(7200));
/// `15:04` -> (`15:04`, None).  `None` for a zone out of range.
fn split_zone(time: &str) -> Option<(&str, Option<i32>)> {
    if let Some(t) = time.strip_suffix(['Z', 'z']) {
        return Some((t, Some(0)));
    }
    let no_zone = Some((time, None));
    let Some((t, zone)) = time
        .len()
        .checked_sub(6)
        .and_then(|at| time.split_at_checked(at))
    else {
        return no_zone;
    };
    let sign = match zone.as_bytes().first() {
        Some(b'+') => 1,
        Some(b'-') => -1,
        _ => return no_zone,
    };
    let (h, m) = zone[1..].split_once(':')?;
    let offset = sign * (two_digits(h, 23)? * 3600 + two_digits(m, 59)? * 60);
    Some((t, Some(i32::try_from(offset).ok()?)))
}

/// `15:04` / `15:04:05` / `15:04:05.25` -> (seconds of the day, the
/// nanoseconds of a fraction, how long the written precision lasts in ns).
fn time_of_day(s: &str) -> Option<(i64, i64, i64)> {
    let ns_per_sec = i64::try_from(NS_PER_SEC).ok()?;
    let (s, fraction) = match s.split_once('.') {
        Some((s, f)) => (s, Some(f)),
        None => (s, None),
    };
    let parts: Vec<&str> = s.split(':').collect();
    let (sod, span) = match parts[..] {
        [h, m] if fraction.is_none() => (two_digits(h, 23)? * 3600 + two_digits(m, 59)? * 60, 60),
        [h, m, sec] => (
            two_digits(h, 23)? * 3600 + two_digits(m, 59)? * 60 + two_digits(sec, 59)?,
            1,
        ),
        _ => return None,
    };
    let Some(f) = fraction else {
        return Some((sod, 0, span * ns_per_sec));
    };
    if f.is_empty() || f.len() > 9 || !f.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let scale = 10_i64.pow(9 - u32::try_from(f.len()).ok()?);
    Some((sod, f.parse::<i64>().ok()? * scale, scale))
}

/// Exactly two digits, at most `max`.
fn two_digits(p: &str, max: i64) -> Option<i64> {
    (p.len() == 2 && p.bytes().all(|b| b.is_ascii_digit()))
        .then(|| p.parse::<i64>().ok())
        .flatten()
        .filter(|n| *n <= max)
}

/// `2026-11-23` to days since 1970, if it is a real date.
fn days_of_date(s: &str) -> Option<i64> {
    let mut it = s.split('-');
    let (y, m, d) = (it.next()?, it.next()?, it.next()?);
    if it.next().is_some() || y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let all_digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    if !(all_digits(y) && all_digits(m) && all_digits(d)) {
        return None;
    }
    let (y, m, d): (i64, i64, i64) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    ((1..=12).contains(&m) && d >= 1 && d <= days_in_month(y, m)).then(|| days_from_civil(y, m, d))
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Unix seconds plus a UTC offset to (days since 1970, seconds of the day).
#[must_use]
pub fn local_day(unix_secs: i64, utc_offset_secs: i32) -> (i64, i64) {
    let t = unix_secs.saturating_add(i64::from(utc_offset_secs));
    (t.div_euclid(SECS_PER_DAY), t.rem_euclid(SECS_PER_DAY))
}

/// A full date and time: `2026-11-23 14:05:09`.
#[must_use]
pub fn date_time(unix_secs: i64, utc_offset_secs: i32) -> String {
    let (day, sod) = local_day(unix_secs, utc_offset_secs);
    let (y, m, d) = civil_from_days(day);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        sod / 3600,
        (sod / 60) % 60,
        sod % 60
    )
}

/// This machine's offset from UTC now (0 if the zone cannot be read).
#[must_use]
pub fn local_utc_offset_secs() -> i32 {
    // SAFETY: `time(NULL)` only returns the time; `localtime_r` writes only
    // into the `tm` we own, which all-zero bytes are a valid value of.
    unsafe {
        let now = libc::time(std::ptr::null_mut());
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&raw const now, &raw mut tm).is_null() {
            return 0;
        }
        i32::try_from(tm.tm_gmtoff).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests;
