//! Response actions against live processes (`perch.v1` `Act`): kill a
//! process, a tree, a group or a pod, renice, freeze and thaw — executed
//! without ever signalling a process other than the one the request names.
//!
//! Every target is named by pid *and* start time.  The executor opens a
//! pidfd first, then reads the start time from /proc and compares it with
//! the key: if they match, the pidfd provably refers to the requested
//! process (a pid is held by one process at a time, and the keyed process
//! existed before the request), and every signal goes through that pidfd,
//! so a pid reused afterwards cannot be hit.  Members of trees, groups and
//! pods are discovered from /proc and pinned the same way.
//!
//! Blocking: the caller runs `Executor::execute` on a blocking thread.
mod cgroup;
mod creds;
mod freeze;
mod group;
mod pidfd;
mod pod;
mod procs;
mod renice;
mod report;
mod sweep;
mod target;
mod tree;
mod watch;

use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use perch_proto::v1::{ActionKind, ActionOutcome, ActionResult, AffectedProcess, ProcessKey};

use self::procs::ProcFs;
use self::target::Target;
pub use self::watch::SignalWatch;
use crate::proc::UserNames;

/// Signal numbers the executor uses itself.
pub(crate) const SIGKILL: i32 = 9;
pub(crate) const SIGCONT: i32 = 18;
pub(crate) const SIGSTOP: i32 = 19;

/// One action to execute.
#[derive(Clone, Debug)]
pub struct Request {
    pub kind: ActionKind,
    /// pid + `start_time_ns` (`CLOCK_BOOTTIME` ns, compared at clock-tick
    /// granularity with `perch_proto::same_start_time`).
    pub target: ProcessKey,
    /// A Linux signal number the caller validated; 0 means the action's
    /// default (KILL).  Ignored by renice, freeze and thaw.
    pub signal: i32,
    /// Renice only: the new nice value, -20..=19 (re-checked here).
    pub priority: Option<i32>,
    /// Resolve and report exactly what would be acted on; touch nothing.
    pub dry_run: bool,
    /// Processes that must never be acted on (the requesting console, ...).
    /// perchd's own pid is always protected, without being listed here.
    pub protected: Vec<Protected>,
    /// Set when the requester may not touch processes running as root (an
    /// operator); the text says so for the refusal ("uid 1000 (bob) is an
    /// operator: ...").  Root is a real, effective or saved uid of 0, so a
    /// setuid-root process counts.  Checked for every process the action
    /// would touch; one such process refuses the whole action.
    pub refuse_root: Option<String>,
}

/// A process the request must not touch, and why.
#[derive(Clone, Debug)]
pub struct Protected {
    pub pid: u32,
    /// The result code when it is hit, e.g. `refused_requester`.
    pub code: &'static str,
    /// Human reason, e.g. "pid 4242 is the requesting console".
    pub why: String,
}

/// What happened.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    pub result: ActionResult,
    /// Stable code: `ok`, `partial`, `no_such_process`, `target_replaced`,
    /// `refused_init`, `refused_kernel_thread`, `refused_collector`, a
    /// protected pid's code, `permission_denied` (`Request::refuse_root`),
    /// `no_pod`, `os_error`, `invalid_argument`.
    pub code: String,
    /// One human sentence.
    pub detail: String,
    /// Every process acted on (or that would be, in a dry run).
    pub processes: Vec<AffectedProcess>,
    /// Processes acted on (whatever they did next) and already gone.
    pub done: u32,
    pub already_gone: u32,
    /// What the signals achieved, seen by watching the processes.
    pub effect: Effect,
}

/// What the processes acted on did next, over all of them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Effect {
    pub outcome: ActionOutcome,
    /// How long they were watched (zero: not watched).
    pub watched: Duration,
    pub exited: u32,
    pub still_running: u32,
    pub stopped: u32,
}

impl Outcome {
    /// Nothing was done: `code` says why.
    pub(crate) fn not_done(code: &str, detail: impl Into<String>) -> Self {
        Self {
            result: ActionResult::NotSuccessful,
            code: code.to_owned(),
            detail: detail.into(),
            processes: Vec::new(),
            done: 0,
            already_gone: 0,
            effect: Effect::default(),
        }
    }
}

/// The executor cannot work on this system at all.
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    #[error("pidfd_open is not available (Linux 5.3 or later is needed): {0}")]
    NoPidfd(#[source] io::Error),
    #[error("{path} is not readable (procfs not mounted?): {source}")]
    NoProc {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// Executes actions against the processes of the host it runs on.
#[derive(Debug)]
pub struct Executor {
    procfs: ProcFs,
    /// The cgroup2 mount; `None` on hosts without one (pod actions then
    /// answer `no_pod`, freeze falls back to signals).
    cgroup_root: Option<PathBuf>,
    /// perchd's own pid, never a target.
    self_pid: u32,
    /// How long signalled processes are watched, per signal.
    watch: SignalWatch,
    /// The user names of affected processes.
    users: Mutex<UserNames>,
    /// Set after an action that may have frozen or thawed a cgroup.
    freezes: Option<Arc<AtomicBool>>,
}

impl Executor {
    /// /proc, the cgroup2 mount from mountinfo, and this process as perchd,
    /// watching no signal's effect (see [`Executor::watching`]).
    /// Fails if /proc is unreadable or the kernel has no `pidfd_open`.
    pub fn system() -> Result<Self, ActionError> {
        let proc_root = PathBuf::from("/proc");
        std::fs::metadata(proc_root.join("self/stat")).map_err(|source| ActionError::NoProc {
            path: proc_root.join("self/stat"),
            source,
        })?;
        let self_pid = std::process::id();
        pidfd::Pidfd::open(self_pid).map_err(ActionError::NoPidfd)?;
        Ok(Self {
            procfs: ProcFs::new(proc_root),
            cgroup_root: crate::proc::find_cgroup2_mount(),
            self_pid,
            watch: SignalWatch::none(),
            users: Mutex::new(UserNames::new()),
            freezes: None,
        })
    }

    /// Sets `flag` after every live action that may have frozen or thawed
    /// a cgroup (freeze, thaw, pod kills, which freeze the pod meanwhile).
    #[must_use]
    pub fn notifying_freezes(mut self, flag: Arc<AtomicBool>) -> Self {
        self.freezes = Some(flag);
        self
    }

    /// Watches what each signal does for as long as `watch` says.
    #[must_use]
    pub fn watching(mut self, watch: SignalWatch) -> Self {
        self.watch = watch;
        self
    }

    /// Runs one request to its end (blocking: up to a few seconds while
    /// trees stop or cgroups drain; every wait is bounded).
    #[must_use]
    pub fn execute(&self, req: &Request) -> Outcome {
        if let Some(bad) = invalid(req) {
            return Outcome::not_done("invalid_argument", bad);
        }
        let target = match Target::resolve(self, req) {
            Ok(t) => t,
            Err(outcome) => return outcome,
        };
        let mut outcome = self.run(req, target);
        self.name_users(&mut outcome.processes);
        let freezes = matches!(
            req.kind,
            ActionKind::FreezeTree
                | ActionKind::ThawTree
                | ActionKind::FreezePod
                | ActionKind::ThawPod
                | ActionKind::KillPod
        );
        if freezes
            && !req.dry_run
            && let Some(flag) = &self.freezes
        {
            flag.store(true, Ordering::Relaxed);
        }
        outcome
    }

    fn run(&self, req: &Request, target: Target) -> Outcome {
        match req.kind {
            ActionKind::Kill => tree::kill_one(self, req, &target),
            ActionKind::KillTree => tree::kill_tree(self, req, target),
            ActionKind::KillGroup => group::kill_group(self, req, target),
            ActionKind::Renice => renice::renice(self, req, &target),
            ActionKind::KillPod => pod::kill_pod(self, req, &target),
            ActionKind::FreezePod => pod::set_frozen(self, req, &target, true),
            ActionKind::ThawPod => pod::set_frozen(self, req, &target, false),
            ActionKind::FreezeTree => freeze::freeze_tree(self, req, target),
            ActionKind::ThawTree => freeze::thaw_tree(self, req, target),
            // Rejected by `invalid` above.
            ActionKind::Unspecified => {
                Outcome::not_done("invalid_argument", "action is unspecified")
            }
            // SuppressTrace's records, never the executor's (`invalid`).
            ActionKind::SuppressTrace => {
                Outcome::not_done("invalid_argument", "SUPPRESS_TRACE is not a process action")
            }
            // The Policies service's records, never the executor's.
            ActionKind::PolicyChange => {
                Outcome::not_done("invalid_argument", "POLICY_CHANGE is not a process action")
            }
        }
    }

    /// Fills in the user name of every affected process's uid.
    fn name_users(&self, processes: &mut [AffectedProcess]) {
        let mut users = self
            .users
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for p in processes {
            if let Some(uid) = p.uid
                && let Some(name) = users.name(uid)
            {
                name.as_ref().clone_into(&mut p.user);
            }
        }
    }

    /// Why `stat` must not be acted on, as (code, reason), or `None`.
    fn refusal(&self, st: &procs::ProcStat, req: &Request) -> Option<(&'static str, String)> {
        let who = format!("pid {} ({})", st.pid, st.comm);
        if st.pid == 1 {
            return Some(("refused_init", format!("{who} is init")));
        }
        if st.is_kernel_thread() {
            return Some(("refused_kernel_thread", format!("{who} is a kernel thread")));
        }
        if st.pid == self.self_pid {
            return Some(("refused_collector", format!("{who} is perchd itself")));
        }
        if let Some(p) = req.protected.iter().find(|p| p.pid == st.pid) {
            return Some((p.code, format!("{who}: {}", p.why)));
        }
        self.root_refusal(st, req)
    }
}

/// Request fields the executor cannot work with, as a sentence naming the
/// field and its allowed values.
fn invalid(req: &Request) -> Option<String> {
    if req.kind == ActionKind::Unspecified {
        return Some("action is unspecified".to_owned());
    }
    if req.kind == ActionKind::SuppressTrace {
        return Some("action SUPPRESS_TRACE is not a process action (SuppressTrace)".to_owned());
    }
    if req.kind == ActionKind::PolicyChange {
        return Some("action POLICY_CHANGE is not a process action (Policies)".to_owned());
    }
    if req.target.pid == 0 {
        return Some("target.pid must be a process id (1 or more), got 0".to_owned());
    }
    if i32::try_from(req.target.pid).is_err() {
        return Some(format!(
            "target.pid {} is beyond the largest pid",
            req.target.pid
        ));
    }
    let signalled = matches!(
        req.kind,
        ActionKind::Kill | ActionKind::KillTree | ActionKind::KillGroup
    );
    if signalled && req.signal != 0 && pidfd::signal_from_raw(req.signal).is_none() {
        return Some(format!(
            "signal {} is not a signal this executor sends (HUP, INT, QUIT, KILL, USR1, USR2, TERM, CONT, STOP, or 0 for KILL)",
            req.signal
        ));
    }
    if req.kind == ActionKind::Renice {
        match req.priority {
            None => return Some("priority is required for renice (-20..19)".to_owned()),
            Some(p) if !(-20..=19).contains(&p) => {
                return Some(format!("priority {p} is outside -20..19"));
            }
            Some(_) => {}
        }
    }
    None
}

/// The signal a kill action sends: the request's, or KILL by default.
fn kill_signal(req: &Request) -> i32 {
    if req.signal == 0 { SIGKILL } else { req.signal }
}

#[cfg(test)]
mod tests;
