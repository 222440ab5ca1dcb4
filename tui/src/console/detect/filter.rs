//! The Traces and Flags screens' `\` filter, in the process filter's
//! syntax: terms separated by spaces, all must hold, `!` negates, `"…"`
//! quotes.
//!
//! - `sev:high`: at least this severe (info, low, medium, high, critical);
//! - `score:60`: scoring at least this (traces; 0..=10000);
//! - `pid:42`: the flagged process or the trace's root;
//! - `rule:`, `mitre:`, `user:`, `comm:`, `host:`: a substring, any case;
//! - `is:excepted`, `is:suppressed`, `is:active`, `is:closed`,
//!   `is:interactive`, `is:notable`;
//! - free text: a substring of the name, trigger, description, process,
//!   MITRE ids or users.
//!
//! A filter that names `is:suppressed` also shows suppressed traces.
use perch_proto::v1::Severity;

use super::{HeldFlag, HeldTrace};
use crate::console::filter::{FilterError, contains_ci, words};

/// What a filter tests of one flag or trace.
#[derive(Clone, Debug, Default)]
pub struct Fields<'a> {
    pub severity: Option<Severity>,
    pub score: Option<u32>,
    pub pid: Option<u32>,
    pub rule: &'a str,
    pub mitre: Vec<&'a str>,
    pub users: Vec<&'a str>,
    pub comm: &'a str,
    pub host: &'a str,
    /// Description, trigger, name: free text.
    pub text: Vec<&'a str>,
    pub is: Vec<&'static str>,
}

impl HeldFlag {
    #[must_use]
    pub fn fields<'a>(&'a self, host: &'a str) -> Fields<'a> {
        let f = &self.f;
        let mut is = Vec::new();
        if f.excepted {
            is.push("excepted");
        }
        Fields {
            severity: Some(f.severity()),
            score: None,
            pid: self.key.map(|k| k.pid),
            rule: &f.short_name,
            mitre: f
                .mitre_mapping
                .iter()
                .flat_map(|m| {
                    [
                        m.technique.as_str(),
                        m.technique_name.as_str(),
                        m.tactic.as_str(),
                    ]
                })
                .collect(),
            users: vec![f.euser.as_str(), f.auser.as_str()],
            comm: &f.name,
            host,
            text: vec![f.description.as_str(), f.rule_id.as_str(), f.id.as_str()],
            is,
        }
    }
}

impl HeldTrace {
    #[must_use]
    pub fn fields<'a>(&'a self, host: &'a str, notable_score: u32) -> Fields<'a> {
        let t = &self.t;
        let mut is = vec![if self.is_active() { "active" } else { "closed" }];
        if t.suppressed {
            is.push("suppressed");
        }
        if t.interactive {
            is.push("interactive");
        }
        if t.notable || t.score >= notable_score {
            is.push("notable");
        }
        Fields {
            severity: Some(t.max_severity()),
            score: Some(t.score),
            pid: self.root.map(|k| k.pid),
            rule: &t.trigger_short_name,
            mitre: t.mitre_mapping.iter().map(String::as_str).collect(),
            users: t
                .users
                .iter()
                .chain(&t.login_users)
                .map(String::as_str)
                .collect(),
            comm: &t.root_proc_name,
            host,
            text: vec![t.name.as_str(), t.id.as_str(), t.trigger.as_str()],
            is,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Test {
    Free(String),
    Severity(Severity),
    Score(u32),
    Pid(u32),
    Rule(String),
    Mitre(String),
    User(String),
    Comm(String),
    Host(String),
    Is(&'static str),
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Term {
    negate: bool,
    test: Test,
}

/// A parsed detection filter; the empty one keeps everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DetectFilter {
    terms: Vec<Term>,
}

const KEYS: &str = "sev score pid rule mitre user comm host is";
const IS: &[&str] = &[
    "excepted",
    "suppressed",
    "active",
    "closed",
    "interactive",
    "notable",
];

fn severity(v: &str) -> Option<Severity> {
    Some(match v {
        "info" | "i" => Severity::Info,
        "low" | "l" => Severity::Low,
        "medium" | "med" | "m" => Severity::Medium,
        "high" | "h" => Severity::High,
        "critical" | "crit" | "c" => Severity::Critical,
        _ => return None,
    })
}

fn term(at: usize, word: &str) -> Result<Term, FilterError> {
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
    let lower = value.to_lowercase();
    let test = match name.as_str() {
        "sev" | "severity" => match severity(&lower) {
            Some(s) => Test::Severity(s),
            None => {
                return err(
                    value_at,
                    format!("`sev` must be info, low, medium, high or critical (got `{value}`)"),
                );
            }
        },
        "score" => match value.parse::<u32>() {
            Ok(n) if n <= 10_000 => Test::Score(n),
            _ => {
                return err(
                    value_at,
                    format!("`score` must be a number in 0..=10000 (got `{value}`)"),
                );
            }
        },
        "pid" => match value.parse::<u32>() {
            Ok(pid) => Test::Pid(pid),
            Err(_) => return err(value_at, format!("`pid` must be a number (got `{value}`)")),
        },
        "is" => match IS.iter().find(|s| **s == lower) {
            Some(s) => Test::Is(s),
            None => {
                return err(
                    value_at,
                    format!("`is` must be one of {} (got `{value}`)", IS.join(", ")),
                );
            }
        },
        "rule" | "trigger" => Test::Rule(lower),
        "mitre" => Test::Mitre(lower),
        "user" => Test::User(lower),
        "comm" | "process" | "root" => Test::Comm(lower),
        "host" => Test::Host(lower),
        _ => return err(at, format!("unknown key `{name}` (try {KEYS})")),
    };
    Ok(Term { negate, test })
}

impl DetectFilter {
    /// Parses what was typed.
    ///
    /// # Errors
    /// An unterminated quote, an unknown key, or a value out of its range,
    /// each naming where.
    pub fn parse(input: &str) -> Result<DetectFilter, FilterError> {
        let terms = words(input)?
            .into_iter()
            .map(|(at, w)| term(at, &w))
            .collect::<Result<_, _>>()?;
        Ok(DetectFilter { terms })
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// True when a term asks for suppressed traces (they are shown then).
    #[must_use]
    pub fn names_suppressed(&self) -> bool {
        self.terms
            .iter()
            .any(|t| !t.negate && t.test == Test::Is("suppressed"))
    }

    /// True when every term holds for the row.
    #[must_use]
    pub fn matches(&self, f: &Fields<'_>) -> bool {
        self.terms.iter().all(|t| test(&t.test, f) != t.negate)
    }
}

fn test(t: &Test, f: &Fields<'_>) -> bool {
    let any = |v: &[&str], s: &str| v.iter().any(|x| contains_ci(x, s));
    match t {
        Test::Free(s) => {
            any(&f.text, s)
                || contains_ci(f.rule, s)
                || contains_ci(f.comm, s)
                || any(&f.mitre, s)
                || any(&f.users, s)
                || f.pid.is_some_and(|p| p.to_string() == *s)
        }
        Test::Severity(min) => f.severity.is_some_and(|s| s >= *min),
        Test::Score(min) => f.score.is_some_and(|s| s >= *min),
        Test::Pid(p) => f.pid == Some(*p),
        Test::Rule(s) => contains_ci(f.rule, s),
        Test::Mitre(s) => any(&f.mitre, s),
        Test::User(s) => any(&f.users, s),
        Test::Comm(s) => contains_ci(f.comm, s),
        Test::Host(s) => contains_ci(f.host, s),
        Test::Is(s) => f.is.contains(s),
    }
}

#[cfg(test)]
mod tests {
    use super::{DetectFilter, Fields};
    use perch_proto::v1::Severity;

    #[test]
    fn terms_hold_together_and_bad_values_name_their_key_and_range() {
        let f = Fields {
            severity: Some(Severity::High),
            score: Some(60),
            pid: Some(42),
            rule: "reverse_shell",
            comm: "bash",
            is: vec!["active", "notable"],
            ..Fields::default()
        };
        let ok = |s: &str| DetectFilter::parse(s).map(|p| p.matches(&f));
        assert_eq!(ok("sev:medium score:50 pid:42 rule:reverse"), Ok(true));
        assert_eq!(ok("sev:critical"), Ok(false));
        assert_eq!(ok("!is:closed bash"), Ok(true));
        assert_eq!(ok("is:suppressed"), Ok(false));
        assert!(DetectFilter::parse("is:suppressed").is_ok_and(|p| p.names_suppressed()));
        let e = DetectFilter::parse("score:10001")
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            e.as_deref(),
            Some("`score` must be a number in 0..=10000 (got `10001`) (at 7)")
        );
        let e = DetectFilter::parse("sev:bad").err().map(|e| e.message);
        assert!(e.is_some_and(|m| m.contains("info, low, medium, high or critical")));
        assert!(DetectFilter::parse("nope:1").is_err());
    }
}
