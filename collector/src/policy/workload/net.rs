//! The network half of a workload policy: port ranges, CIDR blocks with
//! exceptions, DNS globs, and the coverage test of one connection.
use std::net::IpAddr;

use super::super::glob;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Proto {
    Tcp,
    Udp,
}

impl Proto {
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "TCP" => Some(Self::Tcp),
            "UDP" => Some(Self::Udp),
            _ => None,
        }
    }

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tcp => "TCP",
            Self::Udp => "UDP",
        }
    }
}

/// `port..=end` of one protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PortRange {
    pub proto: Proto,
    pub port: u16,
    pub end: u16,
}

impl PortRange {
    #[must_use]
    pub fn covers(&self, proto: Proto, port: u16) -> bool {
        self.proto == proto && (self.port..=self.end).contains(&port)
    }
}

/// An address block: `addr/prefix`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl Cidr {
    /// Parses `10.0.0.0/8`, `fd00::/8`, or a bare address (a /32 or /128).
    pub fn parse(s: &str) -> Result<Self, String> {
        let (a, p) = s.split_once('/').unwrap_or((s, ""));
        let addr: IpAddr = a
            .parse()
            .map_err(|_| format!("{s:?} is not an address block (like 10.0.0.0/8 or fd00::/8)"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = if p.is_empty() {
            max
        } else {
            p.parse::<u8>()
                .ok()
                .filter(|n| *n <= max)
                .ok_or_else(|| format!("{s:?}: the prefix must be in 0..={max}"))?
        };
        Ok(Self { addr, prefix })
    }

    #[must_use]
    pub fn contains(&self, ip: IpAddr) -> bool {
        let (net, ip, bits) = match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(i)) => {
                (u128::from(n.to_bits()), u128::from(i.to_bits()), 32)
            }
            (IpAddr::V6(n), IpAddr::V6(i)) => (n.to_bits(), i.to_bits(), 128),
            (IpAddr::V6(n), IpAddr::V4(i)) => (n.to_bits(), i.to_ipv6_mapped().to_bits(), 128),
            (IpAddr::V4(_), IpAddr::V6(i)) => match i.to_ipv4_mapped() {
                Some(v4) => return self.contains(IpAddr::V4(v4)),
                None => return false,
            },
        };
        let host_bits = bits - u32::from(self.prefix);
        host_bits >= 128 || (net >> host_bits) == (ip >> host_bits)
    }

    /// Whether every address of `other` is in this block.
    #[must_use]
    pub fn contains_block(&self, other: &Cidr) -> bool {
        other.prefix >= self.prefix && self.contains(other.addr)
    }
}

/// One peer of a rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Peer {
    Block { cidr: Cidr, except: Vec<Cidr> },
    Dns(Vec<String>),
}

impl Peer {
    /// Whether the peer `ip` (named `host` when its name is known) is this.
    #[must_use]
    pub fn covers(&self, ip: IpAddr, host: Option<&str>) -> bool {
        match self {
            Self::Block { cidr, except } => {
                cidr.contains(ip) && !except.iter().any(|e| e.contains(ip))
            }
            Self::Dns(names) => host.is_some_and(|h| names.iter().any(|g| glob(g, h))),
        }
    }
}

/// One ingress or egress rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetRule {
    pub peers: Vec<Peer>,
    /// Process node ids it is for (empty: any process of the policy).
    pub processes: Vec<String>,
    pub ports: Vec<PortRange>,
}

impl NetRule {
    /// Whether this rule allows process node `node` to talk to `ip`
    /// (`host`) on `port`.
    #[must_use]
    pub fn covers(
        &self,
        node: Option<&str>,
        ip: IpAddr,
        host: Option<&str>,
        proto: Proto,
        port: u16,
    ) -> bool {
        (self.processes.is_empty() || node.is_some_and(|n| self.processes.iter().any(|p| p == n)))
            && self.peers.iter().any(|p| p.covers(ip, host))
            && self.ports.iter().any(|r| r.covers(proto, port))
    }
}

/// Private addresses in the sense of `disablePrivateConnections`: loopback,
/// RFC 1918, link-local, unique-local, CGNAT.
#[must_use]
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_private() || v4.is_loopback() || v4.is_link_local() || {
                let o = v4.octets();
                o[0] == 100 && (64..128).contains(&o[1])
            }
        }
        IpAddr::V6(v6) => {
            v6.is_loopback()
                || v6.is_unique_local()
                || v6.is_unicast_link_local()
                || v6
                    .to_ipv4_mapped()
                    .is_some_and(|v4| is_private(IpAddr::V4(v4)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn blocks_and_exceptions() {
        let p = Peer::Block {
            cidr: Cidr::parse("10.0.0.0/8").unwrap(),
            except: vec![Cidr::parse("10.1.0.0/16").unwrap()],
        };
        assert!(p.covers(ip("10.2.3.4"), None));
        assert!(!p.covers(ip("10.1.3.4"), None));
        assert!(!p.covers(ip("11.0.0.1"), None));
        assert!(
            p.covers(ip("::ffff:10.2.3.4"), None),
            "v4-mapped v6 peers count"
        );
        let all = Cidr::parse("0.0.0.0/0").unwrap();
        assert!(all.contains(ip("203.0.113.9")));
        assert!(Cidr::parse("127.0.0.1").unwrap().contains(ip("127.0.0.1")));
        assert!(Cidr::parse("10.0.0.0/33").is_err());
        assert!(Cidr::parse("fd00::/8").unwrap().contains(ip("fd12::1")));
    }

    #[test]
    fn rules_need_process_peer_and_port() {
        let r = NetRule {
            peers: vec![Peer::Dns(vec!["*.example.com".into()])],
            processes: vec!["python_0".into()],
            ports: vec![PortRange {
                proto: Proto::Tcp,
                port: 8000,
                end: 8080,
            }],
        };
        let a = ip("192.0.2.1");
        assert!(r.covers(
            Some("python_0"),
            a,
            Some("api.example.com"),
            Proto::Tcp,
            8080
        ));
        assert!(!r.covers(Some("sh_0"), a, Some("api.example.com"), Proto::Tcp, 8080));
        assert!(!r.covers(Some("python_0"), a, None, Proto::Tcp, 8080));
        assert!(!r.covers(
            Some("python_0"),
            a,
            Some("api.example.com"),
            Proto::Udp,
            8080
        ));
        assert!(!r.covers(
            Some("python_0"),
            a,
            Some("api.example.com"),
            Proto::Tcp,
            8081
        ));
    }
}
