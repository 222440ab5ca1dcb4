//! Resource usage, sampled about once a second: per process (CPU, memory,
//! storage I/O, from /proc/PID/stat and io; state and parent from the same
//! stat line; frozen cgroups) and for the whole host (per-core CPU, memory,
//! swap, load, disk and network throughput).  Reads /proc
//! through `crate::proc`'s parsers; the engine's sampler task calls both.
mod devices;
pub mod frozen;
pub mod host;
pub mod process;

pub use frozen::FrozenCgroups;
pub use host::HostSampler;
pub use process::ProcessSampler;
