//! Writing events into the store's tables, one transaction per batch.
//! The batch's events go into one `batches` row (for `ListHistory`), but
//! for the kinds the state queries look up by kind, which get an `events`
//! row each; by kind, an event also opens or closes versions of processes
//! (the head of a process event is enough: [`super::head`]), connections,
//! listening sockets and traces, or adds a flag or an action.  Usage is
//! stored as the deltas the collector publishes plus a full keyframe every
//! [`KEYFRAME_NS`].
use foldhash::HashMap;

use perch_proto::v1::{
    self as pb, Connection as PbConnection, EncodedEvent, ListeningSocket, Process, ProcessSample,
    ProcessSamples, event::Kind,
};
use prost::Message as _;
use rusqlite::{Connection, OptionalExtension as _, Transaction, params};

use super::{
    HistoryError, batch,
    head::{self, Head, Step},
    schema::kept_in_rows,
    sql, unsql,
    versions::{Opened, close_net, end_net, insert_process, open_net, update_net},
};
use crate::hub::event_kind;

/// A full usage keyframe this often: the state at T then needs at most
/// this much of deltas after the keyframe before it.
pub const KEYFRAME_NS: u64 = 30 * perch_proto::NS_PER_SEC;

/// The writer's connection and what it carries between batches.
pub struct Writer {
    conn: Connection,
    /// Event times are `CLOCK_BOOTTIME`; the store keeps Unix ns.
    boot_unix_ns: u64,
    /// The newest usage of every live process, for keyframes.
    usage: HashMap<u32, ProcessSample>,
    last_keyframe: u64,
    /// Process versions of the batch, and the pids with an open row.
    versions: Opened,
    /// The row of events being filled.
    batch: batch::Batch,
}

impl Writer {
    pub fn new(conn: Connection, boot_unix_ns: u64) -> Self {
        Self {
            conn,
            boot_unix_ns,
            usage: HashMap::default(),
            last_keyframe: 0,
            versions: Opened::default(),
            batch: batch::Batch::default(),
        }
    }

    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// Closes what the previous run left open (its processes, connections
    /// and traces were last known at the store's newest instant), then
    /// opens the versions of what is there now, at `at`.
    pub fn start_run(
        &mut self,
        at: u64,
        processes: &[Process],
        conns: &[PbConnection],
        listening: &[ListeningSocket],
    ) -> Result<(), HistoryError> {
        let tx = self.conn.transaction()?;
        let newest: Option<i64> = tx
            .query_row("SELECT MAX(unix_ns) FROM events", [], |r| r.get(0))
            .optional()?
            .flatten();
        let newest = newest.map(unsql).max(batch::range(&tx)?.1);
        let end = sql(newest.unwrap_or(at));
        for table in ["processes", "net", "traces"] {
            tx.execute(
                &format!("UPDATE {table} SET valid_to = ?1 WHERE valid_to IS NULL"),
                [end],
            )?;
        }
        for p in processes {
            insert_process(&tx, p, at, None, None)?;
        }
        for c in conns {
            open_net(&tx, c.id, false, at, &c.encode_to_vec())?;
        }
        for l in listening {
            open_net(&tx, l.id, true, at, &l.encode_to_vec())?;
        }
        tx.commit()?;
        self.versions
            .start_run(processes.iter().filter_map(|p| p.key.map(|k| k.pid)));
        self.usage = processes
            .iter()
            .filter_map(|p| {
                let key = p.key?;
                Some((
                    key.pid,
                    ProcessSample {
                        key: Some(key),
                        usage: p.usage,
                        threads: p.threads,
                        state: p.state.clone(),
                        frozen: p.frozen,
                        nice: Some(p.nice),
                    },
                ))
            })
            .collect();
        self.last_keyframe = 0;
        Ok(())
    }

    /// Writes `events` in one transaction; returns the newest event time
    /// written (Unix ns), `None` when nothing was.
    pub fn write(
        &mut self,
        events: &[EncodedEvent],
        now: u64,
    ) -> Result<Option<u64>, HistoryError> {
        let boot = self.boot_unix_ns;
        let usage = &mut self.usage;
        let opened = &mut self.versions;
        let tx = self.conn.transaction()?;
        let mut newest = None;
        let stored = &mut self.batch;
        for encoded in events {
            if stored.full() {
                // A row ends here: versions still open are written open,
                // as at the batch's end (the rule the reader applies).
                stored.write(&tx)?;
                opened.flush(&tx)?;
            }
            // Process events (most of a storm) by their head alone.
            let (time_ns, step) = match head::read(&encoded.body)? {
                Head::Skip => continue,
                Head::Process { time_ns, step } => (time_ns, step),
                Head::Other => {
                    let e = encoded.decode()?;
                    let t = unix(boot, e.time_ns, now);
                    store_other(&tx, stored, encoded, &e, t)?;
                    if let Some(kind) = e.kind {
                        newest = Some(newest.map_or(t, |n: u64| n.max(t)));
                        apply(&tx, usage, kind, t)?;
                    }
                    continue;
                }
            };
            let t = unix(boot, time_ns, now);
            newest = Some(newest.map_or(t, |n: u64| n.max(t)));
            stored.push(encoded, t);
            match step {
                Step::Open(pid) => opened.open(&tx, pid, encoded, t)?,
                Step::Exit(pid) => {
                    usage.remove(&pid);
                    let exit = || {
                        Ok(match encoded.decode()?.kind {
                            Some(Kind::Exit(x)) => x.exit,
                            _ => None,
                        })
                    };
                    opened.exit(&tx, pid, exit, t)?;
                }
            }
        }
        stored.write(&tx)?;
        opened.flush(&tx)?;
        if let Some(t) = newest
            && t.saturating_sub(self.last_keyframe) >= KEYFRAME_NS
            && !usage.is_empty()
        {
            let frame = ProcessSamples {
                samples: usage.values().cloned().collect(),
                interval_ns: 0,
            };
            tx.execute(
                "INSERT INTO keyframes (unix_ns, blob) VALUES (?1, ?2)",
                params![sql(t), frame.encode_to_vec()],
            )?;
            self.last_keyframe = t;
        }
        tx.commit()?;
        Ok(newest)
    }
}

/// Unix ns of a BOOTTIME event time (`now` when the event has none).
fn unix(boot_unix_ns: u64, boot_ns: u64, now: u64) -> u64 {
    if boot_ns == 0 {
        now
    } else {
        boot_unix_ns.saturating_add(boot_ns)
    }
}

/// A non-process event: an `events` row for the kinds the state queries
/// look up by kind, the batch's blob for the rest.
fn store_other(
    tx: &Transaction<'_>,
    stored: &mut batch::Batch,
    encoded: &EncodedEvent,
    e: &pb::Event,
    t: u64,
) -> Result<(), HistoryError> {
    let Some(k) = event_kind(e).map(i32::from) else {
        // Nothing to keep (no kind, or a notice).
        return Ok(());
    };
    if !kept_in_rows(k) {
        stored.push(encoded, t);
        return Ok(());
    }
    tx.prepare_cached(
        "INSERT INTO events (unix_ns, seq, kind, pid, blob) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        sql(t),
        sql(e.seq),
        k,
        e.kind.as_ref().map_or(0, event_pid),
        // As sent, without its seq (a column of its own).
        encoded.body.as_ref()
    ])?;
    Ok(())
}

/// The tables besides the events that a non-process event changes (and
/// the usage kept for keyframes).
fn apply(
    tx: &Transaction<'_>,
    usage: &mut HashMap<u32, ProcessSample>,
    kind: Kind,
    t: u64,
) -> Result<(), HistoryError> {
    match kind {
        Kind::ProcessSamples(s) => {
            for sample in s.samples {
                if let Some(key) = sample.key {
                    usage.insert(key.pid, sample);
                }
            }
        }
        Kind::Action(a) => {
            tx.prepare_cached("INSERT INTO actions (unix_ns, blob) VALUES (?1, ?2)")?
                .execute(params![sql(t), a.encode_to_vec()])?;
        }
        Kind::Connect(c) | Kind::Accept(c) => {
            if let Some(c) = &c.connection {
                close_net(tx, c.id, false, t, None)?;
                open_net(tx, c.id, false, t, &c.encode_to_vec())?;
            }
        }
        Kind::ConnectionUpdates(u) => {
            for c in &u.connections {
                // Counters change every sample: the open version is
                // updated in place rather than versioned, to stay small.
                let blob = c.encode_to_vec();
                if update_net(tx, c.id, false, &blob)? == 0 {
                    open_net(tx, c.id, false, t, &blob)?;
                }
                if c.end_time_ns != 0 {
                    close_net(tx, c.id, false, t, None)?;
                }
            }
        }
        Kind::Listen(l) => {
            if let Some(s) = &l.socket {
                close_net(tx, s.id, true, t, None)?;
                open_net(tx, s.id, true, t, &s.encode_to_vec())?;
            }
        }
        Kind::Close(c) => {
            if let Some(conn) = &c.connection {
                end_net(tx, conn.id, false, t, &conn.encode_to_vec())?;
            }
            if let Some(l) = &c.listening {
                end_net(tx, l.id, true, t, &l.encode_to_vec())?;
            }
        }
        Kind::Flag(f) => {
            if let Some(flag) = &f.flag {
                tx.prepare_cached("INSERT INTO flags (unix_ns, id, blob) VALUES (?1, ?2, ?3)")?
                    .execute(params![sql(t), flag.id, flag.encode_to_vec()])?;
            }
        }
        Kind::Trace(u) => {
            if let Some(trace) = &u.trace {
                tx.prepare_cached(
                    "UPDATE traces SET valid_to = ?1 WHERE id = ?2 AND valid_to IS NULL",
                )?
                .execute(params![sql(t), trace.id])?;
                tx.prepare_cached("INSERT INTO traces (id, valid_from, blob) VALUES (?1, ?2, ?3)")?
                    .execute(params![trace.id, sql(t), trace.encode_to_vec()])?;
            }
        }
        // Kept in `events` alone (deviations: ListHistory finds them).
        Kind::HostSample(_)
        | Kind::Security(_)
        | Kind::Notice(_)
        | Kind::ThreadSamples(_)
        | Kind::Deviation(_)
        // Filed by their head, in `write`.
        | Kind::Exec(_)
        | Kind::Update(_)
        | Kind::Fork(_)
        | Kind::Exit(_) => {}
    }
    Ok(())
}

impl Writer {
    /// The oldest and newest stored event times.
    pub fn range(&self) -> Result<(u64, u64), HistoryError> {
        let (a, b): (Option<i64>, Option<i64>) =
            self.conn
                .query_row("SELECT MIN(unix_ns), MAX(unix_ns) FROM events", [], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })?;
        let (first, last) = batch::range(&self.conn)?;
        let oldest = match (a.map(unsql), first) {
            (Some(a), Some(f)) => a.min(f),
            (a, f) => a.or(f).unwrap_or(0),
        };
        Ok((oldest, b.map(unsql).max(last).unwrap_or(0)))
    }
}

/// The pid an event is about (0 for host-wide ones), for `ListHistory`'s
/// pid filter.
pub fn event_pid(kind: &Kind) -> u32 {
    let key = match kind {
        Kind::Exec(x) => x.process.as_ref().and_then(|p| p.key),
        Kind::Update(x) => x.process.as_ref().and_then(|p| p.key),
        Kind::Fork(x) => x.child.as_ref().and_then(|p| p.key),
        Kind::Exit(x) => x.key,
        Kind::Connect(c) | Kind::Accept(c) => c.connection.as_ref().and_then(|c| c.process),
        Kind::Listen(l) => l.socket.as_ref().and_then(|s| s.process),
        Kind::Close(c) => c
            .connection
            .as_ref()
            .and_then(|c| c.process)
            .or_else(|| c.listening.as_ref().and_then(|l| l.process)),
        Kind::Security(s) => s.key,
        Kind::Flag(f) => f.flag.as_ref().and_then(|f| f.process),
        Kind::Deviation(d) => d.deviation.as_ref().and_then(|d| d.process),
        _ => None,
    };
    key.map_or(0, |k| k.pid)
}
