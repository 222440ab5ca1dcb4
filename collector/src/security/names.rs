//! Names of the numbers security events carry (ptrace requests, memfd,
//! mount and clone flags, BPF program types, nsfs files), so clients can
//! show `attach` rather than `16`.  Unknown values are left to the number.

/// A ptrace request's name (the ones the kernel program reports).
#[must_use]
pub fn ptrace_request(request: u32) -> &'static str {
    match request {
        0 => "traceme",
        4 => "poketext",
        5 => "pokedata",
        6 => "pokeuser",
        13 => "setregs",
        15 => "setfpregs",
        16 => "attach",
        0x4205 => "setregset",
        0x4206 => "seize",
        _ => "",
    }
}

/// Names of the bits set in `value`, from `table`; bits without a name
/// become `0x…`.
fn flags(value: u64, table: &[(u64, &str)]) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = value;
    for &(bit, name) in table {
        if value & bit == bit && bit != 0 {
            out.push(name.to_owned());
            rest &= !bit;
        }
    }
    if rest != 0 {
        out.push(format!("{rest:#x}"));
    }
    out
}

/// `MFD_*` flags.
#[must_use]
pub fn memfd_flags(value: u32) -> Vec<String> {
    flags(
        u64::from(value),
        &[
            (1, "cloexec"),
            (2, "allow_sealing"),
            (4, "hugetlb"),
            (8, "noexec_seal"),
            (0x10, "exec"),
        ],
    )
}

/// `MS_*` mount flags.
#[must_use]
pub fn mount_flags(value: u64) -> Vec<String> {
    flags(
        value,
        &[
            (1, "rdonly"),
            (2, "nosuid"),
            (4, "nodev"),
            (8, "noexec"),
            (16, "synchronous"),
            (32, "remount"),
            (64, "mandlock"),
            (128, "dirsync"),
            (256, "nosymfollow"),
            (1024, "noatime"),
            (2048, "nodiratime"),
            (4096, "bind"),
            (8192, "move"),
            (16384, "rec"),
            (32768, "silent"),
            (1 << 16, "posixacl"),
            (1 << 17, "unbindable"),
            (1 << 18, "private"),
            (1 << 19, "slave"),
            (1 << 20, "shared"),
            (1 << 21, "relatime"),
            (1 << 22, "kernmount"),
            (1 << 23, "i_version"),
            (1 << 24, "strictatime"),
            (1 << 25, "lazytime"),
            // MS_MGC_VAL in the top half: old callers still pass it.
            (0xc0ed_0000, "mgc_val"),
        ],
    )
}

/// The namespaces (and other `CLONE_*` flags) `unshare` asked for.
#[must_use]
pub fn clone_flags(value: u64) -> Vec<String> {
    flags(
        value,
        &[
            (0x0000_0080, "time"),
            (0x0000_0200, "vm"),
            (0x0000_0400, "fs"),
            (0x0000_0800, "files"),
            (0x0002_0000, "mnt"),
            (0x0200_0000, "cgroup"),
            (0x0400_0000, "uts"),
            (0x0800_0000, "ipc"),
            (0x1000_0000, "user"),
            (0x2000_0000, "pid"),
            (0x4000_0000, "net"),
            (0x0004_0000, "sysvsem"),
        ],
    )
}

/// `enum bpf_prog_type` names.
#[must_use]
pub fn bpf_prog_type(value: u32) -> &'static str {
    const NAMES: &[&str] = &[
        "unspec",
        "socket_filter",
        "kprobe",
        "sched_cls",
        "sched_act",
        "tracepoint",
        "xdp",
        "perf_event",
        "cgroup_skb",
        "cgroup_sock",
        "lwt_in",
        "lwt_out",
        "lwt_xmit",
        "sock_ops",
        "sk_skb",
        "cgroup_device",
        "sk_msg",
        "raw_tracepoint",
        "cgroup_sock_addr",
        "lwt_seg6local",
        "lirc_mode2",
        "sk_reuseport",
        "flow_dissector",
        "cgroup_sysctl",
        "raw_tracepoint_writable",
        "cgroup_sockopt",
        "tracing",
        "struct_ops",
        "ext",
        "lsm",
        "sk_lookup",
        "syscall",
        "netfilter",
    ];
    usize::try_from(value)
        .ok()
        .and_then(|i| NAMES.get(i))
        .copied()
        .unwrap_or_default()
}

/// An nsfs file name (`net:[4026531840]`) as the namespace's type and
/// inode; `None` for anything else (a pidfd is `anon_inode:[pidfd]`).
#[must_use]
pub fn ns_file(name: &str) -> Option<(&str, u64)> {
    let (kind, rest) = name.split_once(":[")?;
    let inode = rest.strip_suffix(']')?.parse().ok()?;
    matches!(
        kind,
        "cgroup"
            | "ipc"
            | "mnt"
            | "net"
            | "pid"
            | "pid_for_children"
            | "time"
            | "time_for_children"
            | "user"
            | "uts"
    )
    .then_some((kind, inode))
}

/// The namespace the inode `ino` is: its type from `nstype` (one
/// `CLONE_NEW*` bit), or when that is 0 from the links in /proc/`pid`/ns
/// (the caller is in it after a successful setns).  `None` when neither
/// says.
#[must_use]
pub fn ns_of(pid: u32, nstype: u32, ino: u64) -> Option<(String, u64)> {
    if nstype != 0 {
        let mut names = clone_flags(u64::from(nstype));
        return (names.len() == 1).then(|| (names.remove(0), ino));
    }
    let dir = std::fs::read_dir(format!("/proc/{pid}/ns")).ok()?;
    dir.filter_map(Result::ok).find_map(|entry| {
        let link = std::fs::read_link(entry.path()).ok()?;
        let (kind, inode) = ns_file(link.to_str()?)?;
        (inode == ino).then(|| (kind.to_owned(), inode))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_namespace_fd_is_named_from_nstype_or_the_callers_links() {
        assert_eq!(ns_of(1, 0x4000_0000, 7), Some(("net".to_owned(), 7)));
        let own = std::fs::read_link("/proc/self/ns/net").expect("ns link");
        let (_, ino) = ns_file(own.to_str().expect("utf-8")).expect("nsfs name");
        assert_eq!(
            ns_of(std::process::id(), 0, ino),
            Some(("net".to_owned(), ino))
        );
        assert_eq!(ns_of(std::process::id(), 0, 1), None);
    }

    #[test]
    fn flags_are_named_and_the_rest_kept_as_a_number() {
        assert_eq!(clone_flags(0x4000_0000 | 0x0002_0000), ["mnt", "net"]);
        assert_eq!(mount_flags(4096 | 16384), ["bind", "rec"]);
        assert_eq!(memfd_flags(1 | 0x100), ["cloexec", "0x100"]);
        assert_eq!(ptrace_request(16), "attach");
        assert_eq!(bpf_prog_type(1), "socket_filter");
        assert_eq!(bpf_prog_type(999), "");
        assert_eq!(ns_file("net:[4026531840]"), Some(("net", 4_026_531_840)));
        assert_eq!(ns_file("anon_inode:[pidfd]"), None);
    }
}
