//! `NETLINK_SOCK_DIAG` dumps of TCP and UDP sockets (IPv4 and IPv6): state,
//! both ends, cookie, inode, and for TCP the `tcp_info` counters, as `ss`
//! reads them.  Only the current network namespace's sockets are listed.
//!
//! Written here rather than taken from `netlink-packet-sock-diag`: that
//! crate hands `tcp_info` back as raw bytes, so the part that matters
//! would still be parsed by hand, and the request and the
//! `inet_diag_msg` framing are a few fixed-layout structs.
use std::{
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    os::fd::{AsRawFd as _, OwnedFd},
};

use nix::sys::{
    socket::{
        AddressFamily, MsgFlags, NetlinkAddr, SockFlag, SockProtocol, SockType, recv, sendto,
        setsockopt, socket, sockopt,
    },
    time::TimeVal,
};

use super::{Counters, Proto};

const SOCK_DIAG_BY_FAMILY: u16 = 20;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLM_F_REQUEST: u16 = 1;
const NLM_F_DUMP: u16 = 0x300;
const INET_DIAG_INFO: u16 = 2;
const NLMSG_HDR: usize = 16;
const REQ_LEN: usize = 56;
const MSG_LEN: usize = 72;
const AF_INET: u8 = 2;
const AF_INET6: u8 = 10;
const TCP_TIME_WAIT: u8 = 6;
const TCP_NEW_SYN_RECV: u8 = 12;

/// `tcp_info` offsets (uapi `linux/tcp.h`; `bytes_sent` since 4.19).
const TI_BYTES_RECEIVED: usize = 128;
const TI_SEGS_OUT: usize = 136;
const TI_SEGS_IN: usize = 140;
const TI_BYTES_SENT: usize = 200;
const TI_BYTES_RETRANS: usize = 208;

/// One socket as `sock_diag` reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiagEntry {
    pub proto: Proto,
    /// `tcp_states.h` number (UDP: 1 connected, 7 not).
    pub state: u8,
    pub local: SocketAddr,
    pub remote: SocketAddr,
    pub cookie: u64,
    /// 0 for sockets without a file (orphaned while closing).
    pub ino: u64,
    pub uid: u32,
    /// TCP only.
    pub counters: Option<Counters>,
}

#[derive(Debug, thiserror::Error)]
pub enum DiagError {
    #[error("sock_diag socket: {0}")]
    Socket(nix::Error),
    #[error("sock_diag request: {0}")]
    Io(nix::Error),
    #[error("sock_diag answered error {0}")]
    Kernel(i32),
    #[error("sock_diag: malformed answer ({0})")]
    Malformed(&'static str),
}

/// A netlink socket for dumps, reused across samples.
#[derive(Debug)]
pub struct DiagSocket {
    fd: OwnedFd,
    buf: Vec<u8>,
    seq: u32,
}

impl DiagSocket {
    pub fn open() -> Result<Self, DiagError> {
        let fd = socket(
            AddressFamily::Netlink,
            SockType::Raw,
            SockFlag::SOCK_CLOEXEC,
            SockProtocol::NetlinkSockDiag,
        )
        .map_err(DiagError::Socket)?;
        // A dump never blocks for long; a kernel that stops answering must
        // not stall the sampler.
        setsockopt(&fd, sockopt::ReceiveTimeout, &TimeVal::new(2, 0)).map_err(DiagError::Socket)?;
        Ok(Self {
            fd,
            buf: vec![0; 64 * 1024],
            seq: 0,
        })
    }

    /// Every TCP and UDP socket, IPv4 and IPv6 (TCP without `TIME_WAIT`
    /// and half-open request sockets).
    pub fn dump_all(&mut self) -> Result<Vec<DiagEntry>, DiagError> {
        let mut out = Vec::new();
        for proto in [Proto::Tcp, Proto::Udp] {
            for family in [AF_INET, AF_INET6] {
                self.dump(proto, family, &mut out)?;
            }
        }
        Ok(out)
    }

    fn dump(
        &mut self,
        proto: Proto,
        family: u8,
        out: &mut Vec<DiagEntry>,
    ) -> Result<(), DiagError> {
        self.seq = self.seq.wrapping_add(1);
        let req = request(proto, family, self.seq);
        sendto(
            self.fd.as_raw_fd(),
            &req,
            &NetlinkAddr::new(0, 0),
            MsgFlags::empty(),
        )
        .map_err(DiagError::Io)?;
        loop {
            let n = recv(self.fd.as_raw_fd(), &mut self.buf, MsgFlags::empty())
                .map_err(DiagError::Io)?;
            if parse(&self.buf[..n], proto, self.seq, out)? {
                return Ok(());
            }
        }
    }
}

/// The dump request: `nlmsghdr` + `inet_diag_req_v2`.
fn request(proto: Proto, family: u8, seq: u32) -> [u8; NLMSG_HDR + REQ_LEN] {
    let mut b = [0u8; NLMSG_HDR + REQ_LEN];
    let len = u32::try_from(b.len()).unwrap_or(0);
    b[0..4].copy_from_slice(&len.to_ne_bytes());
    b[4..6].copy_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
    b[6..8].copy_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
    b[8..12].copy_from_slice(&seq.to_ne_bytes());
    let r = &mut b[NLMSG_HDR..];
    r[0] = family;
    r[1] = match proto {
        Proto::Tcp => 6,
        Proto::Udp => 17,
    };
    // Extensions as bits (1 << (attr - 1)): tcp_info.
    r[2] = 1 << (INET_DIAG_INFO - 1);
    let states: u32 = match proto {
        Proto::Tcp => !((1 << TCP_TIME_WAIT) | (1 << TCP_NEW_SYN_RECV)),
        Proto::Udp => u32::MAX,
    };
    r[4..8].copy_from_slice(&states.to_ne_bytes());
    b
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_ne_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// Parses one datagram of answers into `out`; true once the dump's
/// `NLMSG_DONE` is in it.  Messages of other sequences are skipped.
pub fn parse(
    mut b: &[u8],
    proto: Proto,
    seq: u32,
    out: &mut Vec<DiagEntry>,
) -> Result<bool, DiagError> {
    let bad = DiagError::Malformed;
    while b.len() >= NLMSG_HDR {
        let len = u32_at(b, 0).ok_or(bad("header"))? as usize;
        if len < NLMSG_HDR || len > b.len() {
            return Err(bad("message length"));
        }
        let kind = u16_at(b, 4).ok_or(bad("header"))?;
        let msg_seq = u32_at(b, 8).ok_or(bad("header"))?;
        let body = &b[NLMSG_HDR..len];
        if msg_seq == seq {
            match kind {
                NLMSG_DONE => return Ok(true),
                NLMSG_ERROR => {
                    let code = u32_at(body, 0).ok_or(bad("error"))?.cast_signed();
                    return Err(DiagError::Kernel(-code));
                }
                SOCK_DIAG_BY_FAMILY => out.extend(entry(body, proto)),
                _ => {}
            }
        }
        // Messages are 4-byte aligned.
        let next = (len + 3) & !3;
        b = b.get(next..).unwrap_or_default();
    }
    Ok(false)
}

/// One `inet_diag_msg` and its attributes; `None` when too short or of an
/// unknown family.
fn entry(body: &[u8], proto: Proto) -> Option<DiagEntry> {
    if body.len() < MSG_LEN {
        return None;
    }
    let family = body[0];
    let state = body[1];
    let sport = u16::from_be_bytes([body[4], body[5]]);
    let dport = u16::from_be_bytes([body[6], body[7]]);
    let addr = |at: usize| -> Option<IpAddr> {
        let raw: [u8; 16] = body.get(at..at + 16)?.try_into().ok()?;
        match family {
            AF_INET => Some(Ipv4Addr::new(raw[0], raw[1], raw[2], raw[3]).into()),
            AF_INET6 => Some(Ipv6Addr::from(raw).into()),
            _ => None,
        }
    };
    let local = SocketAddr::new(addr(8)?, sport);
    let remote = SocketAddr::new(addr(24)?, dport);
    let cookie = u64::from(u32_at(body, 44)?) | u64::from(u32_at(body, 48)?) << 32;
    let uid = u32_at(body, 64)?;
    let ino = u64::from(u32_at(body, 68)?);
    let mut counters = None;
    let mut attrs = &body[MSG_LEN..];
    while attrs.len() >= 4 {
        let alen = usize::from(u16_at(attrs, 0)?);
        let atype = u16_at(attrs, 2)?;
        if alen < 4 || alen > attrs.len() {
            break;
        }
        if atype == INET_DIAG_INFO && proto == Proto::Tcp {
            counters = tcp_counters(&attrs[4..alen]);
        }
        attrs = attrs.get((alen + 3) & !3..).unwrap_or_default();
    }
    Some(DiagEntry {
        proto,
        state,
        local,
        remote,
        cookie,
        ino,
        uid,
        counters,
    })
}

/// The counters of a `tcp_info`; `None` from a kernel too old to have them.
/// Sent: data bytes sent less retransmissions (`bytes_acked` would count
/// the SYN and FIN as a byte each); received: `bytes_received`, which
/// counts the peer's FIN as one byte once it arrived.
fn tcp_counters(info: &[u8]) -> Option<Counters> {
    let sent = u64_at(info, TI_BYTES_SENT)?;
    let retrans = u64_at(info, TI_BYTES_RETRANS)?;
    Some(Counters {
        bytes_tx: sent.saturating_sub(retrans),
        bytes_rx: u64_at(info, TI_BYTES_RECEIVED)?,
        packets_tx: u64::from(u32_at(info, TI_SEGS_OUT)?),
        packets_rx: u64::from(u32_at(info, TI_SEGS_IN)?),
    })
}

#[cfg(test)]
#[path = "diag_tests.rs"]
mod tests;
