//! Turns ring-buffer records (perch-common's `#[repr(C)]` structs) into
//! model events.  Records are validated by size; a malformed one is skipped
//! and counted by the caller, never trusted.
use std::{
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    sync::Arc,
};

use perch_common::{
    ARGV_MAX, Creds, DATA_MAX, ENV_MAX, EXE_PATH_MAX, EXEC_ARGV_TRUNCATED, EXEC_ENV_TRUNCATED,
    EXEC_EXE_PATH_TRUNCATED, EXEC_EXE_PSEUDO, EXEC_EXE_UNKNOWN, EXEC_FIXED_LEN, EXEC_LOGINUID,
    EXIT_OOM_VICTIM, ExeFile, ExecEvent, ExitEvent, FILENAME_MAX, FdInfo, ForkEvent, Header,
    NET_ACCEPT, NET_COUNTERS, NET_TASK, NET_TCP_CLOSE, NET_TCP_CONNECT, NET_TCP_ESTABLISHED,
    NET_TCP_LISTEN, NET_UDP_BIND, NET_UDP_CONNECT, NET_UDP_SEND, NetEvent, PF_KTHREAD, RenameEvent,
    kind,
};

use crate::security::watch::WatchSet;
use crate::{
    model::{
        Argv, EnvFilter, ExeInfo, ExecFacts, ExitInfo, FdFact, FdKind, ModelEvent, ProcKey,
        ProcessInfo, Source, fd_kind_of_mode,
    },
    net::{Counters, NetOp, NetRecord, Proto},
};

// One argv cap on every path: what the kernel programs capture is what
// the contract allows.
const _: () = assert!(ARGV_MAX == perch_proto::limits::ARGV_BYTES);

/// Decoded record, before enrichment (user names, cgroup paths).
pub type RawEvent = ModelEvent;

/// Reads a `T` from the start of `bytes` if it is long enough.
pub(super) fn read<T: Copy>(bytes: &[u8]) -> Option<T> {
    (bytes.len() >= size_of::<T>())
        // SAFETY: length checked; T is a #[repr(C)] plain-data record and
        // read_unaligned does not need alignment.
        .then(|| unsafe { std::ptr::read_unaligned(bytes.as_ptr().cast::<T>()) })
}

/// A NUL-terminated C string in a fixed buffer, lossily as UTF-8.
pub(super) fn cstr(buf: &[u8]) -> String {
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

/// Decodes records with perchd's settings (which environment variables to
/// keep, which paths are watched).
#[derive(Clone, Debug, Default)]
pub struct Decoder {
    env: EnvFilter,
    watch: Arc<WatchSet>,
}

impl Decoder {
    #[must_use]
    pub fn new(env: EnvFilter, watch: Arc<WatchSet>) -> Self {
        Self { env, watch }
    }

    /// Decodes one record, or `None` when it is malformed or a security
    /// record perchd filters out (see [`decode_all`](Self::decode_all)).
    #[must_use]
    pub fn decode(&self, bytes: &[u8]) -> Option<RawEvent> {
        self.decode_all(bytes).ok().flatten()
    }

    /// Decodes one record: `Err` when it is malformed, `Ok(None)` when it
    /// is a security record whose path perchd found unwatched.
    pub fn decode_all(
        &self,
        bytes: &[u8],
    ) -> Result<Option<RawEvent>, super::decode_sec::Malformed> {
        let header: Header = read(bytes).ok_or(super::decode_sec::Malformed)?;
        if (kind::PTRACE..kind::SLOTS).contains(&header.kind) {
            return super::decode_sec::security(&header, bytes, &self.watch);
        }
        self.process(&header, bytes)
            .map(Some)
            .ok_or(super::decode_sec::Malformed)
    }

    /// Process lifecycle records.
    fn process(&self, header: &Header, bytes: &[u8]) -> Option<RawEvent> {
        let header = *header;
        match header.kind {
            kind::EXEC => self.exec(&header, bytes),
            kind::FORK => {
                let ev: ForkEvent = read(bytes)?;
                let mut child = process(&header, &ev.creds);
                child.kernel_thread = ev.task_flags & PF_KTHREAD != 0;
                Some(ModelEvent::Fork {
                    time_ns: header.ktime_ns,
                    child,
                })
            }
            kind::EXIT => {
                let ev: ExitEvent = read(bytes)?;
                Some(ModelEvent::Exit {
                    time_ns: header.ktime_ns,
                    key: key(&header),
                    exit: ExitInfo {
                        oom_killed: ev.flags & EXIT_OOM_VICTIM != 0,
                        ..ExitInfo::from_wait_status(header.ktime_ns, ev.exit_code)
                    },
                })
            }
            kind::RENAME => {
                let ev: RenameEvent = read(bytes)?;
                Some(ModelEvent::Rename {
                    time_ns: header.ktime_ns,
                    key: key(&header),
                    comm: cstr(&ev.comm),
                })
            }
            kind::NET_TCP | kind::NET_ACCEPT | kind::NET_UDP => net(&header, bytes),
            _ => None,
        }
    }

    fn exec(&self, header: &Header, bytes: &[u8]) -> Option<RawEvent> {
        // The fixed part, then the tail's segments actually sent.
        let ev: ExecEvent = read(bytes)?;
        let lens = [
            (ev.filename_len as usize).min(FILENAME_MAX),
            (ev.exe_len as usize).min(EXE_PATH_MAX),
            (ev.env_len as usize).min(ENV_MAX),
            (ev.argv_len as usize).min(ARGV_MAX),
        ];
        let tail = bytes.get(EXEC_FIXED_LEN..)?;
        if lens.iter().sum::<usize>() > tail.len().min(DATA_MAX) {
            return None;
        }
        let (filename, rest) = tail.split_at(lens[0]);
        let (exe, rest) = rest.split_at(lens[1]);
        let (env, rest) = rest.split_at(lens[2]);
        let argv = &rest[..lens[3]];

        let mut p = process(header, &ev.creds);
        p.exe = cstr(filename);
        let (argv, cut) = Argv::from_cmdline(argv);
        p.argv = argv;
        p.argv_truncated = cut || ev.flags & EXEC_ARGV_TRUNCATED != 0;
        let exe = exe_info(&ev.exe, exe, ev.flags);
        p.facts = Some(Arc::new(ExecFacts {
            exe,
            stdio: ev.stdio.map(|fd| fd_fact(&fd)),
            loginuid: (ev.flags & EXEC_LOGINUID != 0 && ev.loginuid != u32::MAX)
                .then_some(ev.loginuid),
            login_user: None,
            cap_effective: ev.cap_effective,
            mnt_ns: ev.mnt_ns,
            pid_ns: ev.pid_ns,
            // The kernel sends whole entries only.
            env: self.env.scan(env, false),
            env_truncated: ev.flags & EXEC_ENV_TRUNCATED != 0,
        }));
        Some(ModelEvent::Exec {
            time_ns: header.ktime_ns,
            process: p,
            old_pid: ev.old_pid,
        })
    }
}

pub(super) fn key(h: &Header) -> ProcKey {
    ProcKey {
        pid: h.tgid,
        start_ns: h.start_time_ns,
    }
}

/// The kernel's `dev_t`: major in the top 12 bits, minor in the low 20.
fn dev_split(dev: u32) -> (u32, u32) {
    (dev >> 20, dev & 0xf_ffff)
}

/// The mapped file: its inode facts and its path from the names the
/// kernel sent leaf first.
fn exe_info(f: &ExeFile, names: &[u8], flags: u32) -> ExeInfo {
    if flags & EXEC_EXE_UNKNOWN != 0 {
        return ExeInfo::default();
    }
    let names = names.strip_suffix(&[0]).unwrap_or(names);
    let mut path = String::with_capacity(names.len() + 1);
    for name in names.rsplit(|&b| b == 0) {
        path.push('/');
        path.push_str(&String::from_utf8_lossy(name));
    }
    let (dev_major, dev_minor) = dev_split(f.dev);
    let from_memfd = flags & EXEC_EXE_PSEUDO != 0 && path.starts_with("/memfd:");
    ExeInfo {
        path,
        path_truncated: flags & EXEC_EXE_PATH_TRUNCATED != 0,
        ino: f.ino,
        dev_major,
        dev_minor,
        nlink: f.nlink,
        mode: f.mode,
        uid: f.uid,
        gid: f.gid,
        fs_magic: f.fs_magic,
        from_memfd,
    }
}

/// A network record; `None` for an unknown operation, protocol or family.
fn net(header: &Header, bytes: &[u8]) -> Option<RawEvent> {
    let ev: NetEvent = read(bytes)?;
    let op = match ev.op {
        NET_TCP_CONNECT => NetOp::Connect,
        NET_TCP_ESTABLISHED => NetOp::Established,
        NET_TCP_LISTEN => NetOp::Listen,
        NET_TCP_CLOSE => NetOp::Close,
        NET_ACCEPT => NetOp::Accept,
        NET_UDP_CONNECT => NetOp::UdpConnect,
        NET_UDP_BIND => NetOp::UdpBind,
        NET_UDP_SEND => NetOp::UdpSend,
        _ => return None,
    };
    let proto = match ev.protocol {
        IPPROTO_TCP => Proto::Tcp,
        IPPROTO_UDP => Proto::Udp,
        _ => return None,
    };
    let ip = |a: &[u8; 16]| -> Option<IpAddr> {
        match ev.family {
            AF_INET => Some(Ipv4Addr::new(a[0], a[1], a[2], a[3]).into()),
            AF_INET6 => Some(Ipv6Addr::from(*a).into()),
            _ => None,
        }
    };
    Some(ModelEvent::NetRecord {
        time_ns: header.ktime_ns,
        record: NetRecord {
            op,
            task: (ev.flags & NET_TASK != 0).then(|| key(header)),
            sk: ev.sk,
            cookie: ev.cookie,
            ino: ev.ino,
            proto,
            local: SocketAddr::new(ip(&ev.local_addr)?, ev.local_port),
            remote: SocketAddr::new(ip(&ev.remote_addr)?, ev.remote_port),
            old_state: ev.old_state,
            new_state: ev.new_state,
            counters: (ev.flags & NET_COUNTERS != 0).then_some(Counters {
                bytes_tx: ev.bytes_sent,
                bytes_rx: ev.bytes_received,
                packets_tx: u64::from(ev.segs_out),
                packets_rx: u64::from(ev.segs_in),
            }),
            netns: ev.netns,
        },
    })
}

const AF_UNIX: u16 = 1;
const AF_INET: u16 = 2;
const AF_INET6: u16 = 10;
const IPPROTO_TCP: u16 = 6;
const IPPROTO_UDP: u16 = 17;

pub(super) fn fd_fact(fd: &FdInfo) -> FdFact {
    if fd.mode == 0 {
        return FdFact {
            kind: FdKind::Closed,
            ..FdFact::default()
        };
    }
    let mut kind = fd_kind_of_mode(fd.mode, dev_split(fd.rdev).0);
    let (mut local, mut peer) = (None, None);
    if kind == FdKind::Socket {
        let ip = |a: &[u8; 16]| -> Option<IpAddr> {
            match fd.family {
                AF_INET => Some(Ipv4Addr::new(a[0], a[1], a[2], a[3]).into()),
                AF_INET6 => Some(Ipv6Addr::from(*a).into()),
                _ => None,
            }
        };
        kind = match (fd.family, fd.protocol) {
            (AF_UNIX, _) => FdKind::Unix,
            (AF_INET | AF_INET6, IPPROTO_TCP) => FdKind::Tcp,
            (AF_INET | AF_INET6, IPPROTO_UDP) => FdKind::Udp,
            _ => FdKind::Socket,
        };
        if matches!(kind, FdKind::Tcp | FdKind::Udp) {
            local = ip(&fd.local_addr).map(|a| SocketAddr::new(a, fd.local_port));
            peer = ip(&fd.peer_addr)
                .filter(|_| fd.peer_port != 0)
                .map(|a| SocketAddr::new(a, fd.peer_port));
        }
    }
    FdFact {
        kind,
        inode: fd.ino,
        local,
        peer,
    }
}

fn process(h: &Header, c: &Creds) -> ProcessInfo {
    ProcessInfo {
        key: key(h),
        ppid: h.ppid,
        parent_start_ns: h.parent_start_time_ns,
        pgid: c.pgid,
        sid: c.sid,
        uid: c.uid,
        euid: c.euid,
        gid: c.gid,
        egid: c.egid,
        comm: cstr(&c.comm),
        tty: tty_name(&cstr(&c.tty)),
        cgroup_id: c.cgroup_id,
        source: Source::Ebpf,
        threads: 1,
        ..ProcessInfo::default()
    }
}

/// The kernel names pseudo-terminals `pts3`; /proc and users say `pts/3`.
fn tty_name(raw: &str) -> String {
    match raw.strip_prefix("pts") {
        Some(n) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => format!("pts/{n}"),
        _ => raw.to_owned(),
    }
}

#[cfg(test)]
#[path = "decode_tests.rs"]
mod tests;
