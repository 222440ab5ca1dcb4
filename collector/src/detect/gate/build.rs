//! Building a gate at load: a rule's CEL syntax tree translated into the
//! necessary condition `Pred` that `eval` tests natively.  Anything not
//! understood becomes `Pred::Unknown` (may be true).
use std::collections::{BTreeMap, HashSet};

use cel::common::ast::{CallExpr, ComprehensionExpr, Expr, IdedExpr, LiteralValue, operators};

use super::{Flag, Num, Op, Pred, Range, Term};

pub(super) fn pred(
    e: &IdedExpr,
    lists: &BTreeMap<String, Vec<String>>,
    vars: &mut Vec<String>,
) -> Pred {
    match &e.expr {
        Expr::Call(c) => compare(c, vars).unwrap_or_else(|| call(c, lists, vars)),
        Expr::Select(_) => match field(e, vars) {
            Some(("exe", "setuid")) => Pred::Flag(Flag::Setuid),
            Some(("exe", "setgid")) => Pred::Flag(Flag::Setgid),
            Some(("exe", "deleted")) => Pred::Flag(Flag::Deleted),
            Some(("exe", "memfd")) => Pred::Flag(Flag::Memfd),
            Some(("event", f)) => Pred::Flag(Flag::Event(f.to_owned())),
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
        ("event", f) => Num::Event(f.to_owned()),
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
            ("event", f) => Term::Event(f.to_owned()),
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
