//! A matched rule as a `perch.v1` flag, and a rule as `perch rules list`
//! shows it.
use std::collections::HashMap;

use perch_proto::v1 as pb;

use super::{
    context::{Subject, placeholder},
    event::EventCtx,
    rules::{Kind, Mitre, Rule},
    settings::pb_severity,
};
use crate::convert;

fn mitre(m: &[Mitre]) -> Vec<pb::MitreMapping> {
    m.iter()
        .map(|m| pb::MitreMapping {
            technique: m.technique.clone(),
            tactic: m.tactic.clone(),
            technique_name: m.technique_name.clone(),
            tactic_name: m.tactic_name.clone(),
        })
        .collect()
}

fn kind(k: Kind) -> pb::FlagKind {
    match k {
        Kind::Red => pb::FlagKind::Red,
        Kind::Ops => pb::FlagKind::Ops,
    }
}

/// A fresh flag (repeat count 1, no id or trace yet).
pub fn build(
    rule: &Rule,
    sub: &Subject<'_>,
    ev: Option<&EventCtx>,
    excepted: Option<String>,
    lists: &HashMap<String, Vec<String>>,
    time_ns: u64,
) -> pb::Flag {
    let p = sub.proc;
    let facts = p.facts.as_deref();
    pb::Flag {
        rule_id: rule.id.clone(),
        short_name: rule.short_name.clone(),
        kind: kind(rule.kind).into(),
        severity: pb_severity(rule.severity).into(),
        mitre_mapping: mitre(&rule.mitre),
        description: rule.description.render(|n| {
            ev.and_then(|e| e.placeholder(n))
                .unwrap_or_else(|| placeholder(sub, n, lists))
        }),
        impact: rule.impact.clone(),
        content: rule.content.clone(),
        class: rule.class.clone(),
        process: Some(convert::key(&p.key)),
        name: p.comm.clone(),
        args: p.argv.to_vec(),
        exe: facts.map_or_else(|| p.exe.clone(), |f| f.exe.path.clone()),
        euid: p.euid,
        euser: p.user.as_deref().unwrap_or_default().to_owned(),
        auser: facts
            .and_then(|f| f.login_user.as_deref())
            .unwrap_or_default()
            .to_owned(),
        ancestors: sub.ancestors.iter().map(|a| a.comm.clone()).collect(),
        ancestor_keys: sub.ancestors.iter().map(|a| convert::key(&a.key)).collect(),
        time_ns,
        last_time_ns: time_ns,
        repeat_count: 1,
        excepted: excepted.is_some(),
        exception_reason: excepted.unwrap_or_default(),
        ..pb::Flag::default()
    }
}

#[must_use]
pub fn rule_info(r: &Rule) -> pb::RuleInfo {
    pb::RuleInfo {
        id: r.id.clone(),
        short_name: r.short_name.clone(),
        kind: kind(r.kind).into(),
        severity: pb_severity(r.severity).into(),
        mitre_mapping: mitre(&r.mitre),
        enabled: r.enabled,
        source: r.source.clone(),
        condition: r.condition.clone(),
    }
}
