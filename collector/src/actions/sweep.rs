//! Finding every member of a tree or process group and holding them still
//! while they are signalled, so that none escapes by forking mid-action.
//!
//! Members are pinned (pidfd + start time) as they are found, then stopped
//! with SIGSTOP; once every member is seen stopped, /proc is scanned again:
//! a stopped process cannot fork, and a fork that was in flight when the
//! stop arrived finishes with the child already linked to its parent, so
//! a scan that finds nobody new after everyone stopped is a fixed point.
//! Only then is the action's signal sent (and SIGCONT, when the signal
//! needs the process running to take effect).
//!
//! The first scan runs before anything is stopped, so refusals (perchd,
//! the requester, init...) are found before any process is touched.
//!
//! Cost of this design: a stopped process's parent is told (SIGCHLD), so an
//! interactive shell reports a foreground job as stopped.
use std::collections::{HashMap, HashSet, VecDeque};
use std::thread::sleep;
use std::time::{Duration, Instant};

use perch_proto::v1::{AffectedProcess, ProcessOutcome};

use super::pidfd::{is_gone, signal_name};
use super::procs::ProcStat;
use super::report::affected;
use super::target::Pinned;
use super::{Executor, Outcome, Request, SIGCONT, SIGKILL, SIGSTOP};

/// Total time members get to stop; a task in uninterruptible sleep only
/// stops when it wakes, and the action goes on without it.
const STOP_WAIT: Duration = Duration::from_secs(3);
const POLL: Duration = Duration::from_millis(2);
/// Bounds against a fork bomb that outruns the stops.
const MAX_ROUNDS: usize = 500;
const MAX_MEMBERS: usize = 100_000;

/// Which processes belong.
#[derive(Clone, Copy, Debug)]
pub(super) enum Scope {
    /// The target and every descendant.
    Tree,
    /// Every process in this process group.
    Group(u32),
}

#[derive(Debug)]
struct Member {
    p: Pinned,
    /// We sent SIGSTOP.
    stop_sent: bool,
    /// It was running when found: continue it after the action's signal.
    resume: bool,
}

#[derive(Debug)]
pub(super) struct Sweep<'a> {
    ex: &'a Executor,
    req: &'a Request,
    scope: Scope,
    target_pid: u32,
    members: Vec<Member>,
    by_pid: HashMap<u32, usize>,
    /// Members that had not stopped when the stop wait ran out.
    unsettled: usize,
    /// The member or round bound was hit.
    capped: bool,
}

impl<'a> Sweep<'a> {
    pub fn new(ex: &'a Executor, req: &'a Request, target: Pinned, scope: Scope) -> Self {
        let mut s = Self {
            ex,
            req,
            scope,
            target_pid: target.stat.pid,
            members: Vec::new(),
            by_pid: HashMap::new(),
            unsettled: 0,
            capped: false,
        };
        s.add(target);
        s
    }

    fn add(&mut self, p: Pinned) {
        self.by_pid.insert(p.stat.pid, self.members.len());
        let resume = !p.stat.is_stopped();
        self.members.push(Member {
            p,
            stop_sent: false,
            resume,
        });
    }

    /// The pinned members, target first.
    pub fn members(&self) -> impl Iterator<Item = &Pinned> {
        self.members.iter().map(|m| &m.p)
    }

    pub fn pids(&self) -> HashSet<u32> {
        self.by_pid.keys().copied().collect()
    }

    fn is_member(&self, st: &ProcStat) -> bool {
        self.by_pid
            .get(&st.pid)
            .is_some_and(|&i| self.members[i].p.stat.start_ns == st.start_ns)
    }

    /// Finds every member.  With `stop`, stops them all and rescans until
    /// no new member appears.  A refused member ends the sweep: whatever
    /// was stopped is continued and the refusal is returned.
    pub fn collect(&mut self, stop: bool) -> Result<(), Outcome> {
        self.round()?;
        if !stop {
            return Ok(());
        }
        let deadline = Instant::now() + STOP_WAIT;
        for _ in 0..MAX_ROUNDS {
            self.stop_new();
            self.wait_stopped(deadline);
            if self.round()? == 0 || self.capped {
                return self.recheck();
            }
        }
        self.capped = true;
        self.recheck()
    }

    /// Once the members are held still (stopped, or frozen by the caller):
    /// their credentials again, since one may have exec'd a setuid binary
    /// after it was found.  A refusal continues whatever this sweep stopped.
    pub fn recheck(&self) -> Result<(), Outcome> {
        let checked = self.ex.recheck(self.members(), self.req, &self.what());
        if checked.is_err() {
            self.abort();
        }
        checked
    }

    /// One scan: pins and adds the members not known yet; their count.
    fn round(&mut self) -> Result<usize, Outcome> {
        let snap = self.ex.procfs.scan();
        let mut added = 0;
        for seen in self.discover(&snap) {
            if self.members.len() >= MAX_MEMBERS {
                self.capped = true;
                break;
            }
            if let Some((code, why)) = self.ex.refusal(seen, self.req) {
                self.abort();
                return Err(Outcome::not_done(
                    code,
                    format!("refused: {} includes {why}", self.what()),
                ));
            }
            let Some(p) = Pinned::adopt(&self.ex.procfs, seen) else {
                continue;
            };
            let belongs = match self.scope {
                Scope::Tree => self.by_pid.contains_key(&p.stat.ppid),
                Scope::Group(pgid) => p.stat.pgid == pgid,
            };
            if belongs && !self.by_pid.contains_key(&p.stat.pid) {
                self.add(p);
                added += 1;
            }
        }
        Ok(added)
    }

    /// "the tree of pid 42", "process group 42".
    fn what(&self) -> String {
        match self.scope {
            Scope::Tree => format!("the tree of pid {}", self.target_pid),
            Scope::Group(pgid) => format!("process group {pgid}"),
        }
    }

    /// Processes in `snap` that belong but are not members yet; for a tree
    /// in breadth-first order, so parents are pinned before children.
    fn discover<'s>(&self, snap: &'s [ProcStat]) -> Vec<&'s ProcStat> {
        match self.scope {
            Scope::Group(pgid) => snap
                .iter()
                .filter(|s| s.pgid == pgid && !self.by_pid.contains_key(&s.pid))
                .collect(),
            Scope::Tree => {
                let mut children: HashMap<u32, Vec<&ProcStat>> = HashMap::new();
                for s in snap {
                    children.entry(s.ppid).or_default().push(s);
                }
                // Only members still alive as the same process count as
                // parents: a reused pid's children are not ours.
                let mut queue: VecDeque<u32> = snap
                    .iter()
                    .filter(|s| self.is_member(s))
                    .map(|s| s.pid)
                    .collect();
                let mut seen: HashSet<u32> = queue.iter().copied().collect();
                let mut found = Vec::new();
                while let Some(pid) = queue.pop_front() {
                    for &c in children.get(&pid).map_or(&[][..], Vec::as_slice) {
                        if !seen.insert(c.pid) || self.by_pid.contains_key(&c.pid) {
                            continue;
                        }
                        found.push(c);
                        queue.push_back(c.pid);
                    }
                }
                found
            }
        }
    }

    fn stop_new(&mut self) {
        for m in self.members.iter_mut().filter(|m| !m.stop_sent) {
            m.stop_sent = true;
            let _ = m.p.fd.signal(SIGSTOP);
        }
    }

    /// Waits until every member is stopped, frozen or gone, at most until
    /// `deadline`; records how many were not.
    fn wait_stopped(&mut self, deadline: Instant) {
        loop {
            let pending = self
                .members
                .iter()
                .filter(|m| !self.quiescent(&m.p))
                .count();
            self.unsettled = pending;
            if pending == 0 || Instant::now() >= deadline {
                return;
            }
            sleep(POLL);
        }
    }

    /// Cannot fork: every thread stopped (or exiting), or the whole
    /// process frozen by its cgroup, or the process is gone.
    fn quiescent(&self, p: &Pinned) -> bool {
        let procfs = &self.ex.procfs;
        let Ok(tids) = procfs.threads(p.stat.pid) else {
            return true;
        };
        if p.now(procfs).is_none() {
            return true;
        }
        let stopped = tids.iter().all(|&t| {
            procfs
                .thread_stat(p.stat.pid, t)
                .map_or(true, |s| matches!(s.state, b'T' | b't' | b'Z' | b'X'))
        });
        stopped || self.ex.cgroup_frozen(p.stat.pid)
    }

    /// Continues the members this sweep stopped (after a refusal).
    fn abort(&self) {
        for m in self.members.iter().filter(|m| m.stop_sent && m.resume) {
            let _ = m.p.fd.signal(SIGCONT);
        }
    }

    /// Sends `sig` to every member (in a dry run: reports who would get
    /// it), then continues those this sweep stopped if `sig` needs them
    /// running.  One line per member, target first.
    ///
    /// Children are signalled before their parents: a parent that dies
    /// first can orphan a stopped process group of its children, and the
    /// kernel then sends that group SIGHUP and SIGCONT — continuing
    /// members not signalled yet, which could fork again.
    pub fn finish(&self, sig: i32) -> Vec<AffectedProcess> {
        let name = signal_name(sig);
        let procfs = &self.ex.procfs;
        let mut lines: Vec<Option<AffectedProcess>> = vec![None; self.members.len()];
        for i in self.deepest_first() {
            let m = &self.members[i];
            lines[i] = Some(if self.req.dry_run {
                affected(&m.p, ProcessOutcome::WouldAct, format!("would send {name}"))
            } else if m.p.now(procfs).is_none() {
                affected(&m.p, ProcessOutcome::Gone, format!("exited before {name}"))
            } else {
                match m.p.fd.signal(sig) {
                    Ok(()) => affected(&m.p, ProcessOutcome::Done, format!("sent {name}")),
                    Err(e) if is_gone(&e) => {
                        affected(&m.p, ProcessOutcome::Gone, format!("exited before {name}"))
                    }
                    Err(e) => affected(&m.p, ProcessOutcome::Failed, format!("{name}: {e}")),
                }
            });
        }
        if !self.req.dry_run && sig != SIGKILL && sig != SIGSTOP {
            for m in self.members.iter().filter(|m| m.stop_sent && m.resume) {
                let _ = m.p.fd.signal(SIGCONT);
            }
        }
        lines.into_iter().flatten().collect()
    }

    /// Member indices ordered by how many of their ancestors are members,
    /// most first.
    fn deepest_first(&self) -> Vec<usize> {
        let depth = |i: usize| {
            let mut d = 0usize;
            let mut ppid = self.members[i].p.stat.ppid;
            // Bounded: a pid cycle cannot occur, but stale stats could.
            while d < self.members.len()
                && let Some(&j) = self.by_pid.get(&ppid)
            {
                d += 1;
                ppid = self.members[j].p.stat.ppid;
            }
            d
        };
        let mut order: Vec<(usize, usize)> =
            (0..self.members.len()).map(|i| (depth(i), i)).collect();
        order.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        order.into_iter().map(|(_, i)| i).collect()
    }

    /// What the detail should add: members that would not stop, bounds
    /// hit, members left stopped as they were found.
    pub fn note(&self, sig: i32) -> Option<String> {
        let mut notes = Vec::new();
        if self.unsettled > 0 {
            notes.push(format!(
                "{} processes did not stop within {} s (uninterruptible sleep?), a child they forked meanwhile may have escaped",
                self.unsettled,
                STOP_WAIT.as_secs()
            ));
        }
        if self.capped {
            notes.push(format!(
                "stopped looking after {} processes",
                self.members.len()
            ));
        }
        let kept = self.members.iter().filter(|m| !m.resume).count();
        if kept > 0 && !self.req.dry_run && ![SIGKILL, SIGSTOP, SIGCONT].contains(&sig) {
            notes.push(format!(
                "{kept} processes were already stopped and stay stopped ({} takes effect when they are continued)",
                signal_name(sig)
            ));
        }
        (!notes.is_empty()).then(|| notes.join("; "))
    }
}
