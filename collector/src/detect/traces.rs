//! Spydertraces: red flags rolled up by causal ancestry.  A trace is rooted
//! at the nearest ancestor (or the flagged process itself) that starts a
//! session; later flags under the same root join it while it is active.
//! A trace closes after a quiet time without new flags; a flag under a
//! closed trace's root opens a new one.
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};

use perch_proto::v1 as pb;

use super::{
    rules::Severity,
    score::{self, Inputs},
};
use crate::{
    convert::{self},
    model::{ProcKey, ProcessInfo},
};

/// Parents whose children start a session: remote and console logins,
/// schedulers, terminal multiplexers and container runtimes.
const SESSION_PARENTS: &[&str] = &[
    "sshd",
    "sshd-session",
    "login",
    "cron",
    "crond",
    "atd",
    "tmux: server",
    "tmux",
    "screen",
    "SCREEN",
    "containerd-shim",
    "containerd-shim-runc-v2",
    "conmon",
    "runc",
    "systemd",
];

/// The index in `chain` (the flagged process first, then its ancestors
/// nearest first) of the process the trace is rooted at.
#[must_use]
pub fn session_root(chain: &[&ProcessInfo]) -> usize {
    for (i, p) in chain.iter().enumerate() {
        let parent = chain.get(i + 1);
        let leader = p.key.pid == p.sid && p.key.pid > 1;
        let service = p.ppid == 1;
        let by_parent = parent.is_some_and(|q| {
            SESSION_PARENTS.contains(&q.comm.as_str()) || q.comm.starts_with("containerd-shim")
        });
        let container = |x: &ProcessInfo| x.cgroup.as_deref().and_then(|c| c.container_id.clone());
        let container_entry =
            container(p).is_some() && parent.is_some_and(|q| container(q) != container(p));
        if leader || service || by_parent || container_entry {
            return i;
        }
    }
    chain.len().saturating_sub(1)
}

#[derive(Debug)]
struct TraceRec {
    trace: pb::Trace,
    root: ProcKey,
    distinct: BTreeMap<String, Severity>,
    procs: HashSet<ProcKey>,
    users: BTreeSet<String>,
    login_users: BTreeSet<String>,
    tactics: BTreeSet<String>,
    root_user: bool,
}

/// What a new flag brings to its trace.
pub struct Joining<'a> {
    pub flag: &'a pb::Flag,
    pub rule_id: &'a str,
    pub severity: Severity,
    /// The flagged process, then its ancestors up to the root.
    pub chain: &'a [&'a ProcessInfo],
    pub interactive: bool,
    /// A suppression policy selects this flag's shape.
    pub suppressed: bool,
}

#[derive(Debug)]
pub struct TraceStore {
    items: VecDeque<TraceRec>,
    first: u64,
    active: HashMap<ProcKey, u64>,
    pub evicted: u64,
    pub notable: u32,
    pub quiet_ns: u64,
    /// Wall-clock time of boot, for the names.
    pub boot_unix_ns: u64,
}

impl TraceStore {
    #[must_use]
    pub fn new(notable: u32, quiet_ns: u64, boot_unix_ns: u64) -> Self {
        Self {
            items: VecDeque::new(),
            first: 0,
            active: HashMap::new(),
            evicted: 0,
            notable,
            quiet_ns,
            boot_unix_ns,
        }
    }

    fn get_mut(&mut self, no: u64) -> Option<&mut TraceRec> {
        let i = usize::try_from(no.checked_sub(self.first)?).ok()?;
        self.items.get_mut(i)
    }

    /// The active trace rooted at `root`, if any.
    #[must_use]
    pub fn active_for(&self, root: &ProcKey) -> Option<u64> {
        self.active.get(root).copied()
    }

    /// Marks the trace `id` suppressed; returns its new state.
    pub fn suppress(&mut self, id: &str) -> Option<pb::Trace> {
        let t = self.items.iter_mut().find(|t| t.trace.id == id)?;
        t.trace.suppressed = true;
        Some(t.trace.clone())
    }

    /// A repeat of a flag in trace `no`: only its last activity moves.
    pub fn touch(&mut self, no: u64, now_ns: u64) {
        if let Some(t) = self.get_mut(no) {
            t.trace.last_time_ns = t.trace.last_time_ns.max(now_ns);
        }
    }

    /// Adds a flag to the active trace of `root` (opening one); returns the
    /// trace's number and its new state.
    pub fn join(&mut self, root: &ProcessInfo, j: &Joining<'_>, now_ns: u64) -> (u64, pb::Trace) {
        let no = match self.active.get(&root.key) {
            Some(no) => *no,
            None => self.open(root, j.flag, now_ns),
        };
        let notable = self.notable;
        let Some(t) = self.get_mut(no) else {
            return (no, pb::Trace::default());
        };
        t.distinct
            .entry(j.rule_id.to_owned())
            .and_modify(|s| *s = (*s).max(j.severity))
            .or_insert(j.severity);
        for p in j.chain {
            t.procs.insert(p.key);
        }
        let flagged = j.chain.first();
        if let Some(p) = flagged {
            t.users.insert(
                p.user
                    .as_deref()
                    .map_or_else(|| p.euid.to_string(), str::to_owned),
            );
            if let Some(l) = p.facts.as_deref().and_then(|f| f.login_user.as_deref()) {
                t.login_users.insert(l.to_owned());
            }
            t.root_user |= p.euid == 0;
        }
        for m in &j.flag.mitre_mapping {
            t.tactics.insert(m.tactic.clone());
        }
        let tr = &mut t.trace;
        tr.interactive |= j.interactive;
        // The trigger (the trace's first flag) decides; later flags do not
        // un-suppress it.
        if tr.flag_count == 0 {
            tr.suppressed = j.suppressed;
        }
        tr.flag_count += 1;
        tr.flag_ids.push(j.flag.id.clone());
        tr.last_time_ns = tr.last_time_ns.max(now_ns);
        tr.unique_flag_count = u32::try_from(t.distinct.len()).unwrap_or(u32::MAX);
        tr.process_count = u32::try_from(t.procs.len()).unwrap_or(u32::MAX);
        tr.users = t.users.iter().cloned().collect();
        tr.login_users = t.login_users.iter().cloned().collect();
        tr.mitre_mapping = t.tactics.iter().cloned().collect();
        let max = t.distinct.values().max().copied().unwrap_or(Severity::Info);
        tr.max_severity = super::pb_severity(max).into();
        tr.score = score::score(&Inputs {
            distinct: t.distinct.values().copied().collect(),
            interactive: tr.interactive,
            root: t.root_user,
            non_local_connection: false,
        });
        tr.notable = tr.score >= notable;
        (no, tr.clone())
    }

    fn open(&mut self, root: &ProcessInfo, trigger: &pb::Flag, now_ns: u64) -> u64 {
        let no = self.first + self.items.len() as u64;
        let when = perch_proto::civil::rfc3339_utc(self.boot_unix_ns.saturating_add(now_ns));
        let trace = pb::Trace {
            id: format!("trace:{no}"),
            name: format!("trace_from_{}_at_{when}", root.comm),
            trigger: trigger.id.clone(),
            trigger_short_name: trigger.short_name.clone(),
            trigger_ancestors: trigger.ancestors.clone(),
            root: Some(convert::key(&root.key)),
            root_proc_name: root.comm.clone(),
            status: pb::TraceStatus::Active.into(),
            start_time_ns: now_ns,
            last_time_ns: now_ns,
            ..pb::Trace::default()
        };
        self.items.push_back(TraceRec {
            trace,
            root: root.key,
            distinct: BTreeMap::new(),
            procs: HashSet::new(),
            users: BTreeSet::new(),
            login_users: BTreeSet::new(),
            tactics: BTreeSet::new(),
            root_user: false,
        });
        self.active.insert(root.key, no);
        no
    }

    /// Closes the traces quiet for longer than the quiet time, and evicts
    /// closed ones beyond `max` or older than `max_age_ns`; returns the
    /// traces that closed.
    pub fn tick(&mut self, now_ns: u64, max: usize, max_age_ns: u64) -> Vec<pb::Trace> {
        let mut closed = Vec::new();
        let quiet = self.quiet_ns;
        for t in &mut self.items {
            let tr = &mut t.trace;
            if tr.status == i32::from(pb::TraceStatus::Active)
                && now_ns.saturating_sub(tr.last_time_ns) > quiet
            {
                tr.status = pb::TraceStatus::Closed.into();
                tr.closed_time_ns = now_ns;
                self.active.remove(&t.root);
                closed.push(tr.clone());
            }
        }
        while let Some(front) = self.items.front() {
            let old = now_ns.saturating_sub(front.trace.last_time_ns) > max_age_ns;
            if self.items.len() <= max && !old {
                break;
            }
            if self.active.get(&front.root) == Some(&self.first) {
                self.active.remove(&front.root);
            }
            self.items.pop_front();
            self.first += 1;
            self.evicted += 1;
        }
        closed
    }

    /// Checked `ListTraces`: highest score first, then newest.
    #[must_use]
    pub fn list(&self, q: &TraceQuery) -> pb::ListTracesResponse {
        let mut traces: Vec<&pb::Trace> = self
            .items
            .iter()
            .map(|t| &t.trace)
            .filter(|t| t.last_time_ns >= q.since_ns)
            .filter(|t| t.score >= q.min_score)
            .filter(|t| {
                q.min_severity
                    .is_none_or(|m| t.max_severity >= i32::from(super::pb_severity(m)))
            })
            .filter(|t| q.id.is_empty() || t.id == q.id)
            .collect();
        traces.sort_by(|a, b| {
            b.score
                .cmp(&a.score)
                .then(b.start_time_ns.cmp(&a.start_time_ns))
        });
        pb::ListTracesResponse {
            traces: traces.into_iter().take(q.limit).cloned().collect(),
            held: self.items.len() as u64,
            evicted: self.evicted,
            notable_score: self.notable,
        }
    }
}

/// Checked `ListTraces` arguments.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TraceQuery {
    pub since_ns: u64,
    pub min_severity: Option<Severity>,
    pub min_score: u32,
    pub limit: usize,
    pub id: String,
}
