//! Trace suppression policies applied by the detector: a flag whose shape
//! (its rule's class path, its process's ancestor names, its user) a policy
//! selects is excepted when the policy allows its class, and a trace whose
//! trigger a policy selects is suppressed.  `mode: audit` policies only log
//! what they would do.  `Detector::suppress_trace` builds a policy from a
//! trace (the analyst's "suppress this shape").
use perch_proto::v1 as pb;

use super::{Detector, FlagQuery, context::Subject, rules::Rule};
use crate::policy::{
    TracePolicy,
    trace::{Mode, TraceShape},
};

/// The shape of a flag of `rule` on `sub`: class path, ancestors, user.
fn shape(rule: &Rule, sub: &Subject<'_>) -> (String, String, [String; 1]) {
    let p = sub.proc;
    let user = p
        .user
        .as_deref()
        .map_or_else(|| p.euid.to_string(), str::to_owned);
    let anc: Vec<&str> = sub.ancestors.iter().map(|a| a.comm.as_str()).collect();
    (rule.class.join("/"), anc.join("/"), [user])
}

/// The enforcing policies selecting the shape, logging audit ones.
fn selecting<'p>(
    policies: &'p [TracePolicy],
    rule: &Rule,
    sub: &Subject<'_>,
) -> Vec<&'p TracePolicy> {
    let (class, anc, users) = shape(rule, sub);
    let shape = TraceShape {
        trigger_class: &class,
        trigger_ancestors: &anc,
        users: &users,
    };
    policies
        .iter()
        .filter(|p| p.selects(&shape))
        .filter(|p| {
            if p.mode == Mode::Audit {
                tracing::info!(policy = %p.name, rule = %rule.id, pid = sub.proc.key.pid,
                    "would be suppressed (audit mode)");
            }
            p.mode == Mode::Enforce
        })
        .collect()
}

/// The exception reason when a policy allows this flag.
pub fn allowed(policies: &[TracePolicy], rule: &Rule, sub: &Subject<'_>) -> Option<String> {
    let class = rule.class.join("/");
    if policies.is_empty() {
        return None;
    }
    selecting(policies, rule, sub)
        .into_iter()
        .find(|p| p.allows(&class))
        .map(|p| format!("policy {}", p.name))
}

/// Whether a trace triggered by this flag is suppressed.
pub fn suppressed(policies: &[TracePolicy], rule: &Rule, sub: &Subject<'_>) -> bool {
    !policies.is_empty() && !selecting(policies, rule, sub).is_empty()
}

/// The policy suppressing the shape of `trace`, whose flags are `flags`
/// (the trigger among them): its trigger's class and ancestors, its users,
/// and every class of its flags allowed.
#[must_use]
pub fn policy_for(trace: &pb::Trace, flags: &[pb::Flag], by: &str, now_unix_s: f64) -> TracePolicy {
    let trigger = flags.iter().find(|f| f.id == trace.trigger);
    let mut allowed: Vec<String> = flags.iter().map(|f| f.class.join("/")).collect();
    allowed.sort();
    allowed.dedup();
    let id: String = trace
        .id
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    TracePolicy {
        name: format!("suppress-{id}"),
        trigger_class: trigger.map(|f| f.class.join("/")).into_iter().collect(),
        trigger_ancestors: vec![trace.trigger_ancestors.join("/")],
        users: trace.users.clone(),
        allowed_flags: allowed,
        mode: Mode::Enforce,
        enabled: true,
        created_by: by.to_owned(),
        creation_timestamp: Some(now_unix_s),
    }
}

impl Detector {
    /// Replaces the trace suppression policies (those loaded at start-up).
    pub fn set_policies(&mut self, policies: Vec<TracePolicy>) {
        self.policies = policies;
    }

    /// Where suppression policies are read from and written to.
    #[must_use]
    pub fn policies_dir(&self) -> &std::path::Path {
        &self.settings.policies_dir
    }

    /// The policy `suppress_trace` would put in force for trace `id`,
    /// nothing changed; `None` if no such trace.
    #[must_use]
    pub fn trace_policy(&self, id: &str, by: &str, now_unix_s: f64) -> Option<TracePolicy> {
        let tq = super::TraceQuery {
            limit: usize::MAX,
            id: id.to_owned(),
            ..super::TraceQuery::default()
        };
        let trace = self
            .traces
            .list(&tq)
            .traces
            .into_iter()
            .find(|t| t.id == id)?;
        let q = FlagQuery {
            limit: usize::MAX,
            include_excepted: true,
            trace_id: id.to_owned(),
            ..FlagQuery::default()
        };
        Some(policy_for(
            &trace,
            &self.flags.list(&q).flags,
            by,
            now_unix_s,
        ))
    }

    /// Suppresses the shape of trace `id`: returns the policy (now in
    /// force) and the trace, marked suppressed; `None` if no such trace.
    pub fn suppress_trace(
        &mut self,
        id: &str,
        by: &str,
        now_unix_s: f64,
    ) -> Option<(TracePolicy, pb::Trace)> {
        let trace = self.traces.suppress(id)?;
        let q = FlagQuery {
            limit: usize::MAX,
            include_excepted: true,
            trace_id: id.to_owned(),
            ..FlagQuery::default()
        };
        let flags = self.flags.list(&q).flags;
        let policy = policy_for(&trace, &flags, by, now_unix_s);
        self.policies.retain(|p| p.name != policy.name);
        self.policies.push(policy.clone());
        Some((policy, trace))
    }
}
