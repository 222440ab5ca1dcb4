//! perch as a library: connecting to a collector and presenting what it
//! sends.  The `perch` binary (main.rs) is the command line on top.
pub mod act;
pub mod config;
pub mod console;
pub mod live;
pub mod replay;
pub mod text;
pub mod travel;
pub mod when;
