//! `perch policy learn | test | diff | merge`: workload policies against
//! perchd's history, computed here with perchd's own policy code
//! (`perchd::policy::workload`), touching nothing on the host.
use std::{io::Write, path::Path};

use anyhow::{Context as _, bail};
use perchd::policy::{
    Policy,
    workload::{self, WorkloadPolicy, deviation::Finding},
};

use super::{
    fold::fold,
    judge::{Seen, judge},
    recorded::Recorded,
};
use crate::cli::{Connection, policy::Window};

/// What `learn` learns from.
pub enum Scope<'a> {
    Service(&'a str),
    Container(&'a str),
    Exe(&'a str),
}

fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

/// An empty policy of `scope` in audit mode, flagging deviations.
fn skeleton(name: &str, scope: &Scope<'_>, host: &str) -> anyhow::Result<WorkloadPolicy> {
    let (kind, selector, roots) = match scope {
        Scope::Service(cg) => (
            "linux-service",
            format!("serviceSelector: {{cgroup: {}}}", quoted(cg)),
            "[]".to_owned(),
        ),
        Scope::Container(id) => (
            "container",
            format!("containerSelector: {{containerID: {}}}", quoted(id)),
            "[]".to_owned(),
        ),
        Scope::Exe(path) => (
            "machine",
            format!("machineSelector: {{hostname: {}}}", quoted(host)),
            format!(
                "[{{name: \"*\", exe: [{}], id: root_0, euser: [\"*\"]}}]",
                quoted(path)
            ),
        ),
    };
    let text = format!(
        "apiVersion: spyderbat/v1\nkind: SpyderbatPolicy\nmetadata:\n  name: {}\n  type: {kind}\n\
         spec:\n  {selector}\n  mode: audit\n  processPolicy: {roots}\n  networkPolicy: {{ingress: [], egress: []}}\n\
         \x20 response:\n    default: [{{makeRedFlag: {{severity: high}}}}]\n    actions: []\n",
        quoted(name)
    );
    Ok(workload::parse("(learned)", &text)?)
}

fn load(file: &Path) -> anyhow::Result<WorkloadPolicy> {
    match perchd::policy::load(file)? {
        Policy::Workload(w) => Ok(*w),
        Policy::Trace(t) => bail!(
            "{}: policy {} is a trace policy; test, diff and merge take workload policies",
            file.display(),
            t.name
        ),
    }
}

async fn recorded(conn: &Connection, w: &Window) -> anyhow::Result<Recorded> {
    let (target, timeout) = (conn.target()?, conn.timeout());
    Recorded::read(&target, timeout, &w.from, w.to.as_deref()).await
}

fn write_out(text: &str, output: Option<&Path>) -> anyhow::Result<()> {
    if let Some(p) = output {
        return std::fs::write(p, text).with_context(|| format!("writing {}", p.display()));
    }
    std::io::stdout().lock().write_all(text.as_bytes())?;
    Ok(())
}

/// `perch policy learn`.
pub async fn learn(
    conn: &Connection,
    scope: &Scope<'_>,
    name: &str,
    w: &Window,
    output: Option<&Path>,
) -> anyhow::Result<()> {
    let rec = recorded(conn, w).await?;
    let empty = skeleton(name, scope, &rec.host)?;
    let mut doc = fold(&empty, &rec)?;
    if let Scope::Exe(path) = scope {
        // The root stands for every process running the binary: its name
        // and users are the ones seen.
        let seen: Vec<_> = rec
            .processes()
            .filter(|p| perchd::policy::workload::cover::Proc::exe(*p) == *path)
            .collect();
        let Some(first) = seen.first() else {
            bail!(
                "no process ran {path} between {} and {}",
                w.from,
                w.to.as_deref().unwrap_or("now")
            );
        };
        for root in &mut doc.spec.process_policy {
            if root.value.name == "*" {
                root.value.name.clone_from(&first.comm);
                let mut users: Vec<String> = seen
                    .iter()
                    .map(|p| perchd::policy::workload::cover::Proc::euser(*p))
                    .collect();
                users.sort();
                users.dedup();
                root.value.euser = users;
                root.value.id = format!("{}_0", workload::id_base(&first.comm));
            }
        }
    }
    if doc.spec.process_policy.is_empty() {
        bail!(
            "nothing ran in that scope between {} and {}: no policy learned",
            w.from,
            w.to.as_deref().unwrap_or("now")
        );
    }
    let learned = workload::from_doc(&doc)?;
    let comment = format!(
        "learned by perch policy learn from {} between {} and {}; review it, then perch policy apply -f",
        rec.host,
        w.from,
        w.to.as_deref().unwrap_or("now")
    );
    write_out(&learned.to_yaml(&comment), output)
}

fn finding_json(s: &Seen) -> serde_json::Value {
    let f: &Finding = &s.finding;
    serde_json::json!({
        "kind": f.kind.as_str_name(),
        "checksum": f.checksum,
        "summary": f.summary,
        "count": s.count,
        "processes": s.processes.iter().map(|k| serde_json::json!({"pid": k.pid, "start_time_ns": k.start_time_ns})).collect::<Vec<_>>(),
        "would_respond": s.responses,
        "document": f.document,
    })
}

/// `perch policy test`: every deviation in the window and what the policy
/// would have done; nothing is touched.
pub async fn test(conn: &Connection, file: &Path, w: &Window, json: bool) -> anyhow::Result<()> {
    let policy = load(file)?;
    let rec = recorded(conn, w).await?;
    let seen = judge(&policy, &rec);
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mode = if policy.mode == perchd::policy::trace::Mode::Enforce {
        "enforce"
    } else {
        "audit"
    };
    for s in &seen {
        if json {
            writeln!(out, "{}", finding_json(s))?;
            continue;
        }
        let pids: Vec<String> = s.processes.iter().map(|k| k.pid.to_string()).collect();
        writeln!(
            out,
            "deviation {} x{}: {} (pid {})",
            s.finding.checksum,
            s.count,
            s.finding.summary,
            pids.join(", ")
        )?;
        for r in &s.responses {
            let how = if mode == "enforce" {
                "would initiate"
            } else {
                "would log (audit mode): would have initiated"
            };
            writeln!(out, "  {how} {r}")?;
        }
    }
    if !json {
        let sightings: u64 = seen.iter().map(|s| s.count).sum();
        writeln!(
            out,
            "policy {} ({mode}): {} deviation(s), {sightings} sighting(s), nothing touched",
            policy.name,
            seen.len()
        )?;
    }
    Ok(())
}

/// `perch policy diff`: the lines a merge of the window would add or remove.
pub async fn diff(conn: &Connection, file: &Path, w: &Window) -> anyhow::Result<()> {
    let policy = load(file)?;
    let rec = recorded(conn, w).await?;
    let merged = workload::from_doc(&fold(&policy, &rec)?)?;
    let (old, new) = (policy.to_yaml(""), merged.to_yaml(""));
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let (o, n): (Vec<&str>, Vec<&str>) = (old.lines().collect(), new.lines().collect());
    let mut changed = 0;
    for l in &o {
        if !n.contains(l) {
            writeln!(out, "- {l}")?;
            changed += 1;
        }
    }
    for l in &n {
        if !o.contains(l) {
            writeln!(out, "+ {l}")?;
            changed += 1;
        }
    }
    if changed == 0 {
        writeln!(
            out,
            "policy {}: a merge adds nothing (the window has no relevant deviation)",
            policy.name
        )?;
    }
    Ok(())
}

/// `perch policy merge`: the policy with the window's deviations folded in.
pub async fn merge(
    conn: &Connection,
    file: &Path,
    w: &Window,
    output: Option<&Path>,
) -> anyhow::Result<()> {
    let policy = load(file)?;
    let rec = recorded(conn, w).await?;
    let merged = workload::from_doc(&fold(&policy, &rec)?)?;
    write_out(&merged.to_yaml(""), output)
}
