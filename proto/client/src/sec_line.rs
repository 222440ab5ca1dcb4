//! A security event as one line of text, for `perch events` and the
//! console's process detail: what was done, to what, and the result.
//! Everything the caller chose (paths, names) is escaped.
use perch_proto::v1::{SecurityEvent, WatchedPath, security_event::Detail};

use crate::{clean, json::security::detail_name};

/// `openat file_write /etc/cron.d/job (given job) = 3`, `ptrace attach
/// pid=42 = 0`, `setresuid setid uid 1000->0 euid 1000->0 = -1`.
#[must_use]
pub fn security_line(ev: &SecurityEvent) -> String {
    let Some(detail) = &ev.detail else {
        return format!("{} = {}", clean(&ev.syscall), ev.result);
    };
    let what = match detail {
        Detail::Ptrace(x) => format!("{} pid={}", clean(&x.request_name), x.target_pid),
        Detail::MemfdCreate(x) => format!("name=\"{}\"", clean(&x.name)),
        Detail::Setid(x) => {
            let (was, now) = (x.before.unwrap_or_default(), x.after.unwrap_or_default());
            format!(
                "uid {}->{} euid {}->{} gid {}->{} egid {}->{}",
                was.uid, now.uid, was.euid, now.euid, was.gid, now.gid, was.egid, now.egid
            )
        }
        Detail::StdioSocketDup(x) => {
            let peer = x.socket.as_ref().map_or_else(String::new, |s| {
                format!(" peer {}:{}", clean(&s.peer_address), s.peer_port)
            });
            format!("fd {} -> {}{peer}", x.old_fd, x.new_fd)
        }
        Detail::FileWrite(x) | Detail::FileRead(x) => path(x.path.as_ref()),
        Detail::FileRename(x) => {
            format!("{} -> {}", path(x.from.as_ref()), path(x.to.as_ref()))
        }
        Detail::FileUnlink(x) => path(x.path.as_ref()),
        Detail::FileTruncate(x) => format!("{} length={}", path(x.path.as_ref()), x.length),
        Detail::FileChmod(x) => {
            let bits = match (x.setuid, x.setgid) {
                (true, true) => " setuid setgid",
                (true, false) => " setuid",
                (false, true) => " setgid",
                (false, false) => "",
            };
            format!("{} mode={:o}{bits}", path(x.path.as_ref()), x.mode)
        }
        Detail::ModuleLoad(x) => format!("{} {}", path(x.path.as_ref()), clean(&x.params)),
        Detail::Mount(x) => format!(
            "{} on {} type {} ({})",
            clean(&x.source),
            path(x.target.as_ref()),
            clean(&x.fstype),
            x.flag_names.join(",")
        ),
        Detail::Unshare(x) => x.namespaces.join(","),
        Detail::Chroot(x) => path(x.path.as_ref()),
        Detail::Setns(x) => format!("fd={} {}", x.fd, clean(&x.namespace)),
        Detail::BpfProgLoad(x) => {
            format!("{} name=\"{}\"", clean(&x.prog_type_name), clean(&x.name))
        }
        Detail::ProcessVmWritev(x) => format!("pid={}", x.target_pid),
        Detail::CommRename(x) => {
            format!("\"{}\" -> \"{}\"", clean(&x.old_comm), clean(&x.new_comm))
        }
    };
    format!(
        "{} {} {what} = {}",
        clean(&ev.syscall),
        detail_name(detail),
        ev.result
    )
}

fn path(p: Option<&WatchedPath>) -> String {
    p.map_or_else(String::new, |p| {
        let cut = if p.truncated { "…" } else { "" };
        format!("{}{cut}", clean(&p.path))
    })
}

#[cfg(test)]
mod tests {
    use perch_proto::v1::{FileOpen, Ptrace};

    use super::*;

    #[test]
    fn one_line_with_the_callers_text_escaped() {
        let e = SecurityEvent {
            syscall: "openat".into(),
            result: 3,
            detail: Some(Detail::FileWrite(FileOpen {
                path: Some(WatchedPath {
                    path: "/etc/cron.d/a\x1b[2Jb".into(),
                    truncated: true,
                    origin: 3,
                }),
                ..FileOpen::default()
            })),
            ..SecurityEvent::default()
        };
        assert_eq!(
            security_line(&e),
            "openat file_write /etc/cron.d/a\\u{1b}[2Jb… = 3"
        );
        let e = SecurityEvent {
            syscall: "ptrace".into(),
            result: -1,
            detail: Some(Detail::Ptrace(Ptrace {
                request_name: "attach".into(),
                target_pid: 42,
                ..Ptrace::default()
            })),
            ..SecurityEvent::default()
        };
        assert_eq!(security_line(&e), "ptrace ptrace attach pid=42 = -1");
    }
}
