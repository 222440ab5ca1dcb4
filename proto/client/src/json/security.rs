//! Security events as JSON: the event's common fields, then its detail
//! under the oneof's field name (`ptrace`, `file_write`, ...) with the
//! message's own field names.  Strings are as sent (JSON escapes control
//! characters itself).
use perch_proto::v1::{
    FdType, Ids, PathOrigin, SecurityEvent, StdioFd, WatchedPath, security_event::Detail,
};
use serde_json::{Map, Value, json};

use super::{enum_name, key, put_opt};

/// One security event, as one JSON object.
#[must_use]
pub fn event(e: &SecurityEvent) -> Map<String, Value> {
    let mut m = Map::new();
    put_opt(&mut m, "key", e.key.as_ref().map(key));
    m.insert("tid".into(), e.tid.into());
    m.insert("result".into(), e.result.into());
    m.insert("syscall".into(), e.syscall.clone().into());
    if let Some(d) = &e.detail {
        let (name, v) = detail(d);
        m.insert("detail".into(), name.into());
        m.insert(name.into(), v);
    }
    m
}

/// The oneof field name of a detail ("ptrace", `file_write`, ...).
#[must_use]
pub fn detail_name(d: &Detail) -> &'static str {
    detail(d).0
}

fn path(p: Option<&WatchedPath>) -> Value {
    p.map_or(Value::Null, |p| {
        json!({
            "path": p.path,
            "truncated": p.truncated,
            "origin": enum_name::<PathOrigin>(p.origin),
        })
    })
}

fn ids(i: Option<&Ids>) -> Value {
    i.map_or(
        Value::Null,
        |i| json!({ "uid": i.uid, "euid": i.euid, "gid": i.gid, "egid": i.egid }),
    )
}

fn fd(f: Option<&StdioFd>) -> Value {
    f.map_or(Value::Null, |f| {
        json!({
            "fd": f.fd,
            "type": enum_name::<FdType>(f.r#type),
            "inode": f.inode,
            "local_address": f.local_address,
            "local_port": f.local_port,
            "peer_address": f.peer_address,
            "peer_port": f.peer_port,
        })
    })
}

fn target(k: Option<&perch_proto::v1::ProcessKey>) -> Value {
    k.map_or(Value::Null, key)
}

#[expect(
    clippy::too_many_lines,
    reason = "one arm per detail message, each a flat list of its fields"
)]
fn detail(d: &Detail) -> (&'static str, Value) {
    match d {
        Detail::Ptrace(x) => (
            "ptrace",
            json!({
                "request": x.request,
                "request_name": x.request_name,
                "target_pid": x.target_pid,
                "target": target(x.target.as_ref()),
                "caller_in_child_pid_ns": x.caller_in_child_pid_ns,
                "addr": x.addr,
            }),
        ),
        Detail::MemfdCreate(x) => (
            "memfd_create",
            json!({ "name": x.name, "flags": x.flags, "flag_names": x.flag_names }),
        ),
        Detail::Setid(x) => (
            "setid",
            json!({
                "requested": x.requested,
                "before": ids(x.before.as_ref()),
                "after": ids(x.after.as_ref()),
            }),
        ),
        Detail::StdioSocketDup(x) => (
            "stdio_socket_dup",
            json!({ "old_fd": x.old_fd, "new_fd": x.new_fd, "socket": fd(x.socket.as_ref()) }),
        ),
        Detail::FileWrite(x) | Detail::FileRead(x) => (
            if matches!(d, Detail::FileWrite(_)) {
                "file_write"
            } else {
                "file_read"
            },
            json!({
                "path": path(x.path.as_ref()),
                "given": x.given,
                "flags": x.flags,
                "mode": x.mode,
            }),
        ),
        Detail::FileRename(x) => (
            "file_rename",
            json!({
                "from": path(x.from.as_ref()),
                "to": path(x.to.as_ref()),
                "flags": x.flags,
            }),
        ),
        Detail::FileUnlink(x) => (
            "file_unlink",
            json!({ "path": path(x.path.as_ref()), "flags": x.flags }),
        ),
        Detail::FileTruncate(x) => (
            "file_truncate",
            json!({ "path": path(x.path.as_ref()), "length": x.length }),
        ),
        Detail::FileChmod(x) => (
            "file_chmod",
            json!({
                "path": path(x.path.as_ref()),
                "mode": x.mode,
                "setuid": x.setuid,
                "setgid": x.setgid,
            }),
        ),
        Detail::ModuleLoad(x) => (
            "module_load",
            json!({ "path": path(x.path.as_ref()), "params": x.params, "flags": x.flags }),
        ),
        Detail::Mount(x) => (
            "mount",
            json!({
                "source": x.source,
                "target": path(x.target.as_ref()),
                "fstype": x.fstype,
                "flags": x.flags,
                "flag_names": x.flag_names,
            }),
        ),
        Detail::Chroot(x) => ("chroot", json!({ "path": path(x.path.as_ref()) })),
        Detail::Unshare(x) => (
            "unshare",
            json!({ "flags": x.flags, "namespaces": x.namespaces }),
        ),
        Detail::Setns(x) => (
            "setns",
            json!({
                "fd": x.fd,
                "nstype": x.nstype,
                "namespace": x.namespace,
                "ns_inode": x.ns_inode,
                "file": x.file,
            }),
        ),
        Detail::BpfProgLoad(x) => (
            "bpf_prog_load",
            json!({
                "prog_type": x.prog_type,
                "prog_type_name": x.prog_type_name,
                "name": x.name,
                "insn_count": x.insn_count,
            }),
        ),
        Detail::ProcessVmWritev(x) => (
            "process_vm_writev",
            json!({
                "target_pid": x.target_pid,
                "target": target(x.target.as_ref()),
                "caller_in_child_pid_ns": x.caller_in_child_pid_ns,
                "local_iovcnt": x.local_iovcnt,
                "remote_iovcnt": x.remote_iovcnt,
            }),
        ),
        Detail::CommRename(x) => (
            "comm_rename",
            json!({ "old_comm": x.old_comm, "new_comm": x.new_comm }),
        ),
    }
}
