//! The `perch.v1` contract: generated messages, the `Collector` client and
//! server, the descriptor set for gRPC reflection, and the facts every side
//! needs to read the messages the same way — each said once, here: units
//! (`NS_PER_SEC`, `NS_PER_TICK`), how start times are read from /proc and
//! compared (`stat`, `same_start_time`), what an action request may hold
//! and how large anything in a message may be (`limits`), and the names of
//! enum values (`names`).
#![forbid(unsafe_code)]

/// Generated from `perch/v1/*.proto`.
// `allow`, not `expect`: which of these lints fire depends on prost's and
// tonic's code generators, not on us.
#[allow(
    clippy::pedantic,
    clippy::allow_attributes_without_reason,
    reason = "generated code"
)]
pub mod v1 {
    tonic::include_proto!("perch.v1");

    pub use crate::state::{EncodedProcess, GetStateAtResponse};
    pub use crate::watch::{EncodedEvent, WatchEventsResponse};

    /// Encoded `FileDescriptorSet` for tonic-reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/perch_v1_descriptor.bin"));
}

/// Where perchd serves the contract unless told otherwise.
pub const DEFAULT_SOCKET: &str = "/run/perch/perchd.sock";

/// Nanoseconds per second: every time and duration in `perch.v1` is in ns.
pub const NS_PER_SEC: u64 = 1_000_000_000;

pub mod civil;
pub mod codec;
mod key;
pub mod limits;
pub mod names;
pub mod stat;
mod state;
pub mod text;
mod watch;
pub use key::{NS_PER_TICK, same_start_time};
