//! A cheap test run before a rule's CEL condition: a necessary condition
//! drawn from the condition's syntax tree at load and evaluated natively
//! on the process's names, paths and arguments.  Interpreting CEL costs
//! far more than the string tests themselves, and almost every exec fails
//! every rule, so a rule whose gate is closed is skipped.
//!
//! The gate over-approximates: `a && b` needs both gates, `a || b` either,
//! `list.exists(v, body)` the body's gate for some element; string tests
//! (`in` a list, `startsWith`, `endsWith`, `contains`, `==`) on the string
//! fields below, comparisons of the integer fields with a literal, the
//! boolean fields and `'NAME' in env` are exact; anything else (negations,
//! other fields, the parent) may be true.  So a closed gate proves the condition is not true, and the
//! rules' semantics are unchanged.
//!
//! A non-exec event's own fields (`event.path`, `event.request`,
//! `event.ok`...) are terms too, and a gate can be judged on the event
//! alone, before the process context is built: whatever needs the process
//! is then unknown (may be true).  Almost every security event (a watched
//! write no rule is about) closes every gate that way, for the cost of a
//! few string tests.
use std::{
    cell::OnceCell,
    collections::{BTreeMap, HashSet},
};

use cel::common::ast::IdedExpr;

use super::{
    context::{Subject, base_name, cmdline},
    event::{EventCtx, Field},
};

/// A string a gate reads.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Term {
    ProcName,
    ProcExe,
    Cmdline,
    ExeName,
    ExeBase,
    ExePath,
    /// A string field of the event (`event.path`).
    Event(String),
    /// A comprehension variable, by depth.
    Var(usize),
    Lit(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    StartsWith,
    EndsWith,
    Contains,
    Equals,
}

/// An integer field a gate reads (as the condition's context builds it).
#[derive(Clone, Debug, PartialEq, Eq)]
enum Num {
    Uid,
    Euid,
    Gid,
    Egid,
    Loginuid,
    FailedRuns,
    ExeUid,
    ExeGid,
    /// An integer field of the event (`event.request`).
    Event(String),
}

/// A boolean field a gate reads.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Flag {
    Setuid,
    Setgid,
    Deleted,
    Memfd,
    /// A boolean field of the event (`event.ok`).
    Event(String),
}

/// What a comprehension ranges over.
#[derive(Debug)]
enum Range {
    Argv,
    /// `anames`: the ancestors' names.
    Anames,
    /// `proc.stdin_writers`
    StdinWriters,
    Terms(Vec<Term>),
}

#[derive(Debug)]
enum Pred {
    /// May be true (not understood).
    Unknown,
    All(Vec<Pred>),
    Any(Vec<Pred>),
    In(Term, HashSet<String>),
    Str(Op, Term, Term),
    Exists(Range, Box<Pred>),
    /// `field OP literal`, the ordering `field.cmp(literal)` is one of.
    Cmp(Num, [bool; 3], i64),
    Flag(Flag),
    EnvHas(String),
}

/// The rule can match only if the gate is open.
#[derive(Debug)]
pub struct Gate(Pred);

/// The strings of one event, shared by every gate: the process context,
/// the event's own fields, or both.
pub struct Strings<'a> {
    sub: Option<&'a Subject<'a>>,
    event: Option<&'a EventCtx>,
    exe_name: &'a str,
    exe_path: &'a str,
    cmdline: OnceCell<String>,
}

impl<'a> Strings<'a> {
    /// An exec: the process context.
    #[cfg(test)]
    #[must_use]
    pub fn new(sub: &'a Subject<'a>) -> Self {
        Self::with_event(Some(sub), None)
    }

    /// A non-exec event before its process context is built: the process's
    /// terms are unknown.
    #[must_use]
    pub fn event_only(ev: &'a EventCtx) -> Self {
        Self::with_event(None, Some(ev))
    }

    #[must_use]
    pub fn with_event(sub: Option<&'a Subject<'a>>, event: Option<&'a EventCtx>) -> Self {
        let exe = sub.and_then(|s| s.proc.facts.as_deref()).map(|f| &f.exe);
        Self {
            sub,
            event,
            exe_name: exe.map_or("", |e| e.name()),
            exe_path: exe.map_or("", |e| e.path.as_str()),
            cmdline: OnceCell::new(),
        }
    }

    /// The event's field `name`, when the event has one.
    fn field(&self, name: &str) -> Option<&'a Field> {
        self.event.and_then(|e| e.get(name))
    }
}

impl Gate {
    /// The gate of `condition` given the rule files' lists; `None` when
    /// nothing in it can be tested cheaply.
    #[must_use]
    pub fn of(condition: &IdedExpr, lists: &BTreeMap<String, Vec<String>>) -> Option<Self> {
        match pred(condition, lists, &mut Vec::new()) {
            Pred::Unknown => None,
            p => Some(Self(p)),
        }
    }

    /// Whether the rule may match (false: its condition is not true).
    #[must_use]
    pub fn open(&self, s: &Strings<'_>) -> bool {
        eval(&self.0, s, &mut Vec::new())
    }
}

/// Whether `p` may be true; anything the strings do not know (the process
/// when only the event is known, a field the event lacks) may be.
fn eval<'x>(p: &'x Pred, s: &'x Strings<'_>, vars: &mut Vec<&'x str>) -> bool {
    match p {
        Pred::Unknown => true,
        Pred::All(v) => v.iter().all(|p| eval(p, s, vars)),
        Pred::Any(v) => v.iter().any(|p| eval(p, s, vars)),
        Pred::In(t, set) => term(t, s, vars).is_none_or(|v| set.contains(v)),
        Pred::Str(op, a, b) => {
            let (Some(a), Some(b)) = (term(a, s, vars), term(b, s, vars)) else {
                return true;
            };
            match op {
                Op::StartsWith => a.starts_with(b),
                Op::EndsWith => a.ends_with(b),
                Op::Contains => a.contains(b),
                Op::Equals => a == b,
            }
        }
        Pred::Cmp(n, ok, lit) => {
            let [lt, eq, gt] = *ok;
            num(n, s).is_none_or(|v| match v.cmp(lit) {
                std::cmp::Ordering::Less => lt,
                std::cmp::Ordering::Equal => eq,
                std::cmp::Ordering::Greater => gt,
            })
        }
        Pred::Flag(Flag::Event(name)) => match s.field(name) {
            Some(Field::Bool(b)) => *b,
            _ => true,
        },
        Pred::Flag(f) => {
            let Some(sub) = s.sub else { return true };
            let exe = sub.proc.facts.as_deref().map(|x| &x.exe);
            exe.is_some_and(|e| match f {
                Flag::Setuid => e.setuid(),
                Flag::Setgid => e.setgid(),
                Flag::Deleted => e.deleted(),
                Flag::Memfd => e.from_memfd,
                Flag::Event(_) => true,
            })
        }
        Pred::EnvHas(name) => s.sub.is_none_or(|sub| {
            sub.proc
                .facts
                .as_deref()
                .is_some_and(|f| f.env.iter().any(|e| e.name == *name))
        }),
        Pred::Exists(range, body) => {
            let each = |v: &'x str, vars: &mut Vec<&'x str>| {
                vars.push(v);
                let r = eval(body, s, vars);
                vars.pop();
                r
            };
            let sub = s.sub;
            match range {
                Range::Terms(ts) => ts.iter().any(|t| match term(t, s, vars) {
                    Some(v) => each(v, vars),
                    None => true,
                }),
                _ if sub.is_none() => true,
                // Scanning thousands of arguments per rule costs more than
                // one substring search of the command line they make up.
                Range::Argv if !argv_may(body, vars.len(), term_cmdline(s)) => false,
                Range::Argv => sub.is_some_and(|u| u.proc.argv.iter().any(|a| each(a, vars))),
                Range::Anames => {
                    sub.is_some_and(|u| u.ancestors.iter().any(|a| each(&a.comm, vars)))
                }
                Range::StdinWriters => {
                    sub.is_some_and(|u| u.stdin_writers.iter().any(|w| each(w, vars)))
                }
            }
        }
    }
}

/// The command line (the arguments joined by spaces), built once.
fn term_cmdline<'x>(s: &'x Strings<'_>) -> &'x str {
    s.cmdline
        .get_or_init(|| s.sub.map_or_else(String::new, |u| cmdline(u.proc)))
}

/// Whether some argument (the comprehension's variable, `var`) may satisfy
/// `body`, judged on the whole command line: an argument that starts
/// with, ends with, contains or equals a literal, or is in a list, leaves
/// that text in the command line.  False only when no argument can.
fn argv_may(body: &Pred, var: usize, cmdline: &str) -> bool {
    let is_var = |t: &Term| matches!(t, Term::Var(i) if *i == var);
    match body {
        Pred::Str(_, a, Term::Lit(l)) if is_var(a) => cmdline.contains(l.as_str()),
        Pred::In(t, set) if is_var(t) => set.iter().any(|x| cmdline.contains(x.as_str())),
        Pred::Any(v) => v.iter().any(|p| argv_may(p, var, cmdline)),
        Pred::All(v) => v.iter().all(|p| argv_may(p, var, cmdline)),
        _ => true,
    }
}

/// The integer fields, as `context` gives them to conditions (`None`:
/// not known here).
fn num(n: &Num, s: &Strings<'_>) -> Option<i64> {
    if let Num::Event(name) = n {
        return match s.field(name) {
            Some(Field::Int(i)) => Some(*i),
            _ => None,
        };
    }
    let sub = s.sub?;
    let p = sub.proc;
    let facts = p.facts.as_deref();
    Some(match n {
        Num::Uid => p.uid.into(),
        Num::Euid => p.euid.into(),
        Num::Gid => p.gid.into(),
        Num::Egid => p.egid.into(),
        Num::Loginuid => facts.and_then(|f| f.loginuid).map_or(-1, i64::from),
        Num::FailedRuns => sub.failed_runs.into(),
        Num::ExeUid => facts.map_or(-1, |f| i64::from(f.exe.uid)),
        Num::ExeGid => facts.map_or(-1, |f| i64::from(f.exe.gid)),
        Num::Event(_) => return None,
    })
}

fn term<'x>(t: &'x Term, s: &'x Strings<'_>, vars: &[&'x str]) -> Option<&'x str> {
    match t {
        Term::Var(i) => return Some(vars.get(*i).copied().unwrap_or_default()),
        Term::Lit(l) => return Some(l),
        Term::Event(name) if name == "kind" => return s.event.map(|e| e.kind.name()),
        Term::Event(name) => {
            return match s.field(name) {
                Some(Field::Str(v)) => Some(v),
                _ => None,
            };
        }
        _ => {}
    }
    let p = s.sub?.proc;
    Some(match t {
        Term::ProcName => &p.comm,
        Term::ProcExe => &p.exe,
        Term::Cmdline => term_cmdline(s),
        Term::ExeName => s.exe_name,
        Term::ExeBase => base_name(s.exe_name),
        Term::ExePath => s.exe_path,
        Term::Var(_) | Term::Lit(_) | Term::Event(_) => return None,
    })
}

mod build;
use build::pred;

#[cfg(test)]
mod tests;
