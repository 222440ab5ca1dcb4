//! Syscall entries: what a call asked for, kept per thread until it
//! returns, for the calls that may be reported.  Everything else returns
//! at once: unwatched opens, ptrace requests that neither attach nor
//! write, set*id calls by root or not asking for id 0, dups onto fds
//! above 2, bpf commands other than `BPF_PROG_LOAD`.
use aya_ebpf::{
    cty::c_void,
    helpers::generated::{bpf_probe_read_user, bpf_probe_read_user_str},
    macros::tracepoint,
    programs::TracePointContext,
};
use perch_common::{
    RAW_READ, STASH_RESOLVE, SecStash, pathscan,
    security::{op, watch},
};

use super::{
    SEC_SCRATCH, args, current, gate_open, has_reads, op_of,
    path::{name_mask, prefix_mask},
    stash,
};
use crate::kread::{Res, field, field_ptr, off, ready};

const O_ACCMODE: u64 = 0o3;
const O_CREAT: u64 = 0o100;
const O_TRUNC: u64 = 0o1000;
const O_PATH: u64 = 0o10_000_000;
/// `F_DUPFD` and `F_DUPFD_CLOEXEC`.
const F_DUPFD: u64 = 0;
const F_DUPFD_CLOEXEC: u64 = 1030;
const BPF_PROG_LOAD: u64 = 5;
/// Words of `SecScratch::key_data`.
const KEY_WORDS: usize = (RAW_READ + 8) / 8;

/// Every watched syscall but the open family.
#[tracepoint]
pub fn perch_sec_enter(ctx: TracePointContext) -> u32 {
    let _ = try_enter(&ctx);
    0
}

/// `open`, `openat`, `openat2`, `creat`: the path filter first.
#[tracepoint]
pub fn perch_sec_open(ctx: TracePointContext) -> u32 {
    let _ = try_open(&ctx);
    0
}

fn try_enter(ctx: &TracePointContext) -> Res {
    if !ready() {
        return Err(1);
    }
    let op = op_of(ctx);
    let mut st = SecStash {
        op: u32::from(op),
        ..SecStash::default()
    };
    st.args = args(ctx)?;
    let a = st.args;
    let keep = match op {
        // Attaching, and writing into the tracee (Falco's and Tracee's
        // set); PEEKs and GETREGS, which strace makes by the thousand, not.
        op::PTRACE => matches!(a[0], 0 | 4 | 5 | 6 | 13 | 15 | 16 | 0x4205 | 0x4206),
        op::SETUID..=op::SETRESGID => setid(&mut st, op)?,
        op::DUP2 | op::DUP3 => a[1] <= 2 && a[0] != a[1],
        op::FCNTL => matches!(a[1], F_DUPFD | F_DUPFD_CLOEXEC) && a[2] <= 2,
        op::BPF => a[0] == BPF_PROG_LOAD && bpf_attr(&mut st).is_ok(),
        op::UNSHARE => a[0] != 0,
        op::NONE => false,
        _ => true,
    };
    if keep {
        stash(&st)?;
    }
    Ok(())
}

/// A set*id call is kept when a non-root caller (real uid not 0) asks
/// for id 0; the ids before the call go with it.
#[inline(always)]
fn setid(st: &mut SecStash, op: u8) -> Res<bool> {
    let cred = field_ptr(current(), off!(task.real_cred))?;
    let uid: u32 = field(cred, off!(cred.uid));
    if uid == 0 {
        return Ok(false);
    }
    st.ids = [
        uid,
        field(cred, off!(cred.euid)),
        field(cred, off!(cred.gid)),
        field(cred, off!(cred.egid)),
    ];
    let asked = match op {
        op::SETUID | op::SETGID => 1,
        op::SETREUID | op::SETREGID => 2,
        _ => 3,
    };
    // -1 (as a u32) leaves an id unchanged.
    Ok(st.args.iter().take(asked).any(|&a| a as u32 == 0))
}

/// `BPF_PROG_LOAD`'s program type, instruction count and name, from the
/// caller's `union bpf_attr`.
#[inline(always)]
fn bpf_attr(st: &mut SecStash) -> Res {
    let mut attr = [0u8; 64];
    let size = st.args[2].min(64) as u32;
    // SAFETY: bounded by `attr`'s size.
    let r = unsafe {
        bpf_probe_read_user(
            attr.as_mut_ptr().cast(),
            size & 127,
            st.args[1] as *const c_void,
        )
    };
    if r != 0 {
        return Err(r);
    }
    st.args[3] = u64::from(u32::from_ne_bytes([attr[0], attr[1], attr[2], attr[3]]));
    st.args[4] = u64::from(u32::from_ne_bytes([attr[4], attr[5], attr[6], attr[7]]));
    st.name.copy_from_slice(&attr[48..64]);
    Ok(())
}

fn try_open(ctx: &TracePointContext) -> Res {
    if !ready() {
        return Err(1);
    }
    let op = op_of(ctx);
    let all = args(ctx)?;
    let a = |i: usize| all[i];
    // (dirfd, path, flags, mode); open and creat are relative to the cwd.
    let cwd = -100i64 as u64;
    let (dfd, path, flags, mode) = match op {
        op::OPEN => (cwd, a(0), a(1), a(2)),
        op::OPENAT => (a(0), a(1), a(2), a(3)),
        op::OPENAT2 => {
            // struct open_how { u64 flags; u64 mode; u64 resolve; }
            let mut how = core::mem::MaybeUninit::<[u64; 2]>::uninit();
            // SAFETY: bounded by `how`'s size.
            let r =
                unsafe { bpf_probe_read_user(how.as_mut_ptr().cast(), 16, a(2) as *const c_void) };
            if r != 0 {
                return Err(r);
            }
            // SAFETY: the helper wrote all 16 bytes.
            let how = unsafe { how.assume_init() };
            (a(0), a(1), how[0], how[1])
        }
        op::CREAT => (cwd, a(0), O_CREAT | O_TRUNC | 1, a(1)),
        _ => return Ok(()),
    };
    if flags & O_PATH != 0 {
        return Ok(()); // no access to the contents
    }
    let need = if flags & O_ACCMODE != 0 || flags & (O_CREAT | O_TRUNC) != 0 {
        watch::WRITE
            | if flags & O_TRUNC != 0 {
                watch::TRUNCATE
            } else {
                0
            }
    } else if has_reads() {
        watch::READ
    } else {
        return Ok(());
    };
    let verdict = filter(path, need)?;
    if verdict == 0 {
        return Ok(());
    }
    let st = SecStash {
        op: u32::from(op),
        need: verdict,
        args: [dfd, path, flags, mode, 0, 0],
        ..SecStash::default()
    };
    stash(&st)
}

/// Decides from the path as given: `need` when it is watched for it, 0
/// when it is not, `need | STASH_RESOLVE` when only the opened file's own
/// path can tell (relative, `.`/`..`/empty components, or too long).
#[inline(always)]
fn filter(path: u64, need: u32) -> Res<u32> {
    let s = SEC_SCRATCH.get_ptr_mut(0).ok_or(1_i64)?;
    #[expect(
        clippy::cast_ptr_alignment,
        reason = "key_data is 8-aligned (a const assert in perch-common)"
    )]
    // SAFETY: the per-CPU slot is ours; `key_data` is 8-aligned (see
    // above) and KEY_WORDS words long.
    let words = unsafe { (&raw mut (*s).key_data).cast::<u64>() };
    // The word scan reads to the end of the word after the string's: the
    // bytes past the string must be zeros, not an earlier call's path.
    // (Volatile: a plain loop becomes a call to a byte-wise memset.)
    for k in 0..KEY_WORDS {
        // SAFETY: inside `key_data` (see above).
        unsafe { core::ptr::write_volatile(words.add(k), 0) };
    }
    // SAFETY: the read is bounded by key_data.
    let (n, first) = unsafe {
        let n = bpf_probe_read_user_str(words.cast(), RAW_READ as u32, path as *const c_void);
        (n, *words.cast::<u8>())
    };
    if n <= 1 {
        return Ok(0); // empty or unreadable: the open fails
    }
    let len = (n as usize - 1) & (RAW_READ - 1);
    if first != b'/' || n as usize >= RAW_READ {
        return Ok(need | STASH_RESOLVE);
    }
    // A plain loop, branch-free inside, up to the word holding the end.
    // The loop's inputs and outputs go through the scratch map, whose
    // contents the verifier does not track: given `len`, LLVM would turn
    // the end test into `k != end`, whose termination the verifier cannot
    // see, and each exit of the loop would leave different ranges in the
    // registers, so the verifier would check the code after it once per
    // exit.
    // SAFETY: the per-CPU slot is ours (here and below).
    let walk = unsafe { &raw mut (*s).walk };
    // SAFETY: as above.
    unsafe { core::ptr::write_volatile(&raw mut (*walk).len, len as u64) };
    let (mut leaf, mut odd) = (0u64, 0u64);
    for k in 0..RAW_READ / 8 {
        // SAFETY: k + 1 < KEY_WORDS.
        let (x, next) = unsafe { (*words.add(k), *words.add(k + 1)) };
        let (slashes, o) = pathscan::word(x, next);
        odd |= o;
        let has = pathscan::nonzero(slashes);
        leaf = (leaf & !has) | ((8 * k as u64 + pathscan::last_slash_end(slashes)) & has);
        // SAFETY: as above.
        if 8 * k as u64 + 8 > unsafe { core::ptr::read_volatile(&raw const (*walk).len) } {
            break;
        }
    }
    // SAFETY: as above.
    let (leaf, odd, len) = unsafe {
        core::ptr::write_volatile(&raw mut (*walk).leaf, leaf);
        core::ptr::write_volatile(&raw mut (*walk).odd, (odd | (odd >> 32)) as u32);
        (
            core::ptr::read_volatile(&raw const (*walk).leaf) as usize & (RAW_READ - 1),
            core::ptr::read_volatile(&raw const (*walk).odd),
            core::ptr::read_volatile(&raw const (*walk).len) as usize & (RAW_READ - 1),
        )
    };
    // SAFETY: inside `key_data`.
    let dir = unsafe { pathscan::dir_head(*words, *words.add(1)) };
    // The prefix first: a watched prefix needs nothing more (the name
    // rules can only add bits), unless `..` may lead out of it: then the
    // opened file's own path decides, as for any odd path.
    let prefix = if gate_open(false, dir, 0) {
        prefix_mask(s, len)
    } else {
        0
    };
    if prefix & need != 0 {
        return Ok(if odd != 0 { need | STASH_RESOLVE } else { need });
    }
    // SAFETY: leaf <= len < RAW_READ, inside key_data.
    let leaf_at = unsafe { words.cast::<u8>().add(leaf) };
    let mask = prefix | name_mask(s, leaf_at, len.saturating_sub(leaf));
    Ok(if mask & need != 0 {
        need
    } else if odd != 0 {
        need | STASH_RESOLVE
    } else {
        0
    })
}
