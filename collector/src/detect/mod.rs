//! Detections: rules (YAML, CEL conditions) evaluated against the process
//! model on every exec, security syscall, network change and OOM kill
//! (each rule names the kinds it applies to, `on:`), raising flags that
//! roll up into Spydertraces.  The engine calls [`Detector::before`] and
//! [`Detector::after`] for each model event under the model lock, and
//! publishes what they return with the event.
mod context;
mod dispatch;
mod event;
mod exceptions;
mod flag;
mod gate;
mod lazy;
pub(crate) mod lineage;
mod pipes;
pub mod policy_flag;
pub mod rules;
pub mod score;
mod settings;
mod store;
mod suppress;
mod template;
mod traces;

use std::collections::{HashMap, HashSet, VecDeque};

use perch_proto::v1 as pb;

pub use context::base_name;
pub use flag::rule_info;
pub use rules::{Kind, On, RuleError, RuleSet, Severity};
pub use settings::{DetectSettings, pb_severity};
pub use store::FlagQuery;
pub use traces::{TraceQuery, session_root};

use context::Subject;
use event::EventCtx;
use lineage::{ancestry, command_hash, parent_key};
use store::{FlagRec, FlagStore};
use traces::{Joining, TraceStore};

use crate::model::{FdKind, ModelEvent, ProcKey, ProcessInfo, ProcessModel};

/// Bound of the per-process and pipe indexes before they are pruned.
const INDEX_MAX: usize = 16_384;

pub struct Detector {
    rules: RuleSet,
    /// Per rule: the cheap test run before its condition, if any.
    gates: Vec<Option<gate::Gate>>,
    /// For each event kind (`On::index`), the enabled rules for it.
    index: Vec<Vec<usize>>,
    state: dispatch::EventState,
    /// Flags raised in `before` (OOM kills), published by the next `after`.
    pending: Vec<pb::Event>,
    /// The rule files' lists, for description placeholders.
    lists: HashMap<String, Vec<String>>,
    root: cel::Context<'static, 'static>,
    settings: DetectSettings,
    flags: FlagStore,
    traces: TraceStore,
    /// (rule, trace root, excepted) -> flag number: a repeat raises no
    /// new flag.
    dedup: HashMap<(usize, ProcKey, bool), u64>,
    /// (rule, process) already flagged (re-evaluations must not repeat).
    matched: HashSet<(usize, ProcKey)>,
    /// Pipe inode -> processes reading it on stdin / writing it on stdout.
    readers: HashMap<u64, Vec<ProcKey>>,
    writers: HashMap<u64, Vec<(ProcKey, String)>>,
    /// (parent, command line hash) -> times of failed exits.
    failures: HashMap<(ProcKey, u64), VecDeque<u64>>,
    /// Trace suppression policies (loaded, and added by `suppress_trace`).
    policies: Vec<crate::policy::TracePolicy>,
    /// Enforcing workload policies: a flag on a process their tree covers
    /// is excepted (the policy allows what it raised on).
    workloads: Vec<std::sync::Arc<crate::policy::WorkloadPolicy>>,
    /// This host's name (machine selectors).
    host: String,
    pub eval_errors: u64,
    last_tick_ns: u64,
}

impl std::fmt::Debug for Detector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Detector")
            .field("rules", &self.rules.rules.len())
            .finish_non_exhaustive()
    }
}

fn event(time_ns: u64, kind: pb::event::Kind) -> pb::Event {
    pb::Event {
        seq: 0,
        time_ns,
        kind: Some(kind),
    }
}

impl Detector {
    #[must_use]
    pub fn new(rules: RuleSet, settings: DetectSettings, boot_unix_ns: u64) -> Self {
        let mut root = cel::Context::default();
        let lists: HashMap<String, cel::Value> = rules
            .lists
            .iter()
            .map(|(k, v)| (k.clone(), cel::Value::from(v.clone())))
            .collect();
        root.add_variable_from_value("lists", cel::Value::from(lists));
        let traces = TraceStore::new(
            settings.notable_score,
            settings.trace_quiet_ns,
            boot_unix_ns,
        );
        let lists = rules
            .lists
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let gates = rules
            .rules
            .iter()
            .map(|r| gate::Gate::of(r.program.expression(), &rules.lists))
            .collect();
        Self {
            index: dispatch::index(&rules.rules),
            state: dispatch::EventState::new(),
            pending: Vec::new(),
            rules,
            gates,
            lists,
            root,
            settings,
            flags: FlagStore::default(),
            traces,
            dedup: HashMap::new(),
            matched: HashSet::new(),
            readers: HashMap::new(),
            writers: HashMap::new(),
            failures: HashMap::new(),
            policies: Vec::new(),
            workloads: Vec::new(),
            host: String::new(),
            eval_errors: 0,
            last_tick_ns: 0,
        }
    }

    /// Before `e` is applied: an exit is still in the model, so its command
    /// line and parent are known (for the restart count).
    pub fn before(&mut self, model: &ProcessModel, e: &ModelEvent) {
        self.judge_exit(model, e);
        let ModelEvent::Exit { time_ns, key, exit } = e else {
            return;
        };
        // A failure is a known nonzero code or a signal; an exit whose
        // status is unknown (healed from /proc after lost records) is not
        // one, or every process of a storm that overflowed the ring would
        // count as failing and flag its restarts.
        let failed = exit.code.is_some_and(|c| c != 0) || exit.signal.is_some();
        if !failed {
            return;
        }
        let Some(p) = model.get_key(key) else { return };
        if self.failures.len() >= INDEX_MAX {
            let window = self.settings.restart_window_ns;
            self.failures.retain(|_, t| {
                t.back()
                    .is_some_and(|l| time_ns.saturating_sub(*l) <= window)
            });
        }
        let times = self
            .failures
            .entry((parent_key(p), command_hash(p)))
            .or_default();
        times.push_back(*time_ns);
        if times.len() > 64 {
            times.pop_front();
        }
    }

    /// After `e` is applied: the flag and trace events it causes.
    pub fn after(&mut self, model: &ProcessModel, e: &ModelEvent, now_ns: u64) -> Vec<pb::Event> {
        let mut out = std::mem::take(&mut self.pending);
        if let ModelEvent::Exec {
            time_ns, process, ..
        } = e
        {
            let stdio = process.facts.as_deref().map(|f| f.stdio);
            if let Some([fd0, fd1, _]) = stdio {
                self.index_pipes(model, process.key, &process.comm, fd0, fd1);
                self.evaluate(model, &process.key, *time_ns, None, &mut out);
                if fd1.kind == FdKind::Pipe {
                    let readers = self.readers.get(&fd1.inode).cloned().unwrap_or_default();
                    for r in readers.iter().filter(|r| **r != process.key) {
                        self.evaluate(model, r, *time_ns, None, &mut out);
                    }
                }
            } else {
                self.evaluate(model, &process.key, *time_ns, None, &mut out);
            }
        } else {
            self.judge_event(model, e, &mut out);
        }
        if now_ns.saturating_sub(self.last_tick_ns) >= perch_proto::NS_PER_SEC {
            self.last_tick_ns = now_ns;
            let s = &self.settings;
            self.flags.evict(s.max_flags, s.max_age_ns, now_ns);
            for t in self.traces.tick(now_ns, s.max_traces, s.max_age_ns) {
                out.push(event(
                    now_ns,
                    pb::event::Kind::Trace(pb::TraceUpdated { trace: Some(t) }),
                ));
            }
        }
        out
    }

    /// Runs the enabled rules for the event's kind (`ev`, or an exec when
    /// `None`) on the process `key`.
    fn evaluate(
        &mut self,
        model: &ProcessModel,
        key: &ProcKey,
        time_ns: u64,
        ev: Option<&EventCtx>,
        out: &mut Vec<pb::Event>,
    ) {
        let kind = ev.map_or(On::Exec, |e| e.kind);
        // A non-exec event first closes the gates its own fields close, so
        // the usual case (a watched write no rule is about) builds nothing.
        let open: Option<Vec<usize>> = ev.map(|e| {
            let strings = gate::Strings::event_only(e);
            self.index[kind.index()]
                .iter()
                .copied()
                .filter(|&i| self.gate_open(i, &strings))
                .collect()
        });
        if open.as_ref().is_some_and(Vec::is_empty) {
            return;
        }
        let Some(p) = model.get_key(key) else { return };
        let ancestors = ancestry(model, p);
        let stdin_writers = p
            .facts
            .as_deref()
            .filter(|f| f.stdio[0].kind == FdKind::Pipe)
            .and_then(|f| self.writers.get(&f.stdio[0].inode))
            .map(|w| {
                w.iter()
                    .filter(|(k, _)| k != key)
                    .map(|(_, n)| n.clone())
                    .collect()
            })
            .unwrap_or_default();
        let failed_runs = self
            .failures
            .get(&(parent_key(p), command_hash(p)))
            .map_or(0, |t| {
                let w = self.settings.restart_window_ns;
                u32::try_from(
                    t.iter()
                        .filter(|x| time_ns.saturating_sub(**x) <= w)
                        .count(),
                )
                .unwrap_or(u32::MAX)
            });
        let sub = Subject {
            event: kind.name(),
            proc: p,
            ancestors,
            stdin_writers,
            failed_runs,
        };
        let in_container = p
            .cgroup
            .as_deref()
            .is_some_and(|c| c.container_id.is_some());
        // A non-exec event tries its own fields first (dispatch.rs); only
        // the rules those cannot decide see the whole context.
        let (mut hits, undecided) = match (ev, open.as_deref()) {
            (Some(ev), Some(open)) => self.event_only(ev, open),
            _ => (Vec::new(), None),
        };
        hits.retain(|&i| dispatch::in_scope(&self.rules.rules[i], in_container));
        let mut errors = 0;
        let todo = undecided.as_deref().unwrap_or(&self.index[kind.index()]);
        if !todo.is_empty() {
            let strings = gate::Strings::with_event(Some(&sub), ev);
            let vars = context::vars(&sub);
            let mut outer = self.root.new_inner_scope();
            outer.set_variable_resolver(&vars);
            // The event's own object, when it has one, shadows the
            // resolver's `event` (which only knows the kind).
            let mut scope = outer.new_inner_scope();
            if let Some(ev) = ev {
                scope.add_variable_from_value("event", ev.value());
            }
            // An exec is judged once per rule and process; other events
            // repeat (de-duplication counts them).
            let once = ev.is_none();
            for &i in todo {
                let rule = &self.rules.rules[i];
                let scoped = dispatch::in_scope(rule, in_container);
                if !scoped
                    || (once && self.matched.contains(&(i, *key)))
                    || !self.gate_open(i, &strings)
                {
                    continue;
                }
                match rule.program.execute(&scope) {
                    Ok(cel::Value::Bool(true)) => hits.push(i),
                    Ok(_) => {}
                    // A missing key or a type mismatch is "no match".
                    Err(e) => {
                        tracing::debug!(rule = %rule.id, "condition failed: {e}");
                        errors += 1;
                    }
                }
            }
        }
        self.eval_errors += errors;
        for i in hits {
            if ev.is_none() {
                if self.matched.len() >= 4 * INDEX_MAX {
                    self.matched.clear();
                }
                self.matched.insert((i, *key));
            }
            self.raise(i, &sub, ev, time_ns, out);
        }
    }

    fn raise(
        &mut self,
        i: usize,
        sub: &Subject<'_>,
        ev: Option<&EventCtx>,
        time_ns: u64,
        out: &mut Vec<pb::Event>,
    ) {
        let rule = &self.rules.rules[i];
        let excepted = exceptions::excepted(rule, sub)
            .or_else(|| suppress::allowed(&self.policies, rule, sub))
            .or_else(|| policy_flag::covered(&self.workloads, sub, &self.host));
        let chain: Vec<&ProcessInfo> = std::iter::once(sub.proc)
            .chain(sub.ancestors.iter().copied())
            .collect();
        let root_at = session_root(&chain);
        let root = chain[root_at];
        let dedup_key = (i, root.key, excepted.is_some());
        if let Some(no) = self.dedup.get(&dedup_key).copied()
            && let Some(rec) = self.flags.get_mut(no)
            && rec
                .trace
                .is_none_or(|t| self.traces.active_for(&root.key) == Some(t))
        {
            rec.flag.repeat_count = rec.flag.repeat_count.saturating_add(1);
            rec.flag.last_time_ns = time_ns;
            out.push(event(
                time_ns,
                pb::event::Kind::Flag(pb::FlagRaised {
                    flag: Some(rec.flag.clone()),
                }),
            ));
            if let Some(t) = rec.trace {
                self.traces.touch(t, time_ns);
            }
            return;
        }
        let lists = &self.lists;
        let mut flag = flag::build(rule, sub, ev, excepted, lists, time_ns);
        let no = self.flags.push(FlagRec {
            flag: flag.clone(),
            severity: rule.severity,
            trace: None,
        });
        flag.id = format!("flag:{no}");
        let mut trace_event = None;
        if rule.kind == Kind::Red && !flag.excepted {
            let interactive = chain
                .iter()
                .any(|a| !a.tty.is_empty() || a.comm.starts_with("sshd"));
            let joining = Joining {
                flag: &flag,
                rule_id: &rule.id,
                severity: rule.severity,
                chain: &chain[..=root_at],
                interactive,
                suppressed: suppress::suppressed(&self.policies, rule, sub),
            };
            let (t_no, trace) = self.traces.join(root, &joining, time_ns);
            flag.trace_id.clone_from(&trace.id);
            if let Some(rec) = self.flags.get_mut(no) {
                rec.trace = Some(t_no);
                rec.flag.trace_id.clone_from(&trace.id);
            }
            trace_event = Some(event(
                time_ns,
                pb::event::Kind::Trace(pb::TraceUpdated { trace: Some(trace) }),
            ));
        }
        self.dedup.insert(dedup_key, no);
        if self.dedup.len() > 4 * self.settings.max_flags.max(1024) {
            let oldest = no.saturating_sub(self.flags.len() as u64);
            self.dedup.retain(|_, n| *n >= oldest);
        }
        out.push(event(
            time_ns,
            pb::event::Kind::Flag(pb::FlagRaised { flag: Some(flag) }),
        ));
        out.extend(trace_event);
    }

    #[must_use]
    pub fn list_flags(&self, q: &FlagQuery) -> pb::ListFlagsResponse {
        self.flags.list(q)
    }

    #[must_use]
    pub fn list_traces(&self, q: &TraceQuery) -> pb::ListTracesResponse {
        self.traces.list(q)
    }

    #[must_use]
    pub fn rules(&self) -> Vec<pb::RuleInfo> {
        self.rules.rules.iter().map(rule_info).collect()
    }
}

#[cfg(test)]
mod tests;
