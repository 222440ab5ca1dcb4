//! One audit log line as stored on disk: a JSON object whose members are
//! the fields of `perch.v1.AuditRecord` in the proto's order (the fields
//! added later, `stage`, `intent_id`, `predecessor`, `outcome` and
//! `watch_ns`, just before `prev_hash`, and only when set, so that older
//! lines keep their exact bytes; likewise an affected process's later
//! fields, after `detail`), enums as their lowercase names without the prefix
//! (`"action":"kill_tree"`), and `line` and `intent_state` left out (they
//! are where the record is and what a listing knows, not what it says).
//! The member order matters: `hash` is written last so that the hashed
//! bytes are simply the line without it (see `chain`).
use perch_proto::{
    names::Named,
    v1::{
        ActionKind, ActionMode, ActionOutcome, ActionResult, ActionTarget, AffectedProcess,
        AuditPredecessor, AuditRecord, AuditStage, Exit, ProcessKey, ProcessOutcome, Role,
    },
};
use serde::{Deserialize, Serialize};

use super::names;

/// A record the log cannot store: an enum field holds a number that has no
/// name in `perch.v1` (a newer client, or a bug in the caller).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("audit record: {field} = {value} is not a known perch.v1 value")]
pub struct InvalidRecord {
    pub field: &'static str,
    pub value: i32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Line {
    pub id: String,
    pub time_unix_ns: u64,
    pub host: String,
    pub actor_uid: u32,
    pub actor_user: String,
    #[serde(with = "names")]
    pub actor_role: Role,
    pub origin: String,
    #[serde(with = "names")]
    pub action: ActionKind,
    /// A `perch.v1.Signal`, or another signal number (see `names::signal`).
    #[serde(with = "names::signal")]
    pub signal: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<i32>,
    #[serde(with = "names")]
    pub mode: ActionMode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Target>,
    pub processes: Vec<Affected>,
    pub reason: String,
    #[serde(with = "names")]
    pub result: ActionResult,
    pub code: String,
    pub detail: String,
    #[serde(default, with = "names", skip_serializing_if = "is_unspecified")]
    pub stage: AuditStage,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub intent_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predecessor: Option<Predecessor>,
    #[serde(default, with = "names", skip_serializing_if = "no_outcome")]
    pub outcome: ActionOutcome,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub watch_ns: u64,
    pub prev_hash: String,
    /// Empty while the line is being hashed, so that it is left out.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub hash: String,
}

/// The log this one continues (on the first line of a rotated log).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Predecessor {
    pub path: String,
    pub records: u64,
    pub last_hash: String,
}

#[expect(
    clippy::trivially_copy_pass_by_ref,
    reason = "serde's skip_serializing_if passes a reference"
)]
fn is_unspecified(stage: &AuditStage) -> bool {
    *stage == AuditStage::Unspecified
}

#[expect(
    clippy::trivially_copy_pass_by_ref,
    reason = "serde's skip_serializing_if passes a reference"
)]
fn no_outcome(outcome: &ActionOutcome) -> bool {
    *outcome == ActionOutcome::Unspecified
}

#[expect(
    clippy::trivially_copy_pass_by_ref,
    reason = "serde's skip_serializing_if passes a reference"
)]
fn is_zero(n: &u64) -> bool {
    *n == 0
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Key {
    pub pid: u32,
    pub start_time_ns: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<Key>,
    pub exe: String,
    pub argv: Vec<String>,
    pub uid: u32,
    pub user: String,
    pub container_id: String,
    pub pod_uid: String,
    pub pod_namespace: String,
    pub pod_name: String,
    pub cgroup_path: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Affected {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<Key>,
    pub ppid: u32,
    pub comm: String,
    pub exe: String,
    #[serde(with = "names")]
    pub outcome: ProcessOutcome,
    pub detail: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit: Option<ExitLine>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub euid: Option<u32>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub user: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub root: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub argv: Vec<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub argv_truncated: bool,
}

/// How a process the action watched ended (`perch.v1.Exit`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExitLine {
    pub time_ns: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal: Option<i32>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub core_dumped: bool,
}

/// Bytes of a record's line the list of affected processes may take; the
/// rest of the record (strings capped where they enter) fits in the other
/// half of [`MAX_LINE_BYTES`](crate::MAX_LINE_BYTES).
const PROCESSES_BUDGET: usize = crate::MAX_LINE_BYTES / 2;

/// Cuts `record.processes` to what fits in one log line (a pod or a tree
/// can hold hundred thousand processes), returning how many were left out;
/// the caller says so in the record.
pub fn fit_processes(record: &mut AuditRecord) -> usize {
    // The members' names, a key, ids, an exit and an outcome: at most
    // this many bytes.
    const FRAME: usize = 400;
    let mut used = 0;
    let keep = record
        .processes
        .iter()
        .take_while(|p| {
            used += FRAME
                + json_len(&p.comm)
                + json_len(&p.exe)
                + json_len(&p.detail)
                + json_len(&p.user)
                // Each argument's quotes and comma.
                + p.argv.iter().map(|a| json_len(a) + 3).sum::<usize>();
            used <= PROCESSES_BUDGET
        })
        .count();
    let dropped = record.processes.len() - keep;
    record.processes.truncate(keep);
    dropped
}

/// The length of `s` as a JSON string's content (`serde_json` escapes
/// control characters as `\uXXXX`, quotes and backslashes with a `\`).
fn json_len(s: &str) -> usize {
    s.bytes()
        .map(|b| match b {
            b'"' | b'\\' | b'\n' | b'\t' | b'\r' | 0x08 | 0x0c => 2,
            0..0x20 => 6,
            _ => 1,
        })
        .sum()
}

fn known<T: Named>(field: &'static str, value: i32) -> Result<T, InvalidRecord> {
    T::from_value(value).ok_or(InvalidRecord { field, value })
}

impl From<ProcessKey> for Key {
    fn from(k: ProcessKey) -> Self {
        Self {
            pid: k.pid,
            start_time_ns: k.start_time_ns,
        }
    }
}

impl From<Key> for ProcessKey {
    fn from(k: Key) -> Self {
        Self {
            pid: k.pid,
            start_time_ns: k.start_time_ns,
        }
    }
}

impl TryFrom<&AuditRecord> for Line {
    type Error = InvalidRecord;

    /// Everything but `line`; `hash` is copied as is (the log recomputes it).
    fn try_from(r: &AuditRecord) -> Result<Self, InvalidRecord> {
        Ok(Self {
            id: r.id.clone(),
            time_unix_ns: r.time_unix_ns,
            host: r.host.clone(),
            actor_uid: r.actor_uid,
            actor_user: r.actor_user.clone(),
            actor_role: known("actor_role", r.actor_role)?,
            origin: r.origin.clone(),
            action: known("action", r.action)?,
            signal: if names::signal::valid(r.signal) {
                r.signal
            } else {
                return Err(InvalidRecord {
                    field: "signal",
                    value: r.signal,
                });
            },
            priority: r.priority,
            mode: known("mode", r.mode)?,
            target: r.target.as_ref().map(Target::from),
            processes: r
                .processes
                .iter()
                .map(Affected::try_from)
                .collect::<Result<_, _>>()?,
            reason: r.reason.clone(),
            result: known("result", r.result)?,
            code: r.code.clone(),
            detail: r.detail.clone(),
            stage: known("stage", r.stage)?,
            intent_id: r.intent_id.clone(),
            predecessor: r.predecessor.as_ref().map(|p| Predecessor {
                path: p.path.clone(),
                records: p.records,
                last_hash: p.last_hash.clone(),
            }),
            outcome: known("outcome", r.outcome)?,
            watch_ns: r.watch_ns,
            prev_hash: r.prev_hash.clone(),
            hash: r.hash.clone(),
        })
    }
}

impl Line {
    /// The record as `perch.v1` has it, at 1-based `line` of its log.
    #[must_use]
    pub fn to_proto(&self, line: u64) -> AuditRecord {
        AuditRecord {
            id: self.id.clone(),
            time_unix_ns: self.time_unix_ns,
            host: self.host.clone(),
            actor_uid: self.actor_uid,
            actor_user: self.actor_user.clone(),
            actor_role: self.actor_role.into(),
            origin: self.origin.clone(),
            action: self.action.into(),
            signal: self.signal,
            priority: self.priority,
            mode: self.mode.into(),
            target: self.target.as_ref().map(Target::to_proto),
            processes: self.processes.iter().map(Affected::to_proto).collect(),
            reason: self.reason.clone(),
            result: self.result.into(),
            code: self.code.clone(),
            detail: self.detail.clone(),
            prev_hash: self.prev_hash.clone(),
            hash: self.hash.clone(),
            line,
            stage: self.stage.into(),
            intent_id: self.intent_id.clone(),
            predecessor: self.predecessor.as_ref().map(|p| AuditPredecessor {
                path: p.path.clone(),
                records: p.records,
                last_hash: p.last_hash.clone(),
            }),
            intent_state: 0,
            outcome: self.outcome.into(),
            watch_ns: self.watch_ns,
        }
    }
}

impl From<&ActionTarget> for Target {
    fn from(t: &ActionTarget) -> Self {
        Self {
            key: t.key.map(Key::from),
            exe: t.exe.clone(),
            argv: t.argv.clone(),
            uid: t.uid,
            user: t.user.clone(),
            container_id: t.container_id.clone(),
            pod_uid: t.pod_uid.clone(),
            pod_namespace: t.pod_namespace.clone(),
            pod_name: t.pod_name.clone(),
            cgroup_path: t.cgroup_path.clone(),
        }
    }
}

impl Target {
    fn to_proto(&self) -> ActionTarget {
        ActionTarget {
            key: self.key.map(ProcessKey::from),
            exe: self.exe.clone(),
            argv: self.argv.clone(),
            uid: self.uid,
            user: self.user.clone(),
            container_id: self.container_id.clone(),
            pod_uid: self.pod_uid.clone(),
            pod_namespace: self.pod_namespace.clone(),
            pod_name: self.pod_name.clone(),
            cgroup_path: self.cgroup_path.clone(),
        }
    }
}

impl TryFrom<&AffectedProcess> for Affected {
    type Error = InvalidRecord;

    fn try_from(p: &AffectedProcess) -> Result<Self, InvalidRecord> {
        Ok(Self {
            key: p.key.map(Key::from),
            ppid: p.ppid,
            comm: p.comm.clone(),
            exe: p.exe.clone(),
            outcome: known("processes.outcome", p.outcome)?,
            detail: p.detail.clone(),
            exit: p.exit.map(|e| ExitLine {
                time_ns: e.time_ns,
                code: e.code,
                signal: e.signal,
                core_dumped: e.core_dumped,
            }),
            uid: p.uid,
            euid: p.euid,
            user: p.user.clone(),
            root: p.root,
            argv: p.argv.clone(),
            argv_truncated: p.argv_truncated,
        })
    }
}

impl Affected {
    fn to_proto(&self) -> AffectedProcess {
        AffectedProcess {
            key: self.key.map(ProcessKey::from),
            ppid: self.ppid,
            comm: self.comm.clone(),
            exe: self.exe.clone(),
            outcome: self.outcome.into(),
            detail: self.detail.clone(),
            exit: self.exit.map(|e| Exit {
                time_ns: e.time_ns,
                code: e.code,
                signal: e.signal,
                core_dumped: e.core_dumped,
                // Not recorded in the log (its format predates the mark).
                oom_killed: false,
            }),
            uid: self.uid,
            euid: self.euid,
            user: self.user.clone(),
            root: self.root,
            argv: self.argv.clone(),
            argv_truncated: self.argv_truncated,
        }
    }
}
