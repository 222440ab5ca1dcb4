//! The action log's `\` filter, in the process filter's syntax: terms
//! separated by spaces, all must hold, `!` negates, `"…"` quotes.
//!
//! - `action:kill_tree` (or `type:`), `result:partial` (or `status:`),
//!   `mode:dry_run`, `who:root` (or `actor:`, `user:`), `code:`, `reason:`,
//!   `target:` (exe, user, pod), `host:`: a substring, any case;
//! - `pid:4242`: the target's pid;
//! - `since:T`, `until:T` (inclusive) with T `15:04`, `15:04:05` (that time
//!   today), `2026-11-23`, or `2026-11-23T15:04[:05]`, in local time;
//! - free text: a substring of any of the above or the detail.
use perch_proto::{names::short, v1::AuditRecord};

use crate::console::filter::{FilterError, contains_ci, words};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Text {
    Action,
    Result,
    Mode,
    Who,
    Code,
    Reason,
    Target,
    Host,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Test {
    Free(String),
    Text(Text, String),
    Pid(u32),
    /// Unix seconds, inclusive.
    Since(i64),
    Until(i64),
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Term {
    negate: bool,
    test: Test,
}

/// A parsed action-log filter; the empty one keeps everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogFilter {
    terms: Vec<Term>,
}

/// What relative times mean: the local offset, and now (for `15:04`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Clock {
    pub utc_offset_secs: i32,
    pub now_unix_secs: i64,
}

const KEYS: &[(&str, Text)] = &[
    ("action", Text::Action),
    ("type", Text::Action),
    ("result", Text::Result),
    ("status", Text::Result),
    ("mode", Text::Mode),
    ("who", Text::Who),
    ("actor", Text::Who),
    ("user", Text::Who),
    ("code", Text::Code),
    ("reason", Text::Reason),
    ("target", Text::Target),
    ("host", Text::Host),
];

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// `15:04[:05]` to seconds of the day and the span it names.
fn time_of_day(s: &str) -> Option<(i64, i64)> {
    let parts: Vec<&str> = s.split(':').collect();
    let num = |p: &str, max: i64| {
        (p.len() == 2 && p.bytes().all(|b| b.is_ascii_digit()))
            .then(|| p.parse::<i64>().ok())
            .flatten()
            .filter(|n| *n <= max)
    };
    match parts[..] {
        [h, m] => Some((num(h, 23)? * 3600 + num(m, 59)? * 60, 60)),
        [h, m, sec] => Some((num(h, 23)? * 3600 + num(m, 59)? * 60 + num(sec, 59)?, 1)),
        _ => None,
    }
}

/// `2026-11-23` to days since 1970.
fn date(s: &str) -> Option<i64> {
    let mut it = s.split('-');
    let (y, m, d) = (it.next()?, it.next()?, it.next()?);
    if it.next().is_some() || y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let (y, m, d): (i64, i64, i64) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    ((1..=12).contains(&m) && d >= 1 && d <= days_in_month(y, m)).then(|| days_from_civil(y, m, d))
}

/// A time as the first and last Unix second it names.
fn when(s: &str, clock: Clock) -> Option<(i64, i64)> {
    let off = i64::from(clock.utc_offset_secs);
    let (day, sod, span) = if let Some((d, t)) = s.split_once('T') {
        let (sod, span) = time_of_day(t)?;
        (date(d)?, sod, span)
    } else if s.contains(':') {
        let (sod, span) = time_of_day(s)?;
        ((clock.now_unix_secs + off).div_euclid(86_400), sod, span)
    } else {
        (date(s)?, 0, 86_400)
    };
    let start = day * 86_400 + sod - off;
    Some((start, start + span - 1))
}

fn term(at: usize, word: &str, clock: Clock) -> Result<Term, FilterError> {
    let (negate, body, at) = match word.strip_prefix('!') {
        Some(rest) => (true, rest, at + 1),
        None => (false, word, at),
    };
    let err = |at, message: String| Err(FilterError { at, message });
    if body.is_empty() {
        return err(at, "`!` needs a term after it".to_owned());
    }
    let Some((name, value)) = body.split_once(':') else {
        return Ok(Term {
            negate,
            test: Test::Free(body.to_lowercase()),
        });
    };
    let name = name.to_ascii_lowercase();
    let value_at = at + name.chars().count() + 1;
    if value.is_empty() {
        return err(value_at, format!("`{name}` needs a value"));
    }
    let test = match name.as_str() {
        "pid" => match value.parse::<u32>() {
            Ok(pid) => Test::Pid(pid),
            Err(_) => return err(value_at, format!("`{value}` is not a pid")),
        },
        "since" | "until" => {
            let Some((first, last)) = when(value, clock) else {
                return err(
                    value_at,
                    format!(
                        "`{value}` is not a time (15:04, 15:04:05, 2026-11-23, 2026-11-23T15:04)"
                    ),
                );
            };
            if name == "since" {
                Test::Since(first)
            } else {
                Test::Until(last)
            }
        }
        _ => match KEYS.iter().find(|k| k.0 == name) {
            Some(&(_, t)) => Test::Text(t, value.to_lowercase()),
            None => {
                return err(
                    at,
                    format!(
                        "unknown key `{name}` (try action result mode who code reason target \
                         pid host since until)"
                    ),
                );
            }
        },
    };
    Ok(Term { negate, test })
}

/// The text a column key tests, for record `r` of host `host`.
fn text(r: &AuditRecord, t: Text, host: &str) -> String {
    let target = r.target.clone().unwrap_or_default();
    match t {
        Text::Action => short(r.action()),
        Text::Result => short(r.result()),
        Text::Mode => short(r.mode()),
        Text::Who => format!("{} uid {} {}", r.actor_user, r.actor_uid, r.origin),
        Text::Code => r.code.clone(),
        Text::Reason => r.reason.clone(),
        Text::Target => format!(
            "{} {} {} {}/{}",
            target.exe, target.user, target.container_id, target.pod_namespace, target.pod_name
        ),
        Text::Host => {
            if host.is_empty() {
                r.host.clone()
            } else {
                host.to_owned()
            }
        }
    }
}

impl LogFilter {
    pub fn parse(input: &str, clock: Clock) -> Result<LogFilter, FilterError> {
        let terms = words(input)?
            .into_iter()
            .map(|(at, w)| term(at, &w, clock))
            .collect::<Result<_, _>>()?;
        Ok(LogFilter { terms })
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// Whether record `r` (from the collector named `host`) passes.
    #[must_use]
    pub fn matches(&self, r: &AuditRecord, host: &str) -> bool {
        self.terms
            .iter()
            .all(|t| holds(&t.test, r, host) != t.negate)
    }
}

fn holds(test: &Test, r: &AuditRecord, host: &str) -> bool {
    let secs = i64::try_from(r.time_unix_ns / perch_proto::NS_PER_SEC).unwrap_or(i64::MAX);
    match test {
        Test::Text(t, needle) => contains_ci(&text(r, *t, host), needle),
        Test::Pid(pid) => r
            .target
            .as_ref()
            .and_then(|t| t.key)
            .is_some_and(|k| k.pid == *pid),
        Test::Since(t) => secs >= *t,
        Test::Until(t) => secs <= *t,
        Test::Free(needle) => {
            let all = [
                Text::Action,
                Text::Result,
                Text::Mode,
                Text::Who,
                Text::Code,
                Text::Reason,
                Text::Target,
                Text::Host,
            ];
            all.iter().any(|t| contains_ci(&text(r, *t, host), needle))
                || contains_ci(&r.detail, needle)
                || r.target
                    .as_ref()
                    .and_then(|t| t.key)
                    .is_some_and(|k| k.pid.to_string() == *needle)
        }
    }
}

#[cfg(test)]
mod tests;
