//! Feeding the console: collector answers and events into [`super::Data`],
//! and time passing (exited rows expire, event rates refresh, the toast
//! goes).
use std::{
    collections::HashSet,
    time::{Duration, Instant},
};

use perch_proto::v1::{
    Connection, Event, ListeningSocket, NoticeKind, Process, ProcessSamples, event::Kind,
};

use super::App;
use crate::console::screens::ScreenState as _;
use crate::{
    console::{
        history::Values,
        model::{FxBuild, HostId, Proc, ProcessKey, RowId, Usage},
    },
    text::clean,
};

impl App {
    /// When an exit at host boot-clock `exit_ns` happened on the console's clock.
    fn exit_instant(&self, host: HostId, exit_ns: u64) -> Instant {
        self.host_clock(host)(exit_ns)
    }

    /// Host boot-clock times to the console's clock (now when the host's
    /// clock is not known yet).
    fn host_clock(&self, host: HostId) -> impl Fn(u64) -> Instant + use<> {
        let now = self.data.now;
        let now_ns = self.data.host_now_ns(host);
        move |ns| {
            let Some(now_ns) = now_ns else { return now };
            let age = Duration::from_nanos(now_ns.saturating_sub(ns));
            now.checked_sub(age).unwrap_or(now)
        }
    }

    /// A `ListConnections` snapshot of one host at sequence `seq` (taken
    /// after the process snapshot): it replaces that host's connections
    /// and listening sockets; network events up to `seq` are skipped.
    pub fn ingest_connections(
        &mut self,
        host: HostId,
        conns: Vec<Connection>,
        listening: Vec<ListeningSocket>,
        seq: u64,
    ) {
        let clock = self.host_clock(host);
        let net = &mut self.data.net;
        net.snapshot(host, conns, listening, seq, clock);
        net.bound(self.config.connection_limit);
    }

    fn upsert(&mut self, host: HostId, p: &Process) -> ProcessKey {
        self.upsert_row(host, Proc::from_proto(host, p))
    }

    fn upsert_row(&mut self, host: HostId, mut row: Proc) -> ProcessKey {
        if let Some(x) = &row.exit {
            row.exited_at = Some(self.exit_instant(host, x.time_ns));
        }
        let key = row.key;
        self.data.store.upsert(row);
        key
    }

    /// A full `ListProcesses` snapshot of one host: it replaces that host's
    /// rows (exited ones stay until their retention ends).
    pub fn ingest_snapshot(&mut self, host: HostId, processes: Vec<Process>) {
        // Owned: their strings move into the rows, uncopied.
        self.ingest_rows(
            host,
            processes.into_iter().map(|p| Proc::from_owned(host, p)),
        );
    }

    /// A full snapshot of one host as rows already made (see
    /// [`App::ingest_snapshot`]).
    pub fn ingest_rows(&mut self, host: HostId, rows: impl Iterator<Item = Proc>) {
        // A host's first snapshot (and every past state, loaded into a
        // fresh model) replaces nothing: no keys to keep, no sweep.
        let first = !self.data.store.iter().any(|(_, p)| p.key.host == host);
        let (len, _) = rows.size_hint();
        self.data.store.reserve(len);
        let mut keys: HashSet<ProcessKey, FxBuild> = HashSet::default();
        if !first {
            keys.reserve(len);
        }
        for row in rows {
            let key = self.upsert_row(host, row);
            if !first {
                keys.insert(key);
            }
        }
        if !first {
            self.data
                .store
                .remove_where(|p| p.key.host == host && !p.is_exited() && !keys.contains(&p.key));
        }
        self.data.store.shed(self.config.process_memory_bytes);
        self.data.mark_flags();
    }

    /// Exited processes the loop left out of a snapshot to stay within
    /// `process_memory_bytes`: counted with those the store dropped, so the
    /// footer says so.
    pub fn note_dropped_early(&mut self, n: u64) {
        self.data.store.note_dropped(n);
    }

    /// A batch of `WatchEvents` events from one host, in order.  While
    /// paused (`Z`) they are held, and applied in order on resume.
    pub fn ingest_events(&mut self, host: HostId, events: &[Event]) {
        if self.view.paused {
            self.data.held.push((host, events.to_vec()));
            return;
        }
        if let Some(newest) = events.iter().map(|e| e.time_ns).max()
            && newest > 0
        {
            let now = self.data.now;
            let h = self.host_mut(host);
            if h.clock.is_none_or(|(ns, _)| newest >= ns) {
                h.clock = Some((newest, now));
            }
        }
        let mut changed = false;
        let records = self.data.audit.generation();
        let net = self.data.net.generation();
        let detect = self.data.detect.generation();
        for e in events {
            let clock = self.host_clock(host);
            if self.data.net.apply(host, e, clock) {
                continue;
            }
            if self.ingest_detection(host, e) {
                continue;
            }
            changed |= self.ingest_event(host, e);
            if matches!(
                e.kind,
                Some(Kind::Exec(_) | Kind::Fork(_) | Kind::Exit(_) | Kind::Update(_))
            ) {
                self.host_mut(host).events_since += 1;
            }
        }
        if changed {
            self.data.store.shed(self.config.process_memory_bytes);
            self.data.touch();
        }
        self.after_detections(detect, changed);
        if self.data.net.generation() != net {
            self.data.net.bound(self.config.connection_limit);
        }
        if self.data.audit.generation() != records {
            self.refresh_log();
        }
    }

    /// The action log's rows point into the records: rebuilt at once when
    /// those change (rare), not at the next draw like the process rows.
    pub(super) fn refresh_log(&mut self) {
        let data = self.past.as_ref().unwrap_or(&self.data);
        self.view.screens.log.refresh(data, None);
    }

    /// One event; true when rows changed.
    /// A batch of per-process samples: usage, state, freeze, nice, and a
    /// point of each one's history.
    fn ingest_samples(&mut self, host: HostId, time_ns: u64, batch: &ProcessSamples) {
        let secs = u32::try_from(time_ns / perch_proto::NS_PER_SEC).unwrap_or(u32::MAX);
        let h = self.host_mut(host);
        h.history_from = Some(h.history_from.map_or(secs, |from| from.min(secs)));
        for sample in &batch.samples {
            let (Some(k), Some(u)) = (sample.key, sample.usage.as_ref()) else {
                continue;
            };
            let key = ProcessKey::new(host, k.pid, k.start_time_ns);
            if let Some(p) = self.data.store.by_key_mut(&key) {
                p.usage = Usage::from_proto(u);
                p.threads = sample.threads;
                if let Some(s) = sample.state.bytes().next() {
                    p.state = s;
                }
                p.frozen = sample.frozen;
                if let Some(nice) = sample.nice {
                    p.nice = nice;
                }
                p.history.push(
                    secs,
                    Values::new(
                        u.cpu_percent,
                        u.rss_bytes,
                        u.read_bytes_per_sec + u.write_bytes_per_sec,
                    ),
                );
            }
        }
    }

    fn ingest_event(&mut self, host: HostId, e: &Event) -> bool {
        match &e.kind {
            // Anyone's action (a second console sees ours, we see theirs):
            // noted on its processes, and into the action log.
            Some(Kind::Action(r)) => {
                self.data.note_record(host, r);
                self.data.audit.insert(host, r.clone());
                return true;
            }
            Some(Kind::Deviation(d)) => {
                if let Some(d) = &d.deviation {
                    self.data.policies.apply(host, d.clone());
                    return true;
                }
            }
            Some(Kind::Exec(x)) => {
                if let Some(p) = &x.process {
                    self.upsert(host, p);
                    return true;
                }
            }
            Some(Kind::Fork(x)) => {
                if let Some(p) = &x.child {
                    self.upsert(host, p);
                    return true;
                }
            }
            Some(Kind::Update(x)) => {
                if let Some(p) = &x.process {
                    self.upsert(host, p);
                    return true;
                }
            }
            Some(Kind::Exit(x)) => {
                let Some(k) = x.key else { return false };
                let key = ProcessKey::new(host, k.pid, k.start_time_ns);
                let exit = x.exit.unwrap_or_default();
                let at = self.exit_instant(host, exit.time_ns);
                if let Some(p) = self.data.store.by_key_mut(&key) {
                    p.exit = Some(exit);
                    p.exited_at = Some(at);
                    p.usage.cpu_percent = 0.0;
                    p.usage.read_per_sec = 0.0;
                    p.usage.write_per_sec = 0.0;
                    return true;
                }
            }
            Some(Kind::ProcessSamples(batch)) => {
                self.ingest_samples(host, e.time_ns, batch);
                return true;
            }
            Some(Kind::HostSample(s)) => {
                let h = self.host_mut(host);
                h.lost_events = h.lost_events.max(s.events_lost);
                h.sample = Some(s.clone());
            }
            // Listed in the process's detail view.
            Some(Kind::Security(x)) => {
                let Some(k) = x.key else { return false };
                let key = ProcessKey::new(host, k.pid, k.start_time_ns);
                if let Some(p) = self.data.store.by_key_mut(&key) {
                    p.push_security(&perch_client::security_line(x));
                    return true;
                }
            }
            Some(Kind::Notice(n)) => {
                let h = self.host_mut(host);
                match NoticeKind::try_from(n.kind) {
                    Ok(NoticeKind::EventsLost) => {
                        h.lost_events = h.lost_events.max(n.lost_events);
                    }
                    Ok(NoticeKind::Lagged) => {
                        h.notice = Some(format!("fell behind, resuming: {}", clean(&n.message)));
                    }
                    Ok(NoticeKind::ResyncRequired) => {
                        h.notice = Some(format!(
                            "events were missed, resyncing: {}",
                            clean(&n.message)
                        ));
                    }
                    _ => {}
                }
            }
            Some(Kind::ThreadSamples(t)) => {
                self.data.threads.apply(host, t);
                return true;
            }
            // Network events went to the connection store before this.
            _ => {}
        }
        false
    }

    /// Time passes: exited rows past the retention go, event rates are
    /// recomputed each second, and the list is rebuilt if needed.
    pub fn tick(&mut self, now: Instant) {
        self.data.now = now;
        let retention = self.config.exited_retention;
        let expired = |p: &Proc| {
            p.exited_at
                .is_some_and(|at| now.saturating_duration_since(at) >= retention)
        };
        // An exited process past its retention stays while a process in
        // the model descends from it, so every chain of parents stays whole
        // (perchd keeps such ancestors too, and says so: retained_ancestor).
        // A parent goes the tick after its last child did.
        let removed = if self.data.store.iter().any(|(_, p)| expired(p)) {
            let store = &self.data.store;
            let live = store.live_by_pid();
            let parents: HashSet<RowId, FxBuild> = store
                .iter()
                .filter_map(|(id, p)| store.parent_of(p, &live).filter(|pid| *pid != id))
                .collect();
            let doomed: Vec<RowId> = store
                .iter()
                .filter(|(id, p)| expired(p) && !parents.contains(id))
                .map(|(id, _)| id)
                .collect();
            for &id in &doomed {
                self.data.store.remove(id);
            }
            doomed.len()
        } else {
            0
        };
        if removed > 0 {
            self.data.touch();
        }
        self.data.net.expire(now, retention);
        self.act_tick(removed > 0);
        for h in &mut self.data.hosts {
            let since = *h.rate_since.get_or_insert(now);
            let elapsed = now.saturating_duration_since(since);
            if elapsed >= Duration::from_secs(1) {
                let rate = h.events_since as f64 / elapsed.as_secs_f64();
                h.events_per_sec = rate;
                h.events_since = 0;
                h.rate_since = Some(now);
            }
        }
        self.refresh();
    }
}
