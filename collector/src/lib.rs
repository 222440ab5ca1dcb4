//! perchd as a library: the console embeds the same collector in-process
//! when no collector answers (embedded mode).
pub mod actions;
/// The audit log lives in its own crate so that the console can verify and
/// list it without linking the collector.
pub use perch_audit as audit;
pub mod cli;
pub mod clock;
pub mod config;
pub mod convert;
pub mod detect;
pub mod ebpf;
pub mod engine;
pub mod guard;
pub mod history;
pub mod hub;
pub mod model;
pub mod net;
pub mod policy;
pub mod proc;
pub mod refusals;
pub mod respond;
pub mod roles;
pub mod sampler;
pub mod security;
pub mod server;
