//! The `perch.v1` contract: generated messages, the `Collector` client and
//! server, the descriptor set for gRPC reflection, and small helpers that
//! every side needs to interpret the messages the same way.
#![allow(clippy::pedantic, reason = "generated code")]

/// Generated from `perch/v1/collector.proto`.
pub mod v1 {
    tonic::include_proto!("perch.v1");

    pub use crate::watch::{EncodedEvent, WatchEventsResponse};

    /// Encoded `FileDescriptorSet` for tonic-reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/perch_v1_descriptor.bin"));
}

mod key;
pub mod limits;
mod watch;
pub use key::{NS_PER_TICK, same_start_time};
