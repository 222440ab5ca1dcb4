//! `perch replay FILE --print`: a recording's state at one instant, as
//! text (counts, the busiest processes, the newest flags, the
//! highest-scoring traces) or one JSON object, with what reading the file
//! found (records by schema, malformed lines and the first one's line,
//! unknown schemas).  No collector is asked.
use std::io::Write;

use anyhow::Context as _;
use perch::{
    replay::{ImportReport, Recording},
    text::trace::sev,
    travel::{SourceError, StateAt},
    when,
};
use perch_client::{clean, json};
use perch_proto::v1::HostSample;
use serde_json::{Map, Value, json};

use super::audit::when::format_at;
use crate::cli::replay::ReplayArgs;

/// `--print` (the console on a recording is `live::run_replay`, from main).
pub fn run(args: &ReplayArgs, out: &mut impl Write) -> anyhow::Result<()> {
    let rec = Recording::open(&args.file)?;
    let (oldest, newest) = rec.span();
    let offset = when::local_utc_offset_secs();
    let at = match args.at {
        None => newest,
        Some(ns) => u64::try_from(ns).unwrap_or(0),
    };
    let state = rec.state(at).map_err(|e| match e {
        SourceError::OutOfRange { .. } => anyhow::anyhow!(
            "--at {}: outside the recording, which holds {} .. {} ({} .. {} Unix ns)",
            format_at(at, offset),
            format_at(oldest, offset),
            format_at(newest, offset),
            oldest,
            newest
        ),
        SourceError::Unavailable(why) => anyhow::anyhow!("{why}"),
    })?;
    if args.json {
        let v = as_json(&rec, &state);
        writeln!(out, "{v}").context("writing the state")?;
    } else {
        text(out, &rec, &state, args.top as usize, offset)?;
    }
    Ok(())
}

/// The import counts as JSON.
fn report_json(r: &ImportReport) -> Value {
    json!({
        "lines": r.lines,
        "records": r.records,
        "malformed": r.malformed,
        "first_error": r.first_error.as_ref().map(|(line, error)| json!({"line": line, "error": error})),
        "unknown_schemas": r.unknown,
        "threads": r.threads,
    })
}

fn host_json(h: &HostSample) -> Value {
    json!({
        "cpu_busy_percent": h.cpus.iter().map(|c| c.busy_percent).collect::<Vec<_>>(),
        "memory_total_bytes": h.memory_total_bytes,
        "memory_used_bytes": h.memory_used_bytes,
        "load": [h.load1, h.load5, h.load15],
        "tasks_total": h.tasks_total,
        "tasks_running": h.tasks_running,
        "threads_total": h.threads_total,
        "uptime_ns": h.uptime_ns,
        "interval_ns": h.interval_ns,
    })
}

fn as_json(rec: &Recording, s: &StateAt) -> Value {
    let mut m = Map::new();
    m.insert("import".into(), report_json(rec.report()));
    m.insert("boot_time_unix_ns".into(), rec.boot_time_unix_ns().into());
    m.insert("at_unix_ns".into(), s.at_unix_ns.into());
    m.insert("oldest_unix_ns".into(), s.oldest_unix_ns.into());
    m.insert("newest_unix_ns".into(), s.newest_unix_ns.into());
    m.insert("host_name".into(), s.host_name.clone().into());
    m.insert(
        "host".into(),
        s.host.as_ref().map_or(Value::Null, host_json),
    );
    let list = |v: Vec<Value>| Value::Array(v);
    m.insert(
        "processes".into(),
        list(s.processes.iter().map(json::process).collect()),
    );
    m.insert(
        "connections".into(),
        list(s.connections.iter().map(json::net::connection).collect()),
    );
    m.insert(
        "listening".into(),
        list(s.listening.iter().map(json::net::listening).collect()),
    );
    m.insert(
        "flags".into(),
        list(s.flags.iter().map(json::detect::flag).collect()),
    );
    m.insert(
        "traces".into(),
        list(s.traces.iter().map(json::detect::trace).collect()),
    );
    Value::Object(m)
}

fn text(
    out: &mut impl Write,
    rec: &Recording,
    s: &StateAt,
    top: usize,
    offset: i32,
) -> anyhow::Result<()> {
    let r = rec.report();
    let boot = rec.boot_time_unix_ns();
    writeln!(
        out,
        "recording of {}: {} .. {}",
        if s.host_name.is_empty() {
            "an unnamed host".into()
        } else {
            clean(&s.host_name)
        },
        format_at(s.oldest_unix_ns, offset),
        format_at(s.newest_unix_ns, offset)
    )?;
    let by_schema: Vec<String> = r.records.iter().map(|(k, n)| format!("{k} {n}")).collect();
    writeln!(
        out,
        "read {} lines: {} records ({}), {} malformed, {} of unknown schemas",
        r.lines,
        r.total_records(),
        by_schema.join(", "),
        r.malformed,
        r.total_unknown()
    )?;
    if let Some((line, error)) = &r.first_error {
        writeln!(out, "first malformed line: {line}: {}", clean(error))?;
    }
    if !r.unknown.is_empty() {
        let unknown: Vec<String> = r.unknown.iter().map(|(k, n)| format!("{k} {n}")).collect();
        writeln!(out, "ignored schemas: {}", unknown.join(", "))?;
    }
    let exited = s.processes.iter().filter(|p| p.exit.is_some()).count();
    writeln!(
        out,
        "at {}: {} processes ({} exited), {} connections, {} listening, {} flags, {} traces",
        format_at(s.at_unix_ns, offset),
        s.processes.len(),
        exited,
        s.connections.len(),
        s.listening.len(),
        s.flags.len(),
        s.traces.len()
    )?;
    if let Some(h) = &s.host {
        let cpus: Vec<String> = h
            .cpus
            .iter()
            .map(|c| format!("{:.0}%", c.busy_percent))
            .collect();
        writeln!(
            out,
            "host: cpu {}  mem {} / {} MiB  load {:.2} {:.2} {:.2}  tasks {} ({} running)",
            cpus.join(" "),
            h.memory_used_bytes >> 20,
            h.memory_total_bytes >> 20,
            h.load1,
            h.load5,
            h.load15,
            h.tasks_total,
            h.tasks_running
        )?;
    }
    processes(out, s, top)?;
    writeln!(out, "\nFLAGS (newest first)")?;
    writeln!(
        out,
        "{:<19} {:<4} {:<24} {:>7} DESCRIPTION",
        "TIME", "SEV", "SHORT_NAME", "PID"
    )?;
    for f in s.flags.iter().rev().take(top) {
        writeln!(
            out,
            "{:<19} {:<8} {:<24} {:>7} {}",
            format_at(f.time_ns.saturating_add(boot), offset),
            sev(f.severity),
            clean(&f.short_name),
            f.process.map_or(0, |k| k.pid),
            clean(&f.description)
        )?;
    }
    writeln!(out, "\nTRACES (highest score first)")?;
    writeln!(
        out,
        "{:>5} {:<6} {:>5} {:<16} NAME",
        "SCORE", "STATUS", "FLAGS", "ROOT"
    )?;
    let mut traces: Vec<_> = s.traces.iter().collect();
    traces.sort_by(|a, b| b.score.cmp(&a.score).then_with(|| a.id.cmp(&b.id)));
    for t in traces.into_iter().take(top) {
        let closed = t.closed_time_ns != 0;
        writeln!(
            out,
            "{:>5} {:<6} {:>5} {:<16} {}",
            t.score,
            if closed { "closed" } else { "active" },
            t.flag_ids.len(),
            clean(&t.root_proc_name),
            clean(&t.name)
        )?;
    }
    Ok(())
}

/// Characters of a command line shown in the text.
const COMMAND_CHARS: usize = 100;

/// `s` cut to `n` characters, with an ellipsis when cut.
fn cut(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        s.chars().take(n - 1).chain(['…']).collect()
    }
}

/// The busiest live processes.
fn processes(out: &mut impl Write, s: &StateAt, top: usize) -> anyhow::Result<()> {
    writeln!(out, "\nPROCESSES (by CPU%)")?;
    writeln!(
        out,
        "{:>7} {:<10} {:>6} {:>9} COMMAND",
        "PID", "USER", "CPU%", "RSS_KIB"
    )?;
    let mut live: Vec<_> = s.processes.iter().filter(|p| p.exit.is_none()).collect();
    let cpu = |p: &perch_proto::v1::Process| p.usage.map_or(0.0, |u| u.cpu_percent);
    live.sort_by(|a, b| cpu(b).total_cmp(&cpu(a)));
    for p in live.into_iter().take(top) {
        let command = if p.argv.is_empty() {
            p.comm.clone()
        } else {
            p.argv.join(" ")
        };
        writeln!(
            out,
            "{:>7} {:<10} {:>6.1} {:>9} {}",
            p.key.map_or(0, |k| k.pid),
            clean(&p.user),
            cpu(p),
            p.usage.map_or(0, |u| u.rss_bytes >> 10),
            cut(&clean(&command), COMMAND_CHARS)
        )?;
    }
    Ok(())
}
