//! perchd as a library: the console embeds the same collector in-process
//! when no collector answers (embedded mode).
pub mod model;
pub mod procfs;
