//! Turns ring-buffer records (perch-common's `#[repr(C)]` structs) into
//! model events.  Records are validated by size; a malformed one is skipped
//! and counted by the caller, never trusted.
use perch_common::{
    ARGV_MAX, Creds, EXEC_ARGV_TRUNCATED, EXEC_FIXED_LEN, ExecEvent, ExitEvent, ForkEvent, Header,
    KIND_EXEC, KIND_EXIT, KIND_FORK,
};

use crate::model::{Argv, ExitInfo, ModelEvent, ProcKey, ProcessInfo, Source};

// One argv cap on every path: what the kernel programs capture is what
// the contract allows.
const _: () = assert!(ARGV_MAX == perch_proto::limits::ARGV_BYTES);

/// Decoded record, before enrichment (user names, cgroup paths).
pub type RawEvent = ModelEvent;

/// Reads a `T` from the start of `bytes` if it is long enough.
fn read<T: Copy>(bytes: &[u8]) -> Option<T> {
    (bytes.len() >= size_of::<T>())
        // SAFETY: length checked; T is a #[repr(C)] plain-data record and
        // read_unaligned does not need alignment.
        .then(|| unsafe { std::ptr::read_unaligned(bytes.as_ptr().cast::<T>()) })
}

/// A NUL-terminated C string in a fixed buffer, lossily as UTF-8.
fn cstr(buf: &[u8]) -> String {
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

/// Decodes one record, or `None` when it is malformed.
#[must_use]
pub fn decode(bytes: &[u8]) -> Option<RawEvent> {
    let header: Header = read(bytes)?;
    match header.kind {
        KIND_EXEC => {
            if bytes.len() < EXEC_FIXED_LEN {
                return None;
            }
            // Read the fixed part, then the argv bytes actually sent.
            let mut fixed = [0u8; size_of::<ExecEvent>()];
            fixed[..EXEC_FIXED_LEN].copy_from_slice(&bytes[..EXEC_FIXED_LEN]);
            let ev: ExecEvent = read(&fixed)?;
            let argv_len = (ev.argv_len as usize).min(ARGV_MAX);
            let argv = bytes.get(EXEC_FIXED_LEN..EXEC_FIXED_LEN + argv_len)?;
            let filename_len = (ev.filename_len as usize).min(ev.filename.len());
            let mut p = process(&header, &ev.creds);
            p.exe = cstr(&ev.filename[..filename_len]);
            let (argv, cut) = Argv::from_cmdline(argv);
            p.argv = argv;
            p.argv_truncated = cut || ev.flags & EXEC_ARGV_TRUNCATED != 0;
            Some(ModelEvent::Exec {
                time_ns: header.ktime_ns,
                process: p,
                old_pid: ev.old_pid,
            })
        }
        KIND_FORK => {
            let ev: ForkEvent = read(bytes)?;
            Some(ModelEvent::Fork {
                time_ns: header.ktime_ns,
                child: process(&header, &ev.creds),
            })
        }
        KIND_EXIT => {
            let ev: ExitEvent = read(bytes)?;
            Some(ModelEvent::Exit {
                time_ns: header.ktime_ns,
                key: ProcKey {
                    pid: header.tgid,
                    start_ns: header.start_time_ns,
                },
                exit: ExitInfo::from_wait_status(header.ktime_ns, ev.exit_code),
            })
        }
        _ => None,
    }
}

fn process(h: &Header, c: &Creds) -> ProcessInfo {
    ProcessInfo {
        key: ProcKey {
            pid: h.tgid,
            start_ns: h.start_time_ns,
        },
        ppid: h.ppid,
        parent_start_ns: h.parent_start_time_ns,
        pgid: c.pgid,
        sid: c.sid,
        uid: c.uid,
        euid: c.euid,
        gid: c.gid,
        comm: cstr(&c.comm),
        tty: tty_name(&cstr(&c.tty)),
        cgroup_id: c.cgroup_id,
        source: Source::Ebpf,
        threads: 1,
        ..ProcessInfo::default()
    }
}

/// The kernel names pseudo-terminals `pts3`; /proc and users say `pts/3`.
fn tty_name(raw: &str) -> String {
    match raw.strip_prefix("pts") {
        Some(n) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => format!("pts/{n}"),
        _ => raw.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argv_splitting() {
        let split = |b: &[u8]| Argv::from_cmdline(b).0.to_vec();
        assert_eq!(split(b"sh\0-c\0echo hi\0"), ["sh", "-c", "echo hi"]);
        assert_eq!(split(b"a\0\0b\0"), ["a", "", "b"]);
        assert!(split(b"").is_empty());
    }

    #[test]
    fn short_or_unknown_records_are_rejected() {
        assert!(decode(&[1, 0, 0]).is_none());
        let h = Header {
            kind: 99,
            ..Header::default()
        };
        // SAFETY: Header is plain data.
        let bytes =
            unsafe { std::slice::from_raw_parts((&raw const h).cast::<u8>(), size_of::<Header>()) };
        assert!(decode(bytes).is_none());
    }

    #[test]
    fn exit_status_is_decoded() {
        let ev = ExitEvent {
            header: Header {
                kind: KIND_EXIT,
                tgid: 7,
                ..Header::default()
            },
            exit_code: 3 << 8,
            ..ExitEvent::default()
        };
        // SAFETY: ExitEvent is plain data.
        let bytes = unsafe {
            std::slice::from_raw_parts((&raw const ev).cast::<u8>(), size_of::<ExitEvent>())
        };
        let Some(ModelEvent::Exit { key, exit, .. }) = decode(bytes) else {
            panic!("not an exit")
        };
        assert_eq!((key.pid, exit.code, exit.signal), (7, Some(3), None));
        assert_eq!(tty_name("pts12"), "pts/12");
        assert_eq!(tty_name("ttyS0"), "ttyS0");
    }
}
