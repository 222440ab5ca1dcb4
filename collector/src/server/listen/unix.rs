//! The Unix socket: creating its directory, refusing to take over a live
//! perchd's socket, clearing a stale one, mode 0660 in the group given (so
//! its members can connect; perchd, not the file, decides what they may
//! do), and removing the file again when serving ends.
use std::{
    io,
    os::unix::fs::{FileTypeExt as _, MetadataExt as _, PermissionsExt as _},
    path::{Path, PathBuf},
};

use tokio::net::{UnixListener, UnixStream};

use super::{PROBE_TIMEOUT, ServeError};

/// The group perchd's socket gets unless told otherwise: `perch` when this
/// host has it.
#[must_use]
pub fn default_socket_group() -> Option<String> {
    matches!(nix::unistd::Group::from_name("perch"), Ok(Some(_))).then(|| "perch".to_owned())
}

/// A group name, or a number.
fn group_id(group: &str) -> Result<nix::unistd::Gid, String> {
    match nix::unistd::Group::from_name(group) {
        Ok(Some(g)) => Ok(g.gid),
        Ok(None) => group
            .parse::<u32>()
            .map(nix::unistd::Gid::from_raw)
            .map_err(|_| "no such group".to_owned()),
        Err(e) => Err(format!("looking it up: {e}")),
    }
}

/// Prepares `path` (parent directory, stale socket) and binds it, mode
/// 0660, in `group` when given.
pub(super) async fn bind_unix(
    path: &Path,
    group: Option<&str>,
) -> Result<(UnixListener, SocketFile), ServeError> {
    // Checked before anything is created.
    let gid = group
        .map(|g| {
            group_id(g).map_err(|detail| ServeError::SocketGroup {
                group: g.to_owned(),
                path: path.to_owned(),
                detail,
            })
        })
        .transpose()?;
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|error| ServeError::SocketDir {
            dir: parent.to_owned(),
            path: path.to_owned(),
            error,
        })?;
    }
    match std::fs::symlink_metadata(path) {
        Ok(meta) if !meta.file_type().is_socket() => {
            return Err(ServeError::NotASocket {
                path: path.to_owned(),
            });
        }
        Ok(_) => remove_if_stale(path).await?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(ServeError::socket(path, "inspect socket", e)),
    }
    let listener =
        UnixListener::bind(path).map_err(|e| ServeError::socket(path, "bind socket", e))?;
    // From here on the guard removes the file, also when chmod fails.
    let file = SocketFile::new(path).map_err(|e| ServeError::socket(path, "inspect socket", e))?;
    if let Some(gid) = gid {
        nix::unistd::chown(path, None, Some(gid)).map_err(|e| ServeError::SocketGroup {
            group: group.unwrap_or_default().to_owned(),
            path: path.to_owned(),
            detail: format!("cannot give the socket that group: {e}"),
        })?;
    }
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660))
        .map_err(|e| ServeError::socket(path, "set mode 0660 on socket", e))?;
    Ok((listener, file))
}

/// An existing socket is ours to replace only when nothing answers on it.
async fn remove_if_stale(path: &Path) -> Result<(), ServeError> {
    match tokio::time::timeout(PROBE_TIMEOUT, UnixStream::connect(path)).await {
        Ok(Ok(_)) | Err(_) => Err(ServeError::Busy {
            path: path.to_owned(),
        }),
        // A full backlog: someone is listening, just slowly.
        Ok(Err(e)) if e.kind() == io::ErrorKind::WouldBlock => Err(ServeError::Busy {
            path: path.to_owned(),
        }),
        Ok(Err(e)) if e.kind() == io::ErrorKind::ConnectionRefused => {
            tracing::info!(path = %path.display(), "removing stale socket");
            match std::fs::remove_file(path) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => {
                    Err(ServeError::socket(path, "remove stale socket", e))
                }
                _ => Ok(()),
            }
        }
        Ok(Err(e)) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Ok(Err(e)) => Err(ServeError::socket(path, "probe existing socket", e)),
    }
}

/// The socket file we created; removed on drop unless another process has
/// replaced it meanwhile (then it is not ours to remove).
#[derive(Debug)]
pub(super) struct SocketFile {
    pub(super) path: PathBuf,
    dev: u64,
    ino: u64,
}

impl SocketFile {
    fn new(path: &Path) -> io::Result<Self> {
        let meta = std::fs::symlink_metadata(path)?;
        Ok(Self {
            path: path.to_owned(),
            dev: meta.dev(),
            ino: meta.ino(),
        })
    }
}

impl Drop for SocketFile {
    fn drop(&mut self) {
        let ours = std::fs::symlink_metadata(&self.path)
            .is_ok_and(|m| m.dev() == self.dev && m.ino() == self.ino);
        if ours && let Err(e) = std::fs::remove_file(&self.path) {
            tracing::warn!(path = %self.path.display(), "could not remove socket: {e}");
        }
    }
}
