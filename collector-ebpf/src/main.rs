//! perchd's kernel programs: one record per process exec, fork, exit and
//! rename, per network connection, listen and close, and per
//! security-relevant syscall, sent to perchd through one ring buffer.
//!
//! # Layout
//! - [`kread`]: the kernel layouts perchd hands us (`OFFSETS`, read with
//!   `off!(concern.field)`) and checked reads of kernel memory.
//! - [`output`]: the ring buffer and the per-kind sent/lost counters; every
//!   record goes through `output::emit`.
//! - [`task`]: process identity (record header, credentials, namespaces).
//! - [`vfs`], [`sock`]: files, paths, fds and sockets.
//! - [`env`]: the environment variables an exec record carries.
//! - [`exec`], [`lifecycle`], [`net`]: the process and network programs.
//! - [`sec`]: security-relevant syscalls (its own module doc).
//!
//! # Adding a program
//! 1. Record: take a kind number in your concern's range and define the
//!    record (starting with a `Header`) in a module of perch-common (see its
//!    crate doc).  Kernel struct layouts you need go in a new sub-struct of
//!    `Offsets` (e.g. `net: NetOffsets`), added at the end, with its zero
//!    value in [`kread::OFFSETS`].
//! 2. Program: a module here (`net.rs`, `security.rs`) holding thin
//!    `#[tracepoint]`/`#[btf_tracepoint]` functions that call a `try_x`
//!    returning [`kread::Res`] and ignore its error, as the existing ones
//!    do.  Start with `if !ready() { return Err(1) }`, fill the header with
//!    `task::fill_header`, and send with `output::emit`/`emit_record` (never
//!    to a map of your own: the counters and perchd's loss handling rely on
//!    the one ring).  Records larger than ~400 bytes are built in a per-CPU
//!    scratch map (the stack is 512 bytes).  Prefer `tp_btf` (typed
//!    arguments, cheaper than classic tracepoints) when the tracepoint has
//!    BTF; classic tracepoint records are read with offsets from tracefs.
//! 3. perchd: fill your offsets in collector/src/ebpf/offsets.rs, attach the
//!    program in the table of collector/src/ebpf/loader.rs, and decode the
//!    record in collector/src/ebpf/decode.rs.
//!
//! Kernel struct layouts come from perchd at load time, never from
//! constants compiled in here, because they change between kernels.
#![no_std]
#![no_main]
// `atomic_xadd`: core's atomic types have no read-modify-write on the BPF
// target, whose `lock xadd` instruction this intrinsic emits.
#![feature(core_intrinsics)]
#![allow(internal_features, reason = "core_intrinsics, for atomic_xadd (above)")]
#![expect(
    clippy::inline_always,
    reason = "helpers stay in the program's frame so the verifier tracks bounds across them"
)]
#![expect(
    clippy::needless_pass_by_value,
    reason = "aya's program macros hand each program its context by value"
)]
#![expect(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "the BPF target is 64-bit and lengths are bounded by the record's *_MAX constants"
)]

mod env;
mod exec;
mod kread;
mod lifecycle;
mod net;
mod output;
mod sec;
mod sock;
mod task;
mod vfs;

#[cfg(not(test))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    loop {}
}

#[unsafe(link_section = "license")]
#[unsafe(no_mangle)]
static LICENSE: [u8; 4] = *b"GPL\0";
