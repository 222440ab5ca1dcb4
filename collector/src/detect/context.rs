//! What a rule's condition sees: the process, its executable, its standard
//! streams, its environment and its ancestry, as CEL variables.  Built once
//! per event and shared by every rule.  New event kinds (connections,
//! security events) add variables here; the engine does not change.
//!
//! Variables: `event` (`kind`), `proc`, `exe`, `stdio` (fds 0..2), `env`
//! (the variables perchd reports), `parent`, `ancestors` (nearest first),
//! `anames` (their names) and `lists` (named lists from the rule files).
//! README "Detections" lists every field.
use std::{collections::HashMap, net::SocketAddr, sync::Arc};

use cel::Value;

use crate::model::{FdFact, FdKind, ProcessInfo, fs_type};

/// How many ancestors a condition sees (nearest first).
pub const MAX_ANCESTORS: usize = 16;

/// The process an event is about, with what the detector knows around it.
pub struct Subject<'a> {
    pub event: &'static str,
    pub proc: &'a ProcessInfo,
    /// Ancestors, nearest first (the parent first).
    pub ancestors: Vec<&'a ProcessInfo>,
    /// Names of the processes writing into this one's stdin pipe.
    pub stdin_writers: Vec<String>,
    /// Failed runs of the same command line by the same parent within the
    /// restart window, before this one.
    pub failed_runs: u32,
}

fn s(v: &str) -> Value {
    Value::String(Arc::new(v.to_owned()))
}

fn int(v: impl Into<i64>) -> Value {
    Value::Int(v.into())
}

fn map(entries: Vec<(&str, Value)>) -> Value {
    let m: HashMap<String, Value> = entries
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    Value::from(m)
}

fn strings(v: &[String]) -> Value {
    Value::List(Arc::new(v.iter().map(|x| s(x)).collect()))
}

/// `python3.11` -> `python`: a name without its trailing version.
#[must_use]
pub fn base_name(name: &str) -> &str {
    let t = name.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
    if t.is_empty() { name } else { t }
}

#[must_use]
pub fn cmdline(p: &ProcessInfo) -> String {
    p.argv.iter().collect::<Vec<_>>().join(" ")
}

pub fn fd_type(k: FdKind) -> &'static str {
    match k {
        FdKind::Unknown => "unknown",
        FdKind::Closed => "closed",
        FdKind::File => "file",
        FdKind::Directory => "directory",
        FdKind::Pipe => "pipe",
        FdKind::Tty => "tty",
        FdKind::CharDevice => "chardev",
        FdKind::Tcp => "tcp",
        FdKind::Udp => "udp",
        FdKind::Unix => "unix",
        FdKind::Socket => "socket",
        FdKind::Other => "other",
    }
}

fn addr(a: Option<SocketAddr>) -> (Value, Value, bool) {
    match a {
        Some(a) => (s(&a.ip().to_string()), int(a.port()), a.ip().is_loopback()),
        None => (s(""), int(0), false),
    }
}

fn stdio_entry(fd: u32, f: &FdFact) -> Value {
    let (local_addr, local_port, _) = addr(f.local);
    let (peer_addr, peer_port, loopback) = addr(f.peer);
    map(vec![
        ("fd", int(fd)),
        ("type", s(fd_type(f.kind))),
        ("inode", Value::UInt(f.inode)),
        ("local_addr", local_addr),
        ("local_port", local_port),
        ("peer_addr", peer_addr),
        ("peer_port", peer_port),
        ("peer_loopback", Value::Bool(loopback)),
    ])
}

fn env_of(p: &ProcessInfo) -> Value {
    let m: HashMap<String, Value> = p
        .facts
        .as_deref()
        .map(|f| {
            f.env
                .iter()
                .map(|e| (e.name.clone(), s(&e.value)))
                .collect()
        })
        .unwrap_or_default();
    Value::from(m)
}

fn user_name(p: &ProcessInfo) -> String {
    p.user
        .as_deref()
        .map_or_else(|| p.uid.to_string(), str::to_owned)
}

/// An ancestor as a condition sees it: identity only (a deep tree of long
/// command lines would otherwise be copied on every exec).
fn ancestor(p: &ProcessInfo) -> Value {
    let exe_path = p
        .facts
        .as_deref()
        .map_or(p.exe.as_str(), |f| f.exe.path.as_str());
    map(vec![
        ("pid", int(p.key.pid)),
        ("name", s(&p.comm)),
        ("exe", s(exe_path)),
        ("uid", int(p.uid)),
        ("euid", int(p.euid)),
    ])
}

/// The parent as a condition sees it: also its command line and environment.
fn relative(p: Option<&ProcessInfo>) -> Value {
    let Some(p) = p else {
        return map(vec![
            ("pid", int(0)),
            ("name", s("")),
            ("exe", s("")),
            ("cmdline", s("")),
            ("argv", Value::List(Arc::new(Vec::new()))),
            ("uid", int(-1)),
            ("euid", int(-1)),
            ("env", Value::from(HashMap::<String, Value>::new())),
        ]);
    };
    let exe_path = p
        .facts
        .as_deref()
        .map_or(p.exe.as_str(), |f| f.exe.path.as_str());
    map(vec![
        ("pid", int(p.key.pid)),
        ("name", s(&p.comm)),
        ("exe", s(exe_path)),
        ("cmdline", s(&cmdline(p))),
        ("argv", strings(&p.argv.to_vec())),
        ("uid", int(p.uid)),
        ("euid", int(p.euid)),
        ("env", env_of(p)),
    ])
}

/// Binds the subject's variables into a child scope of `root`.
pub fn bind(ctx: &mut cel::Context<'_, '_>, sub: &Subject<'_>) {
    let p = sub.proc;
    let facts = p.facts.as_deref();
    let exe = facts.map(|f| &f.exe);
    let exe_path = exe.map_or("", |e| e.path.as_str());
    let exe_name = exe.map_or("", |e| e.name());
    let cgroup = p.cgroup.as_deref();
    let container = cgroup.and_then(|c| c.container_id.as_deref()).unwrap_or("");
    let interactive = !p.tty.is_empty()
        || sub
            .ancestors
            .iter()
            .any(|a| !a.tty.is_empty() || a.comm.starts_with("sshd"));
    ctx.add_variable_from_value("event", map(vec![("kind", s(sub.event))]));
    ctx.add_variable_from_value(
        "proc",
        map(vec![
            ("pid", int(p.key.pid)),
            ("ppid", int(p.ppid)),
            ("name", s(&p.comm)),
            ("exe", s(&p.exe)),
            ("argv", strings(&p.argv.to_vec())),
            (
                "argc",
                int(i64::try_from(p.argv.iter().count()).unwrap_or(i64::MAX)),
            ),
            ("cmdline", s(&cmdline(p))),
            ("cwd", s(&p.cwd)),
            ("tty", s(&p.tty)),
            ("uid", int(p.uid)),
            ("euid", int(p.euid)),
            ("gid", int(p.gid)),
            ("egid", int(p.egid)),
            ("user", s(&user_name(p))),
            (
                "loginuid",
                int(facts.and_then(|f| f.loginuid).map_or(-1, i64::from)),
            ),
            (
                "login_user",
                s(facts.and_then(|f| f.login_user.as_deref()).unwrap_or("")),
            ),
            ("container", s(container)),
            ("in_container", Value::Bool(!container.is_empty())),
            ("cgroup", s(cgroup.map_or("", |c| c.path.as_str()))),
            ("caps", Value::UInt(facts.map_or(0, |f| f.cap_effective))),
            ("interactive", Value::Bool(interactive)),
            ("stdin_writers", strings(&sub.stdin_writers)),
            ("failed_runs", int(sub.failed_runs)),
        ]),
    );
    ctx.add_variable_from_value(
        "exe",
        map(vec![
            ("path", s(exe_path)),
            ("name", s(exe_name)),
            ("base", s(base_name(exe_name))),
            (
                "deleted",
                Value::Bool(exe.is_some_and(super::super::model::ExeInfo::deleted)),
            ),
            ("memfd", Value::Bool(exe.is_some_and(|e| e.from_memfd))),
            (
                "setuid",
                Value::Bool(exe.is_some_and(super::super::model::ExeInfo::setuid)),
            ),
            (
                "setgid",
                Value::Bool(exe.is_some_and(super::super::model::ExeInfo::setgid)),
            ),
            ("uid", int(exe.map_or(-1, |e| i64::from(e.uid)))),
            ("gid", int(exe.map_or(-1, |e| i64::from(e.gid)))),
            ("links", int(exe.map_or(-1, |e| i64::from(e.nlink)))),
            ("fs_type", s(exe.map_or("", |e| fs_type(e.fs_magic)))),
            ("known", Value::Bool(!exe_path.is_empty())),
        ]),
    );
    let stdio: Vec<Value> = facts.map_or_else(Vec::new, |f| {
        f.stdio
            .iter()
            .zip(0u32..)
            .map(|(fd, n)| stdio_entry(n, fd))
            .collect()
    });
    ctx.add_variable_from_value("stdio", Value::List(Arc::new(stdio)));
    ctx.add_variable_from_value("env", env_of(p));
    ctx.add_variable_from_value("parent", relative(sub.ancestors.first().copied()));
    let ancestors: Vec<Value> = sub.ancestors.iter().map(|a| ancestor(a)).collect();
    ctx.add_variable_from_value("ancestors", Value::List(Arc::new(ancestors)));
    let anames: Vec<Value> = sub.ancestors.iter().map(|a| s(&a.comm)).collect();
    ctx.add_variable_from_value("anames", Value::List(Arc::new(anames)));
}

/// The value of a description placeholder for `sub`.
pub fn placeholder(sub: &Subject<'_>, name: &str, lists: &HashMap<String, Vec<String>>) -> String {
    let p = sub.proc;
    let facts = p.facts.as_deref();
    let parent = sub.ancestors.first();
    if let Some(var) = name.strip_prefix("env.") {
        return facts
            .and_then(|f| f.env.iter().find(|e| e.name == var))
            .map_or_else(String::new, |e| e.value.clone());
    }
    match name {
        "proc.name" => p.comm.clone(),
        "proc.pid" => p.key.pid.to_string(),
        "proc.exe" => p.exe.clone(),
        "proc.cmdline" => cmdline(p),
        "proc.user" => user_name(p),
        "proc.euid" => p.euid.to_string(),
        "proc.login_user" => facts
            .and_then(|f| f.login_user.as_deref())
            .unwrap_or("-")
            .to_owned(),
        "proc.cwd" => p.cwd.clone(),
        "exe.path" => facts.map_or_else(String::new, |f| f.exe.path.clone()),
        "exe.owner" => facts.map_or_else(String::new, |f| f.exe.uid.to_string()),
        "parent.name" => parent.map_or_else(|| "?".to_owned(), |a| a.comm.clone()),
        "parent.pid" => parent.map_or_else(|| "?".to_owned(), |a| a.key.pid.to_string()),
        "parent.cmdline" => parent.map_or_else(String::new, |a| cmdline(a)),
        "ancestors" => sub
            .ancestors
            .iter()
            .map(|a| a.comm.as_str())
            .collect::<Vec<_>>()
            .join("/"),
        "stdio.peer" => facts
            .and_then(|f| f.stdio.iter().find_map(|fd| fd.peer))
            .map_or_else(|| "?".to_owned(), |a| a.to_string()),
        "stdio.types" => facts.map_or_else(String::new, |f| {
            f.stdio
                .iter()
                .map(|fd| fd_type(fd.kind))
                .collect::<Vec<_>>()
                .join(",")
        }),
        "stdin.writer" => sub.stdin_writers.join(","),
        "webserver" => {
            let servers = lists.get("web_db_servers");
            sub.ancestors
                .iter()
                .find(|a| servers.is_some_and(|l| l.contains(&a.comm)))
                .map_or_else(|| "?".to_owned(), |a| format!("{} ({})", a.comm, a.key.pid))
        }
        _ => String::new(),
    }
}
