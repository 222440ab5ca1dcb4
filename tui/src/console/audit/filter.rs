//! The action log's `\` filter, in the process filter's syntax: terms
//! separated by spaces, all must hold, `!` negates, `"…"` quotes.
//!
//! - `action:kill_tree` (or `type:`), `result:partial` (or `status:`),
//!   `mode:dry_run`, `who:root` (or `actor:`, `user:`), `code:`, `reason:`,
//!   `target:` (exe, user, pod), `host:`: a substring, any case;
//! - `pid:4242`: the target's pid;
//! - `since:T`, `until:T` (inclusive: `until:15:04` keeps all of that
//!   minute), T in `crate::when`'s grammar, the one `perch audit list`
//!   takes: `15:04`, `2026-11-23`, `2026-11-23T15:04`, local time unless
//!   a zone follows, Unix seconds, an age like `15m` or `10 minutes ago`;
//! - free text: a substring of any of the above or the detail.
use perch_proto::{names::short, v1::AuditRecord};

pub use crate::when::Clock;
use crate::{
    console::filter::{FilterError, contains_ci, words},
    when,
};

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
    /// Unix ns: from this one on.
    Since(i128),
    /// Unix ns: before this one.
    Until(i128),
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
        "since" | "until" => match when::parse(value, clock) {
            Ok(span) if name == "since" => Test::Since(span.start_ns),
            Ok(span) => Test::Until(span.end_ns),
            Err(e) => return err(value_at, e.to_string()),
        },
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
        Text::Result => crate::act::status_name(r),
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
    let time = i128::from(r.time_unix_ns);
    match test {
        Test::Text(t, needle) => contains_ci(&text(r, *t, host), needle),
        Test::Pid(pid) => r
            .target
            .as_ref()
            .and_then(|t| t.key)
            .is_some_and(|k| k.pid == *pid),
        Test::Since(t) => time >= *t,
        Test::Until(t) => time < *t,
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
