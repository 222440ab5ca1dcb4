//! The collector's side of the guard: the policies it judges (set from
//! the registry at start and on every policy change), the deviations it
//! publishes from [`Shared::commit`], and the one worker thread that runs
//! their responses (actions block on the audit log's fsync and on the
//! executor's watch, so never on the event path).
use std::sync::{
    Arc, PoisonError, Weak,
    mpsc::{Receiver, TrySendError, sync_channel},
};

use perch_proto::v1 as pb;

use super::Shared;
use crate::{
    clock::now_boot_ns,
    detect::policy_flag::PolicyFlag,
    guard::{self, Sighting, respond::Host},
    model::{ModelEvent, ProcessModel},
    respond::{Context, Responder},
    server::act,
};

/// Sightings waiting for their responses at most; past it a sighting is
/// published without responses and counted.
const QUEUE: usize = 1024;

impl Shared {
    /// Puts the registry's workload policies in force.
    pub fn arm_policies(&self, registry: &crate::policy::registry::Registry) {
        let policies = registry.workload_policies();
        tracing::info!(policies = policies.len(), "workload policies in force");
        if let Some(detector) = &self.detector {
            let enforcing = policies
                .iter()
                .filter(|(p, dry_run)| !dry_run && p.mode == crate::policy::trace::Mode::Enforce)
                .map(|(p, _)| Arc::clone(p))
                .collect();
            detector
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .set_workload_policies(enforcing, self.info.host.clone());
        }
        self.guard
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .set_policies(policies);
    }

    /// The deviations `applied` shows: their events (to publish with it),
    /// their responses queued for the worker.
    pub(super) fn judge(&self, model: &ProcessModel, applied: &ModelEvent) -> Vec<pb::Event> {
        let mut g = self.guard.lock().unwrap_or_else(PoisonError::into_inner);
        if g.is_idle() {
            return Vec::new();
        }
        let found = g.judge(model, applied);
        drop(g);
        let mut out = Vec::with_capacity(found.len());
        for s in found {
            // Stamped with the sighting (the exec or connection), not the
            // judging: the history's state at that instant holds it.
            out.push(guard::event(s.deviation.clone(), s.deviation.last_ns));
            if s.responses.is_empty() {
                continue;
            }
            match self.guard_tx.get().map(|tx| tx.try_send(Box::new(s))) {
                Some(Ok(())) | None => {}
                Some(Err(TrySendError::Full(s) | TrySendError::Disconnected(s))) => {
                    tracing::warn!(
                        deviation = s.deviation.id,
                        "policy responses dropped: the response queue is full"
                    );
                }
            }
        }
        out
    }
}

/// Puts the stored workload policies in force and starts the response
/// worker for `shared`.
pub(super) fn start(shared: &Arc<Shared>) {
    {
        let registry = shared
            .policies
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        shared.arm_policies(&registry);
    }
    let (tx, rx) = sync_channel(QUEUE);
    if shared.guard_tx.set(tx).is_err() {
        return;
    }
    let weak = Arc::downgrade(shared);
    let spawned = std::thread::Builder::new()
        .name("perchd-policy".to_owned())
        .spawn(move || work(&weak, &rx));
    if let Err(e) = spawned {
        tracing::error!("policy responses will not run: {e}");
    }
}

fn work(shared: &Weak<Shared>, rx: &Receiver<Box<Sighting>>) {
    while let Ok(s) = rx.recv() {
        let Some(shared) = shared.upgrade() else {
            return;
        };
        let done = guard::respond::run(&HostOf(&shared), &s);
        shared.hub.publish(vec![guard::event(done, now_boot_ns())]);
    }
}

struct HostOf<'a>(&'a Arc<Shared>);

impl Host for HostOf<'_> {
    fn responder(&self) -> Option<&Responder> {
        Some(&self.0.responder)
    }

    fn context(&self) -> &dyn Context {
        self
    }

    fn raise(&self, s: &Sighting, flag: &PolicyFlag) {
        let Some(detector) = &self.0.detector else {
            return;
        };
        let model = self.0.model();
        let events = detector
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .raise_policy_flag(&model, &s.target, flag, now_boot_ns());
        self.0.hub.publish(events);
    }
}

impl Context for HostOf<'_> {
    fn describe(&self, key: pb::ProcessKey) -> Option<pb::Process> {
        act::Ctx(&**self.0).describe(key)
    }

    fn publish(&self, event: pb::Event) {
        self.0.hub.publish(vec![event]);
    }

    fn host(&self) -> String {
        act::Ctx(&**self.0).host()
    }

    fn now_boot_ns(&self) -> u64 {
        now_boot_ns()
    }
}
