//! Everything perchd learns from /proc and the cgroup2 tree: full process
//! records (`ProcReader`), per-process and host-wide resource sampling
//! (`ProcessSampler`, `HostSampler`), the /proc polling fallback used when
//! eBPF cannot be loaded (`Poller`), and the cgroup/user-name lookups those
//! need.  Processes vanish at any moment, so "gone" is an expected outcome
//! everywhere here, never an error worth logging.
pub mod cgroup;
mod clock;
mod devices;
mod error;
pub mod host;
pub mod poll;
pub mod reader;
pub mod sampler;
pub(crate) mod stat;
mod tty;
pub mod users;

pub use cgroup::{CgroupResolver, find_cgroup2_mount, parse_cgroup_path};
pub(crate) use clock::ticks_to_ns;
pub use clock::{boot_time_unix_ns, now_boot_ns, page_size, ticks_per_second};
pub use error::ProcError;
pub use host::HostSampler;
pub use poll::Poller;
pub use reader::ProcReader;
pub use sampler::ProcessSampler;
pub use users::UserNames;

/// Counters (bytes, ns) as f64 for rates and percentages.
pub(crate) fn to_f64(v: u64) -> f64 {
    v as f64
}
