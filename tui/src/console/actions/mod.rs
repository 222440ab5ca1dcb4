//! Response actions in the console, as plain state: what the console asks
//! its loop to send, what it remembers about actions taken on each process,
//! and how many processes each action would hit.  The menu, the dialog and
//! the result are overlays ([`crate::console::overlays`]).
mod hits;
pub mod outcome;

use perch_proto::v1::{
    ActRequest, ActionKind, ActionMode, ActionResult, AuditRecord, ListAuditRequest, Signal,
};

pub use self::hits::Hits;
use super::model::HostId;
use crate::text::clean;

/// What the console wants sent to a collector.
#[derive(Clone, Debug, PartialEq)]
pub enum Request {
    Act(ActRequest),
    ListAudit(ListAuditRequest),
    /// The host's workload and trace policies.
    ListPolicies,
    /// Apply this policy document (the console's "add to policy").
    ApplyPolicy {
        yaml: String,
        reason: String,
    },
    /// Not for a collector: the column setup's choice, for the loop to
    /// write into the configuration file's `columns`.
    SaveColumns(Vec<String>),
}

/// A request for the loop: send it to `host`'s collector and hand the
/// answer back with `id` ([`crate::console::App::ingest_act_result`],
/// [`crate::console::App::ingest_audit`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Outgoing {
    pub id: u64,
    pub host: HostId,
    pub request: Request,
}

/// An action that touched a process, for its detail view.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    /// The audit record's id (a record seen twice — our answer and the
    /// event stream — is noted once).
    pub id: String,
    pub action: ActionKind,
    pub signal: Signal,
    pub dry_run: bool,
    pub actor: String,
    pub reason: String,
    pub result: ActionResult,
    pub code: String,
}

impl Note {
    #[must_use]
    pub fn from_record(r: &AuditRecord) -> Note {
        let actor = if r.actor_user.is_empty() {
            format!("uid {}", r.actor_uid)
        } else {
            clean(&r.actor_user).into_owned()
        };
        Note {
            id: r.id.clone(),
            action: r.action(),
            signal: r.signal(),
            dry_run: r.mode() == ActionMode::DryRun,
            actor,
            reason: clean(&r.reason).into_owned(),
            result: r.result(),
            code: clean(&r.code).into_owned(),
        }
    }
}

/// The kinds the menu offers for a process, in menu order (pod kinds only
/// when it runs in a pod).
#[must_use]
pub fn menu_kinds(in_pod: bool) -> Vec<ActionKind> {
    let mut kinds = vec![
        ActionKind::Kill,
        ActionKind::KillTree,
        ActionKind::KillGroup,
        ActionKind::Renice,
        ActionKind::FreezeTree,
        ActionKind::ThawTree,
    ];
    if in_pod {
        kinds.extend([
            ActionKind::KillPod,
            ActionKind::FreezePod,
            ActionKind::ThawPod,
        ]);
    }
    kinds
}
