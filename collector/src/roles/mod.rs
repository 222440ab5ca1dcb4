//! Who may do what: perchd maps each caller to a role — viewer (read only),
//! operator (actions) or admin — from who the caller is ([`Identity`]: the
//! Unix socket peer's uid and groups, or the TLS client certificate's CN)
//! and the `[roles]` section of its config:
//!
//! ```toml
//! [roles]
//! admin = ["uid:0", "group:wheel", "cert:alice"]
//! operator = ["user:bob", "group:perch-operators", "uid:1000"]
//! ```
//!
//! Root (uid 0 on the Unix socket) is always admin: it can signal any
//! process without perchd, so refusing it would only hide its actions from
//! the audit log.  Everyone not listed is a viewer.
mod identity;
mod peer;

use std::fmt;

pub use identity::{Identity, common_name, identify, identify_peer};
pub use peer::{TlsPeer, UnixPeer, peer_groups};
pub use perch_proto::v1::Role;

/// One `[roles]` entry, with user and group names resolved to ids when the
/// config is read (a typo fails start-up rather than matching nobody).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Principal {
    Uid(u32),
    /// The primary or a supplementary group.
    Gid(u32),
    /// A TLS client certificate's subject common name.
    Cert(String),
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Uid(u) => write!(f, "uid:{u}"),
            Self::Gid(g) => write!(f, "gid:{g}"),
            Self::Cert(cn) => write!(f, "cert:{cn}"),
        }
    }
}

/// What entries may look like, for error messages.
pub const ENTRY_FORMS: &str = "uid:N, gid:N, user:NAME, group:NAME or cert:CN";

impl Principal {
    /// Parses one entry; the error says what is wrong with it (the caller
    /// adds the key and line).
    pub fn parse(entry: &str) -> Result<Self, String> {
        let Some((kind, value)) = entry.split_once(':') else {
            return Err(format!("{entry:?} has no kind (entries are {ENTRY_FORMS})"));
        };
        let id = |what: &str| {
            value
                .parse::<u32>()
                .ok()
                .filter(|&v| v != u32::MAX)
                .ok_or_else(|| format!("bad {what} {value:?}: expected a number in 0..=4294967294"))
        };
        match kind {
            "uid" => id("uid").map(Self::Uid),
            "gid" => id("gid").map(Self::Gid),
            "user" => match nix::unistd::User::from_name(value) {
                Ok(Some(u)) => Ok(Self::Uid(u.uid.as_raw())),
                Ok(None) => Err(format!("unknown user {value:?}")),
                Err(e) => Err(format!("looking up user {value:?}: {e}")),
            },
            "group" => match nix::unistd::Group::from_name(value) {
                Ok(Some(g)) => Ok(Self::Gid(g.gid.as_raw())),
                Ok(None) => Err(format!("unknown group {value:?}")),
                Err(e) => Err(format!("looking up group {value:?}: {e}")),
            },
            "cert" if value.is_empty() => Err("cert: needs a common name".to_owned()),
            "cert" => Ok(Self::Cert(value.to_owned())),
            _ => Err(format!(
                "unknown kind {kind:?} in {entry:?} (entries are {ENTRY_FORMS})"
            )),
        }
    }

    fn matches(&self, id: &Identity) -> bool {
        match self {
            Self::Uid(u) => id.uid == Some(*u),
            Self::Gid(g) => id.gid == Some(*g) || id.groups.contains(g),
            Self::Cert(cn) => id.cert_cn.as_deref() == Some(cn.as_str()),
        }
    }
}

/// The role mapping perchd runs with.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Roles {
    pub admin: Vec<Principal>,
    pub operator: Vec<Principal>,
}

impl Roles {
    /// The caller's role: admin for root or an admin entry, operator for an
    /// operator entry, viewer otherwise.
    #[must_use]
    pub fn role_of(&self, id: &Identity) -> Role {
        if id.uid == Some(0) || self.admin.iter().any(|p| p.matches(id)) {
            Role::Admin
        } else if self.operator.iter().any(|p| p.matches(id)) {
            Role::Operator
        } else {
            Role::Viewer
        }
    }
}

#[cfg(test)]
mod tests;
