//! Sockets: family, type, protocol and both ends of the socket behind a
//! file (`file->private_data` is its `struct socket`).
use perch_common::FdInfo;

use crate::kread::{Res, kptr, kread, off};

const AF_INET: u16 = 2;
const AF_INET6: u16 = 10;

/// Fills the socket fields of `out` for the socket file `file`.
#[inline(always)]
pub fn facts(file: *const u8, out: &mut FdInfo) -> Res {
    let socket = kptr(file, off!(vfs.file_private_data))?;
    let sk = kptr(socket, off!(sock.socket_sk))?;
    out.family = kread(sk, off!(sock.family))?;
    out.sock_type = kread(sk, off!(sock.sk_type))?;
    out.protocol = kread(sk, off!(sock.sk_protocol))?;
    match out.family {
        AF_INET => {
            let local: [u8; 4] = kread(sk, off!(sock.rcv_saddr))?;
            let peer: [u8; 4] = kread(sk, off!(sock.daddr))?;
            out.local_addr[..4].copy_from_slice(&local);
            out.peer_addr[..4].copy_from_slice(&peer);
        }
        AF_INET6 => {
            out.local_addr = kread(sk, off!(sock.v6_rcv_saddr))?;
            out.peer_addr = kread(sk, off!(sock.v6_daddr))?;
        }
        _ => return Ok(()),
    }
    // skc_dport is in network order, skc_num (the local port) in host order.
    out.peer_port = u16::from_be(kread(sk, off!(sock.dport))?);
    out.local_port = kread(sk, off!(sock.num))?;
    Ok(())
}
