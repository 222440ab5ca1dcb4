//! Sends what the console queued (actions, audit log requests) to the
//! right collector, each on its own task over its own connection, and
//! hands the answers back through the loop's update channel.
use perch_proto::v1::{self as pb, ActResponse};
use tokio::sync::mpsc;

use super::conn::Update;
use perch_client::{Target, connect};

use crate::console::{
    actions::{Outgoing, Request},
    audit::AuditPage,
};

/// Starts one task per request; `targets[host]` is where each host is;
/// the column setup's choice goes into the configuration file at `config`.
pub fn send(
    outgoing: Vec<Outgoing>,
    targets: &[Target],
    config: Option<&std::path::Path>,
    tx: &mpsc::Sender<Update>,
) {
    for out in outgoing {
        if let Request::SaveColumns(names) = &out.request {
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            let result = match config {
                Some(path) => crate::config::save::save_columns(path, &names)
                    .map(|()| path.display().to_string())
                    .map_err(|e| e.to_string()),
                None => Err("no configuration file (no HOME): columns not saved".to_owned()),
            };
            let tx = tx.clone();
            tokio::spawn(async move {
                let _ = tx.send(Update::Saved(result)).await;
            });
            continue;
        }
        let Some(target) = targets.get(usize::from(out.host.0)).cloned() else {
            continue;
        };
        let tx = tx.clone();
        match out.request {
            Request::Act(req) => {
                tokio::spawn(async move {
                    let result = act(&target, req).await;
                    let _ = tx.send(Update::ActResult(out.id, Box::new(result))).await;
                });
            }
            Request::ListAudit(req) => {
                tokio::spawn(async move {
                    let page = list_audit(&target, req).await;
                    let _ = tx.send(Update::Audit(out.host, page)).await;
                });
            }
            Request::ListPolicies => {
                tokio::spawn(async move {
                    let list = list_policies(&target).await;
                    let _ = tx.send(Update::Policies(out.host, list)).await;
                });
            }
            Request::ApplyPolicy { yaml, reason } => {
                tokio::spawn(async move {
                    let done = apply_policy(&target, yaml, reason).await;
                    let _ = tx.send(Update::PolicyApplied(out.host, done)).await;
                });
            }
            Request::SaveColumns(_) => {}
        }
    }
}

async fn act(target: &Target, req: pb::ActRequest) -> Result<ActResponse, tonic::Status> {
    let mut client = connect(target)
        .await
        .map_err(|e| tonic::Status::unavailable(e.to_string()))?;
    Ok(client.act(req).await?.into_inner())
}

/// A collector's refusal as one line.
fn status_line(s: &tonic::Status) -> String {
    format!("{} ({:?})", s.message(), s.code())
}

/// The host's Policies service, or why not as one line.
async fn policies(
    target: &Target,
) -> Result<pb::policies_client::PoliciesClient<tonic::transport::Channel>, String> {
    let channel = perch_client::channel_within(target, std::time::Duration::from_secs(10))
        .await
        .map_err(|e| e.to_string())?;
    Ok(perch_client::policies_client(channel))
}

/// The host's policies, or why not as one line.
async fn list_policies(target: &Target) -> Result<Vec<pb::PolicySummary>, String> {
    policies(target)
        .await?
        .list_policies(pb::ListPoliciesRequest {})
        .await
        .map(|r| r.into_inner().policies)
        .map_err(|s| status_line(&s))
}

/// Applies `yaml`; what perchd said, or its refusal as one line.
async fn apply_policy(target: &Target, yaml: String, reason: String) -> Result<String, String> {
    let mut client = policies(target).await?;
    let req = pb::ApplyPolicyRequest {
        yaml,
        dry_run: false,
        reason,
    };
    client
        .apply_policy(req)
        .await
        .map(|r| {
            let r = r.into_inner();
            let name = r.policy.map(|p| p.name).unwrap_or_default();
            format!(
                "policy {name} {}",
                if r.replaced { "replaced" } else { "applied" }
            )
        })
        .map_err(|s| status_line(&s))
}

/// The whole answer, or the collector's refusal as one line.
async fn list_audit(target: &Target, req: pb::ListAuditRequest) -> Result<AuditPage, String> {
    let status = |s: tonic::Status| status_line(&s);
    let mut client = connect(target).await.map_err(|e| e.to_string())?;
    let mut chunks = client.list_audit(req).await.map_err(status)?.into_inner();
    let mut page = AuditPage::default();
    while let Some(chunk) = chunks.message().await.map_err(status)? {
        page.status = chunk.status();
        page.records.extend(chunk.records);
        page.status_detail = chunk.status_detail;
        page.path = chunk.path;
        if chunk.last {
            return Ok(page);
        }
    }
    Err("the audit log ended early".to_owned())
}
