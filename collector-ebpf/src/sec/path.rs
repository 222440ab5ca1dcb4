//! Absolute paths for the security records, and whether one is watched.
//!
//! A path is built root-first in the scratch's `work` buffer (the prefix
//! map compares from the root): the path as given is read at
//! `SEC_RAW_AT`; when it is relative, the names of its directory (the cwd
//! or the dirfd's file) are written backwards below it, one dentry at a
//! time up to the root, with the mount crossings of `vfs::At`.  A file's
//! own path (an opened fd) is written the same way, without a given part.
//!
//! The given part is scanned once for its last component (for `*/name`
//! rules) and for `.`, `..` and empty components, which the kernel does
//! not fold: such a path is sent marked `SEC_PATH_UNNORMALIZED`, and
//! perchd normalises it and applies the same rules.
use aya_ebpf::{
    cty::{c_long, c_void},
    helpers::generated::{bpf_loop, bpf_probe_read_kernel, bpf_probe_read_user_str},
    maps::lpm_trie::Key,
};
use perch_common::{
    EXE_PATH_DEPTH, NAME_READ_MAX, NameKey, PREFIX_MAX, SEC_PATH_MAX, SEC_PATH_RELATIVE,
    SEC_PATH_RESOLVED, SEC_PATH_TRUNCATED, SEC_PATH_UNNORMALIZED, SEC_RAW_AT, SEC_WORK_MAX,
    SecScratch, WATCH_NAME_MAX, pathscan,
};

use super::{WATCH_NAMES, WATCH_PREFIXES, current, gate_open};
use crate::{
    kread::{Res, field_ptr, kptr, kread, off},
    vfs::{At, NAMED, ROOT, fd_file},
};

/// `AT_FDCWD` as a syscall argument (an `int` in a 64-bit slot).
const AT_FDCWD: i32 = -100;
/// Names written backwards stay below `SEC_RAW_AT`.
const BACK_MASK: usize = SEC_RAW_AT - 1;
/// Reads of the path as given are bounded by this mask (the scratch has
/// room past every buffer read this way, a word more included).
const SCAN_MASK: usize = SEC_PATH_MAX - 1;

/// Where a relative path starts from: the cwd, a directory fd, or an open
/// file.  A plain struct rather than an enum: an enum's payload is
/// undefined for the variant without one, and LLVM spills such undefined
/// registers, which the verifier refuses (`R4 !read_ok`).
#[derive(Clone, Copy)]
pub struct Dir {
    kind: u32,
    value: u64,
}

const DIR_CWD: u32 = 0;
const DIR_FD: u32 = 1;
const DIR_FILE: u32 = 2;

impl Dir {
    /// The current directory.
    pub const CWD: Self = Self {
        kind: DIR_CWD,
        value: 0,
    };

    /// The file at `fd` of the current task.
    #[inline(always)]
    pub fn fd(fd: u64) -> Self {
        Self {
            kind: DIR_FD,
            value: fd,
        }
    }

    /// An open `struct file`.
    #[inline(always)]
    pub fn file(file: *const u8) -> Self {
        Self {
            kind: DIR_FILE,
            value: file as u64,
        }
    }

    /// `dfd` as a syscall passed it.
    #[inline(always)]
    pub fn of(dfd: u64) -> Self {
        if dfd as i32 == AT_FDCWD {
            Self::CWD
        } else {
            Self::fd(dfd)
        }
    }

    #[inline(always)]
    fn at(self) -> Res<At> {
        let file = match self.kind {
            DIR_CWD => {
                let fs = field_ptr(current(), off!(sec.task_fs))?;
                return At::of_path(fs.wrapping_add(off!(sec.fs_pwd)));
            }
            DIR_FD => fd_file(current(), self.value)?,
            _ => self.value as *const u8,
        };
        At::of_path(file.wrapping_add(off!(vfs.file_path)))
    }
}

/// A path built in `work`: bytes `start..end`, the last component at
/// `leaf..end`, and `SEC_PATH_*` flags.
#[derive(Clone, Copy)]
pub struct Built {
    pub start: usize,
    pub end: usize,
    pub leaf: usize,
    pub flags: u32,
}

/// The absolute path of `raw` (a user pointer, relative to `dir` unless
/// it starts with `/`), or of `dir` itself when `raw` is 0.
#[inline(always)]
pub fn build(s: *mut SecScratch, dir: Dir, raw: u64) -> Res<Built> {
    // SAFETY: the per-CPU scratch slot is ours for this program's run.
    let work = unsafe { (&raw mut (*s).work).cast::<u8>() };
    if raw == 0 {
        let (mut start, mut leaf, complete) = write_back(s, dir.at()?, SEC_RAW_AT);
        if start == SEC_RAW_AT {
            // The root itself.
            // SAFETY: inside `work`.
            unsafe { *work.add(SEC_RAW_AT - 1) = b'/' };
            start = SEC_RAW_AT - 1;
            leaf = SEC_RAW_AT;
        }
        let flags = if complete { 0 } else { SEC_PATH_TRUNCATED };
        return Ok(Built {
            start,
            end: SEC_RAW_AT,
            leaf,
            flags,
        });
    }
    // SAFETY: writes at most SEC_PATH_MAX bytes inside `work`.
    let n = unsafe {
        bpf_probe_read_user_str(
            work.add(SEC_RAW_AT).cast(),
            SEC_PATH_MAX as u32,
            raw as *const c_void,
        )
    };
    if n <= 1 {
        return Err(-1); // empty, or not readable
    }
    let len = (n as usize - 1) & SCAN_MASK;
    let mut flags = 0;
    if len + 1 >= SEC_PATH_MAX {
        flags |= SEC_PATH_TRUNCATED;
    }
    // SAFETY: inside `work`.
    let given = unsafe { work.add(SEC_RAW_AT) };
    let (leaf, odd) = scan(s, len);
    if odd {
        flags |= SEC_PATH_UNNORMALIZED;
    }
    let mut built = Built {
        start: SEC_RAW_AT,
        end: SEC_RAW_AT + len,
        leaf: SEC_RAW_AT + leaf,
        flags,
    };
    // SAFETY: inside `work`.
    if unsafe { *given } == b'/' {
        return Ok(built);
    }
    let Ok(at) = dir.at() else {
        built.flags |= SEC_PATH_RELATIVE;
        return Ok(built);
    };
    // SAFETY: inside `work`.
    unsafe { *work.add(SEC_RAW_AT - 1) = b'/' };
    let (start, _, complete) = write_back(s, at, SEC_RAW_AT - 1);
    built.start = start;
    built.flags |= SEC_PATH_RESOLVED;
    if !complete {
        built.flags |= SEC_PATH_TRUNCATED;
    }
    Ok(built)
}

/// The `watch` bits of the path `b` (its prefix, and its last component
/// when name rules exist); 0 when it is not watched.
#[inline(always)]
pub fn watched(s: *mut SecScratch, b: &Built) -> u32 {
    // SAFETY: the per-CPU scratch slot is ours; the copy reads PREFIX_MAX
    // bytes from inside `work` (start < SEC_WORK_MAX, and it has room).
    unsafe {
        let work = (&raw mut (*s).work).cast::<u8>();
        bpf_probe_read_kernel(
            (&raw mut (*s).key_data).cast(),
            PREFIX_MAX as u32,
            work.add(b.start & (SEC_WORK_MAX - 1)).cast(),
        );
        let len = b.end.saturating_sub(b.start);
        let mask = prefix_mask(s, len);
        mask | name_mask(
            s,
            work.add(b.leaf & (SEC_WORK_MAX - 1)),
            b.end.saturating_sub(b.leaf),
        )
    }
}

/// The prefix map's bits for the `len`-byte path in the scratch's key.
#[inline(always)]
pub fn prefix_mask(s: *mut SecScratch, len: usize) -> u32 {
    let n = if len > PREFIX_MAX { PREFIX_MAX } else { len };
    // SAFETY: the key is `key_len` followed by PREFIX_MAX bytes of
    // `key_data`: the layout of an LPM key (packed, no padding).
    unsafe {
        (*s).key_len = (n * 8) as u32;
        let key = &*(&raw const (*s).key_len).cast::<Key<[u8; PREFIX_MAX]>>();
        WATCH_PREFIXES.get(key).copied().unwrap_or(0)
    }
}

/// The name map's bits for the last component at `leaf` (`len` bytes;
/// both buffers a leaf lies in have a word of room past it).
#[inline(always)]
pub fn name_mask(s: *mut SecScratch, leaf: *const u8, len: usize) -> u32 {
    if len == 0 || len >= WATCH_NAME_MAX {
        return 0;
    }
    // SAFETY: eight bytes inside the buffer (see above).
    let v = unsafe { core::ptr::read_unaligned(leaf.cast::<u64>()) };
    if !gate_open(true, pathscan::name_head(v, len as u64), len as u64) {
        return 0;
    }
    // SAFETY: the scratch's name key is ours; the copy is bounded by it.
    unsafe {
        let name = &raw mut (*s).name;
        *name = NameKey {
            name: [0; WATCH_NAME_MAX],
        };
        bpf_probe_read_kernel(
            name.cast(),
            (len & (WATCH_NAME_MAX - 1)) as u32,
            leaf.cast(),
        );
        WATCH_NAMES.get(*name).copied().unwrap_or(0)
    }
}

/// What a loop callback is handed: the scratch slot (its `walk` holds
/// the loop's state).
#[repr(C)]
struct Ctx {
    s: *mut SecScratch,
}

/// Where the last component of the `len` bytes of the path as given (at
/// `SEC_RAW_AT` of the scratch's `work`) starts, and whether any
/// component is empty, `.` or `..`.  A word per loop call (the path may
/// be up to `SEC_PATH_MAX` bytes; the open filter's own loop covers only
/// `RAW_READ`).
#[inline(always)]
pub fn scan(s: *mut SecScratch, len: usize) -> (usize, bool) {
    // SAFETY: the per-CPU slot is ours for this program's run.
    unsafe {
        let w = &raw mut (*s).walk;
        (*w).len = len as u64;
        (*w).leaf = 0;
        (*w).odd = 0;
    }
    let mut ctx = Ctx { s };
    // SAFETY: scan_step only touches the scratch slot.
    unsafe {
        bpf_loop(
            (len / 8 + 1) as u32,
            scan_step as *mut c_void,
            (&raw mut ctx).cast(),
            0,
        );
        let w = &raw const (*s).walk;
        ((*w).leaf as usize, (*w).odd != 0)
    }
}

/// Looks at bytes `8 * call ..` (see `perch_common::pathscan`).
#[inline(never)]
extern "C" fn scan_step(call: u64, ctx: *mut c_void) -> c_long {
    // SAFETY: bpf_loop hands back the context scan gave it; the scratch
    // slot outlives the loop.
    let (w, buf) = unsafe {
        let s = (*ctx.cast::<Ctx>()).s;
        (
            &mut (*s).walk,
            (&raw const (*s).work).cast::<u8>().add(SEC_RAW_AT),
        )
    };
    let len = w.len;
    // The word at `k`, zero past the path's end.
    let word = |k: u64| -> u64 {
        // SAFETY: masked; the buffer has SCAN_MASK + 8 bytes of scratch
        // after its start.
        let v = unsafe { core::ptr::read_unaligned(buf.add(k as usize & SCAN_MASK).cast::<u64>()) };
        let d = len.saturating_sub(k);
        if d >= 8 {
            v
        } else {
            v & ((1u64 << (8 * d)) - 1)
        }
    };
    let base = call * 8;
    let (x, next) = (word(base), word(base + 8));
    // SAFETY: inside the buffer.
    if call == 0 && unsafe { *buf } != b'/' && pathscan::starts_odd(x, next) {
        w.odd = 1;
    }
    let (slashes, odd) = pathscan::word(x, next);
    if odd != 0 {
        w.odd = 1;
    }
    if slashes != 0 {
        w.leaf = base + pathscan::last_slash_end(slashes);
    }
    i64::from(base + 8 > len)
}

/// Writes the path of `at` into `work`, ending just before `end`, each
/// name preceded by `/`; returns where it starts, where its last
/// component starts, and whether it reached the root.
#[inline(always)]
fn write_back(s: *mut SecScratch, at: At, end: usize) -> (usize, usize, bool) {
    // SAFETY: the per-CPU slot is ours for this program's run.
    unsafe {
        let w = &raw mut (*s).walk;
        (*w).dentry = at.dentry as u64;
        (*w).mnt = at.mnt as u64;
        (*w).mnt_root = at.mnt_root as u64;
        (*w).pos = end as u64;
        (*w).leaf = end as u64;
        (*w).steps = 0;
        (*w).done = 0;
    }
    let mut ctx = Ctx { s };
    // SAFETY: back_step only touches the scratch slot.
    unsafe {
        bpf_loop(
            EXE_PATH_DEPTH as u32,
            back_step as *mut c_void,
            (&raw mut ctx).cast(),
            0,
        );
        let w = &raw const (*s).walk;
        ((*w).pos as usize, (*w).leaf as usize, (*w).done != 0)
    }
}

#[inline(never)]
extern "C" fn back_step(_index: u64, ctx: *mut c_void) -> c_long {
    // SAFETY: bpf_loop hands back the context write_back gave it.
    let s = unsafe { (*ctx.cast::<Ctx>()).s };
    match back(s) {
        Ok(true) => 0,
        Ok(false) | Err(_) => 1,
    }
}

/// One step up; `Ok(true)` to continue.
#[inline(always)]
fn back(s: *mut SecScratch) -> Res<bool> {
    // SAFETY: the scratch slot outlives the loop.
    let (w, work) = unsafe { (&mut (*s).walk, (&raw mut (*s).work).cast::<u8>()) };
    let mut at = At {
        dentry: w.dentry as *const u8,
        mnt: w.mnt as *const u8,
        mnt_root: w.mnt_root as *const u8,
    };
    let crossed = at.cross()?;
    w.dentry = at.dentry as u64;
    w.mnt = at.mnt as u64;
    w.mnt_root = at.mnt_root as u64;
    match crossed {
        NAMED => {}
        ROOT => {
            w.done = 1;
            return Ok(false);
        }
        _ => return Ok(true),
    }
    let qstr = off!(vfs.dentry_name);
    let len = kread::<u32>(at.dentry, qstr + off!(sec.qstr_len))? as usize;
    let pos = w.pos as usize;
    if len == 0 || len >= NAME_READ_MAX || pos < len + 2 {
        return Ok(false); // no room left: the outer names are missing
    }
    let name = kptr(at.dentry, qstr + off!(vfs.qstr_name))?;
    let start = (pos - len) & BACK_MASK;
    // SAFETY: at most NAME_READ_MAX - 1 bytes at a masked position below
    // SEC_RAW_AT (+ NAME_READ_MAX): inside `work`.
    unsafe {
        bpf_probe_read_kernel(
            work.add(start).cast(),
            (len & (NAME_READ_MAX - 1)) as u32,
            name.cast(),
        );
        *work.add((pos - len - 1) & BACK_MASK) = b'/';
    }
    if w.steps == 0 {
        w.leaf = (pos - len) as u64;
    }
    w.steps += 1;
    w.pos = (pos - len - 1) as u64;
    if !at.up()? {
        // A pseudo file (its own parent): its name is all there is.
        w.done = 1;
        return Ok(false);
    }
    w.dentry = at.dentry as u64;
    Ok(true)
}
