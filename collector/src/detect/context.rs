//! What a rule's condition sees: the process, its executable, its standard
//! streams, its environment and its ancestry, as CEL variables.  One set
//! per event, shared by every rule, built as conditions read it (see
//! `lazy`): a variable when first named, a field of `proc`, `exe`,
//! `parent` or `event` when first read.  New event kinds (connections,
//! security events) add a field to `EventFields` (or a variable to
//! `VARIABLES` and `variable`), computed from the `Subject`; the engine
//! does not change.
//!
//! Variables: `event` (`kind`), `proc`, `exe`, `stdio` (fds 0..2), `env`
//! (the variables perchd reports), `parent`, `ancestors` (nearest first),
//! `anames` (their names) and `lists` (named lists from the rule files).
//! README "Detections" lists every field.
use std::{collections::HashMap, net::SocketAddr, sync::Arc};

use cel::Value;

use cel::common::types::CelList;

use super::lazy::{
    Boxed, Fields, Object, Vars, bool_val, from_value, int_val, str_list, str_val, string_val,
    uint_val,
};
use crate::model::{ExeInfo, FdFact, FdKind, ProcessInfo, fs_type};

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

/// `stdio[i]`: one of the standard streams.
#[derive(Clone, Copy)]
struct FdFields<'a>(u32, &'a FdFact);

impl<'a> Fields<'a> for FdFields<'a> {
    const FIELDS: &'static [&'static str] = &[
        "fd",
        "type",
        "inode",
        "local_addr",
        "local_port",
        "peer_addr",
        "peer_port",
        "peer_loopback",
    ];

    fn field(self, name: &str) -> Option<Boxed<'a>> {
        let Self(n, f) = self;
        let ip =
            |a: Option<SocketAddr>| string_val(a.map_or_else(String::new, |a| a.ip().to_string()));
        let port = |a: Option<SocketAddr>| int_val(a.map_or(0, |a| a.port()));
        Some(match name {
            "fd" => int_val(n),
            "type" => str_val(fd_type(f.kind)),
            "inode" => uint_val(f.inode),
            "local_addr" => ip(f.local),
            "local_port" => port(f.local),
            "peer_addr" => ip(f.peer),
            "peer_port" => port(f.peer),
            "peer_loopback" => bool_val(f.peer.is_some_and(|a| a.ip().is_loopback())),
            _ => return None,
        })
    }
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

/// Every variable a condition can name (besides `lists`, bound once).
pub const VARIABLES: &[&str] = &[
    "event",
    "proc",
    "exe",
    "stdio",
    "env",
    "parent",
    "ancestors",
    "anames",
];

/// The variables of one event, built as conditions read them.
pub type EventVars<'a> = Vars<'a, &'a Subject<'a>>;

#[must_use]
pub fn vars<'a>(sub: &'a Subject<'a>) -> EventVars<'a> {
    Vars::new(VARIABLES, variable, sub)
}

/// Builds the variable `name`.  Objects read often (`proc`, `exe`,
/// `parent`, `event`) are lazy per field; the rest are small or rarely
/// read and built whole.
fn variable<'a>(sub: &'a Subject<'a>, name: &str) -> Option<Boxed<'a>> {
    let p = sub.proc;
    let facts = p.facts.as_deref();
    Some(match name {
        "event" => Box::new(Object::new(EventFields(sub))),
        "proc" => Box::new(Object::new(ProcFields(sub))),
        "exe" => Box::new(Object::new(ExeFields(facts.map(|f| &f.exe)))),
        "parent" => Box::new(Object::new(ParentFields(sub.ancestors.first().copied()))),
        "stdio" => {
            let stdio: Vec<Boxed<'a>> = facts.map_or_else(Vec::new, |f| {
                f.stdio
                    .iter()
                    .zip(0u32..)
                    .map(|(fd, n)| Box::new(Object::new(FdFields(n, fd))) as Boxed<'a>)
                    .collect()
            });
            Box::new(CelList::from(stdio))
        }
        "env" => from_value(env_of(p))?,
        "ancestors" => {
            let list: Vec<Value> = sub.ancestors.iter().map(|a| ancestor(a)).collect();
            from_value(Value::List(Arc::new(list)))?
        }
        "anames" => str_list(sub.ancestors.iter().map(|a| a.comm.as_str())),
        _ => return None,
    })
}

/// `event`: what happened.  New event kinds add their fields here (and to
/// `FIELDS`), computed from the subject when a condition reads them.
#[derive(Clone, Copy)]
struct EventFields<'a>(&'a Subject<'a>);

impl<'a> Fields<'a> for EventFields<'a> {
    const FIELDS: &'static [&'static str] = &["kind"];

    fn field(self, name: &str) -> Option<Boxed<'a>> {
        match name {
            "kind" => Some(str_val(self.0.event)),
            _ => None,
        }
    }
}

/// `proc`: the process the event is about.
#[derive(Clone, Copy)]
struct ProcFields<'a>(&'a Subject<'a>);

impl<'a> Fields<'a> for ProcFields<'a> {
    const FIELDS: &'static [&'static str] = &[
        "pid",
        "ppid",
        "name",
        "exe",
        "argv",
        "argc",
        "cmdline",
        "cwd",
        "tty",
        "uid",
        "euid",
        "gid",
        "egid",
        "user",
        "loginuid",
        "login_user",
        "container",
        "in_container",
        "cgroup",
        "caps",
        "interactive",
        "stdin_writers",
        "failed_runs",
    ];

    fn field(self, name: &str) -> Option<Boxed<'a>> {
        let sub = self.0;
        let p = sub.proc;
        let facts = p.facts.as_deref();
        let cgroup = p.cgroup.as_deref();
        let container = cgroup.and_then(|c| c.container_id.as_deref()).unwrap_or("");
        Some(match name {
            "pid" => int_val(p.key.pid),
            "ppid" => int_val(p.ppid),
            "name" => str_val(&p.comm),
            "exe" => str_val(&p.exe),
            "argv" => str_list(p.argv.iter()),
            "argc" => int_val(i64::try_from(p.argv.iter().count()).unwrap_or(i64::MAX)),
            "cmdline" => string_val(cmdline(p)),
            "cwd" => str_val(&p.cwd),
            "tty" => str_val(&p.tty),
            "uid" => int_val(p.uid),
            "euid" => int_val(p.euid),
            "gid" => int_val(p.gid),
            "egid" => int_val(p.egid),
            "user" => string_val(user_name(p)),
            "loginuid" => int_val(facts.and_then(|f| f.loginuid).map_or(-1, i64::from)),
            "login_user" => str_val(facts.and_then(|f| f.login_user.as_deref()).unwrap_or("")),
            "container" => str_val(container),
            "in_container" => bool_val(!container.is_empty()),
            "cgroup" => str_val(cgroup.map_or("", |c| c.path.as_str())),
            "caps" => uint_val(facts.map_or(0, |f| f.cap_effective)),
            "interactive" => bool_val(
                !p.tty.is_empty()
                    || sub
                        .ancestors
                        .iter()
                        .any(|a| !a.tty.is_empty() || a.comm.starts_with("sshd")),
            ),
            "stdin_writers" => str_list(sub.stdin_writers.iter().map(String::as_str)),
            "failed_runs" => int_val(sub.failed_runs),
            _ => return None,
        })
    }
}

/// `exe`: the executable file's facts (empty when unknown).
#[derive(Clone, Copy)]
struct ExeFields<'a>(Option<&'a ExeInfo>);

impl<'a> Fields<'a> for ExeFields<'a> {
    const FIELDS: &'static [&'static str] = &[
        "path", "name", "base", "deleted", "memfd", "setuid", "setgid", "uid", "gid", "links",
        "fs_type", "known",
    ];

    fn field(self, name: &str) -> Option<Boxed<'a>> {
        let exe = self.0;
        let path = exe.map_or("", |e| e.path.as_str());
        let exe_name = exe.map_or("", ExeInfo::name);
        Some(match name {
            "path" => str_val(path),
            "name" => str_val(exe_name),
            "base" => str_val(base_name(exe_name)),
            "deleted" => bool_val(exe.is_some_and(ExeInfo::deleted)),
            "memfd" => bool_val(exe.is_some_and(|e| e.from_memfd)),
            "setuid" => bool_val(exe.is_some_and(ExeInfo::setuid)),
            "setgid" => bool_val(exe.is_some_and(ExeInfo::setgid)),
            "uid" => int_val(exe.map_or(-1, |e| i64::from(e.uid))),
            "gid" => int_val(exe.map_or(-1, |e| i64::from(e.gid))),
            "links" => int_val(exe.map_or(-1, |e| i64::from(e.nlink))),
            "fs_type" => str_val(exe.map_or("", |e| fs_type(e.fs_magic))),
            "known" => bool_val(!path.is_empty()),
            _ => return None,
        })
    }
}

/// `parent`: identity, command line and environment (zero values when the
/// parent is unknown).
#[derive(Clone, Copy)]
struct ParentFields<'a>(Option<&'a ProcessInfo>);

impl<'a> Fields<'a> for ParentFields<'a> {
    const FIELDS: &'static [&'static str] = &[
        "pid", "name", "exe", "cmdline", "argv", "uid", "euid", "env",
    ];

    fn field(self, name: &str) -> Option<Boxed<'a>> {
        let Some(p) = self.0 else {
            return Some(match name {
                "pid" => int_val(0),
                "name" | "exe" | "cmdline" => str_val(""),
                "argv" => str_list(std::iter::empty()),
                "uid" | "euid" => int_val(-1),
                "env" => from_value(Value::from(HashMap::<String, Value>::new()))?,
                _ => return None,
            });
        };
        let exe_path = p
            .facts
            .as_deref()
            .map_or(p.exe.as_str(), |f| f.exe.path.as_str());
        Some(match name {
            "pid" => int_val(p.key.pid),
            "name" => str_val(&p.comm),
            "exe" => str_val(exe_path),
            "cmdline" => string_val(cmdline(p)),
            "argv" => str_list(p.argv.iter()),
            "uid" => int_val(p.uid),
            "euid" => int_val(p.euid),
            "env" => from_value(env_of(p))?,
            _ => return None,
        })
    }
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
