//! Flags and Spydertraces as JSON (`perch flags --json`, `perch traces
//! --json`, and flag/trace/deviation events): keys are the proto field
//! names, enums lowercase names without their prefix ("high", "red",
//! "active").
use perch_proto::v1::{
    Deviation, DeviationKind, Flag, FlagKind, MitreMapping, PolicyResponse, ResponseOutcome,
    Severity, Trace, TraceStatus,
};
use serde_json::{Map, Value, json};

use super::{enum_name, key, put_opt};

fn mitre(m: &MitreMapping) -> Value {
    json!({
        "technique": m.technique,
        "tactic": m.tactic,
        "technique_name": m.technique_name,
        "tactic_name": m.tactic_name,
    })
}

/// One flag, as one JSON object.
#[must_use]
pub fn flag(f: &Flag) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), f.id.clone().into());
    m.insert("rule_id".into(), f.rule_id.clone().into());
    m.insert("short_name".into(), f.short_name.clone().into());
    m.insert("kind".into(), enum_name::<FlagKind>(f.kind));
    m.insert("severity".into(), enum_name::<Severity>(f.severity));
    m.insert(
        "mitre_mapping".into(),
        f.mitre_mapping.iter().map(mitre).collect(),
    );
    m.insert("description".into(), f.description.clone().into());
    m.insert("impact".into(), f.impact.clone().into());
    m.insert("content".into(), f.content.clone().into());
    m.insert("class".into(), f.class.clone().into());
    put_opt(&mut m, "process", f.process.as_ref().map(key));
    m.insert("name".into(), f.name.clone().into());
    m.insert("args".into(), f.args.clone().into());
    m.insert("exe".into(), f.exe.clone().into());
    m.insert("euid".into(), f.euid.into());
    m.insert("euser".into(), f.euser.clone().into());
    m.insert("auser".into(), f.auser.clone().into());
    m.insert("ancestors".into(), f.ancestors.clone().into());
    m.insert(
        "ancestor_keys".into(),
        f.ancestor_keys.iter().map(key).collect(),
    );
    m.insert("time_ns".into(), f.time_ns.into());
    m.insert("last_time_ns".into(), f.last_time_ns.into());
    m.insert("repeat_count".into(), f.repeat_count.into());
    m.insert("excepted".into(), f.excepted.into());
    m.insert("exception_reason".into(), f.exception_reason.clone().into());
    m.insert("trace_id".into(), f.trace_id.clone().into());
    Value::Object(m)
}

/// One trace, as one JSON object.
#[must_use]
pub fn trace(t: &Trace) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), t.id.clone().into());
    m.insert("name".into(), t.name.clone().into());
    m.insert("trigger".into(), t.trigger.clone().into());
    m.insert(
        "trigger_short_name".into(),
        t.trigger_short_name.clone().into(),
    );
    m.insert(
        "trigger_ancestors".into(),
        t.trigger_ancestors.clone().into(),
    );
    put_opt(&mut m, "root", t.root.as_ref().map(key));
    m.insert("root_proc_name".into(), t.root_proc_name.clone().into());
    m.insert("status".into(), enum_name::<TraceStatus>(t.status));
    m.insert("interactive".into(), t.interactive.into());
    m.insert("users".into(), t.users.clone().into());
    m.insert("login_users".into(), t.login_users.clone().into());
    m.insert("process_count".into(), t.process_count.into());
    m.insert("connection_count".into(), t.connection_count.into());
    m.insert("flag_count".into(), t.flag_count.into());
    m.insert("unique_flag_count".into(), t.unique_flag_count.into());
    m.insert("mitre_mapping".into(), t.mitre_mapping.clone().into());
    m.insert("score".into(), t.score.into());
    m.insert("notable".into(), t.notable.into());
    m.insert("suppressed".into(), t.suppressed.into());
    m.insert("start_time_ns".into(), t.start_time_ns.into());
    m.insert("last_time_ns".into(), t.last_time_ns.into());
    m.insert("closed_time_ns".into(), t.closed_time_ns.into());
    m.insert("flag_ids".into(), t.flag_ids.clone().into());
    m.insert("max_severity".into(), enum_name::<Severity>(t.max_severity));
    Value::Object(m)
}

fn response(r: &PolicyResponse) -> Value {
    json!({
        "action": r.action,
        "outcome": enum_name::<ResponseOutcome>(r.outcome),
        "detail": r.detail,
        "audit_id": r.audit_id,
    })
}

/// One policy deviation, as one JSON object.
#[must_use]
pub fn deviation(d: &Deviation) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), d.id.clone().into());
    m.insert("policy".into(), d.policy.clone().into());
    m.insert("kind".into(), enum_name::<DeviationKind>(d.kind));
    m.insert("summary".into(), d.summary.clone().into());
    put_opt(&mut m, "process", d.process.as_ref().map(key));
    m.insert(
        "ancestor_keys".into(),
        d.ancestor_keys.iter().map(key).collect(),
    );
    m.insert("first_ns".into(), d.first_ns.into());
    m.insert("last_ns".into(), d.last_ns.into());
    m.insert("count".into(), d.count.into());
    m.insert("document".into(), d.document.clone().into());
    m.insert("enforced".into(), d.enforced.into());
    m.insert("dry_run".into(), d.dry_run.into());
    m.insert(
        "responses".into(),
        d.responses.iter().map(response).collect(),
    );
    Value::Object(m)
}
