//! The guard: workload policies judged on every exec, listening socket
//! and connection, as they are applied to the model (under its lock, as
//! the detector is).  A deviation is published at once as a
//! `DeviationRaised` event (and so stored by the history), deduplicated
//! by its checksum (the count and last sighting grow); every sighting
//! carries the responses its policy selects, which `respond.rs` runs off
//! the event path.
pub mod cover;
pub mod doc;
pub mod respond;

use std::{collections::HashMap, net::SocketAddr, sync::Arc};

use perch_proto::v1 as pb;

use crate::{
    convert,
    model::{ModelEvent, ProcKey, ProcessInfo, ProcessModel},
    net::{Conn, NetChange},
    policy::{
        trace::Mode,
        workload::{
            ResponseItem, WorkloadPolicy,
            net::{Proto, is_private},
            select::all_match,
        },
    },
};
use cover::{Facts, Found, Place, chain, node_of, place};

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
        if self.policies.is_empty() {
            return Vec::new();
        }
        let mut out = Vec::new();
        let armed = self.policies.clone();
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
        let Place::Uncovered { anchor, at } = place(&a.policy, &links) else {
            return None;
        };
        let made = doc::process(&a.policy, anchor.map(|n| n.id.as_str()), &links[at..]);
        let under = anchor.map_or_else(|| "as a root".to_owned(), |n| format!("under {}", n.id));
        let first = links[at];
        let summary = format!(
            "{} ({}, {}) {under} is not in policy {}'s process tree",
            first.comm,
            cover::exe_of(first),
            cover::euser_of(first),
            a.policy.name
        );
        let ancestors: Vec<ProcKey> = links[..links.len() - 1]
            .iter()
            .rev()
            .map(|q| q.key)
            .collect();
        Some(self.sighting(
            a,
            model,
            p,
            pb::DeviationKind::Process,
            made,
            summary,
            &ancestors,
            time_ns,
        ))
    }

    fn net(
        &mut self,
        a: &Armed,
        model: &ProcessModel,
        change: &NetChange,
        time_ns: u64,
    ) -> Option<Sighting> {
        match change {
            NetChange::Listen(l) => {
                let p = model.get_key(&l.owner.as_ref()?.key)?;
                let Found::Node(node) = node_of(&a.policy, model, p, &self.host) else {
                    return None;
                };
                let (proto, port) = (proto_of(l.proto), l.local?.port());
                if node.listening.iter().any(|r| r.covers(proto, port)) {
                    return None;
                }
                let made = doc::listening(&a.policy, &node.id, proto, port);
                let summary = format!(
                    "{} ({}) listens on {} {port}, outside policy {}'s listeningSockets",
                    p.comm,
                    node.id,
                    proto.as_str(),
                    a.policy.name
                );
                Some(self.sighting(
                    a,
                    model,
                    p,
                    pb::DeviationKind::Listening,
                    made,
                    summary,
                    &[],
                    time_ns,
                ))
            }
            NetChange::Connect(c) => self.conn(a, model, c, false, time_ns),
            NetChange::Accept(c) => self.conn(a, model, c, true, time_ns),
            _ => None,
        }
    }

    fn conn(
        &mut self,
        armed: &Armed,
        model: &ProcessModel,
        conn: &Conn,
        ingress: bool,
        time_ns: u64,
    ) -> Option<Sighting> {
        let p = model.get_key(&conn.owner.as_ref()?.key)?;
        let node = match node_of(&armed.policy, model, p, &self.host) {
            Found::Outside => return None,
            Found::Node(n) => Some(n),
            Found::Uncovered => None,
        };
        let remote: SocketAddr = conn.remote?;
        let ip = remote.ip().to_canonical();
        let port = if ingress {
            conn.local?.port()
        } else {
            remote.port()
        };
        let d = &armed.policy.disable;
        let i = usize::from(!ingress);
        if d.all[i]
            || (if is_private(ip) {
                d.private[i]
            } else {
                d.public[i]
            })
        {
            return None;
        }
        let proto = proto_of(conn.proto);
        let id = node.map(|n| n.id.as_str());
        let rules = if ingress {
            &armed.policy.ingress
        } else {
            &armed.policy.egress
        };
        if rules.iter().any(|r| r.covers(id, ip, None, proto, port)) {
            return None;
        }
        let made = doc::network(&armed.policy, ingress, id, ip, proto, port);
        let (dir, kind) = if ingress {
            (
                format!("from {ip} to port {port}"),
                pb::DeviationKind::Ingress,
            )
        } else {
            (format!("to {ip} port {port}"), pb::DeviationKind::Egress)
        };
        let summary = format!(
            "{} ({}) {} {dir}: no {} rule of policy {} covers it",
            p.comm,
            id.unwrap_or("not in the tree"),
            proto.as_str(),
            if ingress { "ingress" } else { "egress" },
            armed.policy.name
        );
        Some(self.sighting(armed, model, p, kind, made, summary, &[], time_ns))
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "one place builds every kind's sighting"
    )]
    fn sighting(
        &mut self,
        a: &Armed,
        model: &ProcessModel,
        p: &ProcessInfo,
        kind: pb::DeviationKind,
        made: doc::Made,
        summary: String,
        ancestors: &[ProcKey],
        time_ns: u64,
    ) -> Sighting {
        let _ = model;
        let id = format!("dev:{}:{}", a.policy.name, made.checksum);
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
            kind: kind.into(),
            summary,
            process: Some(convert::key(&p.key)),
            ancestor_keys: ancestors.iter().map(convert::key).collect(),
            first_ns,
            last_ns: time_ns,
            count,
            document: made.document,
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

/// The responses for a deviation of `facts`: every enabled `actions` item
/// whose selectors hold, and each `default` item of a type no selected
/// item has (Spyderbat's rule).
#[must_use]
pub fn responses_for(policy: &WorkloadPolicy, facts: &Facts<'_>) -> Vec<ResponseItem> {
    let chosen: Vec<ResponseItem> = policy
        .actions
        .iter()
        .filter(|r| all_match(&r.selectors, facts))
        .cloned()
        .collect();
    let defaults = policy
        .default
        .iter()
        .filter(|d| {
            !chosen
                .iter()
                .any(|c| c.action.doc_name() == d.action.doc_name())
        })
        .cloned()
        .collect::<Vec<_>>();
    chosen
        .into_iter()
        .chain(defaults)
        .filter(|r| r.enabled)
        .collect()
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
