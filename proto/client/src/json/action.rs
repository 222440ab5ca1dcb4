//! Audit records (actions) as JSON: the same keys as the audit log's lines,
//! enums as lowercase names without their prefix (`kill_tree`, "partial").
use perch_proto::v1::{
    ActionKind, ActionMode, ActionOutcome, ActionResult, ActionTarget, AffectedProcess,
    AuditRecord, AuditStage, IntentState, ProcessOutcome, Role, Signal,
};
use serde_json::{Map, Value};

use super::{enum_name, exit, key, put_opt};

/// One audit record, as one JSON object.
#[must_use]
pub fn record(r: &AuditRecord) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), r.id.clone().into());
    m.insert("time_unix_ns".into(), r.time_unix_ns.into());
    m.insert("host".into(), r.host.clone().into());
    m.insert("actor_uid".into(), r.actor_uid.into());
    m.insert("actor_user".into(), r.actor_user.clone().into());
    m.insert("actor_role".into(), enum_name::<Role>(r.actor_role));
    m.insert("origin".into(), r.origin.clone().into());
    m.insert("action".into(), enum_name::<ActionKind>(r.action));
    m.insert("signal".into(), enum_name::<Signal>(r.signal));
    put_opt(&mut m, "priority", r.priority.map(Value::from));
    m.insert("mode".into(), enum_name::<ActionMode>(r.mode));
    put_opt(&mut m, "target", r.target.as_ref().map(target));
    m.insert(
        "processes".into(),
        r.processes.iter().map(affected).collect(),
    );
    m.insert("reason".into(), r.reason.clone().into());
    m.insert("result".into(), enum_name::<ActionResult>(r.result));
    m.insert("code".into(), r.code.clone().into());
    m.insert("detail".into(), r.detail.clone().into());
    // Only when set, as in the log's own lines.
    if r.stage != 0 {
        m.insert("stage".into(), enum_name::<AuditStage>(r.stage));
    }
    if !r.intent_id.is_empty() {
        m.insert("intent_id".into(), r.intent_id.clone().into());
    }
    if let Some(p) = &r.predecessor {
        let mut pm = Map::new();
        pm.insert("path".into(), p.path.clone().into());
        pm.insert("records".into(), p.records.into());
        pm.insert("last_hash".into(), p.last_hash.clone().into());
        m.insert("predecessor".into(), Value::Object(pm));
    }
    if r.intent_state != 0 {
        m.insert(
            "intent_state".into(),
            enum_name::<IntentState>(r.intent_state),
        );
    }
    if r.outcome != 0 {
        m.insert("outcome".into(), enum_name::<ActionOutcome>(r.outcome));
    }
    if r.watch_ns != 0 {
        m.insert("watch_ns".into(), r.watch_ns.into());
    }
    m.insert("prev_hash".into(), r.prev_hash.clone().into());
    m.insert("hash".into(), r.hash.clone().into());
    m.insert("line".into(), r.line.into());
    Value::Object(m)
}

fn target(t: &ActionTarget) -> Value {
    let mut m = Map::new();
    put_opt(&mut m, "key", t.key.as_ref().map(key));
    m.insert("exe".into(), t.exe.clone().into());
    m.insert("argv".into(), t.argv.clone().into());
    m.insert("uid".into(), t.uid.into());
    m.insert("user".into(), t.user.clone().into());
    m.insert("container_id".into(), t.container_id.clone().into());
    m.insert("pod_uid".into(), t.pod_uid.clone().into());
    m.insert("pod_namespace".into(), t.pod_namespace.clone().into());
    m.insert("pod_name".into(), t.pod_name.clone().into());
    m.insert("cgroup_path".into(), t.cgroup_path.clone().into());
    Value::Object(m)
}

fn affected(p: &AffectedProcess) -> Value {
    let mut m = Map::new();
    put_opt(&mut m, "key", p.key.as_ref().map(key));
    m.insert("ppid".into(), p.ppid.into());
    m.insert("comm".into(), p.comm.clone().into());
    m.insert("exe".into(), p.exe.clone().into());
    m.insert("outcome".into(), enum_name::<ProcessOutcome>(p.outcome));
    m.insert("detail".into(), p.detail.clone().into());
    put_opt(&mut m, "exit", p.exit.as_ref().map(exit));
    put_opt(&mut m, "uid", p.uid.map(Value::from));
    put_opt(&mut m, "euid", p.euid.map(Value::from));
    m.insert("user".into(), p.user.clone().into());
    m.insert("root".into(), p.root.into());
    m.insert("argv".into(), p.argv.clone().into());
    m.insert("argv_truncated".into(), p.argv_truncated.into());
    Value::Object(m)
}
