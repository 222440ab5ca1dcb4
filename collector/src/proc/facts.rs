//! The exec facts (see `model::ExecFacts`) of a process read from /proc,
//! with the kernel program's meanings: the mapped file from
//! `/proc/PID/exe` (its stat and statfs, so a deleted file has 0 links in
//! both modes), fds 0..2 from `fd/N` and the process's socket tables,
//! `loginuid`, `ns/{mnt,pid}`, and the first `ENV_MAX` bytes of `environ`.
//! Everything is opened relative to the process's /proc directory fd.
use std::{
    fs::File,
    io::Read as _,
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    os::fd::OwnedFd,
};

use nix::{
    fcntl::{AtFlags, OFlag, openat, readlinkat},
    sys::{
        stat::{FileStat, Mode, fstat, fstatat, major, minor},
        statfs::fstatfs,
    },
};
use perch_common::{ENV_MAX, ENV_VARS_SCAN};

use super::stat::parse_stat;
use crate::{
    clock::ticks_to_ns,
    model::{EnvFilter, ExeInfo, ExecFacts, FdFact, FdKind, ProcKey, fd_kind_of_mode},
};

/// Reads the facts of the process whose /proc directory is `dir`;
/// `cap_effective` comes from the status file the caller already read.
pub(crate) fn read(dir: &OwnedFd, env: &EnvFilter, cap_effective: u64) -> ExecFacts {
    let (env_block, env_truncated) = environ(dir);
    ExecFacts {
        exe: exe(dir),
        stdio: [0, 1, 2].map(|fd| stdio_fd(dir, fd)),
        loginuid: small_file(dir, "loginuid")
            .and_then(|s| s.trim().parse::<u32>().ok())
            .filter(|&uid| uid != u32::MAX),
        login_user: None,
        cap_effective,
        mnt_ns: ns_inode(dir, "ns/mnt"),
        pid_ns: ns_inode(dir, "ns/pid"),
        env: env.scan(&env_block, env_truncated),
        env_truncated,
    }
}

/// The link count of the file process `key` runs, read again (a binary
/// deleted after its exec drops to 0); `None` when the process is gone, is
/// another one by now (pid reused), or has no executable.
#[must_use]
pub fn exe_links(proc_root: &std::path::Path, key: ProcKey) -> Option<u32> {
    let dir = nix::fcntl::open(
        &proc_root.join(key.pid.to_string()),
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .ok()?;
    let stat = small_file(&dir, "stat")?;
    let (fields, _) = parse_stat(stat.as_bytes())?;
    if !key.same_as(&ProcKey {
        pid: key.pid,
        start_ns: ticks_to_ns(fields.starttime),
    }) {
        return None;
    }
    let st = fstatat(&dir, "exe", AtFlags::empty()).ok()?;
    Some(u32::try_from(st.st_nlink).unwrap_or(u32::MAX))
}

/// `CapEff` and the effective gid from /proc/PID/status.
pub(crate) fn parse_status(buf: &[u8]) -> (u64, u32) {
    let mut cap = 0;
    let mut egid = 0;
    for line in buf.split(|&b| b == b'\n') {
        if let Some(v) = line.strip_prefix(b"CapEff:") {
            cap = std::str::from_utf8(v)
                .ok()
                .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
                .unwrap_or(0);
        } else if let Some(v) = line.strip_prefix(b"Gid:") {
            egid = std::str::from_utf8(v)
                .ok()
                .and_then(|v| v.split_whitespace().nth(1)?.parse().ok())
                .unwrap_or(0);
        }
    }
    (cap, egid)
}

fn exe(dir: &OwnedFd) -> ExeInfo {
    let Ok(link) = readlinkat(dir, "exe") else {
        return ExeInfo::default();
    };
    let link = link.to_string_lossy();
    let path = link.strip_suffix(" (deleted)").unwrap_or(&link).to_owned();
    let from_memfd = path.starts_with("/memfd:");
    let mut info = ExeInfo {
        path,
        from_memfd,
        // Without a stat we only know what the link says.
        nlink: u32::from(!link.ends_with(" (deleted)")),
        ..ExeInfo::default()
    };
    // The magic link opens the mapped file itself, even when deleted.
    if let Ok(fd) = openat(dir, "exe", OFlag::O_PATH | OFlag::O_CLOEXEC, Mode::empty())
        && let Ok(st) = fstat(&fd)
    {
        info.ino = st.st_ino;
        info.nlink = u32::try_from(st.st_nlink).unwrap_or(u32::MAX);
        info.mode = st.st_mode;
        info.uid = st.st_uid;
        info.gid = st.st_gid;
        info.dev_major = u32::try_from(major(st.st_dev)).unwrap_or(0);
        info.dev_minor = u32::try_from(minor(st.st_dev)).unwrap_or(0);
        // f_type is a signed word on some ABIs; magics are 32-bit patterns.
        #[allow(
            clippy::cast_sign_loss,
            clippy::useless_conversion,
            reason = "statfs magic is a bit pattern"
        )]
        if let Ok(fs) = fstatfs(&fd) {
            info.fs_magic = (fs.filesystem_type().0 as u64) & 0xffff_ffff;
        }
    }
    info
}

fn stdio_fd(dir: &OwnedFd, fd: u32) -> FdFact {
    let name = format!("fd/{fd}");
    let target = match readlinkat(dir, name.as_str()) {
        Ok(t) => t.to_string_lossy().into_owned(),
        Err(nix::errno::Errno::ENOENT) => {
            return FdFact {
                kind: FdKind::Closed,
                ..FdFact::default()
            };
        }
        Err(_) => return FdFact::default(),
    };
    let Ok(st) = fstatat(dir, name.as_str(), AtFlags::empty()) else {
        return FdFact::default();
    };
    let mut fact = FdFact {
        kind: fd_kind_of_mode(st.st_mode, rdev_major(&st)),
        inode: st.st_ino,
        ..FdFact::default()
    };
    if fact.kind == FdKind::Socket && target.starts_with("socket:") {
        socket(dir, &mut fact);
    }
    fact
}

fn rdev_major(st: &FileStat) -> u32 {
    u32::try_from(major(st.st_rdev)).unwrap_or(0)
}

/// Finds the socket `fact.inode` in the process's network namespace's
/// tables: TCP and UDP (v4, v6) with addresses, or Unix.
fn socket(dir: &OwnedFd, fact: &mut FdFact) {
    let want = fact.inode.to_string();
    for (table, kind) in [
        ("net/tcp", FdKind::Tcp),
        ("net/tcp6", FdKind::Tcp),
        ("net/udp", FdKind::Udp),
        ("net/udp6", FdKind::Udp),
    ] {
        let Some(text) = small_file(dir, table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.get(9) == Some(&want.as_str()) {
                fact.kind = kind;
                fact.local = f.get(1).and_then(|a| hex_addr(a));
                fact.peer = f.get(2).and_then(|a| hex_addr(a)).filter(|a| a.port() != 0);
                return;
            }
        }
    }
    if let Some(text) = small_file(dir, "net/unix")
        && text
            .lines()
            .skip(1)
            .any(|l| l.split_whitespace().nth(6) == Some(want.as_str()))
    {
        fact.kind = FdKind::Unix;
    }
}

/// `0100007F:1F90` (IPv4) or 32 hex digits and a port (IPv6), as the
/// kernel prints them: each 32-bit word in host byte order.
fn hex_addr(s: &str) -> Option<SocketAddr> {
    let (addr, port) = s.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let word = |i: usize| -> Option<[u8; 4]> {
        Some(
            u32::from_str_radix(addr.get(i * 8..i * 8 + 8)?, 16)
                .ok()?
                .to_ne_bytes(),
        )
    };
    let ip: IpAddr = match addr.len() {
        8 => Ipv4Addr::from(word(0)?).into(),
        32 => {
            let mut b = [0u8; 16];
            for i in 0..4 {
                b[i * 4..i * 4 + 4].copy_from_slice(&word(i)?);
            }
            Ipv6Addr::from(b).into()
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

/// `mnt:[4026531841]` → 4026531841.
fn ns_inode(dir: &OwnedFd, name: &str) -> u32 {
    readlinkat(dir, name)
        .ok()
        .and_then(|t| {
            let t = t.to_string_lossy();
            t.split_once('[')?.1.strip_suffix(']')?.parse().ok()
        })
        .unwrap_or(0)
}

/// The first `ENV_MAX` bytes of `environ`, and whether there were more.
fn environ(dir: &OwnedFd) -> (Vec<u8>, bool) {
    let Ok(fd) = openat(
        dir,
        "environ",
        OFlag::O_RDONLY | OFlag::O_CLOEXEC,
        Mode::empty(),
    ) else {
        return (Vec::new(), false);
    };
    let mut buf = Vec::with_capacity(ENV_MAX + 1);
    // ENV_MAX + 1 bytes tell a cut environment from one of exactly ENV_MAX.
    let limit = u64::try_from(ENV_MAX + 1).unwrap_or(u64::MAX);
    if File::from(fd).take(limit).read_to_end(&mut buf).is_err() {
        return (Vec::new(), false);
    }
    let mut cut = buf.len() > ENV_MAX;
    buf.truncate(ENV_MAX);
    // The kernel program looks at the first ENV_VARS_SCAN entries only.
    if let Some((end, _)) = buf
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == 0)
        .nth(ENV_VARS_SCAN - 1)
        && end + 1 < buf.len()
    {
        buf.truncate(end + 1);
        cut = true;
    }
    (buf, cut)
}

/// A small text file of the process (loginuid, net tables).
fn small_file(dir: &OwnedFd, name: &str) -> Option<String> {
    let fd = openat(dir, name, OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty()).ok()?;
    let mut s = String::new();
    File::from(fd).read_to_string(&mut s).ok()?;
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_table_addresses() {
        let a = hex_addr("0100007F:1F90").expect("v4");
        assert_eq!(a, "127.0.0.1:8080".parse().expect("addr"));
        let a = hex_addr("00000000000000000000000001000000:0016").expect("v6");
        assert_eq!(a, "[::1]:22".parse().expect("addr"));
        assert!(hex_addr("zz:1").is_none());
    }

    #[test]
    fn status_extras() {
        let (cap, egid) = parse_status(b"Name:\tx\nGid:\t1\t2\t3\t4\nCapEff:\t000001ffffffffff\n");
        assert_eq!((cap, egid), (0x01ff_ffff_ffff, 2));
    }
}
