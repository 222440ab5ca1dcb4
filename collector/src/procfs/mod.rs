//! Everything perchd learns from /proc and the cgroup2 tree: full process
//! records (`ProcReader`), per-process and host-wide resource sampling
//! (`ProcessSampler`, `HostSampler`), the /proc polling fallback used when
//! eBPF cannot be loaded (`Poller`), and the cgroup/user-name lookups those
//! need.  Processes vanish at any moment, so "gone" is an expected outcome
//! everywhere here, never an error worth logging.
pub mod cgroup;
mod clock;
mod error;
pub mod reader;
mod stat;
mod tty;
pub mod users;

pub use cgroup::{CgroupResolver, find_cgroup2_mount, parse_cgroup_path};
pub use clock::{boot_time_unix_ns, now_boot_ns, page_size, ticks_per_second};
pub use error::ProcError;
pub use reader::ProcReader;
pub use users::UserNames;
