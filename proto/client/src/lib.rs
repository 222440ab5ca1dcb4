//! A `perch.v1` client, shared by the `perch` console and command line and
//! by the end-to-end tests: connecting to a collector (its Unix socket, or
//! TCP with TLS) with failures as one sentence the user can act on, who
//! is asking (for the audit log and so perchd refuses to act on the
//! asker), the messages as JSON for `--json`, and escaping what a process
//! controls before it reaches a terminal.  It links no collector code, so
//! a console built on it alone runs on a laptop against remote perchds.
#![forbid(unsafe_code)]
mod connect;
mod identity;
pub mod json;
mod sec_line;
mod text;
pub mod tls;

pub use connect::{
    ClientCert, ConnectError, DEFAULT_SOCKET, DEFAULT_TIMEOUT, Target, channel_within, client,
    connect, connect_within, history_client, policies_client,
};
pub use identity::ClientIdentity;
pub use sec_line::security_line;
pub use text::clean;
