//! The wire format between the kernel programs (collector-ebpf) and perchd.
//!
//! Every record starts with a [`Header`]; `Header::kind` (see [`kind`]) says
//! which struct follows.  Records are `#[repr(C)]` plain data with explicit
//! padding, read by perchd with an unaligned copy after a length check.
//! Variable parts (argv, paths, environment) travel in a tail sized by the
//! record's length fields, so a `/bin/true` costs about 2 KiB of ring
//! buffer, not the 16 KiB of its scratch buffer.
//!
//! Field layouts of kernel structs are not compiled in here: perchd reads
//! them from BTF and tracefs at start-up and passes them in [`Offsets`].
//!
//! Adding a record kind (see collector-ebpf's crate doc for the program
//! side): take the next free number in your concern's range in [`kind`],
//! add it to [`kind::NAMES`], define the record in a module of its own here
//! (starting with a [`Header`]), and any kernel layouts it needs as a
//! sub-struct of [`Offsets`].
#![cfg_attr(not(test), no_std)]

pub mod exec;
pub mod kind;
pub mod net;
mod offsets;
pub mod pathscan;
mod process;
pub mod security;

pub use exec::*;
pub use net::*;
pub use offsets::*;
pub use process::*;
pub use security::*;

pub const COMM_LEN: usize = 16;
pub const TTY_LEN: usize = 32;

#[cfg(feature = "user")]
mod user {
    // SAFETY: plain #[repr(C)] integers (and structs of them) with explicit
    // padding fields, valid for every bit pattern.
    unsafe impl aya::Pod for super::Offsets {}
    // SAFETY: as above.
    unsafe impl aya::Pod for super::EnvSelect {}
    // SAFETY: as above.
    unsafe impl aya::Pod for super::SecConfig {}
    // SAFETY: as above (packed: no padding at all).
    unsafe impl aya::Pod for super::PrefixKey {}
    // SAFETY: as above.
    unsafe impl aya::Pod for super::NameKey {}
}
