//! Non-exec events to the rules written for them: security syscalls,
//! network changes and OOM kills.  Each builds its `event` context only
//! when some enabled rule applies to its kind, so an event no rule cares
//! about costs a lookup.  Also the state these contexts need: which
//! processes made new namespaces, which ports listened already, the OOM
//! kill count.
use std::collections::HashSet;

use perch_proto::v1 as pb;

use super::{
    Detector, EventCtx, INDEX_MAX, event,
    rules::{On, Scope},
};
use crate::{
    model::{ModelEvent, ProcKey, ProcessInfo, ProcessModel},
    net::{NetChange, NetSource, Proto},
    security::Detail,
};

/// `CLONE_NEWNS | CLONE_NEWUSER`: the namespaces that make a process's
/// mounts its own.
const NEW_MNT_OR_USER: u64 = 0x0002_0000 | 0x1000_0000;

/// State kept for the non-exec contexts.
#[derive(Debug, Default)]
pub struct EventState {
    /// Processes that made a new mount or user namespace (their children
    /// are found through the ancestry).
    unshared: HashSet<ProcKey>,
    /// Exit records mark OOM victims (eBPF on a kernel with
    /// `signal_struct.oom_mm`): no guessing from /proc/vmstat.
    pub(super) oom_marked: bool,
    /// (protocol, port) pairs that listened since perchd started.
    ports: HashSet<(Proto, u16)>,
    /// OOM kills counted so far (and attributed to a killed process).
    oom_claimed: Option<u64>,
}

impl EventState {
    #[must_use]
    pub fn new() -> Self {
        Self {
            oom_claimed: event::oom_kills(),
            ..Self::default()
        }
    }
}

/// The rules' index: for each event kind, the rules that apply to it.
#[must_use]
pub fn index(rules: &[super::rules::Rule]) -> Vec<Vec<usize>> {
    On::EVENT_KINDS
        .iter()
        .map(|kind| {
            rules
                .iter()
                .enumerate()
                .filter(|(_, r)| r.enabled && r.on.iter().any(|o| o.covers(*kind)))
                .map(|(i, _)| i)
                .collect()
        })
        .collect()
}

/// Whether `rule` applies where the process runs (container or host).
#[must_use]
pub fn in_scope(rule: &super::rules::Rule, in_container: bool) -> bool {
    match rule.scope {
        Scope::Any => true,
        Scope::Container => in_container,
        Scope::Host => !in_container,
    }
}

impl Detector {
    /// The rules for `ev`'s kind evaluated with only `event` (and `lists`)
    /// bound: cheap, and most non-exec events are decided by their own
    /// fields (a path, a request).  A condition that reads `proc`, `exe`...
    /// fails here on the missing variable and is returned as undecided;
    /// a result reached without them is the result with them (CEL's `&&`
    /// and `||` ignore an error on their other side when this one
    /// decides).  Returns (matched, undecided).
    pub(super) fn event_only(
        &self,
        ev: &EventCtx,
        rules: &[usize],
    ) -> (Vec<usize>, Option<Vec<usize>>) {
        let mut scope = self.root.new_inner_scope();
        scope.add_variable_from_value("event", ev.value());
        let (mut hits, mut undecided) = (Vec::new(), Vec::new());
        for &i in rules {
            match self.rules.rules[i].program.execute(&scope) {
                Ok(cel::Value::Bool(true)) => hits.push(i),
                Ok(_) => {}
                Err(_) => undecided.push(i),
            }
        }
        (hits, Some(undecided))
    }

    /// Whether exit records mark the OOM killer's victims (set at start-up
    /// from what the kernel programs can read).
    pub fn set_oom_marked(&mut self, marked: bool) {
        self.state.oom_marked = marked;
    }

    /// Whether rule `i`'s gate is open on `strings` (a rule without a gate
    /// always is).
    pub(super) fn gate_open(&self, i: usize, strings: &super::gate::Strings<'_>) -> bool {
        self.gates
            .get(i)
            .and_then(Option::as_ref)
            .is_none_or(|g| g.open(strings))
    }

    fn wants(&self, kind: On) -> bool {
        self.index.get(kind.index()).is_some_and(|v| !v.is_empty())
    }

    /// Whether `p` or an ancestor made a new mount or user namespace, or
    /// `p` runs in a container.
    fn in_new_ns(&self, model: &ProcessModel, p: &ProcessInfo) -> bool {
        p.cgroup
            .as_deref()
            .is_some_and(|c| c.container_id.is_some())
            || std::iter::once(p)
                .chain(super::ancestry(model, p))
                .any(|a| self.state.unshared.contains(&a.key))
    }

    /// An OOM kill.  In eBPF mode the exit record says whether the OOM
    /// killer chose the process (the kernel's own mark); otherwise (procfs
    /// mode, an older kernel) an exit by SIGKILL while the host's OOM kill
    /// count rose is taken for one (a SIGKILL from elsewhere in the same
    /// moment can take the attribution; each counted kill is given once).
    pub(super) fn judge_exit(&mut self, model: &ProcessModel, e: &ModelEvent) {
        let ModelEvent::Exit { time_ns, key, exit } = e else {
            return;
        };
        if exit.signal != Some(9) || !self.wants(On::Oom) {
            return;
        }
        if self.state.oom_marked {
            if exit.oom_killed {
                let ctx = event::oom(*key, *time_ns, event::oom_kills().unwrap_or(0));
                let mut out = Vec::new();
                self.evaluate(model, key, *time_ns, Some(&ctx), &mut out);
                self.pending.extend(out);
            }
            return;
        }
        let Some(now) = event::oom_kills() else {
            return;
        };
        let claimed = self.state.oom_claimed.get_or_insert(now);
        if now <= *claimed {
            return;
        }
        *claimed += 1;
        let ctx = event::oom(*key, *time_ns, now);
        let mut out = Vec::new();
        self.evaluate(model, key, *time_ns, Some(&ctx), &mut out);
        self.pending.extend(out);
    }

    /// The flags a security or network event raises.
    pub(super) fn judge_event(
        &mut self,
        model: &ProcessModel,
        e: &ModelEvent,
        out: &mut Vec<pb::Event>,
    ) {
        let ctx = match e {
            ModelEvent::Security(ev) => {
                if let Detail::Unshare { flags } = ev.detail
                    && flags & NEW_MNT_OR_USER != 0
                    && ev.result == 0
                {
                    if self.state.unshared.len() >= INDEX_MAX {
                        self.state.unshared.retain(|k| model.get_key(k).is_some());
                    }
                    self.state.unshared.insert(ev.key);
                }
                if !self.wants(event::security_kind(&ev.detail)) {
                    return;
                }
                let in_new_ns = model
                    .get_key(&ev.key)
                    .is_some_and(|p| self.in_new_ns(model, p));
                event::security(model, ev, in_new_ns)
            }
            ModelEvent::Net { time_ns, change } => {
                let Some(kind) = event::net_kind(change) else {
                    return;
                };
                let new_port = match change {
                    NetChange::Listen(l) => self.new_port(model, l),
                    _ => false,
                };
                if !self.wants(kind) {
                    return;
                }
                let Some(ctx) = event::net(*time_ns, change, new_port) else {
                    return;
                };
                ctx
            }
            _ => return,
        };
        let key = ctx.key;
        self.evaluate(model, &key, ctx.time_ns, Some(&ctx), out);
    }

    /// Whether `l` listens on a port nothing listened on since perchd
    /// started: the sockets found open at start-up (and any `sock_diag`
    /// found later) are known, and each port is new once.
    fn new_port(&mut self, model: &ProcessModel, l: &crate::net::Listening) -> bool {
        let Some(port) = l.local.map(|a| a.port()) else {
            return false;
        };
        for other in model.net().listening() {
            if other.source == NetSource::Diag
                && other.id != l.id
                && let Some(a) = other.local
            {
                self.state.ports.insert((other.proto, a.port()));
            }
        }
        if self.state.ports.len() >= INDEX_MAX {
            self.state.ports.clear();
        }
        self.state.ports.insert((l.proto, port))
    }
}

#[cfg(test)]
#[path = "dispatch_tests.rs"]
mod tests;
