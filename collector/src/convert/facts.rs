//! Exec facts (model) to their `perch.v1` fields: the executable file,
//! the standard streams, and whether the names disagree.
use perch_proto::v1 as pb;

use crate::model::{ExeInfo, ExecFacts, FdFact, FdKind, ProcessInfo, fs_type};

/// The first 15 bytes of a name: all the kernel keeps of a comm.
fn comm_prefix(name: &str) -> &[u8] {
    &name.as_bytes()[..name.len().min(15)]
}

/// See `Process.names_disagree` in collector.proto.
pub(super) fn names_disagree(p: &ProcessInfo) -> bool {
    let Some(exe) = p
        .facts
        .as_deref()
        .map(|f| f.exe.name())
        .filter(|n| !n.is_empty())
    else {
        return false;
    };
    let exe = comm_prefix(exe);
    let argv0 = p
        .argv
        .first()
        .map(|a| a.rsplit('/').next().unwrap_or_default());
    comm_prefix(&p.comm) != exe || argv0.is_some_and(|a| comm_prefix(a) != exe)
}

pub(super) fn executable(e: &ExeInfo) -> pb::ExecutableFile {
    pb::ExecutableFile {
        path: e.path.clone(),
        path_truncated: e.path_truncated,
        inode: e.ino,
        dev_major: e.dev_major,
        dev_minor: e.dev_minor,
        links: e.nlink,
        deleted: e.deleted(),
        from_memfd: e.from_memfd,
        mode: e.mode,
        setuid: e.setuid(),
        setgid: e.setgid(),
        uid: e.uid,
        gid: e.gid,
        fs_magic: e.fs_magic,
        fs_type: fs_type(e.fs_magic).to_owned(),
    }
}

pub(super) fn stdio(f: &ExecFacts) -> Vec<pb::StdioFd> {
    (0u32..)
        .zip(&f.stdio)
        .map(|(fd, s)| stdio_fd(fd, s))
        .collect()
}

pub(super) fn stdio_fd(fd: u32, s: &FdFact) -> pb::StdioFd {
    let r#type = match s.kind {
        FdKind::Unknown => pb::FdType::Unknown,
        FdKind::Closed => pb::FdType::Closed,
        FdKind::File => pb::FdType::File,
        FdKind::Directory => pb::FdType::Directory,
        FdKind::Pipe => pb::FdType::Pipe,
        FdKind::Tty => pb::FdType::Tty,
        FdKind::CharDevice => pb::FdType::CharDevice,
        FdKind::Tcp => pb::FdType::Tcp,
        FdKind::Udp => pb::FdType::Udp,
        FdKind::Unix => pb::FdType::Unix,
        FdKind::Socket => pb::FdType::Socket,
        FdKind::Other => pb::FdType::Other,
    };
    pb::StdioFd {
        fd,
        r#type: r#type.into(),
        inode: s.inode,
        local_address: s.local.map(|a| a.ip().to_string()).unwrap_or_default(),
        local_port: s.local.map_or(0, |a| u32::from(a.port())),
        peer_address: s.peer.map(|a| a.ip().to_string()).unwrap_or_default(),
        peer_port: s.peer.map_or(0, |a| u32::from(a.port())),
    }
}
