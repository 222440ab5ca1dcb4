//! A policy's responses to one sighting, run off the event path: agent
//! actions through the same [`Responder`] as interactive ones (validated,
//! refused for pid 1, kernel threads and perchd, intent and result in the
//! hash-chained audit log) with actor `policy:<name>`; in audit mode or a
//! dry run as a dry-run record saying what would have been initiated;
//! flags through the detector.  Every response gets a result, published
//! with the deviation again; a failed one raises an ops flag.
use perch_proto::v1::{self as pb, ActRequest, ActResponse, Role};
use tonic::Status;

use super::Sighting;
use crate::{
    detect::policy_flag::PolicyFlag,
    policy::workload::Action,
    respond::{Context, Responder},
    roles::Identity,
};

/// What runs the responses: the collector.
pub trait Host {
    fn responder(&self) -> Option<&Responder>;
    fn context(&self) -> &dyn Context;
    /// Raises a policy's flag on the deviation's process and publishes it.
    fn raise(&self, s: &Sighting, flag: &PolicyFlag);
}

/// The identity a policy acts as.
#[must_use]
pub fn identity(policy: &str) -> Identity {
    Identity {
        user: Some(format!("policy:{policy}")),
        origin: format!("perchd policy {policy}"),
        ..Identity::default()
    }
}

/// Runs every response of `s`; the deviation with each one's result.
pub fn run(host: &dyn Host, s: &Sighting) -> pb::Deviation {
    let mut d = s.deviation.clone();
    let live = d.enforced;
    let mode_word = if d.dry_run { "dry run" } else { "audit mode" };
    for item in &s.responses {
        let name = item.action.doc_name();
        let r = match &item.action {
            Action::RedFlag {
                severity,
                content,
                impact,
            } => {
                if live {
                    host.raise(
                        s,
                        &PolicyFlag {
                            red: true,
                            policy: d.policy.clone(),
                            severity: severity.clone(),
                            description: d.summary.clone(),
                            content: content.clone(),
                            impact: impact.clone(),
                        },
                    );
                }
                flag_result(name, live, mode_word)
            }
            Action::OpsFlag {
                severity,
                content,
                description,
            } => {
                if live {
                    let text = if description.is_empty() {
                        d.summary.clone()
                    } else {
                        format!("{description}: {}", d.summary)
                    };
                    host.raise(
                        s,
                        &PolicyFlag {
                            red: false,
                            policy: d.policy.clone(),
                            severity: severity.clone(),
                            description: text,
                            content: content.clone(),
                            impact: String::new(),
                        },
                    );
                }
                flag_result(name, live, mode_word)
            }
            action => agent(host, s, action, live, mode_word),
        };
        if live && r.outcome == i32::from(pb::ResponseOutcome::NotSuccessful) {
            host.raise(
                s,
                &PolicyFlag {
                    red: false,
                    policy: d.policy.clone(),
                    severity: "medium".to_owned(),
                    description: format!(
                        "{name} for policy {} not successful: {}",
                        d.policy, r.detail
                    ),
                    content: String::new(),
                    impact: String::new(),
                },
            );
        }
        d.responses.push(r);
    }
    d
}

fn flag_result(name: &str, live: bool, mode_word: &str) -> pb::PolicyResponse {
    if live {
        pb::PolicyResponse {
            action: name.to_owned(),
            outcome: pb::ResponseOutcome::Success.into(),
            detail: "flag raised".to_owned(),
            audit_id: String::new(),
        }
    } else {
        pb::PolicyResponse {
            action: name.to_owned(),
            outcome: not_live(mode_word).into(),
            detail: format!("would have initiated {name}, not initiated due to {mode_word}"),
            audit_id: String::new(),
        }
    }
}

fn not_live(mode_word: &str) -> pb::ResponseOutcome {
    if mode_word == "dry run" {
        pb::ResponseOutcome::DryRun
    } else {
        pb::ResponseOutcome::Audit
    }
}

/// The interactive action of an agent response.
#[must_use]
pub fn act_kind(a: &Action) -> Option<(pb::ActionKind, Option<i32>)> {
    Some(match a {
        Action::Kill => (pb::ActionKind::Kill, None),
        Action::KillTree => (pb::ActionKind::KillTree, None),
        Action::KillGroup => (pb::ActionKind::KillGroup, None),
        Action::KillPod => (pb::ActionKind::KillPod, None),
        Action::Renice(n) => (pb::ActionKind::Renice, Some(*n)),
        Action::RedFlag { .. } | Action::OpsFlag { .. } => return None,
    })
}

fn agent(
    host: &dyn Host,
    s: &Sighting,
    action: &Action,
    live: bool,
    mode_word: &str,
) -> pb::PolicyResponse {
    let name = action.doc_name();
    let d = &s.deviation;
    let mut out = pb::PolicyResponse {
        action: name.to_owned(),
        ..pb::PolicyResponse::default()
    };
    let Some(responder) = host.responder() else {
        out.outcome = pb::ResponseOutcome::NotSuccessful.into();
        "this collector takes no actions".clone_into(&mut out.detail);
        return out;
    };
    let Some((kind, priority)) = act_kind(action) else {
        return out;
    };
    let target = format!("pid {}", s.target.pid);
    let reason = if live {
        format!("policy {}: {}", d.policy, d.summary)
    } else {
        format!(
            "({mode_word}) would have initiated {name} for {target}, not initiated due to {mode_word}; policy {}: {}",
            d.policy, d.summary
        )
    };
    let req = ActRequest {
        action: kind.into(),
        target: Some(crate::convert::key(&s.target)),
        reason: perch_proto::limits::clipped(&reason, 1024).to_owned(),
        mode: if live {
            pb::ActionMode::Live
        } else {
            pb::ActionMode::DryRun
        }
        .into(),
        // Only the signalling kinds take a signal (validated as for a console).
        signal: if matches!(
            kind,
            pb::ActionKind::Kill | pb::ActionKind::KillTree | pb::ActionKind::KillGroup
        ) {
            pb::Signal::Kill.into()
        } else {
            pb::Signal::Unspecified.into()
        },
        priority,
        client_origin: String::new(),
        client_process: None,
    };
    let who = identity(&d.policy);
    let answer = responder.act(host.context(), &who, Role::Admin, &req);
    result(&mut out, &answer, live, mode_word, &target);
    out
}

fn result(
    out: &mut pb::PolicyResponse,
    answer: &Result<ActResponse, Status>,
    live: bool,
    mode_word: &str,
    target: &str,
) {
    let name = out.action.clone();
    let r = match answer {
        Err(status) => {
            out.outcome = pb::ResponseOutcome::NotSuccessful.into();
            out.detail = format!("unable to {name} {target}: {}", status.message());
            return;
        }
        Ok(r) => r,
    };
    let rec = r.record.clone().unwrap_or_default();
    out.audit_id.clone_from(&rec.id);
    if !live {
        out.outcome = not_live(mode_word).into();
        out.detail =
            format!("would have initiated {name} for {target}, not initiated due to {mode_word}");
        if rec.code.starts_with("refused") {
            out.outcome = pb::ResponseOutcome::Refused.into();
            out.detail = format!("{}: {}", rec.code, rec.detail);
        }
        return;
    }
    let (outcome, detail) = match (pb::ActionResult::try_from(rec.result), rec.code.as_str()) {
        (_, code) if code.starts_with("refused") => (
            pb::ResponseOutcome::Refused,
            format!("{code}: {}", rec.detail),
        ),
        (_, "no_such_process" | "target_replaced") => (
            pb::ResponseOutcome::NotSuccessful,
            format!("unable to {name} {target}: no such process"),
        ),
        (Ok(pb::ActionResult::Success), _) => (pb::ResponseOutcome::Success, rec.detail.clone()),
        (Ok(pb::ActionResult::Partial), _) => (pb::ResponseOutcome::Partial, rec.detail.clone()),
        _ => (
            pb::ResponseOutcome::NotSuccessful,
            format!("unable to {name} {target}: {}", rec.detail),
        ),
    };
    out.outcome = outcome.into();
    out.detail = detail;
}
