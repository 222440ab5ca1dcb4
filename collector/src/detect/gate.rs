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

use cel::common::ast::{CallExpr, ComprehensionExpr, Expr, IdedExpr, LiteralValue, operators};

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

fn pred(e: &IdedExpr, lists: &BTreeMap<String, Vec<String>>, vars: &mut Vec<String>) -> Pred {
    match &e.expr {
        Expr::Call(c) => compare(c, vars).unwrap_or_else(|| call(c, lists, vars)),
        Expr::Select(_) => match field(e, vars) {
            Some(("exe", "setuid")) => Pred::Flag(Flag::Setuid),
            Some(("exe", "setgid")) => Pred::Flag(Flag::Setgid),
            Some(("exe", "deleted")) => Pred::Flag(Flag::Deleted),
            Some(("exe", "memfd")) => Pred::Flag(Flag::Memfd),
            _ => Pred::Unknown,
        },
        Expr::Comprehension(c) => exists(c, lists, vars),
        _ => Pred::Unknown,
    }
}

fn call(c: &CallExpr, lists: &BTreeMap<String, Vec<String>>, vars: &mut Vec<String>) -> Pred {
    let op = match (c.func_name.as_str(), &c.target, c.args.as_slice()) {
        (operators::LOGICAL_AND, None, args) => {
            let ps: Vec<Pred> = args.iter().map(|a| pred(a, lists, vars)).collect();
            let ps: Vec<Pred> = ps
                .into_iter()
                .filter(|p| !matches!(p, Pred::Unknown))
                .collect();
            return if ps.is_empty() {
                Pred::Unknown
            } else {
                Pred::All(ps)
            };
        }
        (operators::LOGICAL_OR, None, args) => {
            let ps: Vec<Pred> = args.iter().map(|a| pred(a, lists, vars)).collect();
            return if ps.iter().any(|p| matches!(p, Pred::Unknown)) {
                Pred::Unknown
            } else {
                Pred::Any(ps)
            };
        }
        (operators::IN, None, [lhs, rhs]) => return membership(lhs, rhs, lists, vars),
        (operators::EQUALS, None, [a, b]) => (Op::Equals, a, b),
        ("startsWith", Some(a), [b]) => (Op::StartsWith, a.as_ref(), b),
        ("endsWith", Some(a), [b]) => (Op::EndsWith, a.as_ref(), b),
        ("contains", Some(a), [b]) => (Op::Contains, a.as_ref(), b),
        _ => return Pred::Unknown,
    };
    let (op, a, b) = op;
    match (as_term(a, vars), as_term(b, vars)) {
        (Some(a), Some(b)) => Pred::Str(op, a, b),
        _ => Pred::Unknown,
    }
}

/// An integer field compared with an integer literal (either side).
fn compare(call: &CallExpr, vars: &[String]) -> Option<Pred> {
    let [left, right] = call.args.as_slice() else {
        return None;
    };
    // [less, equal, greater]: which orderings of field against literal hold.
    let ok = match call.func_name.as_str() {
        operators::EQUALS => [false, true, false],
        operators::NOT_EQUALS => [true, false, true],
        operators::LESS => [true, false, false],
        operators::LESS_EQUALS => [true, true, false],
        operators::GREATER => [false, false, true],
        operators::GREATER_EQUALS => [false, true, true],
        _ => return None,
    };
    let int = |e: &IdedExpr| match &e.expr {
        Expr::Literal(LiteralValue::Int(i)) => Some(*i.inner()),
        _ => None,
    };
    if let (Some(num), Some(lit)) = (as_num(left, vars), int(right)) {
        return Some(Pred::Cmp(num, ok, lit));
    }
    let (num, lit) = (as_num(right, vars)?, int(left)?);
    // literal OP field: the field's ordering is the mirror image.
    Some(Pred::Cmp(num, [ok[2], ok[1], ok[0]], lit))
}

fn as_num(e: &IdedExpr, vars: &[String]) -> Option<Num> {
    Some(match field(e, vars)? {
        ("proc", "uid") => Num::Uid,
        ("proc", "euid") => Num::Euid,
        ("proc", "gid") => Num::Gid,
        ("proc", "egid") => Num::Egid,
        ("proc", "loginuid") => Num::Loginuid,
        ("proc", "failed_runs") => Num::FailedRuns,
        ("exe", "uid") => Num::ExeUid,
        ("exe", "gid") => Num::ExeGid,
        _ => return None,
    })
}

fn membership(
    lhs: &IdedExpr,
    rhs: &IdedExpr,
    lists: &BTreeMap<String, Vec<String>>,
    vars: &[String],
) -> Pred {
    if let (Expr::Literal(LiteralValue::String(name)), Expr::Ident(env)) = (&lhs.expr, &rhs.expr)
        && env == "env"
        && !vars.iter().any(|v| v == "env")
    {
        return Pred::EnvHas(name.inner().to_owned());
    }
    let Some(t) = as_term(lhs, vars) else {
        return Pred::Unknown;
    };
    let set = match &rhs.expr {
        Expr::List(l) if l.optional_indices.is_empty() => l
            .elements
            .iter()
            .map(|x| match &x.expr {
                Expr::Literal(LiteralValue::String(s)) => Some(s.inner().to_owned()),
                _ => None,
            })
            .collect::<Option<HashSet<_>>>(),
        _ => match field(rhs, vars) {
            Some(("lists", l)) => lists.get(l).map(|v| v.iter().cloned().collect()),
            _ => None,
        },
    };
    set.map_or(Pred::Unknown, |set| Pred::In(t, set))
}

/// `range.exists(v, body)` as the macro expands it.
fn exists(
    c: &ComprehensionExpr,
    lists: &BTreeMap<String, Vec<String>>,
    vars: &mut Vec<String>,
) -> Pred {
    let accu = |e: &IdedExpr| matches!(&e.expr, Expr::Ident(n) if *n == c.accu_var);
    let is_exists = c.iter_var2.is_none()
        && matches!(c.accu_init.expr, Expr::Literal(LiteralValue::Boolean(ref b)) if !*b.inner())
        && accu(&c.result);
    let body = match &c.loop_step.expr {
        Expr::Call(s) if is_exists && s.func_name == operators::LOGICAL_OR => {
            match s.args.as_slice() {
                [a, body] if accu(a) => body,
                _ => return Pred::Unknown,
            }
        }
        _ => return Pred::Unknown,
    };
    let range = match (&c.iter_range.expr, field(&c.iter_range, vars)) {
        (_, Some(("proc", "argv"))) => Range::Argv,
        (_, Some(("proc", "stdin_writers"))) => Range::StdinWriters,
        (Expr::Ident(n), _) if n == "anames" && !vars.iter().any(|v| v == n) => Range::Anames,
        (Expr::List(l), _) if l.optional_indices.is_empty() => {
            match l
                .elements
                .iter()
                .map(|x| as_term(x, vars))
                .collect::<Option<Vec<_>>>()
            {
                Some(ts) => Range::Terms(ts),
                None => return Pred::Unknown,
            }
        }
        _ => return Pred::Unknown,
    };
    vars.push(c.iter_var.clone());
    let body = pred(body, lists, vars);
    vars.pop();
    match body {
        Pred::Unknown => Pred::Unknown,
        b => Pred::Exists(range, Box::new(b)),
    }
}

fn as_term(e: &IdedExpr, vars: &[String]) -> Option<Term> {
    match &e.expr {
        Expr::Literal(LiteralValue::String(s)) => Some(Term::Lit(s.inner().to_owned())),
        // The innermost binding of a name wins, as in CEL.
        Expr::Ident(n) => vars.iter().rposition(|v| v == n).map(Term::Var),
        _ => Some(match field(e, vars)? {
            ("proc", "name") => Term::ProcName,
            ("proc", "exe") => Term::ProcExe,
            ("proc", "cmdline") => Term::Cmdline,
            ("exe", "name") => Term::ExeName,
            ("exe", "base") => Term::ExeBase,
            ("exe", "path") => Term::ExePath,
            _ => return None,
        }),
    }
}

/// `a.b` with `a` a variable of the context (not a comprehension's).
fn field<'e>(e: &'e IdedExpr, vars: &[String]) -> Option<(&'e str, &'e str)> {
    select(e).filter(|(a, _)| !vars.iter().any(|v| v == a))
}

/// `a.b` with `a` a plain identifier.
fn select(e: &IdedExpr) -> Option<(&str, &str)> {
    let Expr::Select(s) = &e.expr else {
        return None;
    };
    if s.test {
        return None;
    }
    let Expr::Ident(a) = &s.operand.expr else {
        return None;
    };
    Some((a.as_str(), s.field.as_str()))
}

#[cfg(test)]
mod tests;
