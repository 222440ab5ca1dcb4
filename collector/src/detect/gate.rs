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
use std::{
    cell::OnceCell,
    collections::{BTreeMap, HashSet},
};

use cel::common::ast::IdedExpr;

use super::context::{Subject, base_name, cmdline};

/// A string a gate reads.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Term {
    ProcName,
    ProcExe,
    Cmdline,
    ExeName,
    ExeBase,
    ExePath,
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
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Num {
    Uid,
    Euid,
    Gid,
    Egid,
    Loginuid,
    FailedRuns,
    ExeUid,
    ExeGid,
}

/// A boolean field a gate reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flag {
    Setuid,
    Setgid,
    Deleted,
    Memfd,
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

/// The strings of one event, shared by every gate.
pub struct Strings<'a> {
    sub: &'a Subject<'a>,
    exe_name: &'a str,
    exe_path: &'a str,
    cmdline: OnceCell<String>,
}

impl<'a> Strings<'a> {
    #[must_use]
    pub fn new(sub: &'a Subject<'a>) -> Self {
        let exe = sub.proc.facts.as_deref().map(|f| &f.exe);
        Self {
            sub,
            exe_name: exe.map_or("", |e| e.name()),
            exe_path: exe.map_or("", |e| e.path.as_str()),
            cmdline: OnceCell::new(),
        }
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

fn eval<'x>(p: &'x Pred, s: &'x Strings<'_>, vars: &mut Vec<&'x str>) -> bool {
    match p {
        Pred::Unknown => true,
        Pred::All(v) => v.iter().all(|p| eval(p, s, vars)),
        Pred::Any(v) => v.iter().any(|p| eval(p, s, vars)),
        Pred::In(t, set) => set.contains(term(t, s, vars)),
        Pred::Str(op, a, b) => {
            let (a, b) = (term(a, s, vars), term(b, s, vars));
            match op {
                Op::StartsWith => a.starts_with(b),
                Op::EndsWith => a.ends_with(b),
                Op::Contains => a.contains(b),
                Op::Equals => a == b,
            }
        }
        Pred::Cmp(n, ok, lit) => {
            let [lt, eq, gt] = *ok;
            match num(*n, s).cmp(lit) {
                std::cmp::Ordering::Less => lt,
                std::cmp::Ordering::Equal => eq,
                std::cmp::Ordering::Greater => gt,
            }
        }
        Pred::Flag(f) => {
            let exe = s.sub.proc.facts.as_deref().map(|x| &x.exe);
            exe.is_some_and(|e| match f {
                Flag::Setuid => e.setuid(),
                Flag::Setgid => e.setgid(),
                Flag::Deleted => e.deleted(),
                Flag::Memfd => e.from_memfd,
            })
        }
        Pred::EnvHas(name) => s
            .sub
            .proc
            .facts
            .as_deref()
            .is_some_and(|f| f.env.iter().any(|e| e.name == *name)),
        Pred::Exists(range, body) => {
            let each = |v: &'x str, vars: &mut Vec<&'x str>| {
                vars.push(v);
                let r = eval(body, s, vars);
                vars.pop();
                r
            };
            match range {
                // Scanning thousands of arguments per rule costs more than
                // one substring search of the command line they make up.
                Range::Argv if !argv_may(body, vars.len(), term_cmdline(s)) => false,
                Range::Argv => s.sub.proc.argv.iter().any(|a| each(a, vars)),
                Range::Anames => s.sub.ancestors.iter().any(|a| each(&a.comm, vars)),
                Range::StdinWriters => s.sub.stdin_writers.iter().any(|w| each(w, vars)),
                Range::Terms(ts) => ts.iter().any(|t| {
                    let v = term(t, s, vars);
                    each(v, vars)
                }),
            }
        }
    }
}

/// The command line (the arguments joined by spaces), built once.
fn term_cmdline<'x>(s: &'x Strings<'_>) -> &'x str {
    s.cmdline.get_or_init(|| cmdline(s.sub.proc))
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

/// The integer fields, as `context` gives them to conditions.
fn num(n: Num, s: &Strings<'_>) -> i64 {
    let p = s.sub.proc;
    let facts = p.facts.as_deref();
    match n {
        Num::Uid => p.uid.into(),
        Num::Euid => p.euid.into(),
        Num::Gid => p.gid.into(),
        Num::Egid => p.egid.into(),
        Num::Loginuid => facts.and_then(|f| f.loginuid).map_or(-1, i64::from),
        Num::FailedRuns => s.sub.failed_runs.into(),
        Num::ExeUid => facts.map_or(-1, |f| i64::from(f.exe.uid)),
        Num::ExeGid => facts.map_or(-1, |f| i64::from(f.exe.gid)),
    }
}

fn term<'x>(t: &'x Term, s: &'x Strings<'_>, vars: &[&'x str]) -> &'x str {
    let p = s.sub.proc;
    match t {
        Term::ProcName => &p.comm,
        Term::ProcExe => &p.exe,
        Term::Cmdline => s.cmdline.get_or_init(|| cmdline(p)),
        Term::ExeName => s.exe_name,
        Term::ExeBase => base_name(s.exe_name),
        Term::ExePath => s.exe_path,
        Term::Var(i) => vars.get(*i).copied().unwrap_or_default(),
        Term::Lit(l) => l,
    }
}

mod build;
use build::pred;

#[cfg(test)]
mod tests;
