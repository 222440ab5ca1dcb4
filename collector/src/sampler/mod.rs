//! Resource usage, sampled about once a second: per process (CPU, memory,
//! storage I/O, from /proc/PID/stat and io) and for the whole host (per-core
//! CPU, memory, swap, load, disk and network throughput).  Reads /proc
//! through `crate::proc`'s parsers; the engine's sampler task calls both.
mod devices;
pub mod host;
pub mod process;

pub use host::HostSampler;
pub use process::ProcessSampler;
