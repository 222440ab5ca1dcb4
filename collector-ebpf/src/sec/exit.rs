//! Syscall exits: the stashed call and its result become one record.
//! File syscalls (`perch_sec_file`) are sent only when they succeeded and
//! touch a watched path; the others (`perch_sec_exit`) are sent for every
//! attempt the entry kept, with the result.
use aya_ebpf::{
    cty::c_void,
    helpers::generated::{
        bpf_probe_read_kernel, bpf_probe_read_kernel_str, bpf_probe_read_user_str,
    },
    macros::tracepoint,
    programs::TracePointContext,
};
use perch_common::{
    SEC_DATA_MAX, SEC_FD_VALID, SEC_FIXED_LEN, SEC_PATH_FROM_FILE, SEC_PATH_MAX,
    SEC_PATH_UNNORMALIZED, SEC_PATH2_SHIFT, SEC_PID_NS_CHILD, SEC_TEXT_MAX, STASH_RESOLVE,
    SecEvent, SecScratch, SecStash, kind,
    security::{op, watch},
};

use super::{
    SEC_SCRATCH, current,
    path::{Built, Dir, build, watched},
    take,
};
use crate::{
    kread::{Res, field, field_ptr, kptr, off, ready},
    output::emit,
    task::fill_header,
    vfs::{fd_facts, fd_file},
};

const S_IFMT: u32 = 0o170_000;
const S_IFSOCK: u32 = 0o140_000;
/// Tail positions are masked with this for the verifier; they never
/// reach it (see `SEC_DATA_MAX`).
const TAIL_MASK: usize = SEC_DATA_MAX - 1;

/// Exits of the file syscalls (open family, rename, unlink, truncate,
/// chmod).
#[tracepoint]
pub fn perch_sec_file(ctx: TracePointContext) -> u32 {
    let _ = try_file(&ctx);
    0
}

/// Exits of the other watched syscalls.
#[tracepoint]
pub fn perch_sec_exit(ctx: TracePointContext) -> u32 {
    let _ = try_exit(&ctx);
    0
}

/// A record being built in the per-CPU scratch slot.
struct Rec {
    s: *mut SecScratch,
    used: usize,
}

impl Rec {
    /// A record of `kind` about the current task, for the call `st` that
    /// returned `ret`.
    #[inline(always)]
    fn new(s: *mut SecScratch, kind: u32, st: &SecStash, ret: i64) -> Res<Self> {
        // SAFETY: the per-CPU slot is ours for this program's run.
        let ev = unsafe { &mut (*s).event };
        *ev = SecEvent::default();
        fill_header(&mut ev.header, kind, current())?;
        ev.op = st.op;
        ev.ret = ret;
        Ok(Self { s, used: 0 })
    }

    #[inline(always)]
    fn ev(&mut self) -> &mut SecEvent {
        // SAFETY: as in `new`.
        unsafe { &mut (*self.s).event }
    }

    #[inline(always)]
    fn tail(&self) -> *mut u8 {
        // SAFETY: a masked position inside the tail (see TAIL_MASK).
        unsafe {
            (&raw mut (*self.s).data)
                .cast::<u8>()
                .add(self.used & TAIL_MASK)
        }
    }

    /// Appends the path `b` as segment `slot`; returns its flags shifted
    /// for the slot (by `SEC_PATH2_SHIFT` for slot 1).
    #[inline(always)]
    fn path(&mut self, slot: usize, b: &Built) -> u32 {
        let mut len = b.end.saturating_sub(b.start);
        let mut flags = b.flags;
        if len > SEC_PATH_MAX {
            len = SEC_PATH_MAX;
            flags |= perch_common::SEC_PATH_TRUNCATED;
        }
        // SAFETY: at most SEC_PATH_MAX bytes from inside `work` to a
        // masked position inside the tail.
        unsafe {
            let work = (&raw const (*self.s).work).cast::<u8>();
            bpf_probe_read_kernel(
                self.tail().cast(),
                (len & (SEC_PATH_MAX * 2 - 1)) as u32,
                work.add(b.start & (perch_common::security::SEC_WORK_MAX - 1))
                    .cast(),
            );
        }
        self.seg(slot, len);
        if slot == 1 {
            flags << SEC_PATH2_SHIFT
        } else {
            flags
        }
    }

    /// Appends a NUL-terminated user string of at most `max` bytes.
    #[inline(always)]
    fn user_str(&mut self, slot: usize, ptr: u64, max: usize) {
        // SAFETY: at most `max` <= SEC_PATH_MAX bytes at a masked
        // position inside the tail.
        let n = unsafe {
            bpf_probe_read_user_str(self.tail().cast(), max as u32, ptr as *const c_void)
        };
        self.seg(
            slot,
            if n > 0 {
                n as usize & (SEC_PATH_MAX * 2 - 1)
            } else {
                0
            },
        );
    }

    /// Appends a NUL-terminated kernel string of at most `max` bytes.
    #[inline(always)]
    fn kernel_str(&mut self, slot: usize, ptr: *const u8, max: usize) {
        // SAFETY: as in `user_str`.
        let n = unsafe { bpf_probe_read_kernel_str(self.tail().cast(), max as u32, ptr.cast()) };
        self.seg(
            slot,
            if n > 0 {
                n as usize & (SEC_PATH_MAX * 2 - 1)
            } else {
                0
            },
        );
    }

    #[inline(always)]
    fn seg(&mut self, slot: usize, len: usize) {
        self.used += len;
        let ev = self.ev();
        if let Some(l) = ev.lens.get_mut(slot) {
            *l = len as u32;
        }
    }

    #[inline(always)]
    fn send(self, kind: u32) {
        emit(
            kind,
            self.s.cast_const().cast(),
            SEC_FIXED_LEN + self.used,
            size_of::<SecEvent>() + SEC_DATA_MAX + SEC_PATH_MAX,
        );
    }
}

fn try_file(ctx: &TracePointContext) -> Res {
    if !ready() {
        return Err(1);
    }
    let st = take().ok_or(0_i64)?;
    let ret = super::ret(ctx);
    let s = SEC_SCRATCH.get_ptr_mut(0).ok_or(1_i64)?;
    let a = st.args;
    let op = st.op as u8;
    if matches!(op, op::OPEN..=op::CREAT) {
        return opened(s, &st, ret);
    }
    if ret != 0 {
        return Ok(()); // failed: nothing changed
    }
    if matches!(op, op::RENAME..=op::RENAMEAT2) {
        let (od, old, nd, new, flags) = match op {
            op::RENAME => (Dir::CWD, a[0], Dir::CWD, a[1], 0),
            op::RENAMEAT => (Dir::of(a[0]), a[1], Dir::of(a[2]), a[3], 0),
            _ => (Dir::of(a[0]), a[1], Dir::of(a[2]), a[3], a[4]),
        };
        let b = build(s, od, old)?;
        let mut mask = watched(s, &b);
        let mut rec = Rec::new(s, kind::FILE_RENAME, &st, ret)?;
        let mut fl = rec.path(0, &b);
        let b = build(s, nd, new)?;
        mask |= watched(s, &b);
        fl |= rec.path(1, &b);
        rec.ev().arg[0] = flags;
        rec.ev().flags = fl;
        let unnormalized =
            fl & (SEC_PATH_UNNORMALIZED | SEC_PATH_UNNORMALIZED << SEC_PATH2_SHIFT) != 0;
        if mask & watch::RENAME != 0 || unnormalized {
            rec.send(kind::FILE_RENAME);
        }
        return Ok(());
    }
    // (kind, watched for, directory, path as given, argument)
    let (kind, need, dir, path, value) = match op {
        op::UNLINK => (kind::FILE_UNLINK, watch::UNLINK, Dir::CWD, a[0], 0),
        op::UNLINKAT => (kind::FILE_UNLINK, watch::UNLINK, Dir::of(a[0]), a[1], a[2]),
        op::TRUNCATE => (kind::FILE_TRUNCATE, watch::TRUNCATE, Dir::CWD, a[0], a[1]),
        op::FTRUNCATE => (kind::FILE_TRUNCATE, watch::TRUNCATE, Dir::fd(a[0]), 0, a[1]),
        op::CHMOD => (kind::FILE_CHMOD, watch::CHMOD, Dir::CWD, a[0], a[1]),
        op::FCHMOD => (kind::FILE_CHMOD, watch::CHMOD, Dir::fd(a[0]), 0, a[1]),
        op::FCHMODAT | op::FCHMODAT2 => (kind::FILE_CHMOD, watch::CHMOD, Dir::of(a[0]), a[1], a[2]),
        _ => return Ok(()),
    };
    let b = build(s, dir, path)?;
    if watched(s, &b) & need == 0 && b.flags & SEC_PATH_UNNORMALIZED == 0 {
        return Ok(());
    }
    let mut rec = Rec::new(s, kind, &st, ret)?;
    let fl = rec.path(0, &b);
    rec.ev().flags = fl | if path == 0 { SEC_PATH_FROM_FILE } else { 0 };
    rec.ev().arg[0] = value;
    rec.send(kind);
    Ok(())
}

/// A successful open whose path the entry found watched (or could not
/// decide on): the opened file's own path, and the path as given.
#[inline(always)]
fn opened(s: *mut SecScratch, st: &SecStash, ret: i64) -> Res {
    if ret < 0 {
        return Ok(());
    }
    let file = fd_file(current(), ret as u64)?;
    let b = build(s, Dir::file(file), 0)?;
    if st.need & STASH_RESOLVE != 0 && watched(s, &b) & st.need == 0 {
        return Ok(());
    }
    let mut rec = Rec::new(s, kind::FILE_OPEN, st, ret)?;
    let fl = rec.path(0, &b);
    rec.user_str(1, st.args[1], SEC_PATH_MAX);
    rec.ev().flags = fl | SEC_PATH_FROM_FILE;
    rec.ev().arg = [st.args[2], st.args[3], 0, 0];
    rec.send(kind::FILE_OPEN);
    Ok(())
}

fn try_exit(ctx: &TracePointContext) -> Res {
    if !ready() {
        return Err(1);
    }
    let st = take().ok_or(0_i64)?;
    let ret = super::ret(ctx);
    let s = SEC_SCRATCH.get_ptr_mut(0).ok_or(1_i64)?;
    let op = st.op as u8;
    let kind = match op {
        op::PTRACE => kind::PTRACE,
        op::MEMFD_CREATE => kind::MEMFD,
        op::SETUID..=op::SETRESGID => kind::SETID,
        op::DUP..=op::FCNTL => kind::STDIO_DUP,
        op::INIT_MODULE | op::FINIT_MODULE => kind::MODULE_LOAD,
        op::MOUNT => kind::MOUNT,
        op::UNSHARE => kind::UNSHARE,
        op::SETNS => kind::SETNS,
        op::BPF => kind::BPF_PROG_LOAD,
        op::PROCESS_VM_WRITEV => kind::VM_WRITE,
        op::CHROOT => kind::CHROOT,
        _ => return Ok(()),
    };
    if kind == kind::STDIO_DUP {
        return dup(s, &st, ret);
    }
    let mut rec = Rec::new(s, kind, &st, ret)?;
    detail(&mut rec, s, &st)?;
    rec.send(kind);
    Ok(())
}

/// Fills a record's arguments and strings for the call `st`.
#[inline(always)]
fn detail(rec: &mut Rec, s: *mut SecScratch, st: &SecStash) -> Res {
    let a = st.args;
    match st.op as u8 {
        op::PTRACE => {
            rec.ev().arg = [a[0], a[1], a[2], 0];
            rec.ev().flags = pid_ns_child()?;
        }
        op::PROCESS_VM_WRITEV => {
            rec.ev().arg = [a[0], a[2], a[4], a[5]];
            rec.ev().flags = pid_ns_child()?;
        }
        op::MEMFD_CREATE => {
            rec.ev().arg[0] = a[1];
            rec.seg(0, 0);
            rec.seg(1, 0);
            rec.user_str(2, a[0], SEC_TEXT_MAX);
        }
        op::SETUID..=op::SETRESGID => {
            let cred = field_ptr(current(), off!(task.real_cred))?;
            let ev = rec.ev();
            ev.arg = [a[0], a[1], a[2], 0];
            ev.ids[..4].copy_from_slice(&st.ids);
            ev.ids[4] = field(cred, off!(cred.uid));
            ev.ids[5] = field(cred, off!(cred.euid));
            ev.ids[6] = field(cred, off!(cred.gid));
            ev.ids[7] = field(cred, off!(cred.egid));
        }
        op::INIT_MODULE => {
            rec.seg(0, 0);
            rec.seg(1, 0);
            rec.user_str(2, a[2], SEC_TEXT_MAX);
        }
        op::FINIT_MODULE => {
            if let Ok(b) = build(s, Dir::fd(a[0]), 0) {
                let fl = rec.path(0, &b);
                rec.ev().flags = fl | SEC_PATH_FROM_FILE;
            }
            rec.seg(1, 0);
            rec.user_str(2, a[1], SEC_TEXT_MAX);
            rec.ev().arg = [a[0], a[2], 0, 0];
        }
        op::MOUNT => {
            // Target (resolved like any path), source as given, fs type.
            if let Ok(b) = build(s, Dir::CWD, a[1]) {
                let fl = rec.path(0, &b);
                rec.ev().flags = fl;
            }
            if a[0] == 0 {
                rec.seg(1, 0);
            } else {
                rec.user_str(1, a[0], SEC_PATH_MAX);
            }
            if a[2] != 0 {
                rec.user_str(2, a[2], SEC_TEXT_MAX);
            }
            rec.ev().arg[0] = a[3];
        }
        op::UNSHARE => rec.ev().arg[0] = a[0],
        op::CHROOT => {
            // The new root, resolved against the cwd like any path.
            if let Ok(b) = build(s, Dir::CWD, a[0]) {
                let fl = rec.path(0, &b);
                rec.ev().flags = fl;
            }
            rec.seg(1, 0);
            rec.seg(2, 0);
        }
        op::SETNS => {
            // The namespace file's name: "net:[4026531840]", "pid:[...]".
            rec.ev().arg = [a[0], a[1], 0, 0];
            rec.seg(0, 0);
            rec.seg(1, 0);
            if let Ok(file) = fd_file(current(), a[0]) {
                let fpath = file.wrapping_add(off!(vfs.file_path));
                if let Ok(dentry) = kptr(fpath, off!(vfs.path_dentry))
                    && let Ok(name) = kptr(dentry, off!(vfs.dentry_name) + off!(vfs.qstr_name))
                {
                    rec.kernel_str(2, name, SEC_TEXT_MAX);
                }
                // nsfs names its dentries only through d_dname: the inode
                // number is the namespace's, perchd names its type.
                if fd_facts(file, &mut rec.ev().fd).is_ok() {
                    rec.ev().flags |= SEC_FD_VALID;
                }
            }
        }
        op::BPF => {
            rec.ev().arg = [a[3], a[4], 0, 0];
            rec.seg(0, 0);
            rec.seg(1, 0);
            let name = st.name;
            rec.kernel_str(2, name.as_ptr(), 16);
        }
        _ => {}
    }
    Ok(())
}

/// A dup whose new fd (0, 1 or 2) is a socket: the socket's facts.
#[inline(always)]
fn dup(s: *mut SecScratch, st: &SecStash, ret: i64) -> Res {
    if !(0..=2).contains(&ret) {
        return Ok(());
    }
    let file = fd_file(current(), ret as u64)?;
    let mut rec = Rec::new(s, kind::STDIO_DUP, st, ret)?;
    let ev = rec.ev();
    fd_facts(file, &mut ev.fd)?;
    if ev.fd.mode & S_IFMT != S_IFSOCK {
        return Ok(());
    }
    ev.flags = SEC_FD_VALID;
    ev.arg = [st.args[0], st.args[1], st.args[2], 0];
    rec.send(kind::STDIO_DUP);
    Ok(())
}

/// `SEC_PID_NS_CHILD` when the current task is not in the initial pid
/// namespace (the pids it names are its namespace's).
#[inline(always)]
fn pid_ns_child() -> Res<u32> {
    let pid = field_ptr(current(), off!(task.thread_pid))?;
    let level: u32 = field(pid, off!(task.pid_level));
    Ok(if level > 0 { SEC_PID_NS_CHILD } else { 0 })
}
