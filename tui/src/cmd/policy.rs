//! `perch policy`: apply, list, enable / disable and delete perchd's
//! policies through the `Policies` service, and check policy files
//! locally with perchd's own parser.
use std::io::{self, BufWriter, Write};

use anyhow::{Context as _, bail};
use perch_client::clean;
use perch_proto::v1::{
    ApplyPolicyRequest, DeletePolicyRequest, ListPoliciesRequest, ListPoliciesResponse, PolicyMode,
    PolicySummary, SetPolicyEnabledRequest,
};

use super::answered;

#[cfg(feature = "embedded")]
mod fold;
#[cfg(feature = "embedded")]
mod judge;
#[cfg(feature = "embedded")]
mod offline;
#[cfg(feature = "embedded")]
mod recorded;
use crate::cli::{Connection, policy::PolicyCommand};

#[expect(
    clippy::too_many_lines,
    reason = "one arm per Policies call, each printing its answer"
)]
pub async fn run(conn: &Connection, command: &PolicyCommand) -> anyhow::Result<()> {
    match command {
        PolicyCommand::Check { files } => return check(files),
        PolicyCommand::Learn { .. }
        | PolicyCommand::Test { .. }
        | PolicyCommand::Diff { .. }
        | PolicyCommand::Merge { .. } => return offline(conn, command).await,
        _ => {}
    }
    let (target, timeout) = (conn.target()?, conn.timeout());
    let channel = perch_client::channel_within(&target, timeout).await?;
    let mut client = perch_client::policies_client(channel);
    let mut out = BufWriter::new(io::stdout().lock());
    match command {
        PolicyCommand::Apply {
            file,
            dry_run,
            reason,
        } => {
            let yaml = std::fs::read_to_string(file)
                .with_context(|| format!("reading {}", file.display()))?;
            let req = ApplyPolicyRequest {
                yaml,
                dry_run: *dry_run,
                reason: reason.clone(),
            };
            let doing = format!("applying {}", file.display());
            let resp = answered(&doing, timeout, client.apply_policy(req))
                .await?
                .into_inner();
            let p = resp.policy.unwrap_or_default();
            writeln!(
                out,
                "policy {} {} ({}, {}{}) in {}",
                clean(&p.name),
                if resp.replaced { "replaced" } else { "applied" },
                clean(&p.r#type),
                mode(&p),
                if p.dry_run { ", dry run" } else { "" },
                clean(&p.source)
            )?;
        }
        PolicyCommand::List { json } => {
            let resp = answered(
                "listing policies",
                timeout,
                client.list_policies(ListPoliciesRequest {}),
            )
            .await?
            .into_inner();
            list(&mut out, &resp, *json)?;
        }
        PolicyCommand::Enable { name, reason } | PolicyCommand::Disable { name, reason } => {
            let enabled = matches!(command, PolicyCommand::Enable { .. });
            let req = SetPolicyEnabledRequest {
                name: name.clone(),
                enabled,
                reason: reason.clone(),
            };
            let verb = if enabled { "enabling" } else { "disabling" };
            let resp = answered(
                &format!("{verb} {name}"),
                timeout,
                client.set_policy_enabled(req),
            )
            .await?
            .into_inner();
            let p = resp.policy.unwrap_or_default();
            writeln!(
                out,
                "policy {} {} ({})",
                clean(&p.name),
                if p.enabled { "enabled" } else { "disabled" },
                clean(&p.source)
            )?;
        }
        PolicyCommand::Delete { name, reason } => {
            let req = DeletePolicyRequest {
                name: name.clone(),
                reason: reason.clone(),
            };
            let resp = answered(
                &format!("deleting {name}"),
                timeout,
                client.delete_policy(req),
            )
            .await?
            .into_inner();
            writeln!(
                out,
                "policy {} deleted ({} removed)",
                clean(name),
                clean(&resp.source)
            )?;
        }
        PolicyCommand::Check { .. }
        | PolicyCommand::Learn { .. }
        | PolicyCommand::Test { .. }
        | PolicyCommand::Diff { .. }
        | PolicyCommand::Merge { .. } => {}
    }
    out.flush()?;
    Ok(())
}

fn list(out: &mut impl Write, resp: &ListPoliciesResponse, json: bool) -> io::Result<()> {
    if json {
        for p in &resp.policies {
            writeln!(out, "{}", summary_json(p))?;
        }
    } else {
        table(out, &resp.policies)?;
    }
    for e in &resp.errors {
        eprintln!("refused: {}", clean(e));
    }
    Ok(())
}

fn mode(p: &PolicySummary) -> &'static str {
    match PolicyMode::try_from(p.mode) {
        Ok(PolicyMode::Audit) => "audit",
        Ok(PolicyMode::Enforce) => "enforce",
        _ => "?",
    }
}

fn table(out: &mut impl Write, policies: &[PolicySummary]) -> io::Result<()> {
    writeln!(
        out,
        "{:<32} {:<8} {:<8} {:<8} {:<8} {:<16} FILE",
        "NAME", "TYPE", "MODE", "ENABLED", "DRY-RUN", "APPLIED-BY"
    )?;
    for p in policies {
        let by = if p.applied_by.is_empty() {
            "-"
        } else {
            &p.applied_by
        };
        writeln!(
            out,
            "{:<32} {:<8} {:<8} {:<8} {:<8} {:<16} {}",
            clean(&p.name),
            clean(&p.r#type),
            mode(p),
            if p.enabled { "yes" } else { "no" },
            if p.dry_run { "yes" } else { "no" },
            clean(by),
            clean(&p.source)
        )?;
    }
    Ok(())
}

fn summary_json(p: &PolicySummary) -> serde_json::Value {
    serde_json::json!({
        "name": p.name,
        "type": p.r#type,
        "mode": mode(p),
        "enabled": p.enabled,
        "dry_run": p.dry_run,
        "source": p.source,
        "applied_by": p.applied_by,
        "applied_unix_ns": p.applied_unix_ns,
        "sha256": p.sha256,
        "yaml": p.yaml,
    })
}

/// Every file through perchd's parser; errors as `FILE:LINE: field:
/// message` on stderr, exit status 1 on any.
/// The commands computed here from perchd's history.
#[cfg(feature = "embedded")]
async fn offline(conn: &Connection, command: &PolicyCommand) -> anyhow::Result<()> {
    use offline::Scope;
    match command {
        PolicyCommand::Learn {
            service,
            container,
            exe,
            name,
            window,
            output,
        } => {
            let (scope, default_name) = match (service, container, exe) {
                (Some(s), _, _) => (
                    Scope::Service(s),
                    s.rsplit('/').next().unwrap_or(s).to_owned(),
                ),
                (_, Some(c), _) => (
                    Scope::Container(c),
                    format!("container-{}", &c[..c.len().min(12)]),
                ),
                (_, _, Some(e)) => (Scope::Exe(e), e.rsplit('/').next().unwrap_or(e).to_owned()),
                _ => bail!("--service, --container or --exe names what to learn"),
            };
            let name = name.clone().unwrap_or_else(|| {
                default_name
                    .chars()
                    .map(|c| {
                        if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                            c
                        } else {
                            '-'
                        }
                    })
                    .collect()
            });
            offline::learn(conn, &scope, &name, window, output.as_deref()).await
        }
        PolicyCommand::Test { file, window, json } => {
            offline::test(conn, file, window, *json).await
        }
        PolicyCommand::Diff { file, window } => offline::diff(conn, file, window).await,
        PolicyCommand::Merge {
            file,
            window,
            output,
        } => offline::merge(conn, file, window, output.as_deref()).await,
        _ => Ok(()),
    }
}

#[cfg(not(feature = "embedded"))]
#[expect(
    clippy::unused_async,
    reason = "the same signature as the embedded build's"
)]
async fn offline(_: &Connection, _: &PolicyCommand) -> anyhow::Result<()> {
    bail!("this perch was built without perchd's policy code (feature `embedded`)")
}

#[cfg(feature = "embedded")]
fn check(files: &[std::path::PathBuf]) -> anyhow::Result<()> {
    let mut bad = 0_usize;
    for f in files {
        match perchd::policy::load(f) {
            Ok(p) => println!(
                "ok: {} (policy {}, {})",
                f.display(),
                p.name(),
                p.type_name()
            ),
            Err(e) => {
                bad += 1;
                eprintln!("{}:{}: {}: {}", f.display(), e.line, e.field, e.message);
            }
        }
    }
    if bad > 0 {
        bail!("{bad} of {} file(s) refused", files.len());
    }
    Ok(())
}

#[cfg(not(feature = "embedded"))]
fn check(files: &[std::path::PathBuf]) -> anyhow::Result<()> {
    bail!(
        "{}: this perch was built without perchd's policy parser (feature `embedded`)",
        files
            .first()
            .map_or_else(String::new, |f| f.display().to_string())
    )
}
