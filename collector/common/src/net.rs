//! Network records: TCP state changes (`sock:inet_sock_set_state`),
//! accepted connections (`accept`/`accept4` exits) and UDP sockets
//! connected, bound or sent to a new destination (`connect`, `bind`,
//! `sendto`/`sendmsg`).  All three kinds share [`NetEvent`].
//!
//! A socket is named by its cookie (`sock_gen_cookie`, the number
//! `NETLINK_SOCK_DIAG` reports as `idiag_cookie`), which perchd uses to join
//! kernel records with `sock_diag`'s counters; UDP records name the socket by
//! its inode too (the one `/proc/PID/fd` and `sock_diag` show).
use crate::Header;

/// `NetEvent::op` of a TCP record: the state change it reports.
pub const NET_TCP_CONNECT: u16 = 1;
/// TCP: `SYN_SENT`/`SYN_RECV` -> `ESTABLISHED` (in softirq: the header's
/// process is not the socket's).
pub const NET_TCP_ESTABLISHED: u16 = 2;
/// TCP: -> `LISTEN`.
pub const NET_TCP_LISTEN: u16 = 3;
/// TCP: -> `CLOSE` (from any state; the record carries final counters).
pub const NET_TCP_CLOSE: u16 = 4;
/// An `accept`/`accept4` returned this connection.
pub const NET_ACCEPT: u16 = 5;
/// UDP: `connect` succeeded.
pub const NET_UDP_CONNECT: u16 = 6;
/// UDP: `bind` succeeded.
pub const NET_UDP_BIND: u16 = 7;
/// UDP: `sendto`/`sendmsg` to a destination this socket had not sent to
/// (as far as the kernel's small flow map remembers).
pub const NET_UDP_SEND: u16 = 8;

/// `NetEvent::flags`: the header names the socket's process (the record
/// was made in its syscall, not in softirq).
pub const NET_TASK: u16 = 1;
/// `NetEvent::flags`: the counters (`bytes_*`, `segs_*`) are valid.
pub const NET_COUNTERS: u16 = 2;

/// TCP states as `include/net/tcp_states.h` numbers them.
pub const TCP_ESTABLISHED: u8 = 1;
pub const TCP_SYN_SENT: u8 = 2;
pub const TCP_SYN_RECV: u8 = 3;
pub const TCP_CLOSE: u8 = 7;
pub const TCP_LISTEN: u8 = 10;

/// One network record.  Addresses are in network byte order (IPv4 in the
/// first 4 bytes), ports in host byte order.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NetEvent {
    /// The current task (see [`NET_TASK`]).
    pub header: Header,
    /// Kernel address of the `struct sock`: unique while it lives.
    pub sk: u64,
    /// Socket cookie; 0 when not known yet (UDP before `sock_diag` saw it).
    pub cookie: u64,
    /// Inode of the socket's file; 0 when it has none (not accepted yet,
    /// or already closed).
    pub ino: u64,
    pub op: u16,
    pub flags: u16,
    /// `AF_INET` or `AF_INET6`.
    pub family: u16,
    /// `IPPROTO_TCP` or `IPPROTO_UDP`.
    pub protocol: u16,
    pub local_port: u16,
    pub remote_port: u16,
    pub old_state: u8,
    pub new_state: u8,
    pub pad: u16,
    pub local_addr: [u8; 16],
    pub remote_addr: [u8; 16],
    /// TCP close: `tcp_sock` counters as the connection ends (sent: data
    /// bytes less retransmissions).
    pub bytes_sent: u64,
    pub bytes_received: u64,
    pub segs_out: u32,
    pub segs_in: u32,
    /// Inode of the socket's network namespace (`/proc/PID/ns/net`).
    pub netns: u32,
    pub pad2: u32,
}
