//! What the console holds from its collectors: the hosts, their processes,
//! their audit records, and the actions in flight.  Screens derive what
//! they show from it; nothing here knows what is on screen.
use std::{collections::HashMap, time::Instant};

use perch_proto::v1::{
    ActionMode, ActionResult, AuditRecord, GetInfoResponse, HostSample, ProcessOutcome, Role,
};

use super::Config;
use crate::{
    act,
    console::{
        actions::{Note, Outgoing, Request},
        audit::AuditLog,
        columns::Optional,
        detect::DetectStore,
        model::{FxBuild, HostId, ProcessKey, Store},
        net::NetStore,
    },
};

/// How the console reaches a host's collector, for the header.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum ConnectionState {
    #[default]
    Connecting,
    Connected,
    Reconnecting {
        attempt: u32,
        reason: String,
    },
    /// The collector runs inside this console (no perchd was reachable).
    Embedded,
    Disconnected {
        reason: String,
    },
    /// A past state from the history (or a recording) is shown.
    History,
}

/// One collector as the header shows it.
#[derive(Clone, Debug, Default)]
pub struct Host {
    /// What the HOST column, the host filter and the header call it.
    pub name: String,
    /// How the console reaches it (socket path or address).
    pub label: String,
    pub info: Option<GetInfoResponse>,
    pub sample: Option<HostSample>,
    pub connection: ConnectionState,
    /// Kernel events lost, the highest count any message reported.
    pub lost_events: u64,
    /// Process events per second (exec, fork, exit, update).
    pub events_per_sec: f64,
    /// The last stream notice (lagged, resync), for the footer.
    pub notice: Option<String>,
    /// Newest host boot-clock time seen, and when it was ingested.
    pub(super) clock: Option<(u64, Instant)>,
    /// No row of this host has a history point before this host second
    /// (none at all: `None`): a seek before it has no history to carry.
    pub(super) history_from: Option<u32>,
    pub(super) events_since: u64,
    pub(super) rate_since: Option<Instant>,
}

/// A request sent and not yet answered.
#[derive(Debug)]
pub(super) struct Pending {
    pub(super) host: HostId,
    pub(super) title: String,
    /// The action asked for (to offer KILL when a signal left it running).
    pub(super) request: Option<perch_proto::v1::ActRequest>,
}

/// Actions: what waits to be sent, what waits for an answer, and what
/// is remembered about each process.
#[derive(Debug, Default)]
pub struct Acts {
    pub(super) outbox: Vec<Outgoing>,
    pub(super) pending: HashMap<u64, Pending>,
    next_id: u64,
    pub(super) notes: HashMap<ProcessKey, Vec<Note>, FxBuild>,
    /// Signalled (by us or, via the event stream, anyone) with a signal
    /// that ends processes, and the signal's number: `[signalled]` while
    /// it runs, then `[killed]` (ended by that signal) or `[exited]`.
    pub(super) signalled: HashMap<ProcessKey, i32, FxBuild>,
    /// The host of the last answer shown (where an escalation goes).
    pub(super) last_host: Option<HostId>,
}

#[derive(Debug)]
pub struct Data {
    pub(super) hosts: Vec<Host>,
    pub(super) store: Store,
    /// Connections and listening sockets.
    pub(super) net: NetStore,
    /// Flags and Spydertraces.
    pub(super) detect: DetectStore,
    /// Workload policies and their deviations.
    pub(super) policies: crate::console::policies::PolicyStore,
    /// The processes whose FLAGS mark is set (cleared before marking again).
    pub(super) marked: Vec<ProcessKey>,
    /// Threads of multi-threaded processes, while thread rows are shown.
    pub(super) threads: crate::console::threads::Threads,
    /// Bumped on every change to the processes (screens rebuild when it moves).
    pub(super) generation: u64,
    pub(super) audit: AuditLog,
    pub(super) acts: Acts,
    pub(super) now: Instant,
    /// The last reason given in a dialog of this console: what a quick
    /// renice (F7/F8) records, so it asks once per session.
    pub(crate) last_reason: Option<String>,
    /// Events that arrived while paused (`Z`), applied on resume.
    pub(super) held: Vec<(HostId, Vec<perch_proto::v1::Event>)>,
}

impl Data {
    pub(super) fn new(now: Instant) -> Data {
        Data {
            hosts: Vec::new(),
            store: Store::default(),
            net: NetStore::default(),
            detect: DetectStore::default(),
            policies: crate::console::policies::PolicyStore::default(),
            marked: Vec::new(),
            threads: crate::console::threads::Threads::default(),
            generation: 0,
            audit: AuditLog::default(),
            acts: Acts::default(),
            now,
            last_reason: None,
            held: Vec::new(),
        }
    }

    /// The processes changed.
    pub(super) fn touch(&mut self) {
        self.generation = self.generation.wrapping_add(1);
    }

    #[must_use]
    pub fn store(&self) -> &Store {
        &self.store
    }

    #[must_use]
    pub fn net(&self) -> &NetStore {
        &self.net
    }

    #[must_use]
    pub fn detect(&self) -> &DetectStore {
        &self.detect
    }

    /// Sets every process's FLAGS mark from the flags held (a row
    /// replaced by an exec starts unmarked: this runs after every batch
    /// that changed rows or flags).
    pub(super) fn mark_flags(&mut self) {
        for key in std::mem::take(&mut self.marked) {
            if let Some(p) = self.store.by_key_mut(&key) {
                p.flags = crate::console::detect::FlagMark::default();
            }
        }
        for (key, mark) in self.detect.marks() {
            if let Some(p) = self.store.by_key_mut(&key) {
                p.flags = mark;
                self.marked.push(key);
            }
        }
        self.touch();
    }

    #[must_use]
    pub fn threads(&self) -> &crate::console::threads::Threads {
        &self.threads
    }

    /// Thread rows were turned off: their data goes (the collector stops
    /// sending it), and turning them on again starts from fresh samples.
    pub(crate) fn clear_threads(&mut self) {
        self.threads.clear();
        self.touch();
    }

    #[must_use]
    pub fn generation(&self) -> u64 {
        self.generation
    }

    #[must_use]
    pub fn hosts(&self) -> &[Host] {
        &self.hosts
    }

    #[must_use]
    pub fn host(&self, id: HostId) -> Option<&Host> {
        self.hosts.get(usize::from(id.0))
    }

    #[must_use]
    pub fn host_name(&self, id: HostId) -> &str {
        self.host(id).map_or("", |h| h.name.as_str())
    }

    /// Every host's name by [`HostId`], for `host:` filters.
    #[must_use]
    pub fn host_names(&self) -> Vec<String> {
        self.hosts.iter().map(|h| h.name.clone()).collect()
    }

    #[must_use]
    pub fn audit(&self) -> &AuditLog {
        &self.audit
    }

    /// The host's boot-clock time now, extrapolated from the newest event.
    #[must_use]
    pub fn host_now_ns(&self, id: HostId) -> Option<u64> {
        let (ns, at) = self.host(id)?.clock?;
        let since = self.now.saturating_duration_since(at);
        Some(ns.saturating_add(u64::try_from(since.as_nanos()).unwrap_or(u64::MAX)))
    }

    /// Unix time of a host boot-clock stamp, if the host's boot time is known.
    #[must_use]
    pub fn unix_secs(&self, id: HostId, boot_ns: u64) -> Option<i64> {
        i64::try_from(self.unix_ns(id, boot_ns)? / perch_proto::NS_PER_SEC).ok()
    }

    /// Unix ns of a host boot-clock stamp, if the host's boot time is known.
    #[must_use]
    pub fn unix_ns(&self, id: HostId, boot_ns: u64) -> Option<u64> {
        let boot = self.host(id)?.info.as_ref()?.boot_time_unix_ns;
        (boot != 0).then(|| boot.saturating_add(boot_ns))
    }

    /// The optional columns that have something to show.
    #[must_use]
    pub fn optional_columns(&self) -> Optional {
        Optional {
            container: self
                .store
                .iter()
                .any(|(_, p)| !p.container_id.is_empty() || !p.pod_name.is_empty()),
            host: self.hosts.len() > 1,
        }
    }

    fn viewer_on(&self, host: HostId) -> bool {
        self.host(host)
            .and_then(|h| h.info.as_ref())
            .is_some_and(|info| info.caller_role() == Role::Viewer)
    }

    /// True when no action may be offered anywhere: `--read-only`, or
    /// every collector said this caller is a viewer.
    #[must_use]
    pub fn read_only(&self, config: &Config) -> bool {
        config.read_only
            || (!self.hosts.is_empty()
                && (0..self.hosts.len())
                    .all(|i| self.viewer_on(HostId(u16::try_from(i).unwrap_or(u16::MAX)))))
    }

    /// True when actions on `host`'s processes are hidden.
    #[must_use]
    pub fn read_only_on(&self, config: &Config, host: HostId) -> bool {
        config.read_only || self.viewer_on(host)
    }

    /// Queues a request for the loop to send; returns its id.
    pub fn queue(&mut self, host: HostId, request: Request) -> u64 {
        self.acts.next_id += 1;
        let id = self.acts.next_id;
        self.acts.outbox.push(Outgoing { id, host, request });
        id
    }

    /// Asks `host`'s collector for its audit log.
    /// Asks every host for its policies.
    pub fn fetch_policies(&mut self) {
        for i in 0..self.hosts.len() {
            let host = HostId(u16::try_from(i).unwrap_or(u16::MAX));
            self.queue(host, Request::ListPolicies);
        }
    }

    #[must_use]
    pub fn policies(&self) -> &crate::console::policies::PolicyStore {
        &self.policies
    }

    pub fn fetch_audit(&mut self, host: HostId) {
        let request = self.audit.fetch(host);
        self.queue(host, Request::ListAudit(request));
    }

    /// Remembers a request sent, to title its answer (and, for an action,
    /// to offer the next step).
    pub fn await_answer(
        &mut self,
        id: u64,
        host: HostId,
        title: String,
        request: Option<perch_proto::v1::ActRequest>,
    ) {
        self.acts.pending.insert(
            id,
            Pending {
                host,
                title,
                request,
            },
        );
    }

    /// An audit record (our answer, or an action event from the stream):
    /// noted on every process it names; live kills that delivered their
    /// signal mark their processes signalled (what the row says until,
    /// and after, the exit arrives).
    pub(super) fn note_record(&mut self, host: HostId, r: &AuditRecord) {
        let key = |k: &perch_proto::v1::ProcessKey| ProcessKey::new(host, k.pid, k.start_time_ns);
        let target = r.target.as_ref().and_then(|t| t.key.as_ref()).map(key);
        let mut keys: Vec<ProcessKey> = target.into_iter().collect();
        keys.extend(r.processes.iter().filter_map(|p| p.key.as_ref()).map(key));
        keys.sort_unstable();
        keys.dedup();
        let note = Note::from_record(r);
        for k in keys.into_iter().filter(|k| self.store.id_of(k).is_some()) {
            let notes = self.acts.notes.entry(k).or_default();
            if note.id.is_empty() || !notes.iter().any(|n| n.id == note.id) {
                notes.push(note.clone());
            }
        }
        let worked = matches!(r.result(), ActionResult::Success | ActionResult::Partial);
        if r.mode() == ActionMode::Live && worked && act::ends_processes(r.action(), r.signal()) {
            let signal = act::signal_number(r.action(), r.signal);
            let delivered = r.processes.iter().filter(|p| {
                matches!(
                    p.outcome(),
                    ProcessOutcome::Done | ProcessOutcome::StillRunning | ProcessOutcome::Exited
                )
            });
            let done: Vec<ProcessKey> = delivered.filter_map(|p| p.key.as_ref()).map(key).collect();
            let hit = if done.is_empty() {
                target.into_iter().collect()
            } else {
                done
            };
            self.acts
                .signalled
                .extend(hit.into_iter().map(|k| (k, signal)));
        }
    }
}
