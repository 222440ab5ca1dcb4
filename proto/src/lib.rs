//! The `perch.v1` contract: generated messages, the `Collector` client and
//! server, the descriptor set for gRPC reflection, and small helpers that
//! every side needs to interpret the messages the same way.
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

    pub use crate::watch::{EncodedEvent, WatchEventsResponse};

    /// Encoded `FileDescriptorSet` for tonic-reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/perch_v1_descriptor.bin"));
}

/// Where perchd serves the contract unless told otherwise.
pub const DEFAULT_SOCKET: &str = "/run/perch/perchd.sock";

mod key;
mod watch;
pub use key::{NS_PER_TICK, same_start_time};
