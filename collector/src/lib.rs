//! perchd as a library: the console embeds the same collector in-process
//! when no collector answers (embedded mode).
pub mod ebpf;
pub mod model;
pub mod convert;
pub mod config;
pub mod engine;
pub mod cli;
