//! The `\` filter: a small language, parsed once per keystroke and then
//! evaluated per row without allocating.
//!
//! Terms are separated by spaces and all must hold:
//! - free text: a substring of the command line, exe, user, pid or container;
//! - `col:value`: for a text column a substring (`user:root`,
//!   `container:abc`), for a number column equality (`pid:42`);
//! - `col<n`, `col<=n`, `col>n`, `col>=n`, `col=n` for numbers, with `K M G
//!   T` suffixes for bytes (`rss>100M`), `%` allowed (`cpu>5%`) and `s m h`
//!   for CPU time (`time>1m`);
//! - `is:exited`, `is:running`, `is:kernel`, `is:container`;
//! - `!` before any term negates it; `"..."` quotes a value with spaces.
use std::fmt;

use super::model::Proc;

/// A parse error: where (a char offset in the input) and what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilterError {
    pub at: usize,
    pub message: String,
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at {})", self.message, self.at + 1)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Text {
    User,
    Command,
    Exe,
    Comm,
    Container,
    Pod,
    Cgroup,
    Cwd,
    Tty,
    Host,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Num {
    Pid,
    Ppid,
    Uid,
    Cpu,
    Mem,
    Rss,
    Read,
    Write,
    Threads,
    Nice,
    Time,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Exited,
    Running,
    Kernel,
    Container,
}

#[derive(Clone, Debug, PartialEq)]
enum Test {
    /// Lowercase needle in the row's search haystack.
    Free(String),
    /// Lowercase needle in one text column.
    Text(Text, String),
    Num(Num, Op, f64),
    Is(State),
}

#[derive(Clone, Debug, PartialEq)]
struct Term {
    negate: bool,
    test: Test,
}

/// A parsed filter; the empty filter matches everything.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Filter {
    terms: Vec<Term>,
}

const TEXT_COLUMNS: &[(&str, Text)] = &[
    ("user", Text::User),
    ("cmd", Text::Command),
    ("command", Text::Command),
    ("exe", Text::Exe),
    ("comm", Text::Comm),
    ("container", Text::Container),
    ("pod", Text::Pod),
    ("cgroup", Text::Cgroup),
    ("cwd", Text::Cwd),
    ("tty", Text::Tty),
    ("host", Text::Host),
];

const NUM_COLUMNS: &[(&str, Num)] = &[
    ("pid", Num::Pid),
    ("ppid", Num::Ppid),
    ("uid", Num::Uid),
    ("cpu", Num::Cpu),
    ("mem", Num::Mem),
    ("rss", Num::Rss),
    ("read", Num::Read),
    ("write", Num::Write),
    ("threads", Num::Threads),
    ("nice", Num::Nice),
    ("time", Num::Time),
];

/// Splits on unquoted spaces; quotes group and are removed.  Returns each
/// word with its char offset.
pub(crate) fn words(input: &str) -> Result<Vec<(usize, String)>, FilterError> {
    let mut out = Vec::new();
    let mut cur: Option<(usize, String)> = None;
    let mut quote_at = None;
    for (i, c) in input.chars().enumerate() {
        match c {
            '"' => {
                quote_at = if quote_at.is_some() { None } else { Some(i) };
                cur.get_or_insert_with(|| (i, String::new()));
            }
            c if c.is_whitespace() && quote_at.is_none() => out.extend(cur.take()),
            c => cur.get_or_insert_with(|| (i, String::new())).1.push(c),
        }
    }
    if let Some(at) = quote_at {
        return Err(FilterError {
            at,
            message: "unterminated quote".to_owned(),
        });
    }
    out.extend(cur);
    Ok(out)
}

fn number(col: Num, s: &str, at: usize) -> Result<f64, FilterError> {
    let bad = |why: &str| FilterError {
        at,
        message: format!("`{s}` is not a number{why}"),
    };
    let (digits, scale) = match (col, s.chars().last().map(|c| c.to_ascii_lowercase())) {
        (Num::Rss | Num::Read | Num::Write, Some(c @ ('k' | 'm' | 'g' | 't'))) => {
            let pow = match c {
                'k' => 1,
                'm' => 2,
                'g' => 3,
                _ => 4,
            };
            (&s[..s.len() - 1], 1024f64.powi(pow))
        }
        (Num::Cpu | Num::Mem, Some('%')) => (&s[..s.len() - 1], 1.0),
        (Num::Time, Some(c @ ('s' | 'm' | 'h'))) => {
            let secs = match c {
                's' => 1.0,
                'm' => 60.0,
                _ => 3600.0,
            };
            (&s[..s.len() - 1], secs)
        }
        _ => (s, 1.0),
    };
    if digits.is_empty() {
        return Err(bad(""));
    }
    let v: f64 = digits.parse().map_err(|_| {
        bad(match col {
            Num::Rss | Num::Read | Num::Write => " (bytes: 512, 4K, 100M, 2G)",
            Num::Time => " (seconds, or 5m, 2h)",
            _ => "",
        })
    })?;
    if v.is_finite() {
        Ok(v * scale)
    } else {
        Err(bad(""))
    }
}

fn column_list() -> String {
    let mut names: Vec<&str> = TEXT_COLUMNS.iter().map(|c| c.0).collect();
    names.extend(NUM_COLUMNS.iter().map(|c| c.0));
    names.push("is");
    names.join(" ")
}

fn term(at: usize, word: &str) -> Result<Term, FilterError> {
    let (negate, body, at) = match word.strip_prefix('!') {
        Some(rest) => (true, rest, at + 1),
        None => (false, word, at),
    };
    if body.is_empty() {
        return Err(FilterError {
            at,
            message: "`!` needs a term after it".to_owned(),
        });
    }
    let split = body.find([':', '<', '>', '=']);
    let Some(i) = split else {
        return Ok(Term {
            negate,
            test: Test::Free(body.to_lowercase()),
        });
    };
    let name = body[..i].to_ascii_lowercase();
    let rest = &body[i..];
    let (op, value) = if let Some(v) = rest.strip_prefix(':') {
        (None, v)
    } else if let Some(v) = rest.strip_prefix("<=") {
        (Some(Op::Le), v)
    } else if let Some(v) = rest.strip_prefix(">=") {
        (Some(Op::Ge), v)
    } else if let Some(v) = rest.strip_prefix('<') {
        (Some(Op::Lt), v)
    } else if let Some(v) = rest.strip_prefix('>') {
        (Some(Op::Gt), v)
    } else {
        (Some(Op::Eq), rest.strip_prefix('=').unwrap_or(rest))
    };
    let value_at = at + body[..i].chars().count() + rest.chars().count() - value.chars().count();
    if name.is_empty() {
        return Err(FilterError {
            at,
            message: format!("`{body}` needs a column before `{}`", &rest[..1]),
        });
    }
    if value.is_empty() {
        return Err(FilterError {
            at: value_at,
            message: format!("`{name}` needs a value"),
        });
    }
    let test = if name == "is" {
        if op.is_some() {
            return Err(FilterError {
                at,
                message: "write `is:exited`, `is:running`, `is:kernel` or `is:container`"
                    .to_owned(),
            });
        }
        Test::Is(match value.to_ascii_lowercase().as_str() {
            "exited" | "dead" => State::Exited,
            "running" | "live" | "alive" => State::Running,
            "kernel" | "kthread" => State::Kernel,
            "container" | "containerized" => State::Container,
            other => {
                return Err(FilterError {
                    at: value_at,
                    message: format!("unknown state `{other}` (exited running kernel container)"),
                });
            }
        })
    } else if let Some(&(_, col)) = TEXT_COLUMNS.iter().find(|c| c.0 == name) {
        if op.is_some() {
            return Err(FilterError {
                at,
                message: format!("`{name}` is text: write `{name}:value`"),
            });
        }
        Test::Text(col, value.to_lowercase())
    } else if let Some(&(_, col)) = NUM_COLUMNS.iter().find(|c| c.0 == name) {
        Test::Num(col, op.unwrap_or(Op::Eq), number(col, value, value_at)?)
    } else {
        return Err(FilterError {
            at,
            message: format!(
                "unknown column `{name}` (try {}; quote text with a colon)",
                column_list()
            ),
        });
    };
    Ok(Term { negate, test })
}

/// Case-insensitive substring test; `needle` is already lowercase.
pub(crate) fn contains_ci(hay: &str, needle: &str) -> bool {
    if needle.is_empty() {
        return true;
    }
    if hay.is_ascii() && needle.is_ascii() {
        let (h, n) = (hay.as_bytes(), needle.as_bytes());
        return h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n));
    }
    hay.to_lowercase().contains(needle)
}

fn num_value(p: &Proc, col: Num) -> f64 {
    let u = &p.usage;
    match col {
        Num::Pid => f64::from(p.key.pid),
        Num::Ppid => f64::from(p.ppid),
        Num::Uid => f64::from(p.uid),
        Num::Cpu => u.cpu_percent,
        Num::Mem => u.mem_percent,
        Num::Rss => u.rss_bytes as f64,
        Num::Read => u.read_per_sec,
        Num::Write => u.write_per_sec,
        Num::Threads => f64::from(p.threads),
        Num::Nice => f64::from(p.nice),
        Num::Time => u.cpu_time_ns as f64 / perch_proto::NS_PER_SEC as f64,
    }
}

impl Filter {
    /// Parses a filter; errors say where and what, and never panic.
    pub fn parse(input: &str) -> Result<Filter, FilterError> {
        let terms = words(input)?
            .into_iter()
            .map(|(at, w)| term(at, &w))
            .collect::<Result<_, _>>()?;
        Ok(Filter { terms })
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// Whether row `p` (on host `host`) passes every term.
    #[must_use]
    pub fn matches(&self, p: &Proc, host: &str) -> bool {
        self.terms.iter().all(|t| t.test.holds(p, host) != t.negate)
    }
}

impl Test {
    fn holds(&self, p: &Proc, host: &str) -> bool {
        match self {
            Test::Free(n) => p.haystack().contains(n.as_str()),
            Test::Text(col, n) => {
                let hay: &str = match col {
                    Text::User => &p.user,
                    Text::Command => &p.command,
                    Text::Exe => &p.exe,
                    Text::Comm => &p.comm,
                    Text::Container => &p.container_id,
                    Text::Pod => {
                        return contains_ci(&p.pod_name, n)
                            || contains_ci(&p.pod_namespace, n)
                            || contains_ci(&p.pod_uid, n);
                    }
                    Text::Cgroup => &p.cgroup_path,
                    Text::Cwd => &p.cwd,
                    Text::Tty => &p.tty,
                    Text::Host => host,
                };
                contains_ci(hay, n)
            }
            Test::Num(col, op, v) => {
                let x = num_value(p, *col);
                match op {
                    Op::Lt => x < *v,
                    Op::Le => x <= *v,
                    Op::Gt => x > *v,
                    Op::Ge => x >= *v,
                    Op::Eq => (x - v).abs() < 1e-9,
                }
            }
            Test::Is(s) => match s {
                State::Exited => p.is_exited(),
                State::Running => !p.is_exited(),
                State::Kernel => p.kernel_thread,
                State::Container => !p.container_id.is_empty() || !p.pod_uid.is_empty(),
            },
        }
    }
}

#[cfg(test)]
mod tests;
