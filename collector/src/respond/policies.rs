//! Changes to the stored policies (apply, enable / disable, delete) as
//! audited changes, like `SuppressTrace`: the caller's role first, then the
//! audit intent (no record, no change), then the file and the policies in
//! force (the registry, and the detector's trace suppression from it),
//! then the audited result naming the policy and its document's SHA-256.
use std::{
    path::PathBuf,
    sync::{Mutex, PoisonError},
};

use perch_proto::v1::{self as pb, ActRequest, ActionResult, AuditStage, Role};
use sha2::{Digest as _, Sha256};
use tonic::Status;

use super::{
    Context, Responder,
    record::{base_record, refuse},
    validate::Invalid,
};
use crate::{
    detect::Detector,
    policy::{
        Policy,
        registry::{Entry, Registry, RegistryError},
    },
    roles::Identity,
};

/// One change asked for, checked.
#[derive(Clone, Debug, PartialEq)]
pub enum PolicyChange {
    Apply { policy: Policy, dry_run: bool },
    SetEnabled { name: String, enabled: bool },
    Delete { name: String },
}

/// What a change did.
#[derive(Clone, Debug, PartialEq)]
pub enum Changed {
    /// The stored entry, and whether it replaced one of the same name.
    Applied(Entry, bool),
    Enabled(Entry),
    /// The file removed.
    Deleted(PathBuf),
}

/// A change as asked: its validation (a refusal is audited too), why, and
/// the change in words for a refused record.
#[derive(Clone, Debug)]
pub struct Asked {
    pub checked: Result<PolicyChange, Invalid>,
    pub reason: String,
    pub what: String,
}

/// The stores a change touches.
#[derive(Clone, Copy)]
pub struct Stores<'a> {
    pub registry: &'a Mutex<Registry>,
    /// The trace suppression consumer; `None` when detections are off.
    pub detector: Option<&'a Mutex<Detector>>,
    /// The workload policies' consumer (perchd's guard).
    pub arm: Option<&'a (dyn Fn(&Registry) + Sync)>,
}

/// SHA-256 of `text`, lowercase hex.
#[must_use]
pub fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .fold(String::with_capacity(64), |mut s, b| {
            use std::fmt::Write as _;
            let _ = write!(s, "{b:02x}");
            s
        })
}

impl Responder {
    /// One policy change from `who` (holding `role`).
    pub fn change_policy(
        &self,
        ctx: &dyn Context,
        stores: Stores<'_>,
        who: &Identity,
        role: Role,
        asked: Asked,
    ) -> Result<Changed, Status> {
        let Asked {
            checked,
            reason,
            what,
        } = asked;
        let act = ActRequest {
            reason,
            ..ActRequest::default()
        };
        let mut record = base_record(ctx, who, role, &act);
        record.action = pb::ActionKind::PolicyChange.into();
        record.detail = what;
        if self.log().status() == pb::AuditLogStatus::Broken {
            return Err(Status::failed_precondition(format!(
                "policy changes are refused: {}; move the log aside (perchd --audit-log) first",
                self.log().status_detail()
            )));
        }
        let change = match checked {
            Ok(c) => c,
            Err(invalid) => {
                refuse(&mut record, "invalid_argument", &invalid.0);
                return Err(self.refused(ctx, who, &record, invalid.into()));
            }
        };
        if !matches!(role, Role::Operator | Role::Admin) {
            let why = format!(
                "{} is a viewer: changing policies needs the operator or admin role \
                 (perchd's config, [roles])",
                who.caller()
            );
            refuse(&mut record, "permission_denied", &why);
            return Err(self.refused(ctx, who, &record, Status::permission_denied(why)));
        }
        let by = if record.actor_user.is_empty() {
            who.caller()
        } else {
            record.actor_user.clone()
        };
        let mut registry = stores
            .registry
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        record.detail = plan(&registry, &change)?;
        let intent = self.write_intent(&record)?;
        let done = match change {
            PolicyChange::Apply { policy, dry_run } => registry
                .apply(policy, dry_run, &by, unix_now_ns())
                .map(|(e, replaced)| Changed::Applied(e, replaced)),
            PolicyChange::SetEnabled { name, enabled } => {
                registry.set_enabled(&name, enabled).map(Changed::Enabled)
            }
            PolicyChange::Delete { name } => registry.delete(&name).map(Changed::Deleted),
        };
        if done.is_ok() {
            if let Some(d) = stores.detector {
                d.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .set_policies(registry.trace_policies());
            }
            if let Some(arm) = stores.arm {
                arm(&registry);
            }
        }
        record.set_stage(AuditStage::Result);
        record.intent_id.clone_from(&intent.id);
        let answer = match done {
            Ok(changed) => {
                record.result = ActionResult::Success.into();
                "policy_changed".clone_into(&mut record.code);
                record.detail = format!("{}: done", record.detail);
                Ok(changed)
            }
            Err(e) => {
                let why = format!("{e}");
                refuse(&mut record, "os_error", &why);
                Err(Status::internal(format!("{why}; nothing was changed")))
            }
        };
        let written = self.append(&record);
        self.in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&intent.id);
        match written {
            Ok(w) => super::publish(ctx, w),
            Err(e) => tracing::error!(intent = intent.id, "audit result not written: {e}"),
        }
        answer
    }
}

/// The change in words for the intent: what, which policy, its document's
/// hash (the new one for apply, the stored one otherwise); `NOT_FOUND` for
/// a name not stored.
fn plan(registry: &Registry, change: &PolicyChange) -> Result<String, Status> {
    let stored = |name: &str| {
        registry
            .get(name)
            .ok_or_else(|| Status::not_found(RegistryError::NotFound(name.to_owned()).to_string()))
    };
    Ok(match change {
        PolicyChange::Apply { policy, dry_run } => format!(
            "apply policy {} ({}, {}{}) into {}, sha256 {}",
            policy.name(),
            policy.type_name(),
            policy.mode().as_str(),
            if *dry_run { ", dry run" } else { "" },
            registry.dir().display(),
            sha256_hex(&policy.to_yaml(""))
        ),
        PolicyChange::SetEnabled { name, enabled } => format!(
            "{} policy {name} ({}), sha256 {}",
            if *enabled { "enable" } else { "disable" },
            stored(name)?.path.display(),
            sha256_hex(&stored(name)?.yaml)
        ),
        PolicyChange::Delete { name } => format!(
            "delete policy {name} ({}), sha256 {}",
            stored(name)?.path.display(),
            sha256_hex(&stored(name)?.yaml)
        ),
    })
}

fn unix_now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}
