//! Files: the facts of an inode, a file's path as the kernel names it (a
//! bounded walk up its dentries and mounts, as Falco does without
//! `bpf_d_path`), and what a task's standard fds are.
//!
//! The walk writes names leaf first, each NUL-terminated, into the record's
//! tail; perchd reverses them.  It stops at the root of the root mount of
//! the task's mount tree, at a dentry that is its own parent (a pseudo file
//! such as a memfd), or after [`EXE_PATH_DEPTH`] steps / [`EXE_PATH_MAX`]
//! bytes (then the record says the path is truncated).
use aya_ebpf::{
    cty::{c_long, c_void},
    helpers::generated::{bpf_loop, bpf_probe_read_kernel_str},
};
use perch_common::{
    DATA_MAX, EXE_PATH_DEPTH, EXE_PATH_MAX, EXEC_EXE_PATH_TRUNCATED, EXEC_EXE_PSEUDO, ExeFile,
    FdInfo, NAME_READ_MAX,
};

use crate::{
    kread::{Res, field, field_ptr, kptr, kread, off},
    sock,
};

const S_IFMT: u32 = 0o170_000;
const S_IFSOCK: u32 = 0o140_000;
const S_IFCHR: u32 = 0o020_000;

/// Keeps a write position inside the first half of a tail buffer, which is
/// how the verifier knows a write of at most `DATA_MAX / 2` bytes fits.
#[inline(always)]
pub fn tail_at(data: *mut u8, pos: usize) -> *mut u8 {
    data.wrapping_add(pos & (DATA_MAX / 2 - 1))
}

/// The inode facts of the file `file` (a BTF pointer).
#[inline(always)]
pub fn exe_facts(file: *const u8, out: &mut ExeFile) -> Res {
    let inode = field_ptr(file, off!(vfs.file_inode))?;
    out.mode = u32::from(field::<u16>(inode, off!(vfs.inode_mode)));
    out.uid = field(inode, off!(vfs.inode_uid));
    out.gid = field(inode, off!(vfs.inode_gid));
    out.ino = field(inode, off!(vfs.inode_ino));
    out.nlink = field(inode, off!(vfs.inode_nlink));
    let sb = field_ptr(inode, off!(vfs.inode_sb))?;
    out.fs_magic = field(sb, off!(vfs.sb_magic));
    out.dev = field(sb, off!(vfs.sb_dev));
    Ok(())
}

/// [`At::cross`]: the dentry has a name (not the top of a mount).
pub const NAMED: u32 = 0;
/// [`At::cross`]: moved from the top of a mount to its mount point.
pub const CROSSED: u32 = 1;
/// [`At::cross`]: at the root of the root mount; the walk is complete.
pub const ROOT: u32 = 2;

/// Where a walk up a path stands: a dentry and the mount it is in.
#[repr(C)]
pub struct At {
    pub dentry: *const u8,
    /// The `struct mount` (not the embedded `vfsmount`).
    pub mnt: *const u8,
    pub mnt_root: *const u8,
}

impl At {
    /// The start of a walk up the `struct path` at `path`.
    #[inline(always)]
    pub fn of_path(path: *const u8) -> Res<Self> {
        let dentry = kptr(path, off!(vfs.path_dentry))?;
        let vfsmnt = kptr(path, off!(vfs.path_mnt))?;
        Ok(Self {
            dentry,
            mnt: vfsmnt.wrapping_sub(off!(vfs.mount_mnt)),
            mnt_root: kptr(vfsmnt, off!(vfs.vfsmount_root))?,
        })
    }

    /// Crosses to the mount point when at the top of a mount: [`CROSSED`]
    /// when it did, [`ROOT`] at the root of the root mount (its own
    /// parent), [`NAMED`] when the dentry has a name to read first.
    #[inline(always)]
    pub fn cross(&mut self) -> Res<u32> {
        if self.dentry != self.mnt_root {
            return Ok(NAMED);
        }
        let parent = kptr(self.mnt, off!(vfs.mount_parent))?;
        if parent == self.mnt {
            return Ok(ROOT);
        }
        self.dentry = kptr(self.mnt, off!(vfs.mount_mountpoint))?;
        self.mnt = parent;
        self.mnt_root = kptr(
            parent.wrapping_add(off!(vfs.mount_mnt)),
            off!(vfs.vfsmount_root),
        )?;
        Ok(CROSSED)
    }

    /// Moves to the parent dentry; `Ok(false)` when the dentry is its own
    /// parent without being a mount's root (a pseudo file: memfd, pipe).
    #[inline(always)]
    pub fn up(&mut self) -> Res<bool> {
        let parent = kptr(self.dentry, off!(vfs.dentry_parent))?;
        if parent == self.dentry {
            return Ok(false);
        }
        self.dentry = parent;
        Ok(true)
    }
}

/// The state of a walk up a path, shared with [`walk_step`] by `bpf_loop`.
#[repr(C)]
struct Walk {
    data: *mut u8,
    at: At,
    start: usize,
    used: usize,
    flags: u32,
    steps: u32,
    done: u32,
    pad: u32,
}

/// Writes the names of `file`'s path (leaf first) at `data[start..]`;
/// returns the bytes written and `EXEC_EXE_*` flags.
///
/// The walk runs in `bpf_loop`, whose callback the verifier checks once:
/// as a plain bounded loop its states multiply with every branch (mount
/// crossing or not, name length) and verification gives up.
#[inline(always)]
pub fn path_names(file: *const u8, data: *mut u8, start: usize) -> Res<(usize, u32)> {
    let mut walk = Walk {
        data,
        at: At::of_path(file.wrapping_add(off!(vfs.file_path)))?,
        start,
        used: 0,
        flags: 0,
        steps: 0,
        done: 0,
        pad: 0,
    };
    // SAFETY: walk_step only touches `walk`, which outlives the call.
    unsafe {
        bpf_loop(
            EXE_PATH_DEPTH as u32,
            walk_step as *mut c_void,
            (&raw mut walk).cast(),
            0,
        );
    }
    if walk.done == 0 {
        walk.flags |= EXEC_EXE_PATH_TRUNCATED;
    }
    Ok((walk.used, walk.flags))
}

/// One step up: returns 1 (stop) at the root, at a pseudo file's dentry,
/// when out of room, or on a failed read; 0 to go on.
#[inline(never)]
extern "C" fn walk_step(_index: u64, ctx: *mut c_void) -> c_long {
    // SAFETY: bpf_loop hands back the context path_names gave it.
    let walk = unsafe { &mut *ctx.cast::<Walk>() };
    match step(walk) {
        Ok(true) => 0,
        Ok(false) | Err(_) => 1,
    }
}

/// See [`walk_step`]; `Ok(true)` to continue.
#[inline(always)]
fn step(w: &mut Walk) -> Res<bool> {
    w.steps += 1;
    match w.at.cross()? {
        NAMED => {}
        ROOT => {
            w.done = 1;
            return Ok(false);
        }
        _ => return Ok(true),
    }
    let used = w.used;
    if used > EXE_PATH_MAX - NAME_READ_MAX {
        return Ok(false);
    }
    let name = kptr(w.at.dentry, off!(vfs.dentry_name) + off!(vfs.qstr_name))?;
    // SAFETY: writes at most NAME_READ_MAX bytes inside the tail (see tail_at).
    let n = unsafe {
        bpf_probe_read_kernel_str(
            tail_at(w.data, w.start + used).cast(),
            NAME_READ_MAX as u32,
            name.cast(),
        )
    };
    if n <= 0 {
        return Ok(false);
    }
    w.used = used + (n as usize & (NAME_READ_MAX * 2 - 1));
    if !w.at.up()? {
        // Not a mount's root yet its own parent: a pseudo file.
        if w.steps == 1 {
            w.flags |= EXEC_EXE_PSEUDO;
        }
        w.done = 1;
        return Ok(false);
    }
    Ok(true)
}

/// What fds 0, 1 and 2 of `task` are; a closed fd stays all zero.
#[inline(always)]
pub fn stdio(task: *const u8, out: &mut [FdInfo; 3]) {
    *out = [FdInfo::default(); 3];
    let Ok(fds) = fd_array(task) else {
        return;
    };
    let (array, max) = fds;
    for (fd, info) in out.iter_mut().enumerate() {
        if fd >= max {
            break;
        }
        if let Ok(file) = kptr(array, fd * 8) {
            let _ = fd_facts(file, info);
        }
    }
}

/// `task->files->fdt`: the fd array and its length.
#[inline(always)]
pub fn fd_array(task: *const u8) -> Res<(*const u8, usize)> {
    let files = field_ptr(task, off!(task.files))?;
    let fdt = field_ptr(files, off!(vfs.files_fdt))?;
    let max: u32 = field(fdt, off!(vfs.fdtable_max_fds));
    // `struct file **`: a plain number to the verifier, read with helpers.
    let array = field_ptr(fdt, off!(vfs.fdtable_fd))?;
    Ok((array, max as usize))
}

/// The `struct file` at `fd` of `task` (a BTF task pointer).
#[inline(always)]
pub fn fd_file(task: *const u8, fd: u64) -> Res<*const u8> {
    let (array, max) = fd_array(task)?;
    if fd >= max as u64 {
        return Err(-1);
    }
    // The mask keeps the verifier's bound; fds past it are not looked at.
    kptr(array, (fd as usize & 0xf_ffff) * 8)
}

/// What the file `file` is: type, inode, and for a socket its ends.
#[inline(always)]
pub fn fd_facts(file: *const u8, out: &mut FdInfo) -> Res {
    let inode = kptr(file, off!(vfs.file_inode))?;
    out.mode = u32::from(kread::<u16>(inode, off!(vfs.inode_mode))?);
    out.ino = kread(inode, off!(vfs.inode_ino))?;
    match out.mode & S_IFMT {
        S_IFCHR => out.rdev = kread(inode, off!(vfs.inode_rdev))?,
        S_IFSOCK => sock::facts(file, out)?,
        _ => {}
    }
    Ok(())
}
