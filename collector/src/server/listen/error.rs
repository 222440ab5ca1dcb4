//! Why perchd could not start (or keep) serving, worded for the operator
//! reading the one line perchd prints before exiting.
use std::{fmt::Write as _, io, net::SocketAddr, path::Path, path::PathBuf};

use super::TlsFiles;

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("nothing to listen on: give a Unix socket path and/or a TCP address with TLS")]
    NoListener,
    #[error(
        "refusing to serve plain TCP on {addr}: TCP is only served with TLS \
         (give a certificate and a key)"
    )]
    PlainTcp { addr: SocketAddr },
    #[error("socket {} is busy: another perchd is listening", .path.display())]
    Busy { path: PathBuf },
    #[error("{} exists and is not a socket; refusing to replace it", .path.display())]
    NotASocket { path: PathBuf },
    // The OS error is part of the message (not a `source`), so that
    // `{:#}` chains do not print it twice.
    #[error("cannot {action} {}: {error}", .path.display())]
    Socket {
        path: PathBuf,
        action: &'static str,
        error: io::Error,
    },
    #[error("--socket-group {group} for socket {}: {detail}", .path.display())]
    SocketGroup {
        group: String,
        path: PathBuf,
        detail: String,
    },
    #[error("cannot create directory {} for socket {}: {error}", .dir.display(), .path.display())]
    SocketDir {
        dir: PathBuf,
        path: PathBuf,
        error: io::Error,
    },
    #[error("TLS {what} {}: {detail}", .path.display())]
    TlsFile {
        path: PathBuf,
        what: &'static str,
        detail: String,
    },
    #[error(
        "TLS certificate {} and key {} do not make a usable identity: {detail}",
        .cert.display(), .key.display()
    )]
    TlsIdentity {
        cert: PathBuf,
        key: PathBuf,
        detail: String,
    },
    #[error("cannot listen on {addr}: {error}")]
    Tcp { addr: SocketAddr, error: io::Error },
    #[error("gRPC reflection: {0}")]
    Reflection(String),
    #[error("gRPC server failed: {0}")]
    Transport(String),
}

impl ServeError {
    pub(super) fn socket(path: &Path, action: &'static str, error: io::Error) -> Self {
        Self::Socket {
            path: path.to_owned(),
            action,
            error,
        }
    }

    pub(super) fn tls_file(path: &Path, what: &'static str, detail: impl Into<String>) -> Self {
        Self::TlsFile {
            path: path.to_owned(),
            what,
            detail: detail.into(),
        }
    }

    pub(super) fn tls_identity(files: &TlsFiles, e: &tonic::transport::Error) -> Self {
        Self::TlsIdentity {
            cert: files.cert.clone(),
            key: files.key.clone(),
            detail: chain(e),
        }
    }

    pub(super) fn reflection(e: impl std::error::Error) -> Self {
        Self::Reflection(chain(&e))
    }

    pub(super) fn transport(e: &tonic::transport::Error) -> Self {
        Self::Transport(chain(e))
    }
}

/// tonic's transport errors say only "transport error" at the top; the
/// useful part is in the sources, so they are flattened into the message.
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let _ = write!(out, ": {s}");
        source = s.source();
    }
    out
}
