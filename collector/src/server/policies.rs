//! The `perch.v1.Policies` service: the stored policies listed, applied,
//! enabled / disabled and deleted.  Requests are checked here (every
//! message names the field and what is allowed); the audited change is
//! `Responder::change_policy`.
use std::sync::{Arc, PoisonError};

use perch_proto::v1::{
    self as pb, ApplyPolicyRequest, ApplyPolicyResponse, DeletePolicyRequest, DeletePolicyResponse,
    ListPoliciesRequest, ListPoliciesResponse, SetPolicyEnabledRequest, SetPolicyEnabledResponse,
    policies_server,
};
use tonic::{Request, Response, Status};

use super::{CollectorApi, act, calls::Reached, no_actions};
use crate::{
    policy::{self, PolicyError, access::PolicyMode, registry::Entry, trace::MAX_NAME},
    respond::{
        policies::{Asked, Changed, PolicyChange, Stores, sha256_hex},
        validate::Invalid,
    },
    roles::identify,
};

/// Largest policy document accepted: under the 64 KiB bound on a whole
/// request (`MAX_REQUEST_BYTES`); the seed's examples are a few KiB.
pub const MAX_YAML_BYTES: usize = 60 * 1024;
/// Longest reason accepted (as for actions).
pub const MAX_REASON_BYTES: usize = perch_proto::limits::REASON_MAX_BYTES;

/// Checks an `ApplyPolicyRequest`: the document parsed and valid, else
/// every error as `request line N: field: message`, one a line.
pub fn check_apply(req: &ApplyPolicyRequest) -> Result<PolicyChange, Invalid> {
    check_reason(&req.reason)?;
    if req.yaml.trim().is_empty() {
        return Err(Invalid(
            "yaml: required (a SpyderbatPolicy document, at most 61440 bytes)".to_owned(),
        ));
    }
    if req.yaml.len() > MAX_YAML_BYTES {
        return Err(Invalid(format!(
            "yaml: at most {MAX_YAML_BYTES} bytes (got {})",
            req.yaml.len()
        )));
    }
    policy::parse("request", &req.yaml)
        .map(|policy| PolicyChange::Apply {
            policy,
            dry_run: req.dry_run,
        })
        .map_err(|e: PolicyError| Invalid(e.to_string()))
}

/// Checks a policy name: what `metadata.name` allows.
pub fn check_name(name: &str) -> Result<String, Invalid> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(name.to_owned())
    } else {
        Err(Invalid(format!(
            "name: {:?}: must be 1..={MAX_NAME} characters of letters, digits, '-', '_', '.' \
             (got {} bytes)",
            perch_proto::limits::clipped(name, MAX_NAME + 8),
            name.len()
        )))
    }
}

fn check_reason(reason: &str) -> Result<(), Invalid> {
    if reason.len() > MAX_REASON_BYTES {
        return Err(Invalid(format!(
            "reason: at most {MAX_REASON_BYTES} bytes (got {})",
            reason.len()
        )));
    }
    Ok(())
}

/// An entry as the contract shows it.
#[must_use]
pub fn summary(e: &Entry) -> pb::PolicySummary {
    pb::PolicySummary {
        name: e.policy.name().to_owned(),
        r#type: e.policy.type_name().to_owned(),
        mode: match e.policy.mode() {
            PolicyMode::Audit => pb::PolicyMode::Audit,
            PolicyMode::Enforce => pb::PolicyMode::Enforce,
        }
        .into(),
        enabled: e.policy.enabled(),
        dry_run: e.dry_run,
        source: e.path.display().to_string(),
        applied_by: e.applied_by.clone(),
        applied_unix_ns: e.applied_unix_ns,
        yaml: e.yaml.clone(),
        sha256: sha256_hex(&e.yaml),
    }
}

/// The generated `Policies` trait over a [`CollectorApi`].
pub struct PoliciesService<A: CollectorApi> {
    api: Arc<A>,
}

impl<A: CollectorApi> PoliciesService<A> {
    #[must_use]
    pub fn new(api: Arc<A>) -> Self {
        Self { api }
    }

    /// Runs one audited change off the async workers (the audit log
    /// fsyncs, the policy file is written).
    async fn change(&self, request: Request<()>, asked: Asked) -> Result<Changed, Status> {
        Reached::mark(request.extensions());
        let who = identify(&request);
        let role = self.api.roles().role_of(&who);
        let api = Arc::clone(&self.api);
        tokio::task::spawn_blocking(move || {
            let responder = api.responder().ok_or_else(no_actions)?;
            let registry = api.policies().ok_or_else(no_policies)?;
            let arm = |r: &crate::policy::registry::Registry| api.policies_changed(r);
            let stores = Stores {
                registry,
                detector: api.detector(),
                arm: Some(&arm),
            };
            responder.change_policy(&act::Ctx(&*api), stores, &who, role, asked)
        })
        .await
        .map_err(|e| Status::internal(format!("the policy change's worker failed: {e}")))?
    }
}

/// `Request<()>` carrying `request`'s metadata and extensions (the peer).
fn head<T>(request: Request<T>) -> (Request<()>, T) {
    let (meta, ext, msg) = request.into_parts();
    (Request::from_parts(meta, ext, ()), msg)
}

fn no_policies() -> Status {
    Status::failed_precondition("this collector keeps no policies")
}

fn unexpected() -> Status {
    Status::internal("the policy change answered for another kind of change")
}

#[tonic::async_trait]
impl<A: CollectorApi> policies_server::Policies for PoliciesService<A> {
    async fn apply_policy(
        &self,
        request: Request<ApplyPolicyRequest>,
    ) -> Result<Response<ApplyPolicyResponse>, Status> {
        let (head, req) = head(request);
        let what = format!("apply a policy ({} bytes)", req.yaml.len());
        match self
            .change(
                head,
                Asked {
                    checked: check_apply(&req),
                    reason: req.reason.clone(),
                    what,
                },
            )
            .await?
        {
            Changed::Applied(e, replaced) => Ok(Response::new(ApplyPolicyResponse {
                policy: Some(summary(&e)),
                replaced,
            })),
            _ => Err(unexpected()),
        }
    }

    async fn list_policies(
        &self,
        request: Request<ListPoliciesRequest>,
    ) -> Result<Response<ListPoliciesResponse>, Status> {
        Reached::mark(request.extensions());
        let registry = self.api.policies().ok_or_else(no_policies)?;
        let r = registry.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(Response::new(ListPoliciesResponse {
            policies: r.entries().map(summary).collect(),
            errors: r.errors().iter().map(ToString::to_string).collect(),
        }))
    }

    async fn set_policy_enabled(
        &self,
        request: Request<SetPolicyEnabledRequest>,
    ) -> Result<Response<SetPolicyEnabledResponse>, Status> {
        let (head, req) = head(request);
        let checked = check_reason(&req.reason)
            .and_then(|()| check_name(&req.name))
            .map(|name| PolicyChange::SetEnabled {
                name,
                enabled: req.enabled,
            });
        let verb = if req.enabled { "enable" } else { "disable" };
        let what = format!(
            "{verb} policy {:?}",
            perch_proto::limits::clipped(&req.name, MAX_NAME)
        );
        match self
            .change(
                head,
                Asked {
                    checked,
                    reason: req.reason,
                    what,
                },
            )
            .await?
        {
            Changed::Enabled(e) => Ok(Response::new(SetPolicyEnabledResponse {
                policy: Some(summary(&e)),
            })),
            _ => Err(unexpected()),
        }
    }

    async fn delete_policy(
        &self,
        request: Request<DeletePolicyRequest>,
    ) -> Result<Response<DeletePolicyResponse>, Status> {
        let (head, req) = head(request);
        let checked = check_reason(&req.reason)
            .and_then(|()| check_name(&req.name))
            .map(|name| PolicyChange::Delete { name });
        let what = format!(
            "delete policy {:?}",
            perch_proto::limits::clipped(&req.name, MAX_NAME)
        );
        match self
            .change(
                head,
                Asked {
                    checked,
                    reason: req.reason,
                    what,
                },
            )
            .await?
        {
            Changed::Deleted(path) => Ok(Response::new(DeletePolicyResponse {
                source: path.display().to_string(),
            })),
            _ => Err(unexpected()),
        }
    }
}

#[cfg(test)]
mod tests;
