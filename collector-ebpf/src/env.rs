//! The environment variables that matter, selected in the kernel so the
//! ring buffer carries a few entries instead of kilobytes of environment.
//!
//! The new image's environment block (`mm->env_start..env_end`) and its
//! entry pointers (on the new stack after argc and argv) are copied once;
//! then, in `bpf_loop`, each entry's first bytes are hashed against
//! [`ENV_SELECT`], a bitmap perchd builds from its configured list, and
//! entries whose bit is set are copied to the record's tail.  A hash hit
//! may be a false positive; perchd matches names exactly.
use aya_ebpf::{
    cty::{c_long, c_void},
    helpers::generated::{bpf_loop, bpf_probe_read_kernel, bpf_probe_read_user},
};
use perch_common::{
    ENV_ENTRY_MAX, ENV_MAX, ENV_OUT_MAX, ENV_VARS_SCAN, EXEC_ENV_TRUNCATED, EnvSelect, ExecScratch,
    env_hash,
};

use crate::{
    kread::{Res, kread, off},
    vfs::tail_at,
};

/// Which entries to send, written by perchd before load.
#[unsafe(no_mangle)]
static ENV_SELECT: EnvSelect = EnvSelect {
    key_mask: 0,
    pad: 0,
    bits: [0; 4],
};

/// State shared with [`env_step`] by `bpf_loop`.
#[repr(C)]
struct Scan {
    scratch: *mut ExecScratch,
    env_start: u64,
    env_len: u64,
    entries: u64,
    start: usize,
    used: usize,
    key_mask: u32,
    full: u32,
    entries_cut: u32,
    pad: u32,
    bits: [u64; 4],
}

/// Copies the selected entries of the new environment to the tail at
/// `start`; returns the bytes written and `EXEC_ENV_TRUNCATED` when the
/// environment was larger than what is scanned or sent.
#[inline(always)]
pub fn select(
    scratch: *mut ExecScratch,
    start: usize,
    task: *const u8,
    bprm: *const u8,
) -> Res<(usize, u32)> {
    // SAFETY: a plain read of a load-time constant.
    let select = unsafe { core::ptr::read_volatile(&raw const ENV_SELECT) };
    if select.bits == [0; 4] {
        return Ok((0, 0));
    }
    let mm: *const u8 = kread(task, off!(task.mm))?;
    let env_start: u64 = kread(mm, off!(task.mm_env_start))?;
    let env_end: u64 = kread(mm, off!(task.mm_env_end))?;
    let stack: u64 = kread(mm, off!(task.mm_start_stack))?;
    let argc: i32 = kread(bprm, off!(exec.bprm_argc))?;
    let env_count: i32 = kread(bprm, off!(exec.bprm_envc))?;
    let mut flags = 0;
    let mut env_len = env_end.saturating_sub(env_start) as usize;
    if env_len > ENV_MAX {
        env_len = ENV_MAX;
        flags |= EXEC_ENV_TRUNCATED;
    }
    let mut entries = env_count.max(0) as usize;
    if entries > ENV_VARS_SCAN {
        entries = ENV_VARS_SCAN;
        flags |= EXEC_ENV_TRUNCATED;
    }
    // SAFETY: the scratch slot is ours; both reads are bounded by their
    // destination arrays (env_len <= ENV_MAX, entries <= ENV_VARS_SCAN).
    unsafe {
        let env = (&raw mut (*scratch).env).cast::<c_void>();
        if bpf_probe_read_user(env, env_len as u32, env_start as *const _) != 0 {
            return Ok((0, flags));
        }
        // The stack holds argc, argv[argc], NULL, then envp[envc].
        let at = stack + 8 * (argc.max(0) as u64 + 2);
        let envp = (&raw mut (*scratch).envp).cast::<c_void>();
        if bpf_probe_read_user(envp, (entries * 8) as u32, at as *const _) != 0 {
            return Ok((0, flags));
        }
    }
    let mut scan = Scan {
        scratch,
        env_start,
        env_len: env_len as u64,
        entries: entries as u64,
        start,
        used: 0,
        key_mask: select.key_mask,
        full: 0,
        entries_cut: u32::from(entries < env_count.max(0) as usize),
        pad: 0,
        bits: select.bits,
    };
    // SAFETY: env_step only touches `scan` and the scratch slot.
    unsafe {
        bpf_loop(
            entries as u32,
            env_step as *mut c_void,
            (&raw mut scan).cast(),
            0,
        );
    }
    if scan.full != 0 {
        flags |= EXEC_ENV_TRUNCATED;
    }
    Ok((scan.used, flags))
}

/// Looks at entry `index`; copies it when its hash bit is set.  Returns 1
/// (stop) past the scanned block or when the output is full.
#[inline(never)]
extern "C" fn env_step(index: u64, ctx: *mut c_void) -> c_long {
    // SAFETY: bpf_loop hands back the context select gave it.
    let scan = unsafe { &mut *ctx.cast::<Scan>() };
    // SAFETY: the scratch slot outlives the loop; only the fields that
    // are not the record's fixed part are touched.
    let (env, envp, data) = unsafe {
        let s = scan.scratch;
        (&(*s).env, &(*s).envp, (&raw mut (*s).data).cast::<u8>())
    };
    let i = index as usize & (ENV_VARS_SCAN - 1);
    let at = envp[i].wrapping_sub(scan.env_start);
    if at >= scan.env_len {
        return 1;
    }
    let at = at as usize & (ENV_MAX - 1);
    // SAFETY: at < ENV_MAX and env has 8 bytes to spare.
    let key = unsafe { core::ptr::read_unaligned(env.as_ptr().add(at).cast::<u32>()) };
    let bit = env_hash(key, scan.key_mask) as usize;
    if scan.bits[(bit >> 6) & 3] & (1 << (bit & 63)) == 0 {
        return 0;
    }
    // The entry runs to the next one's start (or the block's end); one
    // that crosses the end of the scanned block is not sent (perchd's /proc
    // reader drops it too: env_truncated says the scan was partial).
    let next = if index + 1 < scan.entries {
        envp[(i + 1) & (ENV_VARS_SCAN - 1)].wrapping_sub(scan.env_start)
    } else if scan.entries_cut != 0 {
        return 1; // its end is past the pointers read: skipped like one cut
    } else {
        scan.env_len
    };
    if next > scan.env_len {
        return 1;
    }
    let mut len = next.saturating_sub(at as u64) as usize;
    let cut = len > ENV_ENTRY_MAX;
    if cut {
        len = ENV_ENTRY_MAX;
    }
    if scan.used + ENV_ENTRY_MAX > ENV_OUT_MAX {
        scan.full = 1;
        return 1;
    }
    let dst = tail_at(data, scan.start + scan.used);
    // SAFETY: len <= ENV_ENTRY_MAX, written inside the tail (tail_at);
    // the source is our own scratch copy.
    unsafe {
        bpf_probe_read_kernel(dst.cast(), len as u32, env.as_ptr().add(at).cast());
        if cut {
            *dst.add((len - 1) & (ENV_ENTRY_MAX - 1)) = 0;
        }
    }
    scan.used += len;
    0
}
