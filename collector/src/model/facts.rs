//! What a process's last exec says about it beyond its identity: the file
//! actually mapped, its standard streams, login uid, capabilities,
//! namespaces and the environment variables that matter.  Filled from the
//! kernel's exec record in eBPF mode and from /proc when seeding and
//! polling, with the same meanings, so both modes agree.
//!
//! [`ExecFacts`] is immutable once built and shared (`Arc`) between a
//! process and the children it forks until they exec.
use std::{net::SocketAddr, sync::Arc};

use perch_common::{EnvSelect, env_hash};

/// The executable actually mapped (`bprm->file`, `/proc/PID/exe`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExeInfo {
    /// Absolute path as the kernel names the file (symlinks resolved),
    /// without a ` (deleted)` suffix; empty when unknown.
    pub path: String,
    /// The path was too deep or long; `path` holds its innermost names.
    pub path_truncated: bool,
    pub ino: u64,
    /// Device of the filesystem (`major:minor` split by the caller).
    pub dev_major: u32,
    pub dev_minor: u32,
    /// Link count: 0 means the file was deleted.
    pub nlink: u32,
    /// Type and permission bits (`st_mode`).
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    /// `statfs` magic of its filesystem.
    pub fs_magic: u64,
    /// An unlinked memfd (`memfd:NAME`).
    pub from_memfd: bool,
}

impl ExeInfo {
    #[must_use]
    pub fn deleted(&self) -> bool {
        !self.path.is_empty() && self.nlink == 0
    }

    #[must_use]
    pub fn setuid(&self) -> bool {
        self.mode & 0o4000 != 0
    }

    /// Setgid only counts with group execute (without it the bit means
    /// mandatory locking).
    #[must_use]
    pub fn setgid(&self) -> bool {
        self.mode & 0o2010 == 0o2010
    }

    /// The file's name (the path's last component).
    #[must_use]
    pub fn name(&self) -> &str {
        self.path.rsplit('/').next().unwrap_or_default()
    }
}

/// What one of fds 0..2 is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FdKind {
    /// Could not be read.
    #[default]
    Unknown,
    /// Not open.
    Closed,
    File,
    Directory,
    Pipe,
    /// A terminal (tty, pty, serial console).
    Tty,
    /// Another character device (`/dev/null`...).
    CharDevice,
    Tcp,
    Udp,
    Unix,
    /// Another socket (netlink, raw, ...).
    Socket,
    /// Anything else (anonymous inodes such as eventfd, block devices).
    Other,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FdFact {
    pub kind: FdKind,
    /// Inode number (the `N` of `pipe:[N]` and `socket:[N]`).
    pub inode: u64,
    /// TCP/UDP only.
    pub local: Option<SocketAddr>,
    pub peer: Option<SocketAddr>,
}

/// One environment variable that the configuration asks for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EnvVar {
    pub name: String,
    /// Capped at [`ENV_VALUE_MAX`] bytes; raw (control characters kept).
    pub value: String,
    pub value_truncated: bool,
}

/// Longest value kept of a matched environment variable (the contract's).
pub const ENV_VALUE_MAX: usize = perch_proto::limits::ENV_VALUE_BYTES;
/// Most variables kept per process.
pub const ENV_VARS_MAX: usize = 16;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExecFacts {
    pub exe: ExeInfo,
    pub stdio: [FdFact; 3],
    /// The audit login uid; `None` when unset (4294967295) or unknown.
    pub loginuid: Option<u32>,
    /// Name of `loginuid`; `None` when it has no passwd entry.
    pub login_user: Option<Arc<str>>,
    pub cap_effective: u64,
    /// Namespace inode numbers (`/proc/PID/ns/{mnt,pid}`); 0 unknown.
    pub mnt_ns: u32,
    pub pid_ns: u32,
    /// The configured variables found, in environment order.
    pub env: Vec<EnvVar>,
    /// Only the first `ENV_MAX` bytes of the environment were scanned.
    pub env_truncated: bool,
}

/// The environment variables perchd reports: exact names, or prefixes
/// written with a trailing `*` (`LD_*`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvFilter {
    patterns: Arc<[Pattern]>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Pattern {
    name: Box<[u8]>,
    prefix: bool,
}

/// Variables that change what a program loads or records: the dynamic
/// loader's, shell history and start-up hooks, and where a session came from.
pub const DEFAULT_ENV: &[&str] = &[
    "LD_PRELOAD",
    "LD_AUDIT",
    "LD_LIBRARY_PATH",
    "GLIBC_TUNABLES",
    "HISTFILE",
    "HISTCONTROL",
    "PROMPT_COMMAND",
    "BASH_ENV",
    "SSH_CONNECTION",
    "SUDO_USER",
];

impl Default for EnvFilter {
    fn default() -> Self {
        Self::new(DEFAULT_ENV).unwrap_or_else(|_| Self {
            patterns: Arc::from([]),
        })
    }
}

impl EnvFilter {
    /// Checks every pattern: a name of letters, digits and `_` not starting
    /// with a digit, optionally ending in `*`; at most 32 patterns of at
    /// most 64 bytes.  The error says which pattern and why.
    pub fn new<S: AsRef<str>>(patterns: &[S]) -> Result<Self, String> {
        if patterns.len() > 32 {
            return Err(format!("at most 32 variables (got {})", patterns.len()));
        }
        let mut out = Vec::with_capacity(patterns.len());
        for p in patterns {
            let p = p.as_ref();
            let (name, prefix) = match p.strip_suffix('*') {
                Some(n) => (n, true),
                None => (p, false),
            };
            let valid = !name.is_empty()
                && name.len() <= 64
                && !name.starts_with(|c: char| c.is_ascii_digit())
                && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
            if !valid {
                return Err(format!(
                    "{p:?} is not a variable name: use letters, digits and _ (not first), \
                     at most 64, optionally ending in * for a prefix"
                ));
            }
            out.push(Pattern {
                name: name.as_bytes().into(),
                prefix,
            });
        }
        Ok(Self {
            patterns: out.into(),
        })
    }

    /// The kernel's first cut (see perch-common's `EnvSelect`): the hash
    /// bits of every pattern's first bytes (`NAME=` for a name, the prefix
    /// for `NA*`), over as many bytes as the shortest one has (at most 4).
    #[must_use]
    pub fn kernel_select(&self) -> EnvSelect {
        let key = |p: &Pattern| {
            let mut k = p.name.to_vec();
            if !p.prefix {
                k.push(b'=');
            }
            k
        };
        let key_len = self
            .patterns
            .iter()
            .map(|p| key(p).len())
            .min()
            .unwrap_or(0)
            .min(4);
        let mut select = EnvSelect {
            key_mask: if key_len == 4 {
                u32::MAX
            } else {
                (1u32 << (8 * key_len)) - 1
            },
            ..EnvSelect::default()
        };
        for p in self.patterns.iter() {
            let mut bytes = [0u8; 4];
            let k = key(p);
            bytes[..key_len].copy_from_slice(&k[..key_len]);
            let bit = env_hash(u32::from_le_bytes(bytes), select.key_mask) as usize;
            select.bits[bit / 64] |= 1 << (bit % 64);
        }
        select
    }

    fn matches(&self, name: &[u8]) -> bool {
        self.patterns.iter().any(|p| {
            if p.prefix {
                name.starts_with(&p.name)
            } else {
                *name == *p.name
            }
        })
    }

    /// The wanted variables of a NUL-separated environment block (as
    /// `/proc/PID/environ` and the exec record hold it).  When `cut`, the
    /// block's last entry was cut off by the scan's limit and is skipped,
    /// as the kernel program skips it.
    #[must_use]
    pub fn scan(&self, block: &[u8], cut: bool) -> Vec<EnvVar> {
        let mut out = Vec::new();
        if self.patterns.is_empty() {
            return out;
        }
        let mut entries = block.split(|&b| b == 0).peekable();
        while let Some(entry) = entries.next() {
            if cut && entries.peek().is_none() {
                break;
            }
            let Some(eq) = entry.iter().position(|&b| b == b'=') else {
                continue;
            };
            let (name, value) = (&entry[..eq], &entry[eq + 1..]);
            if !self.matches(name) {
                continue;
            }
            let keep = value.len().min(ENV_VALUE_MAX);
            out.push(EnvVar {
                name: String::from_utf8_lossy(name).into_owned(),
                value: String::from_utf8_lossy(&value[..keep]).into_owned(),
                value_truncated: keep < value.len(),
            });
            if out.len() == ENV_VARS_MAX {
                break;
            }
        }
        out
    }
}

/// Name of a filesystem by its `statfs` magic, for the ones that matter
/// to where a binary came from; `""` for others.
#[must_use]
pub fn fs_type(magic: u64) -> &'static str {
    match magic {
        0x0102_1994 => "tmpfs",
        0x794c_7630 => "overlay",
        0xEF53 => "ext4",
        0x5846_5342 => "xfs",
        0x9123_683E => "btrfs",
        0x7371_7368 => "squashfs",
        0xE0F5_E1E2 => "erofs",
        0x9584_58f6 => "hugetlbfs",
        0x8584_58f6 => "ramfs",
        0x6573_5546 => "fuse",
        0x6969 => "nfs",
        0x2fc1_2fc1 => "zfs",
        0x0904_1934 => "anon_inode",
        0x9fa0 => "proc",
        _ => "",
    }
}

/// Character devices that are terminals, by major number: VTs and serial
/// (4), /dev/tty and the console (5), legacy ptys (3), pty slaves
/// (136..=143), USB and ARM serial (188, 204), hypervisor consoles (229).
#[must_use]
pub fn is_tty_major(major: u32) -> bool {
    matches!(major, 3 | 4 | 5 | 136..=143 | 188 | 204 | 229)
}

/// The kind of an fd from its inode's mode (and, for character devices,
/// the device's major number).  Sockets are classified by the caller.
#[must_use]
pub fn fd_kind_of_mode(mode: u32, rdev_major: u32) -> FdKind {
    match mode & 0o170_000 {
        0o100_000 => FdKind::File,
        0o040_000 => FdKind::Directory,
        0o010_000 => FdKind::Pipe,
        0o020_000 if is_tty_major(rdev_major) => FdKind::Tty,
        0o020_000 => FdKind::CharDevice,
        0o140_000 => FdKind::Socket,
        _ => FdKind::Other,
    }
}

#[cfg(test)]
#[path = "facts_tests.rs"]
mod tests;
