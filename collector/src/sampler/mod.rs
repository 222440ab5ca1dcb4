//! Resource usage, sampled about once a second: per process (CPU, memory,
//! storage I/O, from /proc/PID/stat and io; state and parent from the same
//! stat line; frozen cgroups) and for the whole host (per-core CPU, memory,
//! swap, load, disk and network throughput); and each thread of
//! multi-threaded processes while a client asks.  Reads /proc
//! through `crate::proc`'s parsers; the engine's sampler task calls both.
mod devices;
pub mod frozen;
pub mod host;
pub mod process;
pub mod threads;

pub use frozen::FrozenCgroups;
pub use host::HostSampler;
pub use process::ProcessSampler;
pub use threads::ThreadSampler;
