//! What the console knows of each host besides its processes: the
//! collector's name and counters, where it is reached, the connection's
//! state, its policies and its audit pages.
use perch_proto::v1::GetInfoResponse;

use super::{App, ConnectionState, Host};
use crate::{
    console::{audit::AuditPage, model::HostId},
    text::clean,
};

impl App {
    /// `id`'s entry, made (with its event rate starting now) when new.
    pub(super) fn host_mut(&mut self, id: HostId) -> &mut Host {
        let i = usize::from(id.0);
        let now = self.data.now;
        let hosts = &mut self.data.hosts;
        if hosts.len() <= i {
            // The event rate counts from when the host appeared.
            hosts.resize_with(i + 1, || Host {
                rate_since: Some(now),
                ..Host::default()
            });
        }
        &mut hosts[i]
    }

    /// The collector's `GetInfo` answer (name, mode, boot time, counters).
    pub fn ingest_info(&mut self, host: HostId, info: GetInfoResponse) {
        let h = self.host_mut(host);
        h.lost_events = h.lost_events.max(info.events_lost);
        h.info = Some(info);
        self.name_hosts();
        self.data.touch();
    }

    /// Where the console reaches a host ("/run/perch/perchd.sock",
    /// "db1:7777"), for the header.
    pub fn set_host_label(&mut self, host: HostId, label: &str) {
        self.host_mut(host).label = clean(label).into_owned();
        self.name_hosts();
    }

    /// Each host is called what its collector reports, unless two report the
    /// same name (two collectors on one machine, cloned VMs): then `name#N`
    /// (N counts from 1 in `--connect` order), short enough for the HOST
    /// column and the filter; the header maps each to its label.
    fn name_hosts(&mut self) {
        let reported: Vec<String> = self
            .data
            .hosts
            .iter()
            .map(|h| {
                h.info
                    .as_ref()
                    .map_or_else(String::new, |i| clean(&i.host).into_owned())
            })
            .collect();
        for (i, h) in self.data.hosts.iter_mut().enumerate() {
            let name = &reported[i];
            let shared = !name.is_empty() && reported.iter().filter(|n| *n == name).count() > 1;
            h.name = if shared {
                format!("{name}#{}", i + 1)
            } else {
                name.clone()
            };
        }
    }

    /// How the console reaches `host` now.  A (re)connection may have
    /// missed action events: the host's audit log is fetched again when the
    /// action log next shows.
    pub fn set_connection(&mut self, host: HostId, state: ConnectionState) {
        let up = |s: &ConnectionState| {
            matches!(s, ConnectionState::Connected | ConnectionState::Embedded)
        };
        let h = self.host_mut(host);
        let reconnected = up(&state) && !up(&h.connection);
        h.connection = state;
        if reconnected {
            self.data.audit.mark_stale(host);
        }
    }

    /// A host's policies (the Policies screen).
    pub fn ingest_policies(
        &mut self,
        host: HostId,
        list: Result<Vec<perch_proto::v1::PolicySummary>, String>,
    ) {
        self.data.policies.snapshot(host, list);
    }

    /// The answer to a policy the console applied: said in the footer, and
    /// the policies listed again.
    pub fn policy_applied(&mut self, host: HostId, done: Result<String, String>) {
        self.view.flash = Some(match done {
            Ok(what) => what,
            Err(why) => format!("policy not applied: {why}"),
        });
        self.data
            .queue(host, crate::console::actions::Request::ListPolicies);
    }

    /// `host`'s answer to `ListAudit`, or why there is none.
    pub fn ingest_audit(&mut self, host: HostId, page: Result<AuditPage, String>) {
        self.data.audit.ingest(host, page);
        self.refresh_log();
    }
}
