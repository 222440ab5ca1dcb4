//! The process model: every live process keyed by pid (at most one live
//! process per pid at a time), exited ones kept for a retention window.
mod types;

pub use types::*;
