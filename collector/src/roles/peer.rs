//! A Unix socket peer's credentials as the kernel recorded them at
//! connect(2): uid, gid and pid (`SO_PEERCRED`) and the supplementary groups
//! (`SO_PEERGROUPS`).  Reading groups from the socket, not from
//! /proc/<pid>/status, matters: the peer may exit (or hand its socket to
//! another process) and its pid be reused by a process with other groups.
use std::{io, net::SocketAddr, os::fd::AsRawFd, sync::Arc};

/// perchd's listener attaches this to every request on the Unix socket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnixPeer {
    pub uid: u32,
    pub gid: u32,
    /// `None` when the peer is in another pid namespace.
    pub pid: Option<u32>,
    pub groups: Arc<[u32]>,
}

impl UnixPeer {
    /// The credentials of the process at the other end of `sock`.
    pub fn of(sock: &tokio::net::UnixStream) -> io::Result<Self> {
        let cred = sock.peer_cred()?;
        Ok(Self {
            uid: cred.uid(),
            gid: cred.gid(),
            pid: cred
                .pid()
                .and_then(|p| u32::try_from(p).ok())
                .filter(|&p| p != 0),
            groups: peer_groups(sock)?.into(),
        })
    }
}

/// perchd's TCP listener attaches this to every request over TLS: the
/// peer's address and the subject CN of the client certificate it
/// presented (verified against the client CA by then), if any.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsPeer {
    pub remote: Option<SocketAddr>,
    pub cert_cn: Option<String>,
}

/// The peer's supplementary groups (`SO_PEERGROUPS`, Linux 4.13+).
pub fn peer_groups(sock: &impl AsRawFd) -> io::Result<Vec<u32>> {
    const GID: usize = size_of::<libc::gid_t>();
    let mut groups: Vec<libc::gid_t> = vec![0; 32];
    loop {
        let mut len = libc::socklen_t::try_from(groups.len() * GID).map_err(io::Error::other)?;
        // SAFETY: `groups` is valid for `len` bytes; the kernel writes at
        // most that many and stores the length it needs (or used) in `len`.
        let rc = unsafe {
            libc::getsockopt(
                sock.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_PEERGROUPS,
                groups.as_mut_ptr().cast(),
                &raw mut len,
            )
        };
        let used = usize::try_from(len).map_err(io::Error::other)? / GID;
        if rc == 0 {
            groups.truncate(used);
            return Ok(groups);
        }
        let err = io::Error::last_os_error();
        // Too small: the kernel said how much it needs (at most NGROUPS_MAX).
        if err.raw_os_error() == Some(libc::ERANGE) && used > groups.len() {
            groups.resize(used, 0);
            continue;
        }
        return Err(err);
    }
}
