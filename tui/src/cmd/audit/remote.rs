//! `perch audit list --perchd`: the log as perchd lists it (`ListAudit`),
//! for users who may not read the file.  perchd decides what the caller
//! sees: operators and admins every record, viewers their own requests.
//! One entry per action either way; the same filters and table.
use std::io::{BufWriter, Write};

use perch_client::{Target, json};
use perch_proto::v1::{AuditLogStatus, AuditRecord, ListAuditRequest};

use super::{check_times, keep, table, when};
use crate::cli::AuditListArgs;

pub async fn list_from_perchd(
    args: &AuditListArgs,
    target: &Target,
    out: &mut impl Write,
    warn: &mut impl Write,
) -> anyhow::Result<()> {
    check_times(args)?;
    let filtered = args.action.is_some()
        || args.result.is_some()
        || args.actor.is_some()
        || args.since.is_some()
        || args.until.is_some()
        || args.grep.is_some();
    // Without filters perchd can stop at the limit; with them, it must not.
    let limit = if filtered {
        0
    } else {
        args.limit
            .map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX))
    };
    let mut client = perch_client::connect(target).await?;
    let mut stream = client
        .list_audit(ListAuditRequest { limit })
        .await?
        .into_inner();
    // Newest first as perchd sends them.
    let mut kept: Vec<(AuditRecord, String)> = Vec::new();
    let mut broken = None;
    let wanted = args
        .limit
        .map_or(usize::MAX, |n| usize::try_from(n).unwrap_or(usize::MAX));
    while let Some(chunk) = stream.message().await? {
        if chunk.status() == AuditLogStatus::Broken {
            broken = Some((chunk.path.clone(), chunk.status_detail.clone()));
        }
        for r in chunk.records {
            if kept.len() < wanted {
                let text = json::action::record(&r).to_string();
                if keep(args, &r, &text) {
                    kept.push((r, text));
                }
            }
        }
        if chunk.last {
            break;
        }
    }
    kept.reverse();
    let mut out = BufWriter::new(out);
    if args.json {
        for (_, text) in &kept {
            writeln!(out, "{text}")?;
        }
    } else {
        out.write_all(table(kept.iter().map(|(r, _)| r), when::offset(args.utc)).as_bytes())?;
    }
    out.flush()?;
    if let Some((path, detail)) = broken {
        writeln!(warn, "perch: warning: {path}: {detail}")?;
        anyhow::bail!(
            "audit log {path} on {target}: broken ({detail}); listed as far as it verifies"
        );
    }
    Ok(())
}
