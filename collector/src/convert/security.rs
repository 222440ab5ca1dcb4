//! Security events to `perch.v1.SecurityEvent`, strings capped.
use perch_proto::{limits, v1 as pb};

use super::{facts::stdio_fd, key};
use crate::security::{
    Detail, Ids, PathOrigin, SecPath, SecurityEvent, Target, names, syscalls::CAPABILITIES,
};

/// Paths sent: the kernel captures at most 1024 bytes, and a path perchd
/// folded is never longer; the contract's cap holds regardless.
const PATH_CAP: usize = limits::PATH_BYTES;
/// Names and texts (memfd names, BPF program names, mount types...).
const TEXT_CAP: usize = limits::NAME_BYTES;

fn capped(mut s: String, max: usize) -> String {
    limits::clip(&mut s, max);
    s
}

fn path(p: SecPath) -> pb::WatchedPath {
    let truncated = p.truncated || p.path.len() > PATH_CAP;
    pb::WatchedPath {
        path: capped(p.path, PATH_CAP),
        truncated,
        origin: match p.origin {
            PathOrigin::Given => pb::PathOrigin::Given,
            PathOrigin::Resolved => pb::PathOrigin::Resolved,
            PathOrigin::File => pb::PathOrigin::File,
            PathOrigin::Normalized => pb::PathOrigin::Normalized,
            PathOrigin::Relative => pb::PathOrigin::Relative,
        }
        .into(),
    }
}

fn ids(i: Ids) -> pb::Ids {
    pb::Ids {
        uid: i.uid,
        euid: i.euid,
        gid: i.gid,
        egid: i.egid,
    }
}

fn target(t: &Target) -> (u32, Option<pb::ProcessKey>, bool) {
    (t.pid, t.key.as_ref().map(key), t.caller_in_child_ns)
}

/// The wire form of `e`.
#[must_use]
#[expect(
    clippy::too_many_lines,
    reason = "one arm per detail, each a flat field-by-field mapping"
)]
pub fn event(e: SecurityEvent) -> pb::SecurityEvent {
    use pb::security_event::Detail as D;
    let detail = match e.detail {
        Detail::Ptrace {
            request,
            target: t,
            addr,
        } => {
            let (target_pid, target, caller_in_child_pid_ns) = target(&t);
            D::Ptrace(pb::Ptrace {
                request,
                request_name: names::ptrace_request(request).to_owned(),
                target_pid,
                target,
                caller_in_child_pid_ns,
                addr,
            })
        }
        Detail::Memfd { name, flags } => D::MemfdCreate(pb::MemfdCreate {
            name: capped(name, TEXT_CAP),
            flags,
            flag_names: names::memfd_flags(flags),
        }),
        Detail::SetId {
            requested,
            before,
            after,
        } => D::Setid(pb::SetId {
            requested,
            before: Some(ids(before)),
            after: Some(ids(after)),
        }),
        Detail::StdioDup {
            old_fd,
            new_fd,
            socket,
        } => D::StdioSocketDup(pb::StdioSocketDup {
            old_fd,
            new_fd,
            socket: Some(stdio_fd(new_fd, &socket)),
        }),
        Detail::Open {
            path: p,
            given,
            flags,
            mode,
            write,
        } => {
            let open = pb::FileOpen {
                path: Some(path(p)),
                given: capped(given, PATH_CAP),
                flags,
                mode,
            };
            if write {
                D::FileWrite(open)
            } else {
                D::FileRead(open)
            }
        }
        Detail::Rename { from, to, flags } => D::FileRename(pb::FileRename {
            from: Some(path(from)),
            to: Some(path(to)),
            flags,
        }),
        Detail::Unlink { path: p, flags } => D::FileUnlink(pb::FileUnlink {
            path: Some(path(p)),
            flags,
        }),
        Detail::Truncate { path: p, length } => D::FileTruncate(pb::FileTruncate {
            path: Some(path(p)),
            length,
        }),
        Detail::Chmod { path: p, mode } => D::FileChmod(pb::FileChmod {
            path: Some(path(p)),
            mode,
            setuid: mode & 0o4000 != 0,
            setgid: mode & 0o2000 != 0,
        }),
        Detail::ModuleLoad {
            path: p,
            params,
            flags,
        } => D::ModuleLoad(pb::ModuleLoad {
            path: p.map(path),
            params: capped(params, TEXT_CAP),
            flags,
        }),
        Detail::Mount {
            source,
            target: t,
            fstype,
            flags,
        } => D::Mount(pb::Mount {
            source: capped(source, PATH_CAP),
            target: Some(path(t)),
            fstype: capped(fstype, TEXT_CAP),
            flags,
            flag_names: names::mount_flags(flags),
        }),
        Detail::Chroot { path: p } => D::Chroot(pb::Chroot {
            path: Some(path(p)),
        }),
        Detail::Unshare { flags } => D::Unshare(pb::Unshare {
            flags,
            namespaces: names::clone_flags(flags),
        }),
        Detail::Setns {
            fd,
            nstype,
            file,
            ns,
        } => {
            let (namespace, ns_inode) = names::ns_file(&file)
                .map(|(k, i)| (k.to_owned(), i))
                .or(ns)
                .unwrap_or_default();
            D::Setns(pb::Setns {
                fd,
                nstype,
                namespace,
                ns_inode,
                file: capped(file, TEXT_CAP),
            })
        }
        Detail::BpfProgLoad {
            prog_type,
            name,
            insn_count,
        } => D::BpfProgLoad(pb::BpfProgLoad {
            prog_type,
            prog_type_name: names::bpf_prog_type(prog_type).to_owned(),
            name: capped(name, TEXT_CAP),
            insn_count,
        }),
        Detail::VmWrite {
            target: t,
            local_iovcnt,
            remote_iovcnt,
        } => {
            let (target_pid, target, caller_in_child_pid_ns) = target(&t);
            D::ProcessVmWritev(pb::ProcessVmWritev {
                target_pid,
                target,
                caller_in_child_pid_ns,
                local_iovcnt,
                remote_iovcnt,
            })
        }
        Detail::CommRename { old, new } => D::CommRename(pb::CommRename {
            old_comm: capped(old, TEXT_CAP),
            new_comm: capped(new, TEXT_CAP),
        }),
    };
    pb::SecurityEvent {
        key: Some(key(&e.key)),
        tid: e.tid,
        result: e.result,
        syscall: e.syscall.to_owned(),
        detail: Some(detail),
    }
}

/// `GetInfo`'s capabilities: every source, available or not, and why.
#[must_use]
pub fn capabilities(missing: &[(&'static str, String)]) -> Vec<pb::Capability> {
    CAPABILITIES
        .iter()
        .map(|&(name, what)| {
            let why = missing.iter().find(|(n, _)| *n == name).map(|(_, w)| w);
            pb::Capability {
                name: name.to_owned(),
                available: why.is_none(),
                detail: why.map_or_else(|| what.to_owned(), Clone::clone),
            }
        })
        .collect()
}
