//! Flags a workload policy raises (`makeRedFlag`, `makeOpsFlag`, and the
//! ops flag of a response that failed): built like a rule's flag from the
//! process and its ancestry, red ones joining the process's trace.
use perch_proto::v1 as pb;

use super::{
    Detector, event,
    lineage::ancestry,
    rules::Severity,
    settings::pb_severity,
    store::FlagRec,
    traces::{Joining, session_root},
};
use crate::{
    convert,
    model::{ProcKey, ProcessInfo, ProcessModel},
};

/// What the policy asks for.
pub struct PolicyFlag {
    pub red: bool,
    pub policy: String,
    /// critical, high, medium, low or info (validated with the policy).
    pub severity: String,
    pub description: String,
    pub content: String,
    pub impact: String,
}

fn severity(s: &str) -> Severity {
    match s {
        "critical" => Severity::Critical,
        "medium" => Severity::Medium,
        "low" => Severity::Low,
        "info" => Severity::Info,
        _ => Severity::High,
    }
}

/// The enforcing workload policy whose tree covers the flagged process,
/// as an exception reason: Spyderbat excepts the red flags inside an
/// enforcing policy (what it allows is not suspicious there).
#[must_use]
pub fn covered(
    policies: &[std::sync::Arc<crate::policy::WorkloadPolicy>],
    sub: &super::context::Subject<'_>,
    host: &str,
) -> Option<String> {
    use crate::policy::workload::cover::{Place, chain, place};
    policies.iter().find_map(|p| {
        let links = chain(p, sub.proc, || sub.ancestors.clone(), host)?;
        matches!(place(p, &links), Place::Covered(_))
            .then(|| format!("policy {} (its process tree allows it)", p.name))
    })
}

impl Detector {
    /// The enforcing workload policies whose covered processes' flags are
    /// excepted.
    pub fn set_workload_policies(
        &mut self,
        policies: Vec<std::sync::Arc<crate::policy::WorkloadPolicy>>,
        host: String,
    ) {
        self.workloads = policies;
        self.host = host;
    }

    /// Raises `f` on the process `key`; the flag event and, for a red
    /// flag, its trace's update.  Nothing when the process is unknown.
    pub fn raise_policy_flag(
        &mut self,
        model: &ProcessModel,
        key: &ProcKey,
        f: &PolicyFlag,
        time_ns: u64,
    ) -> Vec<pb::Event> {
        let Some(p) = model.get_key(key) else {
            return Vec::new();
        };
        let ancestors = ancestry(model, p);
        let sev = severity(&f.severity);
        let rule_id = format!("policy:{}", f.policy);
        let mut flag = pb::Flag {
            rule_id: rule_id.clone(),
            short_name: if f.red {
                "policy_violation"
            } else {
                "policy_response"
            }
            .to_owned(),
            kind: if f.red {
                pb::FlagKind::Red
            } else {
                pb::FlagKind::Ops
            }
            .into(),
            severity: pb_severity(sev).into(),
            description: f.description.clone(),
            impact: f.impact.clone(),
            content: f.content.clone(),
            class: vec!["policy".to_owned(), f.policy.clone()],
            process: Some(convert::key(&p.key)),
            name: p.comm.clone(),
            args: p.argv.to_vec(),
            exe: crate::policy::workload::cover::Proc::exe(p).to_owned(),
            euid: p.euid,
            euser: p.user.as_deref().unwrap_or_default().to_owned(),
            ancestors: ancestors.iter().map(|a| a.comm.clone()).collect(),
            ancestor_keys: ancestors.iter().map(|a| convert::key(&a.key)).collect(),
            time_ns,
            last_time_ns: time_ns,
            repeat_count: 1,
            ..pb::Flag::default()
        };
        let no = self.flags.push(FlagRec {
            flag: flag.clone(),
            severity: sev,
            trace: None,
        });
        flag.id = format!("flag:{no}");
        let mut out = Vec::new();
        let mut trace_event = None;
        if f.red {
            let chain: Vec<&ProcessInfo> = std::iter::once(p)
                .chain(ancestors.iter().copied())
                .collect();
            let root_at = session_root(&chain);
            let interactive = chain
                .iter()
                .any(|a| !a.tty.is_empty() || a.comm.starts_with("sshd"));
            let joining = Joining {
                flag: &flag,
                rule_id: &rule_id,
                severity: sev,
                chain: &chain[..=root_at],
                interactive,
                suppressed: false,
            };
            let (t_no, trace) = self.traces.join(chain[root_at], &joining, time_ns);
            flag.trace_id.clone_from(&trace.id);
            if let Some(rec) = self.flags.get_mut(no) {
                rec.trace = Some(t_no);
                rec.flag.trace_id.clone_from(&trace.id);
            }
            trace_event = Some(event(
                time_ns,
                pb::event::Kind::Trace(pb::TraceUpdated { trace: Some(trace) }),
            ));
        } else if let Some(rec) = self.flags.get_mut(no) {
            rec.flag.id.clone_from(&flag.id);
        }
        out.push(event(
            time_ns,
            pb::event::Kind::Flag(pb::FlagRaised { flag: Some(flag) }),
        ));
        out.extend(trace_event);
        out
    }
}
