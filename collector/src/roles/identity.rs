//! Who is calling: built for each request from what the transport knows
//! (the Unix peer's credentials, or the TLS peer's address and verified
//! client certificate), never from anything the client says about itself.
use std::{
    net::SocketAddr,
    sync::{LazyLock, Mutex},
};

use super::{TlsPeer, UnixPeer};
use crate::{proc::UserNames, refusals::Caller};

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Identity {
    /// Unix socket peers: uid, primary gid, supplementary groups, pid.
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub groups: Vec<u32>,
    pub pid: Option<u32>,
    /// The uid's name in /etc/passwd, when it has one.
    pub user: Option<String>,
    /// TLS peers: address, and the verified client certificate's subject CN.
    pub remote: Option<SocketAddr>,
    pub cert_cn: Option<String>,
    /// For the audit log: "unix pid 4242", "tls 10.0.0.7:50412 cn=alice".
    pub origin: String,
}

static USERS: LazyLock<Mutex<UserNames>> = LazyLock::new(|| Mutex::new(UserNames::new()));

impl Identity {
    /// A Unix socket peer.
    #[must_use]
    pub fn unix(peer: &UnixPeer) -> Self {
        let user = USERS
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .name(peer.uid)
            .map(|n| n.to_string());
        let origin = match peer.pid {
            Some(pid) => format!("unix pid {pid}"),
            None => format!("unix uid {}", peer.uid),
        };
        Self {
            uid: Some(peer.uid),
            gid: Some(peer.gid),
            groups: peer.groups.to_vec(),
            pid: peer.pid,
            user,
            origin,
            ..Self::default()
        }
    }

    /// A TLS peer, with its certificate's CN when it sent one.
    #[must_use]
    pub fn tls(remote: Option<SocketAddr>, cert_cn: Option<String>) -> Self {
        let addr = remote.map_or_else(|| "unknown address".to_owned(), |a| a.to_string());
        let origin = match &cert_cn {
            Some(cn) => format!("tls {addr} cn={cn}"),
            None => format!("tls {addr}"),
        };
        Self {
            remote,
            cert_cn,
            origin,
            ..Self::default()
        }
    }

    /// Who perchd thinks the caller is, for `GetInfo.caller`:
    /// "uid 1000 (alice)", "cert CN=alice", "tls 10.0.0.7:50412 (no client
    /// certificate)".
    #[must_use]
    pub fn caller(&self) -> String {
        match (self.uid, &self.user, &self.cert_cn) {
            (Some(uid), Some(user), _) => format!("uid {uid} ({user})"),
            (Some(uid), None, _) => format!("uid {uid}"),
            (None, _, Some(cn)) => format!("cert CN={cn}"),
            (None, _, None) if self.remote.is_some() => {
                format!("{} (no client certificate)", self.origin)
            }
            (None, _, None) => "unknown peer".to_owned(),
        }
    }
}

impl Identity {
    /// Whose refusals count together against one rate limit: a uid on the
    /// Unix socket (any of its processes), a certificate CN over TLS, or
    /// else the peer's IP address (any port).
    #[must_use]
    pub fn limit_key(&self) -> Caller {
        let (key, label) = match (self.uid, &self.cert_cn, self.remote) {
            (Some(uid), _, _) => (format!("uid:{uid}"), self.caller()),
            (None, Some(cn), _) => (format!("cert:{cn}"), self.caller()),
            (None, None, Some(addr)) => (
                format!("ip:{}", addr.ip()),
                format!("tls {} (no client certificate)", addr.ip()),
            ),
            (None, None, None) => ("unknown".to_owned(), "unknown peer".to_owned()),
        };
        Caller { key, label }
    }
}

/// The identity of the peer that sent `req`.  Requests that came through
/// neither of perchd's listeners (in-process calls) are an unknown peer,
/// which no role entry matches.
pub fn identify<T>(req: &tonic::Request<T>) -> Identity {
    let ext = req.extensions();
    identify_peer(ext.get::<UnixPeer>(), ext.get::<TlsPeer>())
}

/// The identity of a peer known by what its listener attached to the
/// request (a Unix peer's credentials, a TLS peer's address and CN).
#[must_use]
pub fn identify_peer(unix: Option<&UnixPeer>, tls: Option<&TlsPeer>) -> Identity {
    match (unix, tls) {
        (Some(peer), _) => Identity::unix(peer),
        (None, Some(tls)) => Identity::tls(tls.remote, tls.cert_cn.clone()),
        (None, None) => Identity {
            origin: "unknown peer".to_owned(),
            ..Identity::default()
        },
    }
}

/// The subject CN of a DER certificate (rustls has verified it already;
/// this only reads the name).
#[must_use]
pub fn common_name(der: &[u8]) -> Option<String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let cn = cert.subject().iter_common_name().next()?;
    cn.as_str().ok().map(str::to_owned)
}
