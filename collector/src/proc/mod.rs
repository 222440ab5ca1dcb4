//! Everything perchd learns about processes from /proc and the cgroup2
//! tree: full process records (`ProcReader`), the /proc polling fallback
//! used when eBPF cannot be loaded (`Poller`), the stat parser, and the
//! cgroup, tty and user-name lookups those need.  (Named `proc`, not
//! `procfs`, so that it does not shadow the `procfs` crate.)  Processes
//! vanish at any moment, so "gone" is an expected outcome everywhere here,
//! never an error worth logging.
pub mod cgroup;
mod error;
mod facts;
pub mod poll;
pub mod reader;
pub(crate) mod stat;
mod tty;
pub mod users;

pub use cgroup::{CgroupResolver, find_cgroup2_mount, parse_cgroup_path};
pub use error::ProcError;
pub use facts::exe_links;
pub use poll::Poller;
pub use reader::ProcReader;
pub use users::UserNames;
