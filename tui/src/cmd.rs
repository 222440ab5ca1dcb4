//! `perch ps` and `perch events` (`perch conns` and `perch listening` in
//! [`net`]): ask the collector, print what it says.
//! Output goes to any writer so the tests can read it.  The action commands
//! live in [`act`], `ps`'s filter, sort and columns in [`ps`], the event
//! stream's printing in [`events`], completions and the man page in
//! [`docs`].
pub mod act;
pub mod docs;
pub mod events;
pub mod history;
pub mod ps;
pub mod record;

use std::{
    future::Future,
    io::{self, BufWriter, Write},
    time::Duration,
};

use anyhow::{anyhow, bail};
use perch::text;
use perch_client::{Target, json};
use perch_proto::v1::{GetInfoRequest, ListProcessesRequest, Process};
use tonic::Status;

use crate::cli::PsArgs;
pub use events::events;
#[cfg(test)]
use events::{print_events, watch};

pub mod audit;
pub mod detect;
pub mod net;
pub mod policy;
pub mod replay;

/// The collector's refusal as one line: its message and the gRPC code.
fn rpc_error(doing: &str, s: &Status) -> anyhow::Error {
    anyhow!("{doing}: {} ({:?})", s.message(), s.code())
}

/// `call`'s answer, if it comes `within`; else an error that says so.
async fn answered<T>(
    doing: &str,
    within: Duration,
    call: impl Future<Output = Result<T, Status>>,
) -> anyhow::Result<T> {
    match tokio::time::timeout(within, call).await {
        Ok(answer) => answer.map_err(|s| rpc_error(doing, &s)),
        Err(_) => Err(anyhow!(
            "{doing}: no answer from the collector within {} s (busy or stuck?); \
             --timeout SECS waits longer",
            within.as_secs()
        )),
    }
}

pub async fn ps(target: &Target, timeout: Duration, args: &PsArgs) -> anyhow::Result<()> {
    // A bad filter stops before the collector is asked.
    let filter = ps::filter(&args.filter)?;
    let processes = match &args.at {
        Some(at) => history::processes_at(target, timeout, at, args.all).await?,
        None => fetch_processes(target, timeout, args.all).await?,
    };
    let rows = ps::select(processes, &filter, args.sort, args.reverse);
    let clock = if args.fields.contains(&ps::Field::Start) {
        let mut client = perch_client::connect_within(target, timeout).await?;
        let info = answered(
            "asking the collector",
            timeout,
            client.get_info(GetInfoRequest {}),
        )
        .await?
        .into_inner();
        let now = perch::when::Clock::system();
        ps::Clock {
            boot_time_unix_ns: info.boot_time_unix_ns,
            utc_offset_secs: now.utc_offset_secs,
            now_unix_secs: now.now_unix_secs,
        }
    } else {
        ps::Clock::default()
    };
    let mut out = BufWriter::new(io::stdout().lock());
    if args.fields.is_empty() || args.json {
        let processes: Vec<Process> = rows.into_iter().map(|r| r.process).collect();
        write_processes(&processes, args.json, &mut out)?;
    } else {
        out.write_all(ps::table(&rows, &args.fields, clock).as_bytes())?;
    }
    out.flush()?;
    Ok(())
}

/// The whole snapshot, sorted by pid; each message must come within
/// `timeout` of the one before.
async fn fetch_processes(
    target: &Target,
    timeout: Duration,
    include_exited: bool,
) -> anyhow::Result<Vec<Process>> {
    let mut client = perch_client::connect_within(target, timeout).await?;
    let req = ListProcessesRequest {
        include_exited,
        pids: Vec::new(),
        chunk_size: 0,
    };
    let doing = "listing processes";
    let mut chunks = answered(doing, timeout, client.list_processes(req))
        .await?
        .into_inner();
    let mut processes = Vec::new();
    loop {
        let chunk = answered(doing, timeout, chunks.message()).await?;
        let Some(chunk) = chunk else {
            bail!("the collector ended the process list early")
        };
        processes.extend(chunk.processes);
        if chunk.last {
            break;
        }
    }
    processes.sort_by_key(|p| p.key.map(|k| (k.pid, k.start_time_ns)));
    Ok(processes)
}

fn write_processes(processes: &[Process], as_json: bool, out: &mut impl Write) -> io::Result<()> {
    if as_json {
        for p in processes {
            serde_json::to_writer(&mut *out, &json::process(p))?;
            out.write_all(b"\n")?;
        }
        Ok(())
    } else {
        out.write_all(text::process_table(processes).as_bytes())
    }
}

#[cfg(test)]
mod tests;
