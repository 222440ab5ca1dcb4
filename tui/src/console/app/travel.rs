//! Time travel in the state: the keys (`[` `]` `{` `}`, Space, the time
//! menu), the queries they make, and their answers.  A past state is
//! loaded into a second [`Data`], built by the same `ingest_*` calls as
//! the live snapshot, and the screens are given that one ([`App::data`])
//! while not LIVE, so no screen has a special case.  Live events keep
//! going into the live [`Data`] meanwhile: back to LIVE is instant.
use perch_proto::v1::{AuditLogStatus, Deviation};

use super::{App, ConnectionState, Data};
use crate::{
    console::{
        audit::AuditPage,
        history::Values,
        input::{Focus, Msg},
        model::{HostId, Proc, ProcessKey},
        overlays::{Overlay, time_menu::TimeMenu},
        screens::Screen,
        timeline::{Mode, TimeAnswer, TimeError, TimeQuery, Timeline},
    },
    travel::{SourceError, StateAt},
    when,
};

/// What the footer says when an action key is pressed in the past.
pub const ACTIONS_DISABLED: &str =
    "actions are disabled while showing the past: go back to LIVE first (@ time menu)";

impl App {
    /// The data the screens show: a past state while travelling, else
    /// the live one.
    #[must_use]
    pub(crate) fn shown(&self) -> &Data {
        self.past.as_ref().unwrap_or(&self.data)
    }

    /// The live data, whatever the screens show (the collectors' own
    /// state: connection, history status).
    #[must_use]
    pub fn live_data(&self) -> &Data {
        &self.data
    }

    /// This console can travel in time: a collector's history (with LIVE)
    /// or a recording (`has_live` false: actions and LIVE are absent).
    pub fn enable_travel(&mut self, has_live: bool) {
        let wall = self.travel.wall_ns;
        self.travel = Timeline::new(has_live);
        self.travel.set_wall_clock(wall);
    }

    #[must_use]
    pub fn timeline(&self) -> &Timeline {
        &self.travel
    }

    /// True when the screens show the collector's data as it arrives.
    #[must_use]
    pub fn is_live(&self) -> bool {
        self.travel.is_live()
    }

    /// The wall clock (Unix ns), once per tick: "how far behind" and
    /// playing forward.
    pub fn set_wall_clock(&mut self, unix_ns: u64) {
        self.travel.set_wall_clock(unix_ns);
    }

    /// Shows the state at `at_unix_ns` (`perch --at`, a replay's start).
    pub fn travel_to(&mut self, at_unix_ns: u64) {
        if self.travel.enabled {
            self.travel.go(at_unix_ns, false);
        }
    }

    /// Shows `key` as it was at `at_unix_ns`: travels there, then selects
    /// it on the processes screen when the state arrives (Enter on a
    /// deviation whose process has exited).
    pub(super) fn travel_to_show(&mut self, at_unix_ns: u64, key: ProcessKey) {
        if !self.travel.enabled {
            self.view.flash = Some(format!(
                "pid {} has exited, and there is no history to show it in (time travel is off)",
                key.pid
            ));
            return;
        }
        self.travel.go(at_unix_ns, false);
        self.view.jump_after_travel = Some(key);
    }

    /// The state query for the loop to send (the newest; once).
    pub fn take_time_query(&mut self) -> Option<TimeQuery> {
        self.travel.take_query()
    }

    /// A source's answer: shown if it answers the newest query, dropped if
    /// stale; an error goes to the status line.
    pub fn ingest_time(&mut self, answer: TimeAnswer) {
        if !self.travel.awaits(answer.id) {
            return;
        }
        match answer.result {
            Ok(state) => {
                self.travel.answered(&state);
                let past = self.past_data(state, answer.others, answer.rows);
                self.past = Some(past);
                self.data_replaced();
                if let Some(key) = self.view.jump_after_travel.take() {
                    if self.shown().store().by_key(&key).is_none() {
                        self.view.flash =
                            Some(format!("pid {} is not in the history then", key.pid));
                    }
                    self.view.jump = Some(key);
                    self.apply_jump();
                }
            }
            Err(TimeError::PastNewest) if self.travel.has_live => self.go_live(),
            Err(e) => {
                self.view.jump_after_travel = None;
                self.travel.failed_with(&e);
                self.view.flash = Some(self.time_error(&e));
                if self.travel.is_live() {
                    self.go_live();
                }
            }
        }
        self.refresh();
    }

    /// An error for the status line, with the range in local time.
    fn time_error(&self, e: &TimeError) -> String {
        let offset = self.config.utc_offset_secs;
        let t = |ns: u64| {
            when::date_time(
                i64::try_from(ns / perch_proto::NS_PER_SEC).unwrap_or(i64::MAX),
                offset,
            )
        };
        match e {
            TimeError::Source(SourceError::OutOfRange {
                oldest_unix_ns,
                newest_unix_ns,
            }) => format!(
                "no history at that time: {} holds {} to {}",
                self.travel_name(),
                t(*oldest_unix_ns),
                t(*newest_unix_ns)
            ),
            TimeError::PastNewest => "that is after the newest stored instant".to_owned(),
            TimeError::Source(SourceError::Unavailable(why)) => {
                format!("history unavailable: {why}")
            }
        }
    }

    fn travel_name(&self) -> String {
        let name = self.data.host_name(HostId(0));
        if name.is_empty() {
            "the history".to_owned()
        } else {
            format!("{name}'s history")
        }
    }

    /// Back to the live data, at once.
    pub fn go_live(&mut self) {
        if !self.travel.has_live {
            return;
        }
        self.travel.go_live();
        if self.past.take().is_some() {
            self.data_replaced();
        }
        self.refresh();
    }

    /// Every screen rebuilds from the data now shown.
    fn data_replaced(&mut self) {
        self.view.screens.for_each(|s| s.data_replaced());
    }

    /// The time keys, from a screen or the time menu.
    pub(super) fn on_time_msg(&mut self, msg: Msg) {
        if !self.travel.enabled {
            self.view.flash =
                Some("time travel needs a collector with history (or perch replay)".to_owned());
            return;
        }
        match msg {
            Msg::TimeStep(secs) => self.travel.step(i64::from(secs)),
            Msg::Play if !self.travel.play() => {
                self.view.flash = Some("LIVE: step back with [ or { to play from there".to_owned());
            }
            Msg::TimeMenu => {
                self.view.overlay = Some(Overlay::TimeMenu(TimeMenu::new(self.travel.has_live)));
            }
            _ => {}
        }
    }

    /// Refuses `msg` if it acts while not LIVE (says so in the footer).
    pub(super) fn refuse_in_past(&mut self, msg: Msg) -> bool {
        if self.is_live() {
            return false;
        }
        if msg.acts() {
            self.view.flash = Some(ACTIONS_DISABLED.to_owned());
            return true;
        }
        // The action log's `r` would ask the collector for today's log
        // into the past's model.
        if msg == Msg::Refresh && self.focus() == Focus::Screen(Screen::ActionLog) {
            self.view.flash = Some("the action log shows the past: LIVE to fetch it".to_owned());
            return true;
        }
        false
    }

    /// A [`Data`] holding `state` (host 0 is the source's host) and the
    /// other hosts' states, built by the same calls that load a
    /// collector's snapshot.  A host whose history has nothing then shows
    /// no rows and says why in the header.
    fn past_data(
        &self,
        state: StateAt,
        others: Vec<(HostId, Result<StateAt, SourceError>)>,
        mut rows: Vec<(HostId, Vec<Proc>)>,
    ) -> Data {
        let mut scratch = App::new(self.config.clone(), self.data.now);
        let mut deviations = Vec::new();
        let mut all = vec![(HostId(0), Ok(state))];
        all.extend(others);
        for (host, state) in all {
            match state {
                Ok(state) => {
                    let made = rows
                        .iter_mut()
                        .find(|(h, _)| *h == host)
                        .map(|(_, r)| std::mem::take(r))
                        .unwrap_or_default();
                    deviations.push((host, self.past_host(&mut scratch, host, state, made)));
                }
                Err(e) => {
                    self.past_label(&mut scratch, host);
                    scratch.set_connection(
                        host,
                        ConnectionState::Disconnected {
                            reason: format!("no history then: {e}"),
                        },
                    );
                }
            }
        }
        scratch.data.policies = self.data.policies.as_of(deviations);
        scratch.data
    }

    /// Gives `scratch` the label the live console shows for `host`.
    fn past_label(&self, scratch: &mut App, host: HostId) {
        let label = self
            .data
            .host(host)
            .map_or_else(String::new, |h| h.label.clone());
        scratch.set_host_label(host, &label);
    }

    /// Loads `host`'s past `state` into `scratch`; its deviations, which
    /// the caller files with the other hosts'.
    /// `rows` are its processes made into rows already (the answer's);
    /// those still in `state` are made here.
    fn past_host(
        &self,
        scratch: &mut App,
        host: HostId,
        state: StateAt,
        rows: Vec<Proc>,
    ) -> Vec<Deviation> {
        let now = self.data.now;
        let mut info = self
            .data
            .host(host)
            .and_then(|h| h.info.clone())
            .unwrap_or_default();
        if !state.host_name.is_empty() {
            info.host.clone_from(&state.host_name);
        }
        if state.boot_time_unix_ns != 0 {
            info.boot_time_unix_ns = state.boot_time_unix_ns;
        }
        let boot = info.boot_time_unix_ns;
        scratch.ingest_info(host, info);
        self.past_label(scratch, host);
        scratch.set_connection(host, ConnectionState::History);
        if let Some(h) = scratch.data.hosts.get_mut(usize::from(host.0)) {
            // The host's clock stands at the instant shown: exits and ages
            // are reckoned from it.
            h.clock = Some((state.at_unix_ns.saturating_sub(boot), now));
            h.sample = state.host;
            h.lost_events = h.sample.as_ref().map_or(0, |s| s.events_lost);
        }
        scratch.ingest_rows(
            host,
            rows.into_iter().chain(
                state
                    .processes
                    .into_iter()
                    .map(|p| Proc::from_owned(host, p)),
            ),
        );
        self.carry_history(
            &mut scratch.data,
            host,
            state.at_unix_ns.saturating_sub(boot),
        );
        scratch.ingest_connections(host, state.connections, state.listening, 0);
        let notable = self.data.detect.notable_score(host);
        scratch.ingest_detections(host, state.flags, state.traces, notable);
        let mut records = state.actions;
        records.sort_by_key(|r| std::cmp::Reverse(r.time_unix_ns));
        scratch.data.audit.ingest(
            host,
            Ok(AuditPage {
                records,
                status: AuditLogStatus::Ok,
                status_detail: String::new(),
                path: String::new(),
            }),
        );
        state.deviations
    }

    /// Gives each past row of `host` the usage history the console holds
    /// for it up to `at_boot_ns` (the live row's, else the previous past
    /// state's), then the state's own sample: the detail view's graphs
    /// end at the instant shown.
    fn carry_history(&self, past: &mut Data, host: HostId, at_boot_ns: u64) {
        let secs = u32::try_from(at_boot_ns / perch_proto::NS_PER_SEC).unwrap_or(u32::MAX);
        // Only a model with points at or before `secs` has any to give: a
        // seek before the console (or its earlier seeks) saw the host
        // looks nothing up (two random lookups per row otherwise).
        let givers: Vec<&Data> = [Some(&self.data), self.past.as_ref()]
            .into_iter()
            .flatten()
            .filter(|d| {
                d.host(host)
                    .and_then(|h| h.history_from)
                    .is_some_and(|from| from <= secs)
            })
            .collect();
        let from = givers
            .iter()
            .filter_map(|d| d.host(host).and_then(|h| h.history_from))
            .chain([secs])
            .min();
        if let Some(h) = past.hosts.get_mut(usize::from(host.0)) {
            h.history_from = from;
        }
        let ids: Vec<_> = past
            .store
            .iter()
            .filter(|(_, row)| row.key.host == host)
            .map(|(id, _)| id)
            .collect();
        for id in ids {
            let Some(row) = past.store.get_mut(id) else {
                continue;
            };
            let key = row.key;
            let before = givers
                .iter()
                .filter_map(|d| d.store.by_key(&key))
                .max_by_key(|p| p.history.len_until(secs));
            if let Some(p) = before {
                row.history = p.history.until(secs);
            }
            let u = &row.usage;
            let v = Values::new(u.cpu_percent, u.rss_bytes, u.read_per_sec + u.write_per_sec);
            row.history.push(secs, v);
        }
    }

    /// The instant a time menu entry names: an offset from the shown time
    /// (`+15m`, `-90s`) or any TIME (`15:04`, `-5m` from now, `@1764…`).
    pub(crate) fn time_of(&self, text: &str) -> Result<u64, when::NotATime> {
        if let Some(secs) = when::offset_secs(text) {
            let from = i128::from(self.travel.target());
            let at = from + i128::from(secs) * i128::from(perch_proto::NS_PER_SEC);
            return u64::try_from(at.max(0)).map_err(|_| when::NotATime(text.to_owned()));
        }
        let clock = when::Clock {
            utc_offset_secs: self.config.utc_offset_secs,
            now_unix_secs: i64::try_from(self.travel.wall_ns / perch_proto::NS_PER_SEC)
                .unwrap_or(i64::MAX),
        };
        let span = when::parse(text, clock)?;
        u64::try_from(span.start_ns.max(0)).map_err(|_| when::NotATime(text.to_owned()))
    }

    /// The time menu chose an instant.
    pub(crate) fn travel_menu_to(&mut self, at: u64) {
        self.travel.go(at, false);
    }

    /// The time menu moved by `secs` from the target.
    pub(crate) fn travel_menu_step(&mut self, secs: i64) {
        self.travel.step(secs);
    }

    #[must_use]
    pub fn mode(&self) -> Mode {
        self.travel.mode()
    }
}
