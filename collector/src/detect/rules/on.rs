//! What a rule applies to (`on:`): exec (the default), a kind of network
//! change, a security syscall, or an OOM kill.  The detector keeps an
//! index by kind, so an event runs only the rules written for its kind.
use serde::Deserialize;

/// One kind of event a rule can apply to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum On {
    Exec,
    /// An outbound connection.
    Connect,
    /// An inbound connection, on the process that accepted it.
    Accept,
    /// A new listening socket.
    Listen,
    /// A process the kernel's OOM killer chose.
    Oom,
    Ptrace,
    ProcessVmWritev,
    MemfdCreate,
    Setid,
    StdioSocketDup,
    /// Opened for writing under a watched path.
    FileWrite,
    /// Opened for reading under a path watched for reads (secrets).
    FileRead,
    FileRename,
    FileUnlink,
    FileTruncate,
    FileChmod,
    ModuleLoad,
    Mount,
    Unshare,
    Setns,
    BpfProgLoad,
    CommRename,
    /// `chroot` into a new root directory.
    Chroot,
    /// Every security kind above (from `ptrace` on).
    Security,
}

impl On {
    /// Every kind an event can have (not `Security`, which stands for a
    /// group), in index order.
    pub const EVENT_KINDS: [Self; 23] = [
        Self::Exec,
        Self::Connect,
        Self::Accept,
        Self::Listen,
        Self::Oom,
        Self::Ptrace,
        Self::ProcessVmWritev,
        Self::MemfdCreate,
        Self::Setid,
        Self::StdioSocketDup,
        Self::FileWrite,
        Self::FileRead,
        Self::FileRename,
        Self::FileUnlink,
        Self::FileTruncate,
        Self::FileChmod,
        Self::ModuleLoad,
        Self::Mount,
        Self::Unshare,
        Self::Setns,
        Self::BpfProgLoad,
        Self::CommRename,
        Self::Chroot,
    ];

    /// The position of this kind in the detector's index.
    #[must_use]
    pub fn index(self) -> usize {
        self as usize
    }

    /// Whether a rule declared `on: self` applies to events of `kind`.
    #[must_use]
    pub fn covers(self, kind: Self) -> bool {
        self == kind || (self == Self::Security && kind >= Self::Ptrace && kind != Self::Security)
    }

    /// The name `event.kind` gives it in conditions.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Exec => "exec",
            Self::Connect => "connect",
            Self::Accept => "accept",
            Self::Listen => "listen",
            Self::Oom => "oom",
            Self::Ptrace => "ptrace",
            Self::ProcessVmWritev => "process_vm_writev",
            Self::MemfdCreate => "memfd_create",
            Self::Setid => "setid",
            Self::StdioSocketDup => "stdio_socket_dup",
            Self::FileWrite => "file_write",
            Self::FileRead => "file_read",
            Self::FileRename => "file_rename",
            Self::FileUnlink => "file_unlink",
            Self::FileTruncate => "file_truncate",
            Self::FileChmod => "file_chmod",
            Self::ModuleLoad => "module_load",
            Self::Mount => "mount",
            Self::Unshare => "unshare",
            Self::Setns => "setns",
            Self::BpfProgLoad => "bpf_prog_load",
            Self::CommRename => "comm_rename",
            Self::Chroot => "chroot",
            Self::Security => "security",
        }
    }
}

/// `on: exec` or `on: [file_write, file_rename]` in a rule file (names
/// are checked by [`OnDoc::kinds`], so the error can list them).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum OnDoc {
    One(String),
    Many(Vec<String>),
}

impl OnDoc {
    /// The kinds named, or an error naming the allowed ones.
    pub fn kinds(self) -> Result<Vec<On>, String> {
        let names = match self {
            Self::One(k) => vec![k],
            Self::Many(v) => v,
        };
        let all = || {
            On::EVENT_KINDS
                .iter()
                .chain([&On::Security])
                .map(|k| k.name())
                .collect::<Vec<_>>()
                .join(", ")
        };
        if names.is_empty() {
            return Err(format!("name at least one event kind (one of: {})", all()));
        }
        names
            .iter()
            .map(|n| {
                On::EVENT_KINDS
                    .iter()
                    .chain([&On::Security])
                    .find(|k| k.name() == n.trim())
                    .copied()
                    .ok_or_else(|| format!("unknown event kind {n:?} (one of: {})", all()))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn security_covers_every_syscall_kind_and_nothing_else() {
        let covered: Vec<On> = On::EVENT_KINDS
            .into_iter()
            .filter(|k| On::Security.covers(*k))
            .collect();
        assert_eq!(covered.len(), 18);
        assert!(!On::Security.covers(On::Exec) && !On::Security.covers(On::Oom));
        for (i, k) in On::EVENT_KINDS.iter().enumerate() {
            assert_eq!(k.index(), i);
        }
    }

    #[test]
    fn names_parse_and_unknown_ones_are_refused_with_the_list() {
        let one = OnDoc::One("file_write".into()).kinds().unwrap();
        assert_eq!(one, [On::FileWrite]);
        let many = OnDoc::Many(vec!["security".into(), "listen".into()]);
        assert_eq!(many.kinds().unwrap(), [On::Security, On::Listen]);
        let e = OnDoc::One("exce".into()).kinds().unwrap_err();
        assert!(
            e.starts_with("unknown event kind \"exce\" (one of: exec, connect"),
            "{e}"
        );
        assert!(OnDoc::Many(vec![]).kinds().is_err());
    }
}
