//! The network model's types: kernel records as decoded, connections and
//! listening sockets as the model keeps them, and the changes it publishes.
//! Independent of the wire format (`convert::net` maps them).
use std::net::SocketAddr;

use crate::model::ProcKey;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Proto {
    #[default]
    Tcp,
    Udp,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Direction {
    #[default]
    Unknown,
    Inbound,
    Outbound,
}

/// Where the model learnt of a socket.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum NetSource {
    /// A kernel record (eBPF mode).
    #[default]
    Ebpf,
    /// A `sock_diag` dump: open when perchd started, in procfs mode, or
    /// missed by the kernel records.
    Diag,
}

/// Bytes and packets each way (TCP: `tcp_info`'s `bytes_sent` less retransmissions,
/// `bytes_received`, `segs_out`, `segs_in`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    pub bytes_tx: u64,
    pub bytes_rx: u64,
    pub packets_tx: u64,
    pub packets_rx: u64,
}

/// What a kernel record says happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NetOp {
    /// TCP `connect`: SYN sent (the local port may not be chosen yet).
    Connect,
    /// TCP handshake done (softirq: no process).
    Established,
    Listen,
    /// TCP socket closed (connection or listener), with final counters.
    Close,
    Accept,
    UdpConnect,
    UdpBind,
    /// UDP datagram to a destination the socket had not sent to.
    UdpSend,
}

/// A decoded kernel network record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetRecord {
    pub op: NetOp,
    /// The process whose syscall made the record; `None` in softirq.
    pub task: Option<ProcKey>,
    /// Kernel address of the `struct sock`.
    pub sk: u64,
    pub cookie: u64,
    pub ino: u64,
    pub proto: Proto,
    pub local: SocketAddr,
    pub remote: SocketAddr,
    pub old_state: u8,
    pub new_state: u8,
    pub counters: Option<Counters>,
    /// Inode of the socket's network namespace.
    pub netns: u32,
}

/// The process that owns a socket, and its name when the socket was seen.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Owner {
    pub key: ProcKey,
    pub comm: String,
}

/// A connection (a TCP connection, or a UDP socket's traffic with one
/// remote address).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Conn {
    /// perchd's id: unique for this perchd's lifetime.
    pub id: u64,
    pub proto: Proto,
    pub local: Option<SocketAddr>,
    pub remote: Option<SocketAddr>,
    pub direction: Direction,
    pub owner: Option<Owner>,
    /// The local process at the other end of a connection between two
    /// local sockets (loopback, or to one of this host's addresses).
    pub peer: Option<Owner>,
    /// `CLOCK_BOOTTIME` ns when seen to start (for connections open when
    /// perchd started: when perchd first saw them).
    pub start_ns: u64,
    pub end_ns: Option<u64>,
    /// TCP state (`tcp_states.h` numbers); 0 for UDP.
    pub state: u8,
    pub counters: Counters,
    /// False for UDP: `sock_diag` has no byte counters for it.
    pub counters_known: bool,
    pub cookie: u64,
    pub ino: u64,
    pub source: NetSource,
}

/// A listening socket (TCP `listen`, or a bound, unconnected UDP socket).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Listening {
    pub id: u64,
    pub proto: Proto,
    pub local: Option<SocketAddr>,
    pub owner: Option<Owner>,
    pub start_ns: u64,
    pub end_ns: Option<u64>,
    pub cookie: u64,
    pub ino: u64,
    pub source: NetSource,
}

/// A change to publish.
#[derive(Clone, Debug, PartialEq)]
pub enum NetChange {
    /// An outbound connection (TCP established or failed, UDP connect or
    /// first datagram to a destination).
    Connect(Conn),
    /// An inbound connection, attributed to the process that accepted it.
    Accept(Conn),
    Listen(Listening),
    CloseConn(Conn),
    CloseListen(Listening),
    /// Connections whose counters, state, owner or peer changed, and
    /// connections not announced otherwise (found by `sock_diag`, or never
    /// accepted).
    Updates(Vec<Conn>),
}
