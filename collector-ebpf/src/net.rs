//! Network programs: TCP through `sock:inet_sock_set_state` (connect,
//! established, listen, close), inbound connections attributed at
//! `accept`/`accept4` exit, and UDP through `connect`, `bind` and
//! `sendto`/`sendmsg` (enter to find the socket and the destination, exit
//! to report it once the call worked and the local port is bound).
//!
//! Attribution: a state change runs in the connecting or listening task
//! for connect and listen, but in softirq for an inbound connection and
//! often for a close, where the current task is unrelated.  Only records
//! made in the socket's own syscall carry [`NET_TASK`]; perchd attributes
//! the others through the socket's cookie (see perch-common's `net`).
use aya_ebpf::{
    cty::c_void,
    helpers::{
        bpf_get_current_pid_tgid, bpf_ktime_get_boot_ns,
        generated::{bpf_get_current_task_btf, bpf_get_socket_cookie, bpf_probe_read_user},
    },
    macros::{btf_tracepoint, map, tracepoint},
    maps::{HashMap, LruHashMap},
    programs::{BtfTracePointContext, TracePointContext},
};
use perch_common::{
    NET_ACCEPT, NET_COUNTERS, NET_TASK, NET_TCP_CLOSE, NET_TCP_CONNECT, NET_TCP_ESTABLISHED,
    NET_TCP_LISTEN, NET_UDP_BIND, NET_UDP_CONNECT, NET_UDP_SEND, NetEvent, TCP_CLOSE,
    TCP_ESTABLISHED, TCP_LISTEN, TCP_SYN_RECV, TCP_SYN_SENT, kind,
};

use crate::{
    kread::{Res, field, field_ptr, kptr, kread, off, ready},
    output::emit_record,
    task::fill_header,
    vfs::fd_file,
};

const AF_INET: u16 = 2;
const AF_INET6: u16 = 10;
const IPPROTO_TCP: u16 = 6;
const IPPROTO_UDP: u16 = 17;
const S_IFMT: u16 = 0o170_000;
const S_IFSOCK: u16 = 0o140_000;

/// A UDP call between its enter and its exit, by thread (`pid_tgid`).
#[repr(C)]
#[derive(Clone, Copy)]
struct Pending {
    sk: u64,
    ino: u64,
    op: u16,
    family: u16,
    remote_port: u16,
    pad: u16,
    remote_addr: [u8; 16],
}

#[map]
static PENDING: HashMap<u64, Pending> = HashMap::with_max_entries(8192, 0);

/// A UDP destination a socket sent to.
#[repr(C)]
#[derive(Clone, Copy)]
struct Flow {
    sk: u64,
    addr: [u8; 16],
    port: u16,
    pad: [u16; 3],
}

/// Destinations already reported: a socket sending many datagrams to the
/// same peer is reported once, not per datagram.  Forgetting one (LRU)
/// only means it is reported again.
#[map]
static FLOWS: LruHashMap<Flow, u8> = LruHashMap::with_max_entries(16384, 0);

#[btf_tracepoint(function = "inet_sock_set_state")]
pub fn perch_tcp_state(ctx: BtfTracePointContext) -> i32 {
    let _ = try_tcp_state(&ctx);
    0
}

/// Attached to `sys_exit_accept4` and `sys_exit_accept`.
#[tracepoint(category = "syscalls", name = "sys_exit_accept4")]
pub fn perch_accept(ctx: TracePointContext) -> u32 {
    let _ = try_accept(&ctx);
    0
}

#[tracepoint(category = "syscalls", name = "sys_enter_connect")]
pub fn perch_udp_conn(ctx: TracePointContext) -> u32 {
    let _ = try_udp_enter(
        &ctx,
        NET_UDP_CONNECT,
        off!(net.connect_fd),
        off!(net.connect_addr),
    );
    0
}

#[tracepoint(category = "syscalls", name = "sys_enter_bind")]
pub fn perch_udp_bind(ctx: TracePointContext) -> u32 {
    let _ = try_udp_enter(&ctx, NET_UDP_BIND, off!(net.bind_fd), off!(net.bind_addr));
    0
}

#[tracepoint(category = "syscalls", name = "sys_enter_sendto")]
pub fn perch_udp_sendto(ctx: TracePointContext) -> u32 {
    let _ = try_udp_enter(
        &ctx,
        NET_UDP_SEND,
        off!(net.sendto_fd),
        off!(net.sendto_addr),
    );
    0
}

#[tracepoint(category = "syscalls", name = "sys_enter_sendmsg")]
pub fn perch_udp_sendmsg(ctx: TracePointContext) -> u32 {
    let _ = try_udp_enter(&ctx, NET_UDP_SEND, off!(net.sendmsg_fd), usize::MAX);
    0
}

/// One program for the four exits: each only finishes what its enter
/// left in [`PENDING`].
#[tracepoint(category = "syscalls", name = "sys_exit_connect")]
pub fn perch_udp_exit(ctx: TracePointContext) -> u32 {
    let _ = try_udp_exit(&ctx);
    0
}

fn try_tcp_state(ctx: &BtfTracePointContext) -> Res {
    if !ready() {
        return Err(1);
    }
    // (const struct sock *sk, const int oldstate, const int newstate)
    let sk: *const u8 = ctx.arg(0);
    let old = ctx.arg::<u64>(1) as u8;
    let new = ctx.arg::<u64>(2) as u8;
    let op = match (old, new) {
        (_, TCP_SYN_SENT) => NET_TCP_CONNECT,
        (TCP_SYN_SENT | TCP_SYN_RECV, TCP_ESTABLISHED) => NET_TCP_ESTABLISHED,
        (_, TCP_LISTEN) => NET_TCP_LISTEN,
        (_, TCP_CLOSE) => NET_TCP_CLOSE,
        _ => return Ok(()),
    };
    if field::<u16>(sk, off!(sock.sk_protocol)) != IPPROTO_TCP {
        return Ok(());
    }
    let mut ev = NetEvent {
        op,
        old_state: old,
        new_state: new,
        protocol: IPPROTO_TCP,
        ..NetEvent::default()
    };
    if op == NET_TCP_CONNECT || op == NET_TCP_LISTEN {
        // connect() and listen() run in the socket's own task.
        // SAFETY: no preconditions; a BTF pointer.
        let task = unsafe { bpf_get_current_task_btf() } as *const u8;
        fill_header(&mut ev.header, kind::NET_TCP, task)?;
        ev.flags = NET_TASK;
    } else {
        ev.header.kind = kind::NET_TCP;
        // SAFETY: no preconditions.
        ev.header.ktime_ns = unsafe { bpf_ktime_get_boot_ns() };
    }
    ev.sk = sk as u64;
    // Generates the cookie if the socket has none yet, so sock_diag (which
    // reports the same number) and later records agree on it.
    // SAFETY: `sk` is the tracepoint's BTF socket pointer.
    ev.cookie = unsafe { bpf_get_socket_cookie(sk as *mut c_void) };
    ev.ino = sock_ino(sk);
    ends(sk, &mut ev)?;
    if op == NET_TCP_CLOSE {
        let (sent, retrans, received, segs_in, segs_out) = (
            kread::<u64>(sk, off!(net.tcp_bytes_sent)),
            kread::<u64>(sk, off!(net.tcp_bytes_retrans)),
            kread(sk, off!(net.tcp_bytes_received)),
            kread(sk, off!(net.tcp_segs_in)),
            kread(sk, off!(net.tcp_segs_out)),
        );
        if let (Ok(s), Ok(x), Ok(r), Ok(i), Ok(o)) = (sent, retrans, received, segs_in, segs_out) {
            // Counted as sock_diag counts them (perchd's net::diag).
            ev.bytes_sent = s.saturating_sub(x);
            ev.bytes_received = r;
            ev.segs_in = i;
            ev.segs_out = o;
            ev.flags |= NET_COUNTERS;
        }
    }
    emit_record(kind::NET_TCP, &ev);
    Ok(())
}

/// `sk->sk_socket->file->f_inode->i_ino` of a BTF socket pointer (0 for a
/// socket without a file: not accepted yet, or orphaned).
#[inline(always)]
fn sock_ino(sk: *const u8) -> u64 {
    field_ptr(sk, off!(net.sk_socket))
        .and_then(|s| field_ptr(s, off!(net.socket_file)))
        .and_then(|f| field_ptr(f, off!(vfs.file_inode)))
        .map_or(0, |i| field(i, off!(vfs.inode_ino)))
}

/// Family, local and remote address and port of `sk`, with helper reads
/// (works for BTF and plain pointers alike).
#[inline(always)]
fn ends(sk: *const u8, ev: &mut NetEvent) -> Res {
    ev.family = kread(sk, off!(sock.family))?;
    match ev.family {
        AF_INET => {
            let local: [u8; 4] = kread(sk, off!(sock.rcv_saddr))?;
            let remote: [u8; 4] = kread(sk, off!(sock.daddr))?;
            ev.local_addr[..4].copy_from_slice(&local);
            ev.remote_addr[..4].copy_from_slice(&remote);
        }
        AF_INET6 => {
            ev.local_addr = kread(sk, off!(sock.v6_rcv_saddr))?;
            ev.remote_addr = kread(sk, off!(sock.v6_daddr))?;
        }
        _ => return Err(-1),
    }
    // skc_num (local) is in host order, skc_dport in network order.
    ev.local_port = kread(sk, off!(sock.num))?;
    ev.remote_port = u16::from_be(kread(sk, off!(sock.dport))?);
    ev.netns = kptr(sk, off!(net.skc_net))
        .and_then(|net| kread(net, off!(net.net_inum)))
        .unwrap_or(0);
    Ok(())
}

/// The socket behind `fd` of the current task, if it is one: its `sock`
/// and its file's inode number.
#[inline(always)]
fn fd_sock(fd: u64) -> Res<(*const u8, u64)> {
    // SAFETY: no preconditions; a BTF pointer.
    let task = unsafe { bpf_get_current_task_btf() } as *const u8;
    let file = fd_file(task, fd)?;
    let inode = kptr(file, off!(vfs.file_inode))?;
    // private_data is a `struct socket` only for socket files.
    if kread::<u16>(inode, off!(vfs.inode_mode))? & S_IFMT != S_IFSOCK {
        return Err(-1);
    }
    let socket = kptr(file, off!(vfs.file_private_data))?;
    let sk = kptr(socket, off!(sock.socket_sk))?;
    Ok((sk, kread(inode, off!(vfs.inode_ino))?))
}

fn try_accept(ctx: &TracePointContext) -> Res {
    if !ready() {
        return Err(1);
    }
    let ret: i64 = record(ctx, off!(net.sys_exit_ret))?;
    if ret < 0 {
        return Ok(());
    }
    let (sk, ino) = fd_sock(ret as u64)?;
    let mut ev = NetEvent {
        op: NET_ACCEPT,
        flags: NET_TASK,
        sk: sk as u64,
        ino,
        ..NetEvent::default()
    };
    ev.protocol = kread(sk, off!(sock.sk_protocol))?;
    // Set by the established record's helper call (softirq, before this).
    ev.cookie = kread(sk, off!(net.cookie))?;
    ends(sk, &mut ev)?;
    // SAFETY: no preconditions; a BTF pointer.
    let task = unsafe { bpf_get_current_task_btf() } as *const u8;
    fill_header(&mut ev.header, kind::NET_ACCEPT, task)?;
    emit_record(kind::NET_ACCEPT, &ev);
    Ok(())
}

/// A field of a classic tracepoint's record, at `at` (from tracefs).
#[inline(always)]
fn record<T>(ctx: &TracePointContext, at: usize) -> Res<T> {
    // SAFETY: bpf_probe_read_kernel tolerates any address; `at` lies in
    // the record by its tracefs format.
    unsafe { ctx.read_at(at) }.map_err(i64::from)
}

/// The destination a UDP call names: `(family, port, address)` from the
/// user's `sockaddr_in`/`sockaddr_in6`.
#[inline(always)]
fn user_sockaddr(addr: *const u8) -> Res<(u16, u16, [u8; 16])> {
    // SAFETY: bpf_probe_read_user tolerates any address.
    let read = |at: usize, out: *mut c_void, len: u32| unsafe {
        bpf_probe_read_user(out, len, addr.wrapping_add(at).cast())
    };
    let mut head = [0u8; 4];
    if read(0, head.as_mut_ptr().cast(), 4) != 0 {
        return Err(-1);
    }
    let family = u16::from_ne_bytes([head[0], head[1]]);
    let port = u16::from_be_bytes([head[2], head[3]]);
    let mut ip = [0u8; 16];
    let n = match family {
        // sin_addr follows sin_port; sin6_addr follows sin6_flowinfo.
        AF_INET => read(4, ip.as_mut_ptr().cast(), 4),
        AF_INET6 => read(8, ip.as_mut_ptr().cast(), 16),
        _ => return Err(-1),
    };
    if n != 0 {
        return Err(-1);
    }
    Ok((family, port, ip))
}

/// `addr_at`: the tracepoint field holding the address argument, or
/// `usize::MAX` for sendmsg (the address is the `msghdr`'s `msg_name`).
#[inline(always)]
fn try_udp_enter(ctx: &TracePointContext, op: u16, fd_at: usize, addr_at: usize) -> Res {
    if !ready() {
        return Err(1);
    }
    let user: u64 = if addr_at == usize::MAX {
        let msg: u64 = record(ctx, off!(net.sendmsg_msg))?;
        let mut name = 0u64;
        let at = (msg as *const u8).wrapping_add(off!(net.msghdr_name));
        // SAFETY: bpf_probe_read_user tolerates any address.
        let r = unsafe { bpf_probe_read_user((&raw mut name).cast(), 8, at.cast()) };
        if r != 0 {
            return Ok(());
        }
        name
    } else {
        record(ctx, addr_at)?
    };
    // A send on a connected socket names no address (most TCP sends):
    // the cheapest way out, before any lookup.
    if user == 0 && op == NET_UDP_SEND {
        return Ok(());
    }
    let fd: u64 = record(ctx, fd_at)?;
    let (sk, ino) = fd_sock(fd)?;
    if kread::<u16>(sk, off!(sock.sk_protocol))? != IPPROTO_UDP {
        return Ok(());
    }
    let (family, remote_port, remote_addr) = user_sockaddr(user as *const u8)?;
    if op == NET_UDP_SEND {
        let flow = Flow {
            sk: sk as u64,
            addr: remote_addr,
            port: remote_port,
            pad: [0; 3],
        };
        // BPF_NOEXIST: fails when the destination is already known.
        if FLOWS.insert(flow, 0, 1).is_err() {
            return Ok(());
        }
    }
    let pending = Pending {
        sk: sk as u64,
        ino,
        op,
        family,
        remote_port,
        pad: 0,
        remote_addr,
    };
    let tid = bpf_get_current_pid_tgid();
    PENDING.insert(tid, pending, 0).map_err(i64::from)?;
    Ok(())
}

fn try_udp_exit(ctx: &TracePointContext) -> Res {
    if !ready() {
        return Err(1);
    }
    let tid = bpf_get_current_pid_tgid();
    let Some(p) = PENDING.get_ptr(tid) else {
        return Ok(());
    };
    // SAFETY: a map value; copied out before it is removed.
    let p = unsafe { *p };
    let _ = PENDING.remove(tid);
    let ret: i64 = record(ctx, off!(net.sys_exit_ret))?;
    if ret < 0 {
        return Ok(());
    }
    let sk = p.sk as *const u8;
    let mut ev = NetEvent {
        op: p.op,
        flags: NET_TASK,
        sk: p.sk,
        ino: p.ino,
        protocol: IPPROTO_UDP,
        ..NetEvent::default()
    };
    // The socket is bound now: its local end is known.
    ends(sk, &mut ev)?;
    ev.cookie = kread(sk, off!(net.cookie))?;
    if p.op != NET_UDP_CONNECT {
        // Unconnected: the destination is the call's, not the socket's.
        ev.family = p.family;
        ev.remote_port = p.remote_port;
        ev.remote_addr = p.remote_addr;
    }
    if p.op == NET_UDP_BIND {
        ev.remote_port = 0;
        ev.remote_addr = [0; 16];
    }
    // SAFETY: no preconditions; a BTF pointer.
    let task = unsafe { bpf_get_current_task_btf() } as *const u8;
    fill_header(&mut ev.header, kind::NET_UDP, task)?;
    emit_record(kind::NET_UDP, &ev);
    Ok(())
}
