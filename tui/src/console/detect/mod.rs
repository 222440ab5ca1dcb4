//! The console's copy of each collector's flags and Spydertraces: seeded
//! from `ListFlags` / `ListTraces` at every (re)list and kept current by
//! the `FlagRaised` / `TraceUpdated` events after it.  Every message
//! carries the whole flag or trace, so one replaces what is held by id
//! (a repeat's new count, a trace's new score), unless it is older than
//! what is held (an event the snapshot already had).  Bounded like
//! perchd's store: at most a count of each, the oldest going first.
//! Strings are cleaned of control characters here, once.
pub mod filter;

use std::collections::HashMap;

use perch_proto::v1::{Flag, Severity, Trace, TraceStatus, event::Kind};

use super::model::{FxBuild, HostId, ProcessKey};
use crate::text::clean;

/// perchd's default notable threshold, used until a collector says its own.
pub const DEFAULT_NOTABLE: u32 = 50;

/// A process's flags that count (not excepted): how many, and the highest
/// severity (a `Severity` number), for the FLAGS column and its sort.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct FlagMark {
    pub count: u16,
    pub severity: u8,
}

impl FlagMark {
    #[must_use]
    pub fn severity(self) -> Severity {
        Severity::try_from(i32::from(self.severity)).unwrap_or_default()
    }
}

/// One flag as the console holds it.
#[derive(Clone, Debug)]
pub struct HeldFlag {
    pub host: HostId,
    /// As perchd sent it, strings cleaned.
    pub f: Flag,
    /// The flagged process.
    pub key: Option<ProcessKey>,
}

/// One trace as the console holds it.
#[derive(Clone, Debug)]
pub struct HeldTrace {
    pub host: HostId,
    pub t: Trace,
    /// Its root process.
    pub root: Option<ProcessKey>,
}

impl HeldFlag {
    fn new(host: HostId, mut f: Flag) -> HeldFlag {
        for s in [
            &mut f.short_name,
            &mut f.description,
            &mut f.name,
            &mut f.exe,
            &mut f.euser,
            &mut f.auser,
            &mut f.rule_id,
            &mut f.id,
            &mut f.trace_id,
        ] {
            clean_in_place(s);
        }
        for s in f.ancestors.iter_mut().chain(f.args.iter_mut()) {
            clean_in_place(s);
        }
        let key = f
            .process
            .as_ref()
            .map(|k| ProcessKey::new(host, k.pid, k.start_time_ns));
        HeldFlag { host, f, key }
    }

    #[must_use]
    pub fn severity(&self) -> Severity {
        self.f.severity()
    }
}

impl HeldTrace {
    fn new(host: HostId, mut t: Trace) -> HeldTrace {
        for s in [
            &mut t.id,
            &mut t.name,
            &mut t.trigger,
            &mut t.trigger_short_name,
            &mut t.root_proc_name,
        ] {
            clean_in_place(s);
        }
        for s in t.users.iter_mut().chain(t.login_users.iter_mut()) {
            clean_in_place(s);
        }
        let root = t
            .root
            .as_ref()
            .map(|k| ProcessKey::new(host, k.pid, k.start_time_ns));
        HeldTrace { host, t, root }
    }

    #[must_use]
    pub fn is_active(&self) -> bool {
        self.t.status() != TraceStatus::Closed
    }
}

fn clean_in_place(s: &mut String) {
    if let std::borrow::Cow::Owned(c) = clean(s) {
        *s = c;
    }
}

/// Each host's flags and traces, by perchd's id.
#[derive(Debug, Default)]
pub struct DetectStore {
    flags: HashMap<(HostId, String), HeldFlag, FxBuild>,
    traces: HashMap<(HostId, String), HeldTrace, FxBuild>,
    /// Each host's notable threshold (`ListTracesResponse.notable_score`).
    notable: HashMap<HostId, u32, FxBuild>,
    dropped: u64,
    generation: u64,
}

impl DetectStore {
    /// A `ListFlags` / `ListTraces` snapshot of `host`: it replaces what
    /// the host had.  Returns nothing: traces already notable when the
    /// console connects are not news.
    pub fn snapshot(&mut self, host: HostId, flags: Vec<Flag>, traces: Vec<Trace>, notable: u32) {
        self.flags.retain(|k, _| k.0 != host);
        self.traces.retain(|k, _| k.0 != host);
        for f in flags {
            let f = HeldFlag::new(host, f);
            self.flags.insert((host, f.f.id.clone()), f);
        }
        for t in traces {
            let t = HeldTrace::new(host, t);
            self.traces.insert((host, t.t.id.clone()), t);
        }
        if notable > 0 {
            self.notable.insert(host, notable);
        }
        self.touch();
    }

    /// One event of `host`'s stream.  `None` when it is not a flag or a
    /// trace; `Some(Some(trace))` when a trace just became notable (it
    /// was not, or was not held, before).
    pub fn apply(&mut self, host: HostId, kind: &Kind) -> Option<Option<&HeldTrace>> {
        match kind {
            Kind::Flag(x) => {
                if let Some(f) = &x.flag {
                    let f = HeldFlag::new(host, f.clone());
                    let k = (host, f.f.id.clone());
                    let newer = self.flags.get(&k).is_none_or(|o| {
                        (f.f.last_time_ns, f.f.repeat_count) >= (o.f.last_time_ns, o.f.repeat_count)
                    });
                    if newer {
                        self.flags.insert(k, f);
                        self.touch();
                    }
                }
                Some(None)
            }
            Kind::Trace(x) => {
                let Some(t) = &x.trace else { return Some(None) };
                let t = HeldTrace::new(host, t.clone());
                let k = (host, t.t.id.clone());
                let was = self.traces.get(&k);
                let newer = was.is_none_or(|o| {
                    (t.t.last_time_ns, t.t.flag_count, t.t.status)
                        >= (o.t.last_time_ns, o.t.flag_count, o.t.status)
                });
                if !newer {
                    return Some(None);
                }
                let threshold = self.notable_score(host);
                let notable = |tr: &HeldTrace| tr.t.notable || tr.t.score >= threshold;
                let news = notable(&t) && !was.is_some_and(notable);
                self.traces.insert(k.clone(), t);
                self.touch();
                Some(if news { self.traces.get(&k) } else { None })
            }
            _ => None,
        }
    }

    /// Keeps at most `flags` flags and `traces` traces: the oldest (by
    /// last activity) go first, closed traces before active ones.
    /// Returns how many went.
    pub fn bound(&mut self, flags: usize, traces: usize) -> usize {
        let mut n = shed(&mut self.flags, flags, |f| (f.f.last_time_ns, f.f.time_ns));
        n += shed(&mut self.traces, traces, |t| {
            (u64::from(t.is_active()), t.t.last_time_ns)
        });
        if n > 0 {
            self.dropped += n as u64;
            self.touch();
        }
        n
    }

    fn touch(&mut self) {
        self.generation = self.generation.wrapping_add(1);
    }

    #[must_use]
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Flags and traces dropped to stay within the bound.
    #[must_use]
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// The score at which `host`'s traces are notable.
    #[must_use]
    pub fn notable_score(&self, host: HostId) -> u32 {
        self.notable.get(&host).copied().unwrap_or(DEFAULT_NOTABLE)
    }

    pub fn flags(&self) -> impl Iterator<Item = &HeldFlag> {
        self.flags.values()
    }

    pub fn traces(&self) -> impl Iterator<Item = &HeldTrace> {
        self.traces.values()
    }

    #[must_use]
    pub fn flag(&self, host: HostId, id: &str) -> Option<&HeldFlag> {
        self.flags.get(&(host, id.to_owned()))
    }

    #[must_use]
    pub fn trace(&self, host: HostId, id: &str) -> Option<&HeldTrace> {
        self.traces.get(&(host, id.to_owned()))
    }

    /// A trace's flags, oldest first.
    #[must_use]
    pub fn flags_of(&self, t: &HeldTrace) -> Vec<&HeldFlag> {
        let mut v: Vec<&HeldFlag> =
            t.t.flag_ids
                .iter()
                .filter_map(|id| self.flag(t.host, id))
                .collect();
        // Flags perchd counted in the trace but the console missed (held
        // before the bound dropped them) are simply not shown.
        v.sort_by(|a, b| (a.f.time_ns, &a.f.id).cmp(&(b.f.time_ns, &b.f.id)));
        v
    }

    /// A process's flags (oldest first) and the traces it is in (its flags'
    /// traces, and those rooted at it), for the detail view.
    #[must_use]
    pub fn of_process(&self, key: &ProcessKey) -> (Vec<&HeldFlag>, Vec<&HeldTrace>) {
        let mut flags: Vec<&HeldFlag> = self
            .flags()
            .filter(|f| f.key.as_ref() == Some(key))
            .collect();
        flags.sort_by(|a, b| (a.f.time_ns, &a.f.id).cmp(&(b.f.time_ns, &b.f.id)));
        let mut traces: Vec<&HeldTrace> = self
            .traces()
            .filter(|t| {
                t.root.as_ref() == Some(key)
                    || flags
                        .iter()
                        .any(|f| !f.f.trace_id.is_empty() && f.f.trace_id == t.t.id)
            })
            .collect();
        traces.sort_by(|a, b| b.t.score.cmp(&a.t.score).then_with(|| a.t.id.cmp(&b.t.id)));
        (flags, traces)
    }

    /// Every flagged process's mark (flags that count: not excepted).
    #[must_use]
    pub fn marks(&self) -> HashMap<ProcessKey, FlagMark, FxBuild> {
        let mut out: HashMap<ProcessKey, FlagMark, FxBuild> = HashMap::default();
        for f in self.flags().filter(|f| !f.f.excepted) {
            let Some(key) = f.key else { continue };
            let m = out.entry(key).or_default();
            m.count = m.count.saturating_add(1);
            let sev = u8::try_from(f.f.severity).unwrap_or(0);
            m.severity = m.severity.max(sev);
        }
        out
    }

    /// Active, not suppressed traces by their highest severity, for the
    /// header: (critical, high, medium, low or info).
    #[must_use]
    pub fn active_by_severity(&self) -> [usize; 4] {
        let mut out = [0usize; 4];
        for t in self.traces().filter(|t| t.is_active() && !t.t.suppressed) {
            let i = match t.t.max_severity() {
                Severity::Critical => 0,
                Severity::High => 1,
                Severity::Medium => 2,
                _ => 3,
            };
            out[i] += 1;
        }
        out
    }
}

/// Drops the rows that sort lowest by `order` until `limit` are left.
fn shed<T, K: Ord>(
    map: &mut HashMap<(HostId, String), T, FxBuild>,
    limit: usize,
    order: impl Fn(&T) -> K,
) -> usize {
    let excess = map.len().saturating_sub(limit);
    if excess == 0 {
        return 0;
    }
    let mut keys: Vec<((HostId, String), K)> =
        map.iter().map(|(k, v)| (k.clone(), order(v))).collect();
    keys.select_nth_unstable_by(excess - 1, |a, b| a.1.cmp(&b.1));
    for (k, _) in keys.into_iter().take(excess) {
        map.remove(&k);
    }
    excess
}

#[cfg(test)]
mod tests;
