//! Empty on purpose: the programs are in `main.rs` (see Cargo.toml).
#![no_std]
