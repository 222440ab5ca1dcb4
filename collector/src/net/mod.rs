//! Network connections and listening sockets: the kernel's records
//! ([`NetRecord`], decoded in `ebpf::decode`), the model they feed
//! ([`NetModel`]: connections and listeners with their owning process,
//! direction, counters and loopback peer, bounded and retained like exited
//! processes), and what refreshes it every sample: `NETLINK_SOCK_DIAG`
//! ([`diag`]: state and `tcp_info` counters) and the socket inodes in
//! `/proc/PID/fd` ([`fds`]: owners of sockets no kernel record named).
//!
//! In eBPF mode the kernel records open, attribute and close connections
//! as they happen and `sock_diag` adds counters and catches what the records
//! missed; in procfs mode `sock_diag` and /proc are the only sources.
pub mod diag;
pub mod fds;
mod model;
mod types;

pub use model::{NetLimits, NetModel, NetSample, Sources};
pub use types::*;
