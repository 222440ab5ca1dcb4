//! What a rule's condition sees of a non-exec event, as the `event`
//! variable: a security syscall (its detail: path, write, target process,
//! module, mount, namespaces, ids), a network change (protocol, addresses,
//! direction, peer process) or an OOM kill.  Built only when some rule
//! applies to the event's kind; the same fields fill `{event.NAME}` in
//! descriptions.  README "Detections" lists every field.
use std::{collections::HashMap, net::SocketAddr, sync::Arc};

use cel::Value;

use super::rules::On;
use crate::{
    model::{ProcKey, ProcessInfo, ProcessModel},
    security::{Detail, SecurityEvent, Target, names},
};

mod net;
pub use net::{net, net_kind, oom, oom_kills};

/// One field's value.
#[derive(Clone, Debug, PartialEq)]
pub enum Field {
    Str(String),
    Int(i64),
    Bool(bool),
    List(Vec<String>),
}

impl Field {
    fn value(&self) -> Value {
        match self {
            Self::Str(s) => Value::String(Arc::new(s.clone())),
            Self::Int(i) => Value::Int(*i),
            Self::Bool(b) => Value::Bool(*b),
            Self::List(l) => Value::List(Arc::new(
                l.iter()
                    .map(|s| Value::String(Arc::new(s.clone())))
                    .collect(),
            )),
        }
    }

    fn text(&self) -> String {
        match self {
            Self::Str(s) => s.clone(),
            Self::Int(i) => i.to_string(),
            Self::Bool(b) => b.to_string(),
            Self::List(l) => l.join(","),
        }
    }
}

/// A non-exec event as the detector judges it.
#[derive(Clone, Debug, PartialEq)]
pub struct EventCtx {
    pub kind: On,
    /// The process it is about.
    pub key: ProcKey,
    pub time_ns: u64,
    fields: Vec<(&'static str, Field)>,
}

pub(super) fn s(v: impl Into<String>) -> Field {
    Field::Str(v.into())
}

pub(super) fn int(v: impl Into<i64>) -> Field {
    Field::Int(v.into())
}

impl EventCtx {
    #[must_use]
    pub fn new(kind: On, key: ProcKey, time_ns: u64) -> Self {
        Self {
            kind,
            key,
            time_ns,
            fields: Vec::new(),
        }
    }

    pub fn set(&mut self, name: &'static str, v: Field) {
        match self.fields.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = v,
            None => self.fields.push((name, v)),
        }
    }

    #[must_use]
    pub fn get(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// The `event` variable: `kind` and every field.
    #[must_use]
    pub fn value(&self) -> Value {
        let mut m: HashMap<String, Value> = self
            .fields
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.value()))
            .collect();
        m.insert(
            "kind".to_owned(),
            Value::String(Arc::new(self.kind.name().to_owned())),
        );
        Value::from(m)
    }

    /// `{event.NAME}` in a description; `None` for other placeholders.
    #[must_use]
    pub fn placeholder(&self, name: &str) -> Option<String> {
        let field = name.strip_prefix("event.")?;
        if field == "kind" {
            return Some(self.kind.name().to_owned());
        }
        Some(self.get(field).map_or_else(String::new, Field::text))
    }
}

/// The last component of `path`.
fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or_default()
}

fn set_path(c: &mut EventCtx, path: &str) {
    c.set("path", s(path));
    c.set("name", s(file_name(path)));
}

/// Whether `descendant`'s ancestry (live, in the model) holds `ancestor`.
fn descends_from(model: &ProcessModel, descendant: &ProcessInfo, ancestor: &ProcKey) -> bool {
    super::ancestry(model, descendant)
        .iter()
        .any(|a| a.key.same_as(ancestor))
}

/// `target_*` fields of a process another one acts on.
fn target(c: &mut EventCtx, model: &ProcessModel, actor: &ProcKey, t: &Target) {
    let proc = t.key.as_ref().and_then(|k| model.get_key(k));
    c.set("target_pid", int(t.pid));
    c.set("target_name", s(proc.map_or("", |p| p.comm.as_str())));
    let exe = proc.map_or("", |p| {
        p.facts
            .as_deref()
            .map_or(p.exe.as_str(), |f| f.exe.path.as_str())
    });
    c.set("target_exe", s(exe));
    c.set("target_uid", int(proc.map_or(-1, |p| i64::from(p.uid))));
    c.set("target_known", Field::Bool(proc.is_some()));
    c.set("target_self", Field::Bool(t.pid == actor.pid));
    c.set(
        "target_is_descendant",
        Field::Bool(proc.is_some_and(|p| descends_from(model, p, actor))),
    );
}

/// The inode of `pid`'s namespace of type `kind` (`mnt`, `net`...).
fn ns_inode(pid: &str, kind: &str) -> Option<u64> {
    let link = std::fs::read_link(format!("/proc/{pid}/ns/{kind}")).ok()?;
    names::ns_file(link.to_str()?).map(|(_, ino)| ino)
}

/// Whether `ino` is the host's namespace of type `kind`: pid 1's, or
/// perchd's own (perchd runs in the host's namespaces; pid 1's links are
/// unreadable where pid 1 is a sandbox's supervisor).
fn host_ns(kind: &str, ino: u64) -> bool {
    ["1", "self"]
        .iter()
        .any(|pid| ns_inode(pid, kind) == Some(ino))
}

/// The event's kind as rules name it.
#[must_use]
pub fn security_kind(d: &Detail) -> On {
    match d {
        Detail::Ptrace { .. } => On::Ptrace,
        Detail::VmWrite { .. } => On::ProcessVmWritev,
        Detail::Memfd { .. } => On::MemfdCreate,
        Detail::SetId { .. } => On::Setid,
        Detail::StdioDup { .. } => On::StdioSocketDup,
        Detail::Open { write: true, .. } => On::FileWrite,
        Detail::Open { .. } => On::FileRead,
        Detail::Rename { .. } => On::FileRename,
        Detail::Unlink { .. } => On::FileUnlink,
        Detail::Truncate { .. } => On::FileTruncate,
        Detail::Chmod { .. } => On::FileChmod,
        Detail::ModuleLoad { .. } => On::ModuleLoad,
        Detail::Mount { .. } => On::Mount,
        Detail::Unshare { .. } => On::Unshare,
        Detail::Chroot { .. } => On::Chroot,
        Detail::Setns { .. } => On::Setns,
        Detail::BpfProgLoad { .. } => On::BpfProgLoad,
        Detail::CommRename { .. } => On::CommRename,
    }
}

/// `O_TRUNC`, `O_CREAT`, `O_APPEND` (generic values, as on x86-64 and arm64).
const O_TRUNC: u32 = 0o1000;
const O_CREAT: u32 = 0o100;
const O_APPEND: u32 = 0o2000;

/// A security event's context; `in_new_ns`: the caller (or an ancestor)
/// made a new mount or user namespace, or it runs in a container.
#[must_use]
pub fn security(model: &ProcessModel, ev: &SecurityEvent, in_new_ns: bool) -> EventCtx {
    let mut c = EventCtx::new(security_kind(&ev.detail), ev.key, ev.time_ns);
    c.set("syscall", s(ev.syscall));
    c.set("result", int(ev.result));
    c.set("ok", Field::Bool(ev.result >= 0));
    c.set("path", s(""));
    c.set("name", s(""));
    c.set("in_new_ns", Field::Bool(in_new_ns));
    match &ev.detail {
        Detail::Ptrace {
            request, target: t, ..
        } => {
            c.set("request", s(names::ptrace_request(*request)));
            c.set("request_no", int(*request));
            target(&mut c, model, &ev.key, t);
        }
        Detail::VmWrite { target: t, .. } => target(&mut c, model, &ev.key, t),
        Detail::Memfd { name, flags } => {
            c.set("memfd_name", s(name.as_str()));
            c.set("flags", Field::List(names::memfd_flags(*flags)));
        }
        Detail::SetId {
            requested,
            before,
            after,
        } => {
            let ids = |v: &[u32]| Field::List(v.iter().map(ToString::to_string).collect());
            c.set("requested", ids(requested));
            for (name, v) in [
                ("uid_before", before.uid),
                ("euid_before", before.euid),
                ("uid_after", after.uid),
                ("euid_after", after.euid),
                ("gid_after", after.gid),
                ("egid_after", after.egid),
            ] {
                c.set(name, int(v));
            }
        }
        Detail::StdioDup {
            old_fd,
            new_fd,
            socket,
        } => {
            c.set("old_fd", int(*old_fd));
            c.set("new_fd", int(*new_fd));
            c.set("socket_type", s(super::context::fd_type(socket.kind)));
            address(&mut c, "remote", socket.peer);
            address(&mut c, "local", socket.local);
        }
        Detail::Open { .. }
        | Detail::Rename { .. }
        | Detail::Unlink { .. }
        | Detail::Chmod { .. }
        | Detail::Truncate { .. }
        | Detail::ModuleLoad { .. }
        | Detail::Mount { .. } => files(&mut c, &ev.detail),
        Detail::Chroot { path } => set_path(&mut c, &path.path),
        Detail::Unshare { flags } => {
            c.set("namespaces", Field::List(names::clone_flags(*flags)));
        }
        Detail::Setns { ns, file, .. } => {
            let (kind, ino) = ns.clone().unwrap_or_default();
            let host = !kind.is_empty() && host_ns(&kind, ino);
            c.set("ns_type", s(kind));
            c.set("ns_inode", int(i64::try_from(ino).unwrap_or(i64::MAX)));
            c.set("ns_is_host", Field::Bool(host));
            c.set("file", s(file.as_str()));
        }
        Detail::BpfProgLoad {
            prog_type,
            name,
            insn_count,
        } => {
            c.set("prog_type", s(names::bpf_prog_type(*prog_type)));
            c.set("prog_name", s(name.as_str()));
            c.set("insn_count", int(*insn_count));
        }
        Detail::CommRename { old, new } => {
            c.set("old_name", s(old.as_str()));
            c.set("new_name", s(new.as_str()));
        }
    }
    c
}

/// The fields of events about a file (or a mount point).
fn files(c: &mut EventCtx, d: &Detail) {
    match d {
        Detail::Open {
            path, flags, write, ..
        } => {
            set_path(c, &path.path);
            c.set("write", Field::Bool(*write));
            c.set("trunc", Field::Bool(flags & O_TRUNC != 0));
            c.set("creat", Field::Bool(flags & O_CREAT != 0));
            c.set("append", Field::Bool(flags & O_APPEND != 0));
        }
        Detail::Rename { from, to, .. } => {
            set_path(c, &to.path);
            c.set("from", s(from.path.as_str()));
        }
        Detail::Unlink { path, .. } | Detail::Chmod { path, .. } => set_path(c, &path.path),
        Detail::Truncate { path, length } => {
            set_path(c, &path.path);
            c.set("length", int(i64::try_from(*length).unwrap_or(i64::MAX)));
        }
        Detail::ModuleLoad { path, params, .. } => {
            set_path(c, path.as_ref().map_or("", |p| p.path.as_str()));
            c.set("params", s(params.as_str()));
        }
        Detail::Mount {
            source,
            target: at,
            fstype,
            flags,
        } => {
            set_path(c, &at.path);
            c.set("source", s(source.as_str()));
            c.set("fstype", s(fstype.as_str()));
            c.set("flags", Field::List(names::mount_flags(*flags)));
        }
        _ => {}
    }
}

/// `PREFIX_addr`, `PREFIX_port` and, for the remote end, what kind of
/// address it is.
pub(super) fn address(c: &mut EventCtx, prefix: &'static str, a: Option<SocketAddr>) {
    let (addr, port) = a.map_or((String::new(), 0), |a| (a.ip().to_string(), a.port()));
    let (addr_key, port_key) = match prefix {
        "remote" => ("remote_addr", "remote_port"),
        _ => ("local_addr", "local_port"),
    };
    c.set(addr_key, s(addr));
    c.set(port_key, int(port));
    if prefix == "remote" {
        let ip = a.map(|a| a.ip().to_canonical());
        let loopback = ip.is_some_and(|i| i.is_loopback());
        let private = ip.is_some_and(|i| match i {
            std::net::IpAddr::V4(v4) => v4.is_private() || v4.is_link_local(),
            std::net::IpAddr::V6(v6) => v6.is_unique_local() || v6.is_unicast_link_local(),
        });
        c.set("remote_is_loopback", Field::Bool(loopback));
        c.set("remote_is_private", Field::Bool(private));
    }
}
