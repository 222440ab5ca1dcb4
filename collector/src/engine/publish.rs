//! Publishing: events applied to the model, judged by the detection rules
//! (flags and trace updates follow the event that raised them) and
//! published to the hub, as one step under the model's lock.
use perch_proto::v1 as pb;

use super::Shared;
use crate::{
    clock::now_boot_ns,
    convert,
    model::{ModelEvent, ProcessModel},
    security::{Detail, SecurityEvent},
};

impl Shared {
    /// Applies `events` to the model and publishes what changed, followed
    /// by `extra` (samples, notices), as one atomic step.  Each change is
    /// converted and encoded before the next is applied, so a batch (up to
    /// a ring buffer's worth) never exists as messages all at once.
    pub fn commit(&self, events: Vec<ModelEvent>, extra: Vec<pb::Event>) {
        if events.is_empty() && extra.is_empty() {
            return;
        }
        let mut model = self.model();
        // Lock order: model, then detector (the RPCs take the detector alone).
        let Some(detector) = &self.detector else {
            let model = &mut *model;
            let applied = events.into_iter().flat_map(|e| {
                let renamed = comm_rename(model, &e);
                let mut out = Vec::new();
                for a in model.apply(e).into_iter().chain(renamed) {
                    let deviations = self.judge(model, &a);
                    out.push(convert::event(a));
                    out.extend(deviations);
                }
                out
            });
            self.hub.publish_iter(applied.chain(extra));
            return;
        };
        let mut detector = detector
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = now_boot_ns();
        let (model, detector) = (&mut *model, &mut *detector);
        // Lazily, as without rules: each event with the flags it raised.
        let applied = events.into_iter().flat_map(|e| {
            let renamed = comm_rename(model, &e);
            detector.before(model, &e);
            let mut out = Vec::new();
            if let Some(applied) = model.apply(e) {
                let flags = detector.after(model, &applied, now);
                let deviations = self.judge(model, &applied);
                out.push(convert::event(applied));
                out.extend(flags);
                out.extend(deviations);
            }
            // The rename was applied with its event; its security twin is
            // only published (and judged).
            if let Some(r) = renamed {
                let flags = detector.after(model, &r, now);
                out.push(convert::event(r));
                out.extend(flags);
            }
            out
        });
        self.hub.publish_iter(applied.chain(extra));
    }
}

/// A process renaming itself (outside exec) as a security event too, with
/// its old name, when `e` is such a rename of a process the model knows.
fn comm_rename(model: &ProcessModel, e: &ModelEvent) -> Option<ModelEvent> {
    let ModelEvent::Rename { time_ns, key, comm } = e else {
        return None;
    };
    // Kernel threads are named right after kthreadd forks them: not news.
    let p = model
        .get_key(key)
        .filter(|p| p.comm != *comm && !p.kernel_thread)?;
    Some(ModelEvent::Security(Box::new(SecurityEvent {
        time_ns: *time_ns,
        key: p.key,
        tid: p.key.pid,
        result: 0,
        syscall: "task_rename",
        detail: Detail::CommRename {
            old: p.comm.clone(),
            new: comm.clone(),
        },
    })))
}
