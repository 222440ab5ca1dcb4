//! `perch flags`, `perch traces`, `perch trace ID` and `perch rules`:
//! ask perchd, print a table, JSON lines, or a trace as text for a ticket.
//! `perch rules check` reads a rule file without perchd.
use std::{
    io::{self, BufWriter, Write},
    path::Path,
    time::Duration,
};

use anyhow::bail;
use perch_client::{Target, clean, json};
use perch_proto::{
    names,
    v1::{
        Flag, FlagKind, ListFlagsRequest, ListRulesRequest, ListTracesRequest,
        SuppressTraceRequest, TraceStatus,
    },
};

use super::answered;
use perch::text::trace::{self as trace_tree, sev};

use crate::cli::detect::{FlagsArgs, SuppressArgs, TraceArgs, TracesArgs};

fn pid_of(f: &Flag) -> u32 {
    f.process.map_or(0, |k| k.pid)
}

pub async fn flags(target: &Target, timeout: Duration, args: &FlagsArgs) -> anyhow::Result<()> {
    let flags = if let Some(since) = &args.since {
        // The store keeps every flag: the same filters, applied here.
        let min = args.min_severity.unwrap_or(0);
        let mut flags: Vec<Flag> = super::history::flags_since(target, timeout, since)
            .await?
            .into_iter()
            .filter(|f| f.severity >= min && (args.excepted || !f.excepted))
            .collect();
        flags.truncate(args.limit.unwrap_or(1000) as usize);
        flags
    } else {
        let mut client = perch_client::connect_within(target, timeout).await?;
        let req = ListFlagsRequest {
            min_severity: args.min_severity.unwrap_or(0),
            include_excepted: args.excepted,
            limit: args.limit.unwrap_or(0),
            ..ListFlagsRequest::default()
        };
        answered("listing flags", timeout, client.list_flags(req))
            .await?
            .into_inner()
            .flags
    };
    let mut out = BufWriter::new(io::stdout().lock());
    if args.json {
        for f in &flags {
            writeln!(out, "{}", json::detect::flag(f))?;
        }
    } else {
        writeln!(
            out,
            "{:<10} {:<8} {:<4} {:>7} {:<6} {:<22} {:>3} DESCRIPTION",
            "ID", "SEV", "KIND", "PID", "EXCEPT", "SHORT_NAME", "N"
        )?;
        for f in &flags {
            let kind = names::short_of::<FlagKind>(f.kind).unwrap_or_default();
            writeln!(
                out,
                "{:<10} {:<8} {:<4} {:>7} {:<6} {:<22} {:>3} {}",
                clean(&f.id),
                sev(f.severity),
                kind,
                pid_of(f),
                if f.excepted { "yes" } else { "" },
                clean(&f.short_name),
                f.repeat_count,
                clean(&f.description)
            )?;
        }
    }
    out.flush()?;
    Ok(())
}

pub async fn traces(target: &Target, timeout: Duration, args: &TracesArgs) -> anyhow::Result<()> {
    let traces = if let Some(since) = &args.since {
        let min = args.min_score.unwrap_or(0);
        super::history::traces_since(target, timeout, since)
            .await?
            .into_iter()
            .filter(|t| t.score >= min)
            .collect()
    } else {
        let mut client = perch_client::connect_within(target, timeout).await?;
        let req = ListTracesRequest {
            min_score: args.min_score.unwrap_or(0),
            ..ListTracesRequest::default()
        };
        answered("listing traces", timeout, client.list_traces(req))
            .await?
            .into_inner()
            .traces
    };
    // Suppressed traces are the analyst's "seen, expected": hidden unless asked.
    let shown: Vec<_> = traces
        .iter()
        .filter(|t| args.all || !t.suppressed)
        .collect();
    let mut out = BufWriter::new(io::stdout().lock());
    if args.json {
        for t in &shown {
            writeln!(out, "{}", json::detect::trace(t))?;
        }
    } else {
        writeln!(
            out,
            "{:<10} {:>5} {:<7} {:<8} {:>5} {:>5} {:<3} {:<22} ROOT",
            "ID", "SCORE", "STATUS", "MAX_SEV", "FLAGS", "PROCS", "I", "TRIGGER"
        )?;
        for t in &shown {
            let status = names::short_of::<TraceStatus>(t.status).unwrap_or_default();
            let root = t.root.map_or(0, |k| k.pid);
            writeln!(
                out,
                "{:<10} {:>5} {:<7} {:<8} {:>5} {:>5} {:<3} {:<22} {} ({root})",
                clean(&t.id),
                t.score,
                status,
                sev(t.max_severity),
                t.flag_count,
                t.process_count,
                if t.interactive { "Y" } else { "N" },
                clean(&t.trigger_short_name),
                clean(&t.root_proc_name)
            )?;
        }
    }
    out.flush()?;
    Ok(())
}

/// `trace:N` for `N`, else `id` as given.
fn trace_id(id: &str) -> String {
    if id.starts_with("trace:") {
        id.to_owned()
    } else {
        format!("trace:{id}")
    }
}

pub async fn suppress(
    target: &Target,
    timeout: Duration,
    args: &SuppressArgs,
) -> anyhow::Result<()> {
    let mut client = perch_client::connect_within(target, timeout).await?;
    let req = SuppressTraceRequest {
        trace_id: trace_id(&args.id),
        reason: args.reason.clone(),
    };
    let resp = answered("suppressing the trace", timeout, client.suppress_trace(req))
        .await?
        .into_inner();
    let mut out = BufWriter::new(io::stdout().lock());
    if args.json {
        let mut m = serde_json::Map::new();
        m.insert("policy_name".into(), resp.policy_name.clone().into());
        m.insert("path".into(), resp.path.clone().into());
        m.insert("yaml".into(), resp.yaml.clone().into());
        if let Some(t) = &resp.trace {
            m.insert("trace".into(), json::detect::trace(t));
        }
        writeln!(out, "{}", serde_json::Value::Object(m))?;
    } else {
        writeln!(
            out,
            "policy {} written to {}",
            clean(&resp.policy_name),
            clean(&resp.path)
        )?;
        // Line by line, escaped: the names in it are processes' own.
        for line in resp.yaml.lines() {
            writeln!(out, "{}", clean(line))?;
        }
    }
    out.flush()?;
    Ok(())
}

pub async fn trace(target: &Target, timeout: Duration, args: &TraceArgs) -> anyhow::Result<()> {
    let id = trace_id(&args.id);
    let mut client = perch_client::connect_within(target, timeout).await?;
    let req = ListTracesRequest {
        id: id.clone(),
        ..ListTracesRequest::default()
    };
    let resp = answered("reading the trace", timeout, client.list_traces(req))
        .await?
        .into_inner();
    let Some(t) = resp.traces.first() else {
        bail!(
            "no trace {id} (perchd keeps {} traces; see `perch traces`)",
            resp.held
        )
    };
    let req = ListFlagsRequest {
        trace_id: id.clone(),
        limit: 10_000,
        ..ListFlagsRequest::default()
    };
    let mut flags = answered("reading its flags", timeout, client.list_flags(req))
        .await?
        .into_inner()
        .flags;
    flags.reverse();
    let status = names::short_of::<TraceStatus>(t.status).unwrap_or_default();
    let mut out = BufWriter::new(io::stdout().lock());
    let notable = if t.notable { " (notable)" } else { "" };
    writeln!(
        out,
        "{} {}: score {}{notable}, {status}, max severity {}",
        clean(&t.id),
        clean(&t.name),
        t.score,
        sev(t.max_severity)
    )?;
    writeln!(
        out,
        "trigger: {} ({})",
        clean(&t.trigger_short_name),
        clean(&t.trigger)
    )?;
    writeln!(
        out,
        "root: {} (pid {}), interactive: {}, users: {}, login users: {}",
        clean(&t.root_proc_name),
        t.root.map_or(0, |k| k.pid),
        if t.interactive { "yes" } else { "no" },
        clean(&t.users.join(", ")),
        clean(&t.login_users.join(", "))
    )?;
    writeln!(
        out,
        "flags: {} ({} distinct), processes: {}, tactics: {}",
        t.flag_count,
        t.unique_flag_count,
        t.process_count,
        t.mitre_mapping.join(", ")
    )?;
    writeln!(out)?;
    write!(out, "{}", trace_tree::text(&trace_tree::rows(t, &flags)))?;
    writeln!(out)?;
    for f in &flags {
        let mitre: Vec<&str> = f
            .mitre_mapping
            .iter()
            .map(|m| m.technique.as_str())
            .collect();
        writeln!(
            out,
            "- {} {} pid {} [{}]: {}",
            sev(f.severity),
            clean(&f.short_name),
            pid_of(f),
            mitre.join(","),
            clean(&f.description)
        )?;
    }
    out.flush()?;
    Ok(())
}

pub async fn rules(target: &Target, timeout: Duration, json_out: bool) -> anyhow::Result<()> {
    let mut client = perch_client::connect_within(target, timeout).await?;
    let resp = answered(
        "listing rules",
        timeout,
        client.list_rules(ListRulesRequest {}),
    )
    .await?
    .into_inner();
    let mut out = BufWriter::new(io::stdout().lock());
    for r in &resp.rules {
        let kind = names::short_of::<FlagKind>(r.kind).unwrap_or_default();
        let mitre: Vec<&str> = r
            .mitre_mapping
            .iter()
            .map(|m| m.technique.as_str())
            .collect();
        if json_out {
            let v = serde_json::json!({
                "id": r.id, "short_name": r.short_name, "kind": kind, "severity": sev(r.severity),
                "mitre": mitre, "enabled": r.enabled, "source": r.source, "condition": r.condition,
            });
            writeln!(out, "{v}")?;
        } else {
            let off = if r.enabled { "" } else { " (disabled)" };
            writeln!(
                out,
                "{:<24} {:<4} {:<8} {:<18} {}{off}",
                clean(&r.id),
                kind,
                sev(r.severity),
                mitre.join(","),
                clean(&r.source)
            )?;
        }
    }
    out.flush()?;
    Ok(())
}

/// `perch rules check FILE`: the file on top of the built-in rules.
#[cfg(feature = "embedded")]
pub fn check(file: &Path) -> anyhow::Result<()> {
    let mut set = perchd::detect::RuleSet::builtin()
        .map_err(|e| anyhow::anyhow!("the built-in rules do not load: {e:?}"))?;
    match set.add_file(file) {
        Ok(()) => {
            println!(
                "ok: {} ({} rules after it)",
                file.display(),
                set.rules.len()
            );
            Ok(())
        }
        Err(errors) => {
            for e in &errors {
                eprintln!("{e}");
            }
            bail!("{}: {} error(s)", file.display(), errors.len())
        }
    }
}

#[cfg(not(feature = "embedded"))]
pub fn check(file: &Path) -> anyhow::Result<()> {
    bail!(
        "{}: this perch was built without perchd's rule loader (feature `embedded`)",
        file.display()
    )
}
