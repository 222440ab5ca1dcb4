//! The console's copy of each collector's process model: one [`Proc`] per
//! process in a slab, indexed by [`ProcessKey`] (host, pid, start time).
//! Strings are cleaned of control characters once, here, so nothing a
//! process chose can reach the terminal; the lowercase search haystack is
//! built here too, on the first search, so later keystrokes do no
//! allocation per row.
use std::{collections::VecDeque, fmt::Write as _, time::Instant};

use perch_proto::{
    NS_PER_TICK,
    v1::{self, Exit},
};

pub use self::{args::Args, usage::Usage};
use super::history::History;
pub use super::{
    hash::FxBuild,
    store::{LiveByPid, RowId, Store},
};
use crate::text::clean;

mod args;
mod usage;

/// Which collector a row came from; the loop numbers its connections.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HostId(pub u16);

/// A process's identity: pids are reused, so the start time is part of it,
/// compared at clock-tick granularity like [`perch_proto::same_start_time`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProcessKey {
    pub host: HostId,
    pub pid: u32,
    pub start_tick: u64,
}

impl ProcessKey {
    #[must_use]
    pub fn new(host: HostId, pid: u32, start_time_ns: u64) -> ProcessKey {
        ProcessKey {
            host,
            pid,
            start_tick: start_time_ns / NS_PER_TICK,
        }
    }

    fn of(host: HostId, k: Option<&v1::ProcessKey>) -> ProcessKey {
        k.map_or(ProcessKey::new(host, 0, 0), |k| {
            ProcessKey::new(host, k.pid, k.start_time_ns)
        })
    }
}

/// One process as the console keeps it.
#[derive(Clone, Debug, Default)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "independent facts about a process as perchd reports them"
)]
pub struct Proc {
    pub key: ProcessKey,
    pub start_time_ns: u64,
    /// The original parent (perchd keeps it after it exits); 0 when unknown.
    pub ppid: u32,
    /// The parent's start time, 0 when unknown (then the live process with
    /// pid `ppid` is the parent).
    pub parent_start_ns: u64,
    /// Where it was reparented once its original parent exited (or, with
    /// `parent_unknown`, the process it was found under).
    pub reaper: Option<ProcessKey>,
    /// perchd did not see it start and found it under a reaper: who forked
    /// it is not known, and its chain of parents ends here.
    pub parent_unknown: bool,
    /// Exited, kept because live processes descend from it.
    pub retained_ancestor: bool,
    /// Process group (kill group acts on all of it).
    pub pgid: u32,
    pub sid: u32,
    /// The /proc state letter as last sampled (`b'R'`, `b'T'`...), 0 unknown.
    pub state: u8,
    /// Its cgroup (or one above) is frozen.
    pub frozen: bool,
    pub uid: u32,
    pub euid: u32,
    pub gid: u32,
    /// User name, or the uid when it has none.
    pub user: Box<str>,
    /// The login user (audit loginuid), empty when none or unknown.
    pub login_user: Box<str>,
    pub comm: Box<str>,
    /// The path given to execve (or /proc/PID/exe when seeded).
    pub exe: Box<str>,
    /// The file actually mapped (symlinks resolved), empty when unknown.
    pub binary: Box<str>,
    /// The binary was deleted (before or while it ran).
    pub binary_deleted: bool,
    /// Run from an unlinked memfd (`memfd_create` + `fexecve`).
    pub binary_memfd: bool,
    /// Set-user-id or set-group-id binary.
    pub binary_setid: bool,
    /// comm, argv[0] and the binary's name do not all agree.
    pub names_disagree: bool,
    pub argv: Args,
    pub argv_truncated: bool,
    /// What the COMMAND column shows (see [`crate::text::command`]).
    pub command: Box<str>,
    pub cwd: Box<str>,
    pub tty: Box<str>,
    pub cgroup_path: Box<str>,
    pub container_id: Box<str>,
    pub container_runtime: Box<str>,
    pub pod_uid: Box<str>,
    pub pod_namespace: Box<str>,
    pub pod_name: Box<str>,
    pub kernel_thread: bool,
    pub threads: u32,
    pub nice: i32,
    pub usage: Usage,
    pub exit: Option<Exit>,
    /// When the console learnt of the exit (retention counts from here).
    pub exited_at: Option<Instant>,
    /// Lowercase `command exe user pid container pod`, one char per char of
    /// the original so match positions in the command part map back; made
    /// on the first search that reads it (see [`Proc::haystack`]).
    haystack: std::cell::OnceCell<Box<str>>,
    pub history: History,
    /// Its most recent security events, one line each, oldest first (at
    /// most [`SECURITY_LINES`] of [`SECURITY_LINE_BYTES`]).
    pub security: VecDeque<Box<str>>,
    /// Its flags that count (the FLAGS column), from the detection store.
    pub flags: crate::console::detect::FlagMark,
}

/// Security events kept per process: the detail view shows the latest.
pub const SECURITY_LINES: usize = 8;
/// A security line's longest text (the rest is cut with an ellipsis).
pub const SECURITY_LINE_BYTES: usize = 200;

/// `s` cleaned, moved rather than copied when there was nothing to clean
/// (a seek's 10,000 rows each bring a dozen strings).
fn take(s: &mut String) -> Box<str> {
    let s = std::mem::take(s);
    match clean(&s) {
        std::borrow::Cow::Owned(cleaned) => cleaned.into_boxed_str(),
        std::borrow::Cow::Borrowed(_) => s.into_boxed_str(),
    }
}

/// Lowercases per char (first char of multi-char forms): offsets stay aligned.
fn lower_aligned(out: &mut String, s: &str) {
    if s.is_ascii() {
        // One byte per char either way: the same offsets, without
        // decoding each char (a seek lowercases 10,000+ rows).
        let start = out.len();
        out.push_str(s);
        out[start..].make_ascii_lowercase();
    } else {
        out.extend(s.chars().map(|c| c.to_lowercase().next().unwrap_or(c)));
    }
}

impl Proc {
    /// Builds a row from a perch.v1 process of `host`.
    #[must_use]
    pub fn from_proto(host: HostId, p: &v1::Process) -> Proc {
        Self::from_owned(host, p.clone())
    }

    /// Builds a row from a perch.v1 process of `host`, taking its strings.
    #[must_use]
    pub fn from_owned(host: HostId, mut p: v1::Process) -> Proc {
        let key = ProcessKey::of(host, p.key.as_ref());
        let user = if p.user.is_empty() {
            p.uid.to_string().into()
        } else {
            take(&mut p.user)
        };
        let argv = Args::new(&p.argv);
        let command = crate::text::command_with(&p, argv.iter()).into_boxed_str();
        Proc {
            key,
            start_time_ns: p.key.map_or(0, |k| k.start_time_ns),
            ppid: p.ppid,
            parent_start_ns: p.parent_start_time_ns,
            reaper: p
                .reaper
                .map(|k| ProcessKey::new(host, k.pid, k.start_time_ns)),
            parent_unknown: p.original_parent_unknown,
            retained_ancestor: p.retained_ancestor,
            pgid: p.pgid,
            sid: p.sid,
            state: p.state.bytes().next().unwrap_or(0),
            frozen: p.frozen,
            uid: p.uid,
            euid: p.euid,
            gid: p.gid,
            user,
            login_user: take(&mut p.login_user),
            comm: take(&mut p.comm),
            exe: take(&mut p.exe),
            binary: p
                .executable
                .as_mut()
                .map_or_else(Box::default, |x| take(&mut x.path)),
            binary_deleted: p.executable.as_ref().is_some_and(|x| x.deleted),
            binary_memfd: p.executable.as_ref().is_some_and(|x| x.from_memfd),
            binary_setid: p.executable.as_ref().is_some_and(|x| x.setuid || x.setgid),
            names_disagree: p.names_disagree,
            argv,
            argv_truncated: p.argv_truncated,
            command,
            cwd: take(&mut p.cwd),
            tty: take(&mut p.tty),
            cgroup_path: take(&mut p.cgroup_path),
            container_id: take(&mut p.container_id),
            container_runtime: take(&mut p.container_runtime),
            pod_uid: take(&mut p.pod_uid),
            pod_namespace: take(&mut p.pod_namespace),
            pod_name: take(&mut p.pod_name),
            kernel_thread: p.kernel_thread,
            threads: p.threads,
            nice: p.nice,
            usage: p.usage.as_ref().map(Usage::from_proto).unwrap_or_default(),
            exit: p.exit,
            exited_at: None,
            haystack: std::cell::OnceCell::new(),
            history: History::default(),
            security: VecDeque::new(),
            flags: crate::console::detect::FlagMark::default(),
        }
    }

    /// What search and `\\` free-text filters match against. Made when a
    /// search first asks: a seek or a snapshot builds 10,000+ rows, and
    /// most are never searched (a tenth of a seek's console time went
    /// into haystacks nobody read).
    #[must_use]
    pub fn haystack(&self) -> &str {
        self.haystack.get_or_init(|| self.make_haystack())
    }

    fn make_haystack(&self) -> Box<str> {
        let mut h = String::with_capacity(self.command.len() + self.exe.len() + 48);
        lower_aligned(&mut h, &self.command);
        for part in [
            &*self.exe,
            &*self.user,
            &*self.container_id,
            &*self.pod_name,
        ] {
            if !part.is_empty() {
                h.push(' ');
                lower_aligned(&mut h, part);
            }
        }
        // Written in place: a seek builds 10,000+ haystacks.
        let _ = write!(h, " {}", self.key.pid);
        h.into()
    }

    /// Takes a newer description of the same process, keeping what the
    /// console accumulated (history, exit, the last sampled state when the
    /// newer one was not sampled: a fork or an exec).
    pub fn update_from(&mut self, newer: Proc) {
        let history = std::mem::take(&mut self.history);
        let security = std::mem::take(&mut self.security);
        let (exit, exited_at) = (self.exit.take(), self.exited_at);
        let state = self.state;
        *self = newer;
        self.history = history;
        self.security = security;
        if self.exit.is_none() {
            self.exit = exit;
            self.exited_at = exited_at;
        }
        if self.state == 0 {
            self.state = state;
        }
    }

    /// The executable as the EXE column and sorting show it: the file
    /// actually mapped when perchd knows it, else the path run.
    #[must_use]
    pub fn exe_shown(&self) -> &str {
        if self.binary.is_empty() {
            &self.exe
        } else {
            &self.binary
        }
    }

    /// `(deleted)`, `(memfd)` after the binary's path, or nothing.
    #[must_use]
    pub fn binary_mark(&self) -> &'static str {
        if self.binary_memfd {
            " (memfd)"
        } else if self.binary_deleted {
            " (deleted)"
        } else {
            ""
        }
    }

    /// Stopped by a signal or a tracer (`T`, `t`).
    #[must_use]
    pub fn is_stopped(&self) -> bool {
        matches!(self.state, b'T' | b't')
    }

    /// Notes a security event of this process (an already escaped line),
    /// dropping the oldest beyond [`SECURITY_LINES`].
    pub fn push_security(&mut self, line: &str) {
        let cut = perch_proto::limits::clipped(line, SECURITY_LINE_BYTES);
        let line = if cut.len() < line.len() {
            format!("{cut}…")
        } else {
            cut.to_owned()
        };
        if self.security.len() == SECURITY_LINES {
            self.security.pop_front();
        }
        self.security.push_back(line.into());
    }

    /// Container, else pod name, else empty: the CONTAINER/POD column.
    #[must_use]
    pub fn container_label(&self) -> &str {
        if !self.pod_name.is_empty() {
            &self.pod_name
        } else if self.container_id.len() > 12 {
            self.container_id.get(..12).unwrap_or(&self.container_id)
        } else {
            &self.container_id
        }
    }

    #[must_use]
    pub fn is_exited(&self) -> bool {
        self.exit.is_some()
    }

    /// Bytes this row holds on the heap (for the memory budget), with the
    /// allocator's share: a one-byte argument costs a 16-byte pointer and
    /// a 32-byte block, and 8 KiB of them are 200 KiB.
    #[must_use]
    pub fn heap_bytes(&self) -> usize {
        let strs = [
            &self.user,
            &self.comm,
            &self.exe,
            &self.binary,
            &self.login_user,
            &self.command,
            &self.cwd,
            &self.tty,
            &self.cgroup_path,
            &self.container_id,
            &self.container_runtime,
            &self.pod_uid,
            &self.pod_namespace,
            &self.pod_name,
        ];
        strs.iter().map(|s| alloc_bytes(s.len())).sum::<usize>()
            + self.haystack.get().map_or(0, |h| alloc_bytes(h.len()))
            + alloc_bytes(self.argv.joined_len())
            + self.history.heap_bytes()
            + self.security_heap_bytes()
    }

    /// Bytes of the security lines (bounded per row, like the history).
    #[must_use]
    pub fn security_heap_bytes(&self) -> usize {
        self.security.capacity() * size_of::<Box<str>>()
            + self
                .security
                .iter()
                .map(|l| alloc_bytes(l.len()))
                .sum::<usize>()
    }
}

/// What glibc's malloc takes for `len` bytes: nothing for 0, else the
/// request plus an 8-byte header rounded up to 16, at least 32.
fn alloc_bytes(len: usize) -> usize {
    if len == 0 {
        0
    } else {
        (len + 8).next_multiple_of(16).max(32)
    }
}

#[cfg(test)]
#[expect(clippy::similar_names, reason = "short names in tests")]
#[path = "model_tests.rs"]
pub(crate) mod tests;
