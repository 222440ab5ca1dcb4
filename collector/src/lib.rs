//! perchd as a library: the console embeds the same collector in-process
//! when no collector answers (embedded mode).
pub mod actions;
pub mod audit;
pub mod cli;
pub mod config;
pub mod convert;
pub mod ebpf;
pub mod engine;
pub mod hub;
pub mod model;
pub mod procfs;
pub mod respond;
pub mod roles;
pub mod server;
