//! Which process holds each socket: the `socket:[INODE]` links in
//! `/proc/PID/fd`.  A full scan reads every fd of every process, so perchd
//! runs it at start-up, and afterwards only when `sock_diag` lists sockets
//! no kernel record or earlier scan attributed.
use std::{collections::HashMap, path::Path};

/// Socket inode → the pid holding it (the first found when several
/// processes share it, as after fork: the lowest pid, usually the parent).
#[must_use]
pub fn scan(proc_root: &Path) -> HashMap<u64, u32> {
    let mut owners: HashMap<u64, u32> = HashMap::new();
    let Ok(dir) = std::fs::read_dir(proc_root) else {
        return owners;
    };
    let mut pids: Vec<u32> = dir
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    pids.sort_unstable();
    for pid in pids {
        // Processes vanish at any moment: an unreadable one is skipped.
        let Ok(fds) = std::fs::read_dir(proc_root.join(pid.to_string()).join("fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            if let Ok(target) = std::fs::read_link(fd.path())
                && let Some(ino) = socket_inode(&target.to_string_lossy())
            {
                owners.entry(ino).or_insert(pid);
            }
        }
    }
    owners
}

/// `socket:[12345]` → 12345.
fn socket_inode(link: &str) -> Option<u64> {
    link.strip_prefix("socket:[")?
        .strip_suffix(']')?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use std::os::fd::AsFd as _;

    use super::*;

    #[test]
    fn links_parse() {
        assert_eq!(socket_inode("socket:[4026]"), Some(4026));
        assert_eq!(socket_inode("pipe:[4026]"), None);
        assert_eq!(socket_inode("socket:[x]"), None);
    }

    #[test]
    fn finds_our_own_socket() {
        let s = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
        let ino = nix::sys::stat::fstat(s.as_fd()).expect("fstat").st_ino;
        let owners = scan(Path::new("/proc"));
        assert_eq!(owners.get(&ino), Some(&std::process::id()));
    }
}
