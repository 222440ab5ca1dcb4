//! Security records (perch-common's `SecEvent`) as model events.  Paths
//! the kernel could not decide on (`.`/`..` components) are folded here
//! and checked against the same watch rules; those that are not watched
//! are dropped, as the kernel would have.
use perch_common::{
    Header, SEC_FD_VALID, SEC_FIXED_LEN, SEC_PATH_FROM_FILE, SEC_PATH_MAX, SEC_PATH_RELATIVE,
    SEC_PATH_RESOLVED, SEC_PATH_TRUNCATED, SEC_PATH_UNNORMALIZED, SEC_PATH2_SHIFT,
    SEC_PID_NS_CHILD, SEC_TEXT_MAX, SecEvent, kind, op, watch,
};

use super::decode::{cstr, fd_fact, key, read};
use crate::{
    model::{FdFact, ModelEvent},
    security::{
        Detail, Ids, PathOrigin, SecPath, SecurityEvent, Target, names, syscalls,
        watch::{WatchSet, normalize},
    },
};

/// A record perchd cannot read (short, or lengths past its end).
#[derive(Debug, thiserror::Error)]
#[error("malformed ring-buffer record")]
pub struct Malformed;

/// A syscall's `int` argument from its 64-bit slot.
#[expect(
    clippy::cast_possible_truncation,
    reason = "the slot holds a C int or unsigned: its low 32 bits are the argument"
)]
fn int(v: u64) -> u32 {
    v as u32
}

/// A syscall's signed `int` argument (an fd) from its 64-bit slot.
fn sint(v: u64) -> i32 {
    int(v).cast_signed()
}

const O_ACCMODE: u32 = 0o3;
const O_CREAT: u32 = 0o100;
const O_TRUNC: u32 = 0o1000;

/// Decodes a security record: `Err` when malformed, `Ok(None)` when its
/// path turns out not to be watched.
pub(super) fn security(
    h: &Header,
    bytes: &[u8],
    rules: &WatchSet,
) -> Result<Option<ModelEvent>, Malformed> {
    let ev: SecEvent = read(bytes).ok_or(Malformed)?;
    let [p0, p1, text] = segments(bytes, &ev)?;
    let text = cstr(text);
    let from_file = ev.flags & SEC_PATH_FROM_FILE != 0;
    let first = sec_path(p0, ev.flags, from_file);
    let second = sec_path(p1, ev.flags >> SEC_PATH2_SHIFT, false);
    let a = ev.arg;
    let target = |pid: u64| Target {
        pid: int(pid),
        key: None,
        caller_in_child_ns: ev.flags & SEC_PID_NS_CHILD != 0,
    };
    let op = u8::try_from(ev.op).map_err(|_| Malformed)?;
    let detail = match h.kind {
        kind::FILE_OPEN..=kind::FILE_CHMOD => {
            let Some(d) = file(h.kind, &ev, first, second, rules) else {
                return Ok(None);
            };
            d
        }
        kind::PTRACE => Detail::Ptrace {
            request: int(a[0]),
            target: target(a[1]),
            addr: a[2],
        },
        kind::VM_WRITE => Detail::VmWrite {
            target: target(a[0]),
            local_iovcnt: int(a[1]),
            remote_iovcnt: int(a[2]),
        },
        kind::MEMFD => Detail::Memfd {
            name: text,
            flags: int(a[0]),
        },
        kind::SETID => {
            let asked = match op {
                op::SETUID | op::SETGID => 1,
                op::SETREUID | op::SETREGID => 2,
                _ => 3,
            };
            let ids = |i: usize| Ids {
                uid: ev.ids[i],
                euid: ev.ids[i + 1],
                gid: ev.ids[i + 2],
                egid: ev.ids[i + 3],
            };
            Detail::SetId {
                requested: a.iter().take(asked).map(|&v| int(v)).collect(),
                before: ids(0),
                after: ids(4),
            }
        }
        kind::STDIO_DUP => Detail::StdioDup {
            old_fd: sint(a[0]),
            new_fd: u32::try_from(ev.ret).map_err(|_| Malformed)?,
            socket: if ev.flags & SEC_FD_VALID != 0 {
                fd_fact(&ev.fd)
            } else {
                FdFact::default()
            },
        },
        kind::MODULE_LOAD => Detail::ModuleLoad {
            path: (!first.path.is_empty()).then_some(first),
            params: text,
            flags: if op == op::FINIT_MODULE { int(a[1]) } else { 0 },
        },
        kind::MOUNT => Detail::Mount {
            source: second.path,
            target: first,
            fstype: text,
            flags: a[0],
        },
        kind::UNSHARE => Detail::Unshare { flags: a[0] },
        kind::CHROOT => Detail::Chroot { path: first },
        kind::SETNS => Detail::Setns {
            fd: sint(a[0]),
            nstype: int(a[1]),
            file: text,
            ns: (ev.flags & SEC_FD_VALID != 0)
                .then(|| names::ns_of(h.tgid, int(a[1]), ev.fd.ino))
                .flatten(),
        },
        kind::BPF_PROG_LOAD => Detail::BpfProgLoad {
            prog_type: int(a[0]),
            name: text,
            insn_count: int(a[1]),
        },
        _ => return Err(Malformed),
    };
    Ok(Some(ModelEvent::Security(Box::new(SecurityEvent {
        time_ns: h.ktime_ns,
        key: key(h),
        tid: h.tid,
        result: ev.ret,
        syscall: syscalls::name_of(op),
        detail,
    }))))
}

/// The record's three tail segments (`path`, `path2`, `text`), checked
/// against their caps and the record's length.
fn segments<'a>(bytes: &'a [u8], ev: &SecEvent) -> Result<[&'a [u8]; 3], Malformed> {
    let lens = ev.lens.map(|l| l as usize);
    if lens[0] > SEC_PATH_MAX || lens[1] > SEC_PATH_MAX || lens[2] > SEC_TEXT_MAX {
        return Err(Malformed);
    }
    let tail = bytes.get(SEC_FIXED_LEN..).ok_or(Malformed)?;
    if lens.iter().sum::<usize>() > tail.len() {
        return Err(Malformed);
    }
    let (p0, rest) = tail.split_at(lens[0]);
    let (p1, rest) = rest.split_at(lens[1]);
    Ok([p0, p1, &rest[..lens[2]]])
}

/// A file record's detail, or `None` when a path perchd folded turns out
/// not to be watched for what was done (the check the kernel could not
/// make).
fn file(
    kind: u32,
    ev: &SecEvent,
    first: SecPath,
    second: SecPath,
    rules: &WatchSet,
) -> Option<Detail> {
    let unnormalized = |f: u32| f & SEC_PATH_UNNORMALIZED != 0;
    // A path perchd folded must be watched for `need`, as the kernel checks.
    let kept = |need: u32| {
        let folded = [
            (unnormalized(ev.flags), &first.path),
            (unnormalized(ev.flags >> SEC_PATH2_SHIFT), &second.path),
        ];
        !folded.iter().any(|(f, _)| *f) || folded.iter().any(|(_, p)| rules.mask(p) & need != 0)
    };
    let a = ev.arg;
    Some(match kind {
        kind::FILE_OPEN => {
            let flags = int(a[0]);
            let write = flags & O_ACCMODE != 0 || flags & (O_CREAT | O_TRUNC) != 0;
            let need = if write {
                watch::WRITE
                    | if flags & O_TRUNC != 0 {
                        watch::TRUNCATE
                    } else {
                        0
                    }
            } else {
                watch::READ
            };
            if !kept(need) {
                return None;
            }
            Detail::Open {
                path: first,
                given: second.path,
                flags,
                mode: int(a[1]),
                write,
            }
        }
        kind::FILE_RENAME if kept(watch::RENAME) => Detail::Rename {
            from: first,
            to: second,
            flags: int(a[0]),
        },
        kind::FILE_UNLINK if kept(watch::UNLINK) => Detail::Unlink {
            path: first,
            flags: int(a[0]),
        },
        kind::FILE_TRUNCATE if kept(watch::TRUNCATE) => Detail::Truncate {
            path: first,
            length: a[0],
        },
        kind::FILE_CHMOD if kept(watch::CHMOD) => Detail::Chmod {
            path: first,
            mode: int(a[0]),
        },
        _ => return None,
    })
}

/// A path segment with its `SEC_PATH_*` flags (already shifted down).
fn sec_path(bytes: &[u8], flags: u32, from_file: bool) -> SecPath {
    let raw = cstr(bytes);
    let (path, origin) = if from_file {
        (raw, PathOrigin::File)
    } else if flags & SEC_PATH_UNNORMALIZED != 0 && raw.starts_with('/') {
        (normalize(&raw), PathOrigin::Normalized)
    } else if flags & SEC_PATH_RELATIVE != 0 || !raw.starts_with('/') {
        (raw, PathOrigin::Relative)
    } else if flags & SEC_PATH_RESOLVED != 0 {
        (raw, PathOrigin::Resolved)
    } else {
        (raw, PathOrigin::Given)
    };
    SecPath {
        path,
        truncated: flags & SEC_PATH_TRUNCATED != 0,
        origin,
    }
}

#[cfg(test)]
mod tests {
    use perch_common::{SEC_FIXED_LEN, SecEvent, kind, op};

    use super::*;

    /// A record as the kernel lays it out: the fixed part, then the tail.
    fn record(ev: &SecEvent, tail: &[u8]) -> Vec<u8> {
        // SAFETY: SecEvent is a #[repr(C)] plain-data record.
        let fixed = unsafe {
            std::slice::from_raw_parts(std::ptr::from_ref(ev).cast::<u8>(), SEC_FIXED_LEN)
        };
        [fixed, tail].concat()
    }

    fn memfd(lens: [u32; 3]) -> SecEvent {
        let mut ev = SecEvent::default();
        ev.header.kind = kind::MEMFD;
        ev.header.tgid = 42;
        ev.op = u32::from(op::MEMFD_CREATE);
        ev.ret = 3;
        ev.lens = lens;
        ev
    }

    #[test]
    fn a_record_decodes_with_its_text() {
        let ev = memfd([0, 0, 5]);
        let bytes = record(&ev, b"job\0\0");
        let Ok(Some(ModelEvent::Security(s))) = security(&ev.header, &bytes, &WatchSet::default())
        else {
            panic!("not decoded");
        };
        assert_eq!((s.key.pid, s.result, s.syscall), (42, 3, "memfd_create"));
        assert!(matches!(&s.detail, Detail::Memfd { name, .. } if name == "job"));
    }

    #[test]
    fn lengths_past_the_record_or_their_caps_are_malformed() {
        let rules = WatchSet::default();
        let short = memfd([0, 0, 8]);
        assert!(security(&short.header, &record(&short, b"abc"), &rules).is_err());
        let huge = memfd([u32::MAX, 0, 0]);
        assert!(security(&huge.header, &record(&huge, &[0; 64]), &rules).is_err());
        let cut = record(&memfd([0, 0, 0]), b"");
        assert!(security(&memfd([0, 0, 0]).header, &cut[..8], &rules).is_err());
        let mut unknown = memfd([0, 0, 0]);
        unknown.header.kind = kind::SLOTS - 1;
        assert!(security(&unknown.header, &record(&unknown, b""), &rules).is_err());
    }
}
