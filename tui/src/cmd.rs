//! `perch ps` and `perch events`: ask the collector, print what it says.
//! Output goes to any writer so the tests can read it.  The action commands
//! live in [`act`].
pub mod act;

use std::{
    future::Future,
    io::{self, BufWriter, Write},
    pin::pin,
    time::Duration,
};

use anyhow::{anyhow, bail};
use perch::text;
use perch_client::{Target, json};
use perch_proto::v1::{
    Event, ListProcessesRequest, NoticeKind, Process, WatchEventsRequest, event::Kind,
};
use tonic::Status;

use crate::cli::{EventsArgs, PsArgs};

pub mod audit;

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
    let processes = fetch_processes(target, timeout, args.all).await?;
    let mut out = BufWriter::new(io::stdout().lock());
    write_processes(&processes, args.json, &mut out)?;
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

/// Prints events until Ctrl-C; only connecting is bounded by `timeout`.
pub async fn events(target: &Target, timeout: Duration, args: &EventsArgs) -> anyhow::Result<()> {
    let ctrl_c = async {
        // If the handler cannot be installed, Ctrl-C still kills us.
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    watch(
        target,
        timeout,
        args,
        &mut io::stdout(),
        &mut io::stderr(),
        ctrl_c,
    )
    .await
}

/// A per-client notice ended the stream: watch again after this sequence
/// (`None`: from the newest event).
struct Restart {
    after: Option<u64>,
}

/// Prints events until `stop` completes, reconnecting the stream on
/// `LAGGED` and `RESYNC_REQUIRED`; warnings go to `warn`.
async fn watch(
    target: &Target,
    timeout: Duration,
    args: &EventsArgs,
    out: &mut impl Write,
    warn: &mut impl Write,
    stop: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let mut client = perch_client::connect_within(target, timeout).await?;
    let mut stop = pin!(stop);
    let mut resume = args.resume_after;
    loop {
        let req = WatchEventsRequest {
            resume_after_seq: resume,
            kinds: args.kinds.iter().map(|k| i32::from(*k)).collect(),
        };
        // The stream's start is bounded; its events come when they come.
        let mut stream = answered("watching events", timeout, client.watch_events(req))
            .await?
            .into_inner();
        let Restart { after } = loop {
            let msg = tokio::select! {
                msg = stream.message() => msg,
                () = &mut stop => return Ok(()),
            };
            let Some(msg) = msg.map_err(|s| rpc_error("watching events", &s))? else {
                bail!("the collector closed the event stream (shutting down?)");
            };
            if let Some(restart) = print_events(&msg.events, args.json, &mut resume, out, warn)? {
                break restart;
            }
        };
        resume = after;
    }
}

/// Prints a batch, keeping `resume` at the newest sequence printed.  A
/// per-client notice (sequence 0) ends the stream: `LAGGED` resumes where it
/// says, `RESYNC_REQUIRED` warns and continues with the newest events.
fn print_events(
    events: &[Event],
    as_json: bool,
    resume: &mut Option<u64>,
    out: &mut impl Write,
    warn: &mut impl Write,
) -> io::Result<Option<Restart>> {
    for e in events {
        if e.seq == 0
            && let Some(Kind::Notice(n)) = &e.kind
        {
            match NoticeKind::try_from(n.kind) {
                Ok(NoticeKind::Lagged) => {
                    out.flush()?;
                    return Ok(Some(Restart {
                        after: Some(n.resume_after_seq),
                    }));
                }
                Ok(NoticeKind::ResyncRequired) => {
                    out.flush()?;
                    let asked = resume.map_or_else(|| "?".to_owned(), |s| s.to_string());
                    writeln!(
                        warn,
                        "perch: warning: events after seq {asked} are no longer kept by the \
                         collector (oldest is {}); some were missed, continuing with the newest",
                        n.oldest_seq
                    )?;
                    return Ok(Some(Restart { after: None }));
                }
                _ => {}
            }
        }
        if as_json {
            serde_json::to_writer(&mut *out, &json::event(e))?;
            out.write_all(b"\n")?;
        } else {
            writeln!(out, "{}", text::event_line(e))?;
        }
        if e.seq > 0 {
            *resume = Some(e.seq);
        }
    }
    // Someone may be piping this into another tool: hand each batch over now.
    out.flush()?;
    Ok(None)
}

#[cfg(test)]
mod tests;
