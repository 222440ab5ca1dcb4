//! `perch audit verify` and `perch audit list`: read the audit log file
//! directly with perchd's own audit library (the same checks perchd makes),
//! so they work with perchd stopped and trust nothing it says.  `verify`
//! also compares the file with its head file and, when one answers, with
//! the running perchd's head (`verify`); `list --perchd` asks perchd
//! instead, for users who may not read the file (`remote`).
mod remote;
mod verify;
pub mod when;

use std::{
    fmt::Write as _,
    io::{BufWriter, Write},
};

use anyhow::bail;
use perch::text::clean;
use perch_audit::{self as audit, Entry, LineError, OldestFirst};
use perch_proto::{
    names::{self, Named},
    v1::{ActionKind, ActionMode, AuditRecord},
};

pub use self::{remote::list_from_perchd, verify::verify_with_perchd};
use crate::cli::AuditListArgs;

/// Checks the file's chain and its head file (no perchd asked); prints
/// the one `ok:` line.  The command asks perchd too
/// ([`verify_with_perchd`]); the tests check the files alone.
#[cfg(test)]
pub fn verify(path: &std::path::Path, out: &mut impl Write) -> anyhow::Result<()> {
    verify::check(path, Vec::new(), &mut Vec::new(), out, &mut std::io::sink())
}

pub fn list(
    args: &AuditListArgs,
    out: &mut impl Write,
    warn: &mut impl Write,
) -> anyhow::Result<()> {
    let path = args.path.as_path();
    check_times(args)?;
    let limit = args
        .limit
        .map_or(usize::MAX, |n| usize::try_from(n).unwrap_or(usize::MAX));
    // One entry per action: a result stands for its intent.
    let mut kept = OldestFirst::new(limit);
    let mut bad: Vec<LineError> = Vec::new();
    for entry in audit::read(path)? {
        match entry {
            Ok(e) => {
                let wanted = keep(args, &e.record, &e.raw);
                kept.push(e, wanted);
            }
            Err(e) => bad.push(e),
        }
    }
    let kept: Vec<Entry> = kept.finish();
    let mut out = BufWriter::new(out);
    if args.json {
        for e in &kept {
            writeln!(out, "{}", e.raw)?;
        }
    } else {
        out.write_all(table(kept.iter().map(|e| &e.record), when::offset(args.utc)).as_bytes())?;
    }
    out.flush()?;
    if let Some(first) = bad.first() {
        for e in &bad {
            writeln!(warn, "perch: warning: {}: {e}", path.display())?;
        }
        bail!(
            "audit log {}: {} line(s) do not verify, the first at {first}; \
             they are not listed (`perch audit verify` checks the chain)",
            path.display(),
            bad.len()
        );
    }
    Ok(())
}

fn check_times(args: &AuditListArgs) -> anyhow::Result<()> {
    if let (Some(since), Some(until)) = (args.since, args.until)
        && since >= until
    {
        bail!("--since must be before --until");
    }
    Ok(())
}

/// Whether a record passes the filters; `text` is what `--grep` searches
/// (the log line, or the record as JSON).
fn keep(args: &AuditListArgs, r: &AuditRecord, text: &str) -> bool {
    let time = i128::from(r.time_unix_ns);
    args.action.is_none_or(|a| r.action == i32::from(a))
        && args.result.is_none_or(|x| r.result == i32::from(x))
        && args
            .actor
            .as_ref()
            .is_none_or(|a| r.actor_user == *a || r.actor_uid.to_string() == *a)
        && args.since.is_none_or(|t| time >= t)
        && args.until.is_none_or(|t| time < t)
        && args
            .grep
            .as_ref()
            .is_none_or(|g| text.to_lowercase().contains(&g.to_lowercase()))
}

/// An aligned table, oldest first, times `utc_offset_secs` east of UTC
/// (local time, as the console shows it; UTC with --utc); every cell has
/// control characters escaped (a reason is whatever the client sent).
fn table<'a>(records: impl Iterator<Item = &'a AuditRecord>, utc_offset_secs: i32) -> String {
    let head = [
        "LINE",
        if utc_offset_secs == 0 {
            "TIME (UTC)"
        } else {
            "TIME"
        },
        "ACTOR",
        "ACTION",
        "TARGET",
        "RESULT",
        "CODE",
        "REASON",
    ];
    let rows: Vec<[String; 8]> = records
        .map(|r| {
            [
                r.line.to_string(),
                when::format_at(r.time_unix_ns, utc_offset_secs),
                actor(r),
                action(r),
                target(r),
                perch::act::status_name(r),
                clean(&r.code).into_owned(),
                clean(&r.reason).into_owned(),
            ]
        })
        .collect();
    let mut widths = head.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: [&str; 8]| {
        let mut text = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i == 0 {
                let _ = write!(text, "{cell:>w$}");
            } else if i == cells.len() - 1 {
                let _ = write!(text, "  {cell}");
            } else {
                let _ = write!(text, "  {cell:<w$}");
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(head);
    for row in &rows {
        line(row.each_ref().map(String::as_str));
    }
    out
}

fn enum_name<T: Named>(value: i32) -> String {
    names::short_of::<T>(value).unwrap_or_else(|| value.to_string())
}

fn actor(r: &AuditRecord) -> String {
    if r.actor_user.is_empty() {
        format!("uid {}", r.actor_uid)
    } else {
        clean(&r.actor_user).into_owned()
    }
}

fn action(r: &AuditRecord) -> String {
    let name = enum_name::<ActionKind>(r.action);
    if r.mode == i32::from(ActionMode::DryRun) {
        format!("{name} (dry run)")
    } else {
        name
    }
}

fn target(r: &AuditRecord) -> String {
    let Some(t) = &r.target else {
        return "-".to_owned();
    };
    let pod_action = matches!(
        ActionKind::try_from(r.action),
        Ok(ActionKind::KillPod | ActionKind::FreezePod | ActionKind::ThawPod)
    );
    if pod_action && !t.pod_name.is_empty() {
        return clean(&format!("pod {}/{}", t.pod_namespace, t.pod_name)).into_owned();
    }
    match &t.key {
        Some(k) => {
            let exe = t.exe.rsplit('/').next().unwrap_or_default();
            clean(format!("{} {exe}", k.pid).trim_end()).into_owned()
        }
        None => "-".to_owned(),
    }
}

#[cfg(test)]
mod tests;
