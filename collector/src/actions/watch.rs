//! After a signal: what it did.  A delivered TERM says nothing about the
//! process that ignores it, so every process signalled is watched for a
//! bounded time (per signal, from perchd's config) and its line says what
//! was seen: exited (and how), still running, or stopped.
//!
//! Exits are watched through the pidfds the processes are pinned by (one
//! epoll set, one thread, however many processes): a pidfd becomes
//! readable when its process has exited.  The exit status is then read
//! from the zombie's /proc stat, or, once its parent has reaped it, from
//! the pidfd itself (`PIDFD_INFO_EXIT`, Linux 6.15).  STOP is watched by
//! reading the processes' state.
use std::fmt::Write as _;
use std::os::fd::AsFd as _;
use std::thread::sleep;
use std::time::{Duration, Instant};

use perch_proto::v1::{AffectedProcess, ProcessOutcome, Signal};
use rustix::buffer::spare_capacity;
use rustix::event::{Timespec, epoll};

use super::pidfd::signal_name;
use super::report::span;
use super::target::Pinned;
use super::{Executor, SIGCONT, SIGSTOP};
use crate::clock::now_boot_ns;
use crate::convert;
use crate::model::ExitInfo;

/// The longest watch perchd's config accepts: an `Act` call waits for it.
pub const MAX_WATCH: Duration = Duration::from_secs(10);
/// How often stopped states are looked at while watching a STOP.
const STATE_POLL: Duration = Duration::from_millis(5);

/// How long processes are watched after each signal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignalWatch {
    /// By signal number (1..=31).
    by_signal: [Duration; 32],
}

impl Default for SignalWatch {
    /// 2 s for the signals a process may handle or ignore (TERM, INT,
    /// HUP, QUIT, USR1, USR2); KILL, STOP and CONT are not watched: their
    /// effect is known at once or follows as an exit event.
    fn default() -> Self {
        let mut w = Self::none();
        for s in [
            Signal::Term,
            Signal::Int,
            Signal::Hup,
            Signal::Quit,
            Signal::Usr1,
            Signal::Usr2,
        ] {
            w.set(s, Duration::from_secs(2));
        }
        w
    }
}

impl SignalWatch {
    /// Watch nothing: every signal is reported as delivered.
    #[must_use]
    pub fn none() -> Self {
        Self {
            by_signal: [Duration::ZERO; 32],
        }
    }

    /// How long processes are watched after signal number `sig`.
    #[must_use]
    pub fn get(&self, sig: i32) -> Duration {
        usize::try_from(sig)
            .ok()
            .and_then(|i| self.by_signal.get(i))
            .copied()
            .unwrap_or_default()
    }

    /// Watch `sig` for `d` (capped at [`MAX_WATCH`]).
    pub fn set(&mut self, sig: Signal, d: Duration) {
        if let Some(slot) = usize::try_from(i32::from(sig))
            .ok()
            .and_then(|i| self.by_signal.get_mut(i))
        {
            *slot = d.min(MAX_WATCH);
        }
    }

    /// The signal a config key names: `TERM`, `term` or `SIGTERM`.
    /// CONT is not watched (it stops nothing; the samples show the state).
    #[must_use]
    pub fn signal(name: &str) -> Option<Signal> {
        let upper = name.to_ascii_uppercase();
        let bare = upper.strip_prefix("SIG").unwrap_or(&upper);
        perch_proto::limits::SIGNALS
            .into_iter()
            .filter(|&s| s != Signal::Cont)
            .find(|s| perch_proto::names::Named::bare_name(*s) == bare)
    }
}

/// Watches the processes signalled with `sig`: `lines[i]` is `pinned[i]`'s
/// line, and those whose outcome is DONE (delivered) are watched.  Returns
/// how long they were watched at most (zero: not watched, and they stay
/// DONE, "delivered").
pub(super) fn watch(
    ex: &Executor,
    sig: i32,
    pinned: &[&Pinned],
    lines: &mut [AffectedProcess],
) -> Duration {
    let name = signal_name(sig);
    let pending: Vec<usize> = (0..lines.len().min(pinned.len()))
        .filter(|&i| lines[i].outcome == i32::from(ProcessOutcome::Done))
        .collect();
    for &i in &pending {
        lines[i].detail = format!("{name} delivered");
    }
    let limit = ex.watch.get(sig);
    if limit.is_zero() || pending.is_empty() || sig == SIGCONT {
        return Duration::ZERO;
    }
    let left = if sig == SIGSTOP {
        until_stopped(ex, pinned, lines, &pending, limit)
    } else {
        until_exited(ex, pinned, lines, &pending, limit)
    };
    for i in left {
        let stopped = pinned[i].now(&ex.procfs).is_some_and(|s| s.is_stopped());
        let mut d = format!("{name} delivered; still running after {}", span(limit));
        if stopped && sig != SIGSTOP {
            let _ = write!(d, " (stopped: {name} takes effect when it is continued)");
        }
        lines[i].outcome = ProcessOutcome::StillRunning.into();
        lines[i].detail = d;
    }
    limit
}

/// Waits for the pending processes to exit, at most `limit`; marks those
/// that did and returns the others.
fn until_exited(
    ex: &Executor,
    pinned: &[&Pinned],
    lines: &mut [AffectedProcess],
    pending: &[usize],
    limit: Duration,
) -> Vec<usize> {
    let deadline = Instant::now() + limit;
    let Ok(ep) = epoll::create(epoll::CreateFlags::CLOEXEC) else {
        // No epoll (out of fds?): fall back to looking now and then.
        return until(ex, pinned, lines, pending, deadline, |_| false);
    };
    let mut left: Vec<bool> = vec![false; lines.len()];
    let mut waiting = 0usize;
    for &i in pending {
        let data = epoll::EventData::new_u64(i as u64);
        let flags = epoll::EventFlags::IN | epoll::EventFlags::ONESHOT;
        if epoll::add(&ep, pinned[i].fd.as_fd(), data, flags).is_ok() {
            left[i] = true;
            waiting += 1;
        }
    }
    let mut events = Vec::with_capacity(256);
    while waiting > 0 {
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        let remaining = deadline - now;
        let timeout = Timespec {
            tv_sec: i64::try_from(remaining.as_secs()).unwrap_or(i64::MAX),
            tv_nsec: i64::from(remaining.subsec_nanos()),
        };
        events.clear();
        match epoll::wait(&ep, spare_capacity(&mut events), Some(&timeout)) {
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => continue,
            Err(_) => break,
        }
        for ev in &events {
            let data = ev.data;
            let Ok(i) = usize::try_from(data.u64()) else {
                continue;
            };
            if left.get(i).copied().unwrap_or(false) {
                left[i] = false;
                waiting -= 1;
                exited(ex, pinned[i], &mut lines[i]);
            }
        }
    }
    pending.iter().copied().filter(|&i| left[i]).collect()
}

/// Waits for the pending processes to be seen stopped (or exited), at
/// most `limit`; marks those and returns the others.
fn until_stopped(
    ex: &Executor,
    pinned: &[&Pinned],
    lines: &mut [AffectedProcess],
    pending: &[usize],
    limit: Duration,
) -> Vec<usize> {
    let deadline = Instant::now() + limit;
    until(ex, pinned, lines, pending, deadline, |st| {
        st.is_some_and(super::procs::ProcStat::is_stopped)
    })
}

/// Looks at the pending processes every few ms until `deadline`: an exited
/// one is marked EXITED, one for which `done` holds STOPPED.
fn until(
    ex: &Executor,
    pinned: &[&Pinned],
    lines: &mut [AffectedProcess],
    pending: &[usize],
    deadline: Instant,
    done: impl Fn(Option<&super::procs::ProcStat>) -> bool,
) -> Vec<usize> {
    let mut left = pending.to_vec();
    loop {
        left.retain(|&i| {
            let now = pinned[i].now(&ex.procfs);
            if now.is_none() {
                exited(ex, pinned[i], &mut lines[i]);
                false
            } else if done(now.as_ref()) {
                let name = lines[i].detail.clone();
                lines[i].outcome = ProcessOutcome::Stopped.into();
                lines[i].detail = format!("{name}; stopped");
                false
            } else {
                true
            }
        });
        if left.is_empty() || Instant::now() >= deadline {
            return left;
        }
        sleep(STATE_POLL);
    }
}

/// Marks `line` EXITED with how `p` ended, as far as it can be known.
pub(super) fn exited(ex: &Executor, p: &Pinned, line: &mut AffectedProcess) {
    let exit = exit_of(ex, p);
    let how = match (exit.code, exit.signal) {
        (Some(code), _) => format!("exited (code {code})"),
        (None, Some(sig)) if exit.core_dumped => format!("exited (signal {sig}, core dumped)"),
        (None, Some(sig)) => format!("exited (signal {sig})"),
        (None, None) => "exited".to_owned(),
    };
    let delivered = line.detail.clone();
    line.outcome = ProcessOutcome::Exited.into();
    line.detail = format!("{delivered}; {how}");
    line.exit = Some(convert::exit(&exit));
}

/// How `p` ended: the zombie's status in /proc, or the reaped process's
/// from its pidfd; unknown (neither code nor signal) when neither says.
fn exit_of(ex: &Executor, p: &Pinned) -> ExitInfo {
    let at = now_boot_ns();
    let zombie = || {
        ex.procfs
            .stat(p.stat.pid)
            .ok()
            .filter(|s| s.start_ns == p.stat.start_ns && s.state == b'Z')
            .and_then(|s| s.exit_code)
    };
    // Between the zombie's /proc entry going and the pidfd's exit info
    // appearing (both at reaping) there is a short window: look again.
    for _ in 0..3 {
        if let Some(status) = zombie().or_else(|| p.fd.exit_status()) {
            return ExitInfo::from_wait_status(at, status);
        }
        sleep(Duration::from_millis(2));
    }
    ExitInfo {
        time_ns: at,
        ..ExitInfo::default()
    }
}
