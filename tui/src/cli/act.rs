//! The action subcommands (`perch kill`, `kill-tree`, `kill-group`,
//! `renice`, `kill-pod`, `freeze`, `thaw`): what the console's dialog does,
//! from a script.  Values are checked by the same functions the dialog uses
//! (`perch::act`), so bad input fails before anything is sent.
use clap::{Args, Subcommand};
use perch::act;
use perch_proto::v1::{ActionKind, Signal};

/// What every action's exit status means (its `--help` ends with this).
const EXIT_STATUS: &str = "Exit status: 0 done (a signalled process exited, or \
    nothing was left to watch), 4 the signal was delivered but a process is still \
    running after perchd watched it (it ignores or handles the signal: escalate to \
    KILL), 3 partly done (some processes were already gone), 1 not done (refused, \
    gone, or the kernel said no), 2 no collector answered.";

#[derive(Debug, Subcommand)]
pub enum ActCommand {
    /// Signal one process (SIGKILL unless --signal says otherwise).
    #[command(after_help = EXIT_STATUS)]
    Kill(KillArgs),
    /// Signal a process and every descendant (none escapes by forking).
    #[command(after_help = EXIT_STATUS)]
    KillTree(KillArgs),
    /// Signal every process in the target's process group.
    #[command(after_help = EXIT_STATUS)]
    KillGroup(KillArgs),
    /// Set the nice value of every thread of a process.
    #[command(after_help = EXIT_STATUS)]
    Renice(ReniceArgs),
    /// Kill every process in the target's pod (cgroup.kill).
    #[command(after_help = EXIT_STATUS)]
    KillPod(TargetArgs),
    /// Freeze the target's tree (or, with --pod, its pod) for inspection.
    #[command(after_help = EXIT_STATUS)]
    Freeze(ScopeArgs),
    /// Thaw what `perch freeze` froze.
    #[command(after_help = EXIT_STATUS)]
    Thaw(ScopeArgs),
}

/// The target and how to act; every action takes these.
#[derive(Debug, Args)]
pub struct TargetArgs {
    /// The target's process id (1 or more).
    #[arg(long, value_name = "PID", allow_negative_numbers = true, value_parser = parse_pid)]
    pub pid: u32,
    /// The target's start time (boot-clock ns, as `perch ps --json`
    /// prints it); without it the collector is asked for PID's current one.
    #[arg(long, value_name = "NS")]
    pub start_time: Option<u64>,
    /// Why; mandatory, recorded in the audit log (at most 1024 bytes).
    #[arg(long, value_name = "TEXT", value_parser = parse_reason)]
    pub reason: String,
    /// Report what would be hit; touch nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print the audit record as one JSON object.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct KillArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// TERM KILL INT HUP QUIT STOP CONT USR1 USR2 (any case, SIG optional).
    #[arg(long, value_name = "SIGNAL", value_parser = parse_signal, default_value = "KILL")]
    pub signal: Signal,
}

#[derive(Debug, Args)]
pub struct ReniceArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// The new nice value, -20..19.
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = parse_priority)]
    pub priority: i32,
}

#[derive(Debug, Args)]
pub struct ScopeArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// The target's whole pod instead of its process tree.
    #[arg(long)]
    pub pod: bool,
}

/// What to send, whichever subcommand said it.
#[derive(Debug)]
pub struct Request<'a> {
    pub kind: ActionKind,
    pub target: &'a TargetArgs,
    pub signal: Signal,
    pub priority: Option<i32>,
}

impl ActCommand {
    #[must_use]
    pub fn request(&self) -> Request<'_> {
        use ActionKind as K;
        let (kind, target, signal, priority) = match self {
            ActCommand::Kill(a) => (K::Kill, &a.target, a.signal, None),
            ActCommand::KillTree(a) => (K::KillTree, &a.target, a.signal, None),
            ActCommand::KillGroup(a) => (K::KillGroup, &a.target, a.signal, None),
            ActCommand::Renice(a) => (K::Renice, &a.target, Signal::Unspecified, Some(a.priority)),
            ActCommand::KillPod(a) => (K::KillPod, a, Signal::Unspecified, None),
            ActCommand::Freeze(a) => {
                let kind = if a.pod { K::FreezePod } else { K::FreezeTree };
                (kind, &a.target, Signal::Unspecified, None)
            }
            ActCommand::Thaw(a) => {
                let kind = if a.pod { K::ThawPod } else { K::ThawTree };
                (kind, &a.target, Signal::Unspecified, None)
            }
        };
        Request {
            kind,
            target,
            signal,
            priority,
        }
    }
}

fn parse_pid(s: &str) -> Result<u32, String> {
    act::parse_pid(s).map_err(|e| e.to_string())
}

fn parse_signal(s: &str) -> Result<Signal, String> {
    act::parse_signal(s).map_err(|e| e.to_string())
}

fn parse_priority(s: &str) -> Result<i32, String> {
    act::parse_priority(s).map_err(|e| e.to_string())
}

fn parse_reason(s: &str) -> Result<String, String> {
    act::check_reason(s).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests;
