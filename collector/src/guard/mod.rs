//! The guard: workload policies judged on every exec, listening socket
//! and connection, as they are applied to the model (under its lock, as
//! the detector is).  A deviation is published at once as a
//! `DeviationRaised` event (and so stored by the history), deduplicated
//! by its checksum (the count and last sighting grow); every sighting
//! carries the responses its policy selects, which `respond.rs` runs off
//! the event path.
pub mod cover;
pub mod respond;

use std::{collections::HashMap, sync::Arc};

use perch_proto::v1 as pb;

use crate::{
    convert,
    model::{ModelEvent, ProcKey, ProcessInfo, ProcessModel},
    net::NetChange,
    policy::{
        trace::Mode,
        workload::{
            ResponseItem, WorkloadPolicy,
            action::responses_for,
            cover::{Facts, found},
            deviation::{self, Finding},
            net::Proto,
        },
    },
};
use cover::chain;

/// Distinct deviations remembered for deduplication; past it the memory
/// starts over (a deviation then counts from one again).
const MAX_SEEN: usize = 16_384;

/// A policy in force.
#[derive(Clone)]
pub struct Armed {
    pub policy: Arc<WorkloadPolicy>,
    /// Applied with `--dry-run`: evaluated and shown, nothing touched.
    pub dry_run: bool,
}

/// One sighting of a deviation, with the responses to run for it.
pub struct Sighting {
    pub armed: Armed,
    pub deviation: pb::Deviation,
    pub target: ProcKey,
    pub responses: Vec<ResponseItem>,
}

#[derive(Default)]
pub struct Guard {
    policies: Vec<Armed>,
    seen: HashMap<String, (u64, u64)>,
    host: String,
}

impl Guard {
    #[must_use]
    pub fn new(host: String) -> Self {
        Self {
            host,
            ..Self::default()
        }
    }

    pub fn set_policies(&mut self, policies: Vec<(Arc<WorkloadPolicy>, bool)>) {
        self.policies = policies
            .into_iter()
            .map(|(policy, dry_run)| Armed { policy, dry_run })
            .collect();
    }

    #[must_use]
    pub fn is_idle(&self) -> bool {
        self.policies.is_empty()
    }

    /// The deviations `e` (already applied to `model`) shows.
    pub fn judge(&mut self, model: &ProcessModel, e: &ModelEvent) -> Vec<Sighting> {
        let judged = matches!(
            e,
            ModelEvent::Exec { .. }
                | ModelEvent::Net {
                    change: NetChange::Listen(_) | NetChange::Connect(_) | NetChange::Accept(_),
                    ..
                }
        );
        if self.policies.is_empty() || !judged {
            return Vec::new();
        }
        // Taken out for the pass (the sightings update `seen`), not cloned.
        let armed = std::mem::take(&mut self.policies);
        let mut out = Vec::new();
        for a in &armed {
            let found = match e {
                ModelEvent::Exec {
                    time_ns, process, ..
                } if !a.policy.disable.processes => model
                    .get_key(&process.key)
                    .and_then(|p| self.process(a, model, p, *time_ns)),
                ModelEvent::Net { time_ns, change } => self.net(a, model, change, *time_ns),
                _ => None,
            };
            out.extend(found);
        }
        self.policies = armed;
        out
    }

    fn process(
        &mut self,
        a: &Armed,
        model: &ProcessModel,
        p: &ProcessInfo,
        time_ns: u64,
    ) -> Option<Sighting> {
        let links = chain(&a.policy, model, p, &self.host)?;
        let f = deviation::process(&a.policy, &links)?;
        Some(self.sighting(a, p, f, time_ns))
    }

    fn net(
        &mut self,
        a: &Armed,
        model: &ProcessModel,
        change: &NetChange,
        time_ns: u64,
    ) -> Option<Sighting> {
        let (owner, finding) = match change {
            NetChange::Listen(l) => {
                let p = model.get_key(&l.owner.as_ref()?.key)?;
                let links = chain(&a.policy, model, p, &self.host);
                let at = found(&a.policy, links.as_deref());
                let port = l.local?.port();
                (
                    p,
                    deviation::listening(&a.policy, p, &at, proto_of(l.proto), port),
                )
            }
            NetChange::Connect(c) | NetChange::Accept(c) => {
                let ingress = matches!(change, NetChange::Accept(_));
                let p = model.get_key(&c.owner.as_ref()?.key)?;
                let links = chain(&a.policy, model, p, &self.host);
                let at = found(&a.policy, links.as_deref());
                let remote = c.remote?;
                let port = if ingress {
                    c.local?.port()
                } else {
                    remote.port()
                };
                let conn = (remote, port, proto_of(c.proto));
                (p, deviation::connection(&a.policy, p, &at, ingress, conn))
            }
            _ => return None,
        };
        Some(self.sighting(a, owner, finding?, time_ns))
    }

    fn sighting(&mut self, a: &Armed, p: &ProcessInfo, f: Finding, time_ns: u64) -> Sighting {
        let id = format!("dev:{}:{}", a.policy.name, f.checksum);
        if self.seen.len() >= MAX_SEEN && !self.seen.contains_key(&id) {
            self.seen.clear();
        }
        let (first_ns, count) = {
            let e = self.seen.entry(id.clone()).or_insert((time_ns, 0));
            e.1 += 1;
            *e
        };
        let facts = Facts {
            p,
            host: &self.host,
        };
        let responses = responses_for(&a.policy, &facts);
        let deviation = pb::Deviation {
            id,
            policy: a.policy.name.clone(),
            kind: f.kind.into(),
            summary: f.summary,
            process: Some(convert::key(&p.key)),
            ancestor_keys: f.ancestors,
            first_ns,
            last_ns: time_ns,
            count,
            document: f.document,
            enforced: a.policy.mode == Mode::Enforce && !a.dry_run,
            dry_run: a.dry_run,
            responses: Vec::new(),
        };
        Sighting {
            armed: a.clone(),
            deviation,
            target: p.key,
            responses,
        }
    }
}

fn proto_of(p: crate::net::Proto) -> Proto {
    match p {
        crate::net::Proto::Tcp => Proto::Tcp,
        crate::net::Proto::Udp => Proto::Udp,
    }
}

/// The deviation as an event.
#[must_use]
pub fn event(d: pb::Deviation, time_ns: u64) -> pb::Event {
    pb::Event {
        time_ns,
        kind: Some(pb::event::Kind::Deviation(pb::DeviationRaised {
            deviation: Some(d),
        })),
        ..pb::Event::default()
    }
}
