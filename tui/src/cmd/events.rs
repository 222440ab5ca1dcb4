//! `perch events`: the collector's event stream, one line each (local wall
//! time, or UTC with --utc) or NDJSON, filtered by kind (asked of perchd),
//! pid and command name (here).  Exit events carry only a key, so the
//! command names of the processes seen (the snapshot at start, then every
//! exec, fork and update) are kept until their exit is printed.
use std::{
    collections::HashMap,
    future::Future,
    io::{self, Write},
    pin::pin,
    time::Duration,
};

use anyhow::bail;
use perch::{text, when};
use perch_client::{Target, json};
use perch_proto::{
    NS_PER_SEC, NS_PER_TICK, names,
    v1::{
        Event, EventKind, GetInfoRequest, NoticeKind, ProcessKey, WatchEventsRequest, event::Kind,
    },
};

use super::{answered, fetch_processes, rpc_error};
use crate::cli::EventsArgs;

/// More command names than this are not kept (exits missed while the
/// stream lagged would otherwise pile up): the table starts over.
const MAX_NAMES: usize = 200_000;

/// What a batch of events is printed with: the output form, the clock, the
/// filters and the command names seen.
#[derive(Debug, Default)]
pub struct Printer {
    json: bool,
    utc: bool,
    utc_offset_secs: i32,
    boot_time_unix_ns: u64,
    pids: Vec<u32>,
    /// Only these kinds (empty: all); perchd is asked for these and for
    /// what names processes when exits are to be named.
    kinds: Vec<EventKind>,
    /// Lowercase.
    comm: Option<String>,
    names: HashMap<(u32, u64), String>,
}

fn name_key(k: &ProcessKey) -> (u32, u64) {
    (k.pid, k.start_time_ns / NS_PER_TICK)
}

impl Printer {
    /// A printer for `args`, against a collector that booted at
    /// `boot_time_unix_ns` (wall clock).
    #[must_use]
    pub fn new(args: &EventsArgs, boot_time_unix_ns: u64) -> Printer {
        Printer {
            json: args.json,
            utc: args.utc,
            utc_offset_secs: if args.utc {
                0
            } else {
                when::local_utc_offset_secs()
            },
            boot_time_unix_ns,
            pids: args.pid.clone(),
            kinds: args.kind.clone(),
            comm: args.comm.as_deref().map(str::to_lowercase),
            names: HashMap::new(),
        }
    }

    /// Learns the command name of `key`.
    pub fn name(&mut self, key: Option<&ProcessKey>, comm: &str) {
        if let Some(k) = key {
            if self.names.len() >= MAX_NAMES {
                self.names.clear();
            }
            self.names.insert(name_key(k), comm.to_owned());
        }
    }

    /// `2026-11-23 15:47:02.123456` local, or with a `Z` in UTC.
    fn time(&self, boot_ns: u64) -> String {
        let unix_ns = self.boot_time_unix_ns.saturating_add(boot_ns);
        let secs = i64::try_from(unix_ns / NS_PER_SEC).unwrap_or(i64::MAX);
        let micros = (unix_ns % NS_PER_SEC) / 1_000;
        let zone = if self.utc { "Z" } else { "" };
        format!(
            "{}.{micros:06}{zone}",
            when::date_time(secs, self.utc_offset_secs)
        )
    }

    /// The pids and command names `e` is about (none for samples).
    fn about(&self, e: &Event) -> Vec<(u32, Option<String>)> {
        let named =
            |k: Option<&ProcessKey>| k.map(|k| (k.pid, self.names.get(&name_key(k)).cloned()));
        match &e.kind {
            Some(Kind::Exec(x)) => x
                .process
                .iter()
                .map(|p| (pid(p.key), Some(p.comm.clone())))
                .collect(),
            Some(Kind::Update(x)) => x
                .process
                .iter()
                .map(|p| (pid(p.key), Some(p.comm.clone())))
                .collect(),
            Some(Kind::Fork(x)) => {
                let child = x.child.iter().map(|c| (pid(c.key), Some(c.comm.clone())));
                child.chain(named(x.parent.as_ref())).collect()
            }
            Some(Kind::Exit(x)) => named(x.key.as_ref()).into_iter().collect(),
            Some(Kind::Action(r)) => named(r.target.as_ref().and_then(|t| t.key.as_ref()))
                .into_iter()
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The kinds to ask perchd for: those asked, and exec, fork and update
    /// too when exits are printed or names filtered on (they carry the
    /// names); empty for all.
    pub(super) fn asked(&self) -> Vec<i32> {
        let mut kinds = self.kinds.clone();
        let naming = [EventKind::Exec, EventKind::Fork, EventKind::Update];
        if !kinds.is_empty() && (kinds.contains(&EventKind::Exit) || self.comm.is_some()) {
            kinds.extend(naming);
        }
        kinds.sort_unstable();
        kinds.dedup();
        kinds.into_iter().map(i32::from).collect()
    }

    /// Whether `e` passes --kind, --pid and --comm (notices always do).
    fn wanted(&self, e: &Event) -> bool {
        if matches!(e.kind, Some(Kind::Notice(_))) {
            return true;
        }
        let kind = names::parse::<EventKind>(json::kind_name(e));
        if !self.kinds.is_empty() && !kind.is_some_and(|k| self.kinds.contains(&k)) {
            return false;
        }
        if self.pids.is_empty() && self.comm.is_none() {
            return true;
        }
        let about = self.about(e);
        let pid_ok = self.pids.is_empty() || about.iter().any(|(p, _)| self.pids.contains(p));
        let comm_ok = self.comm.as_ref().is_none_or(|want| {
            about
                .iter()
                .any(|(_, c)| c.as_ref().is_some_and(|c| c.to_lowercase().contains(want)))
        });
        pid_ok && comm_ok
    }

    /// Learns the names `e` tells (before filtering: a later exit needs it).
    fn learn(&mut self, e: &Event) {
        match &e.kind {
            Some(Kind::Exec(x)) => x
                .process
                .iter()
                .for_each(|p| self.name(p.key.as_ref(), &p.comm)),
            Some(Kind::Update(x)) => x
                .process
                .iter()
                .for_each(|p| self.name(p.key.as_ref(), &p.comm)),
            Some(Kind::Fork(x)) => x
                .child
                .iter()
                .for_each(|c| self.name(c.key.as_ref(), &c.comm)),
            _ => {}
        }
    }

    /// `e` as printed: a JSON object or a line; `None` when filtered out.
    pub fn line(&mut self, e: &Event) -> io::Result<Option<String>> {
        self.learn(e);
        let wanted = self.wanted(e);
        let exit_comm = match &e.kind {
            Some(Kind::Exit(x)) => x.key.as_ref().and_then(|k| self.names.remove(&name_key(k))),
            _ => None,
        };
        if !wanted {
            return Ok(None);
        }
        if self.json {
            return Ok(Some(serde_json::to_string(&json::event(e))?));
        }
        Ok(Some(text::event_line_at(
            e,
            &self.time(e.time_ns),
            exit_comm.as_deref(),
        )))
    }
}

fn pid(k: Option<ProcessKey>) -> u32 {
    k.map_or(0, |k| k.pid)
}

/// Prints events until Ctrl-C; only connecting is bounded by `timeout`.
pub async fn events(target: &Target, timeout: Duration, args: &EventsArgs) -> anyhow::Result<()> {
    if let Some(from) = &args.from {
        let mut out = io::BufWriter::new(io::stdout().lock());
        super::history::events(target, timeout, args, from, &mut out).await?;
        out.flush()?;
        return Ok(());
    }
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
pub(super) struct Restart {
    pub(super) after: Option<u64>,
}

/// Prints events until `stop` completes, reconnecting the stream on
/// `LAGGED` and `RESYNC_REQUIRED`; warnings go to `warn`.
pub(super) async fn watch(
    target: &Target,
    timeout: Duration,
    args: &EventsArgs,
    out: &mut impl Write,
    warn: &mut impl Write,
    stop: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let mut client = perch_client::connect_within(target, timeout).await?;
    let info = answered(
        "asking the collector",
        timeout,
        client.get_info(GetInfoRequest {}),
    )
    .await?
    .into_inner();
    let mut printer = Printer::new(args, info.boot_time_unix_ns);
    // Exits name their process only by key: know the living ones' names.
    if !args.json {
        for p in fetch_processes(target, timeout, false).await? {
            printer.name(p.key.as_ref(), &p.comm);
        }
    }
    let mut stop = pin!(stop);
    let mut resume = args.resume_after;
    loop {
        let req = WatchEventsRequest {
            resume_after_seq: resume,
            kinds: printer.asked(),
            threads: false,
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
            if let Some(restart) = print_events(&msg.events, &mut printer, &mut resume, out, warn)?
            {
                break restart;
            }
        };
        resume = after;
    }
}

/// Prints a batch, keeping `resume` at the newest sequence printed.  A
/// per-client notice (sequence 0) ends the stream: `LAGGED` resumes where it
/// says, `RESYNC_REQUIRED` warns and continues with the newest events.
pub(super) fn print_events(
    events: &[Event],
    printer: &mut Printer,
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
        if let Some(line) = printer.line(e)? {
            writeln!(out, "{line}")?;
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
