//! The commands' questions to perchd's history store: `perch ps --at`,
//! `perch events --from/--to`, `perch flags --since`, `perch traces
//! --since`.  Times go through [`when::parse`] (the grammar every command
//! and the console share); a time outside the stored range says which
//! range there is.
use std::{collections::HashMap, io::Write, time::Duration};

use anyhow::{anyhow, bail};
use perch::{live::GrpcHistory, travel::SourceError, when};
use perch_client::Target;
use perch_proto::{
    NS_PER_SEC,
    civil::rfc3339_utc,
    v1::{
        Event, EventKind, Flag, HistoryInfo, ListHistoryRequest, Process, StoredEvent, Trace,
        event::Kind,
    },
};

use super::answered;

/// Most events one `perch events --from` prints (the service's maximum).
const MAX_EVENTS: u32 = 1_000_000;

/// The instant `text` names (its start), Unix ns.
pub fn instant(text: &str) -> anyhow::Result<u64> {
    let span = when::parse(text, when::Clock::system())?;
    u64::try_from(span.start_ns).map_err(|_| anyhow!("{text:?}: before 1970"))
}

/// "2026-11-27 17:05:09 (2026-11-27T16:05:09.000Z)": a stored instant in
/// local time and RFC 3339.
fn shown(unix_ns: u64) -> String {
    let secs = i64::try_from(unix_ns / NS_PER_SEC).unwrap_or(i64::MAX);
    format!(
        "{} ({})",
        when::date_time(secs, when::local_utc_offset_secs()),
        rfc3339_utc(unix_ns)
    )
}

/// The range message for a time the store does not hold.
fn outside(text: &str, oldest: u64, newest: u64) -> anyhow::Error {
    if oldest == 0 {
        anyhow!("no history at {text}: the store holds nothing yet")
    } else {
        anyhow!(
            "no history at {text}: the store holds {} .. {}",
            shown(oldest),
            shown(newest)
        )
    }
}

pub(crate) fn source_error(text: &str, e: SourceError) -> anyhow::Error {
    match e {
        SourceError::OutOfRange {
            oldest_unix_ns,
            newest_unix_ns,
        } => outside(text, oldest_unix_ns, newest_unix_ns),
        SourceError::Unavailable(why) => anyhow!("history: {why}"),
    }
}

/// The store's state; an error unless it can answer.
pub(super) async fn usable(source: &GrpcHistory) -> anyhow::Result<HistoryInfo> {
    use perch::travel::TimeSource as _;
    source.range().await.map_err(|e| source_error("", e))?;
    source.info().await.map_err(|e| source_error("", e))
}

/// The processes at `text` (`ps --at`): those alive then, and with `all`
/// those that had exited within the collector's retention before it.
pub async fn processes_at(
    target: &Target,
    timeout: Duration,
    text: &str,
    all: bool,
) -> anyhow::Result<Vec<Process>> {
    use perch::travel::TimeSource as _;
    let at = instant(text)?;
    let source = GrpcHistory::new(target.clone(), timeout);
    let state = source
        .state_at(at)
        .await
        .map_err(|e| source_error(text, e))?;
    let mut processes: Vec<Process> = state
        .processes
        .into_iter()
        .filter(|p| all || p.exit.is_none())
        .collect();
    processes.sort_by_key(|p| p.key.map(|k| (k.pid, k.start_time_ns)));
    Ok(processes)
}

/// Stored events in `[from, to)` of these kinds and pids, oldest first.
pub async fn stored_events(
    target: &Target,
    timeout: Duration,
    (from_text, to_text): (&str, Option<&str>),
    kinds: &[EventKind],
    pids: &[u32],
) -> anyhow::Result<Vec<StoredEvent>> {
    let source = GrpcHistory::new(target.clone(), timeout);
    let info = usable(&source).await?;
    let from = instant(from_text)?;
    let to = match to_text {
        Some(t) => instant(t)?,
        None => 0,
    };
    let end = if to == 0 { u64::MAX } else { to };
    if end <= from {
        bail!(
            "--from {from_text} must be before --to {}",
            to_text.unwrap_or("now")
        );
    }
    if end < info.oldest_unix_ns || from > info.newest_unix_ns {
        return Err(outside(from_text, info.oldest_unix_ns, info.newest_unix_ns));
    }
    let channel = perch_client::channel_within(target, timeout).await?;
    let mut client = perch_client::history_client(channel);
    let req = ListHistoryRequest {
        from_unix_ns: from,
        to_unix_ns: to,
        kinds: kinds.iter().map(|k| i32::from(*k)).collect(),
        pids: pids.to_vec(),
        limit: MAX_EVENTS,
    };
    let doing = "listing stored events";
    let mut stream = answered(doing, timeout, client.list_history(req))
        .await?
        .into_inner();
    let mut out = Vec::new();
    loop {
        let Some(msg) = answered(doing, timeout, stream.message()).await? else {
            bail!("the collector ended the stored events early")
        };
        out.extend(msg.events);
        if msg.last {
            if msg.truncated {
                eprintln!("perch: only the first {MAX_EVENTS} events are printed");
            }
            return Ok(out);
        }
    }
}

/// `perch events --from`: the stored events, printed like live ones.
pub async fn events(
    target: &Target,
    timeout: Duration,
    args: &crate::cli::EventsArgs,
    from: &str,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let mut client = perch_client::connect_within(target, timeout).await?;
    let info = answered(
        "asking the collector",
        timeout,
        client.get_info(perch_proto::v1::GetInfoRequest {}),
    )
    .await?
    .into_inner();
    let mut printer = super::events::Printer::new(args, info.boot_time_unix_ns);
    // The kinds the printer needs (exec, fork and update name the pids an
    // exit or --comm is about) and the pids asked: the store filters both,
    // the printer the rest (--comm, and --kind among the naming events).
    let kinds: Vec<EventKind> = printer
        .asked()
        .into_iter()
        .filter_map(|k| EventKind::try_from(k).ok())
        .collect();
    let stored = stored_events(
        target,
        timeout,
        (from, args.to.as_deref()),
        &kinds,
        &args.pid,
    )
    .await?;
    for e in &stored {
        if let Some(e) = &e.event
            && let Some(line) = printer.line(e)?
        {
            writeln!(out, "{line}")?;
        }
    }
    Ok(())
}

/// Flags raised since `since`, oldest first (a repeated flag once, as it
/// last stood).
pub async fn flags_since(
    target: &Target,
    timeout: Duration,
    since: &str,
) -> anyhow::Result<Vec<Flag>> {
    let stored = stored_events(target, timeout, (since, None), &[EventKind::Flag], &[]).await?;
    Ok(latest(stored.iter().filter_map(|s| match &s.event {
        Some(Event {
            kind: Some(Kind::Flag(f)),
            ..
        }) => f.flag.clone().map(|f| (f.id.clone(), f)),
        _ => None,
    })))
}

/// Traces updated since `since`, each as it last stood.
pub async fn traces_since(
    target: &Target,
    timeout: Duration,
    since: &str,
) -> anyhow::Result<Vec<Trace>> {
    let stored = stored_events(target, timeout, (since, None), &[EventKind::Trace], &[]).await?;
    Ok(latest(stored.iter().filter_map(|s| match &s.event {
        Some(Event {
            kind: Some(Kind::Trace(t)),
            ..
        }) => t.trace.clone().map(|t| (t.id.clone(), t)),
        _ => None,
    })))
}

/// The last of each id, in the order ids first appeared.
fn latest<T>(items: impl Iterator<Item = (String, T)>) -> Vec<T> {
    let mut order: Vec<String> = Vec::new();
    let mut by_id: HashMap<String, T> = HashMap::new();
    for (id, item) in items {
        if by_id.insert(id.clone(), item).is_none() {
            order.push(id);
        }
    }
    order
        .into_iter()
        .filter_map(|id| by_id.remove(&id))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::latest;

    #[test]
    fn latest_keeps_first_order_and_last_value() {
        let got = latest(
            [("a", 1), ("b", 2), ("a", 3)]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v)),
        );
        assert_eq!(got, vec![3, 2]);
    }
}
