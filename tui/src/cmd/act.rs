//! `perch kill | kill-tree | kill-group | renice | kill-pod | freeze | thaw`:
//! find the target's key (unless `--start-time` gives it), send one `Act`,
//! print the result — one line, or the audit record as JSON — and exit with
//! it: 0 success, 3 partial, 1 not successful (see main.rs).
use std::{
    fmt,
    io::{self, Write},
    time::Duration,
};

use anyhow::bail;
use perch::{
    act::{self, ClientIdentity},
    text::clean,
};
use perch_client::{Target, json};
use perch_proto::v1::{
    ActRequest, ActResponse, ActionMode, ActionResult, AuditRecord, ListProcessesRequest, Process,
    ProcessKey, collector_client::CollectorClient,
};
use serde_json::Value;
use tonic::transport::Channel;

use super::answered;
use crate::cli::act::{ActCommand, Request};

/// The action ran but was not (fully) successful; main.rs turns this into
/// the exit status without printing more (the result is already out).
#[derive(Debug)]
pub struct Unsuccessful {
    pub result: ActionResult,
}

impl Unsuccessful {
    /// 3 for partial, 1 for everything else.
    #[must_use]
    pub fn exit_code(&self) -> u8 {
        if self.result == ActionResult::Partial {
            3
        } else {
            1
        }
    }
}

impl fmt::Display for Unsuccessful {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the action was {}", act::result_title(self.result))
    }
}

impl std::error::Error for Unsuccessful {}

/// Where the key came from, for the output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum KeySource {
    Given,
    LookedUp,
}

/// How much longer than `--timeout` an action's answer may take: trees
/// are stopped and cgroups drained with waits of a few seconds each.
const ACTION_GRACE: Duration = Duration::from_secs(30);

pub async fn run(target: &Target, timeout: Duration, cmd: &ActCommand) -> anyhow::Result<()> {
    let req = cmd.request();
    let mut client = perch_client::connect_within(target, timeout).await?;
    let (key, source) = match req.target.start_time {
        Some(start_time_ns) => (
            ProcessKey {
                pid: req.target.pid,
                start_time_ns,
            },
            KeySource::Given,
        ),
        None => (
            lookup(&mut client, timeout, req.target.pid).await?,
            KeySource::LookedUp,
        ),
    };
    let request = build(&req, key, &ClientIdentity::current());
    let doing = act::kind_name(req.kind).replace('_', "-");
    let resp = answered(&doing, timeout + ACTION_GRACE, client.act(request))
        .await?
        .into_inner();
    let mut out = io::stdout().lock();
    write_result(&req, key, source, &resp, &mut out)?;
    out.flush()?;
    let result = resp
        .record
        .as_ref()
        .map_or(ActionResult::NotSuccessful, AuditRecord::result);
    if result == ActionResult::Success {
        Ok(())
    } else {
        Err(Unsuccessful { result }.into())
    }
}

/// The key of the running process with this pid, from the collector.
async fn lookup(
    client: &mut CollectorClient<Channel>,
    timeout: Duration,
    pid: u32,
) -> anyhow::Result<ProcessKey> {
    let req = ListProcessesRequest {
        include_exited: false,
        pids: vec![pid],
        chunk_size: 0,
    };
    let doing = "looking up the pid";
    let mut chunks = answered(doing, timeout, client.list_processes(req))
        .await?
        .into_inner();
    let mut found: Option<Process> = None;
    while let Some(chunk) = answered(doing, timeout, chunks.message()).await? {
        found = found.or_else(|| {
            chunk
                .processes
                .into_iter()
                .find(|p| p.exit.is_none() && p.key.is_some_and(|k| k.pid == pid))
        });
        if chunk.last {
            break;
        }
    }
    match found.and_then(|p| p.key) {
        Some(key) => Ok(key),
        None => bail!("no running process has pid {pid} (the collector does not know it)"),
    }
}

/// The request the dialog would send for the same choices.
fn build(req: &Request<'_>, key: ProcessKey, me: &ClientIdentity) -> ActRequest {
    ActRequest {
        action: req.kind.into(),
        target: Some(key),
        reason: req.target.reason.clone(),
        mode: if req.target.dry_run {
            ActionMode::DryRun
        } else {
            ActionMode::Live
        }
        .into(),
        signal: req.signal.into(),
        priority: req.priority,
        client_origin: me.origin.clone(),
        client_process: me.key(),
    }
}

/// One line, or with `--json` the audit record plus the key this command
/// asked for (`requested_key`, and `key_looked_up` when it was not given).
fn write_result(
    req: &Request<'_>,
    key: ProcessKey,
    source: KeySource,
    resp: &ActResponse,
    out: &mut impl Write,
) -> io::Result<()> {
    if req.target.json {
        let mut v = resp.record.as_ref().map_or_else(
            || Value::Object(serde_json::Map::new()),
            json::action::record,
        );
        if let Value::Object(m) = &mut v {
            m.insert(
                "requested_key".into(),
                serde_json::json!({ "pid": key.pid, "start_time_ns": key.start_time_ns }),
            );
            m.insert(
                "key_looked_up".into(),
                (source == KeySource::LookedUp).into(),
            );
            m.insert("done".into(), resp.done.into());
            m.insert("already_gone".into(), resp.already_gone.into());
        }
        serde_json::to_writer(&mut *out, &v)?;
        return out.write_all(b"\n");
    }
    writeln!(out, "{}", line(req, key, source, resp))
}

/// `kill pid 4242 (/usr/bin/python3, start 81230000000): SUCCESS ok — 1
/// process signalled`.
fn line(req: &Request<'_>, key: ProcessKey, source: KeySource, resp: &ActResponse) -> String {
    let record = resp.record.as_ref();
    let exe = record
        .and_then(|r| r.target.as_ref())
        .map(|t| clean(&t.exe).into_owned())
        .filter(|e| !e.is_empty());
    let looked_up = if source == KeySource::LookedUp {
        " looked up"
    } else {
        ""
    };
    let what = match exe {
        Some(exe) => format!("{exe}, start{looked_up} {}", key.start_time_ns),
        None => format!("start{looked_up} {}", key.start_time_ns),
    };
    let dry = if req.target.dry_run { " (dry run)" } else { "" };
    let (result, code) = record.map_or((ActionResult::NotSuccessful, String::new()), |r| {
        (r.result(), clean(&r.code).into_owned())
    });
    format!(
        "{}{dry} pid {} ({what}): {} {code} — {}",
        act::kind_name(req.kind).replace('_', "-"),
        key.pid,
        act::result_title(result),
        act::summary(resp)
    )
}

#[cfg(test)]
mod tests;
