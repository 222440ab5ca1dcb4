//! Versioned rows: a process, connection or listening socket is stored as
//! versions valid from one instant to the next (`valid_to` NULL: still
//! so).  The writer opens and closes them as events arrive; process
//! versions opened and closed within one batch are kept as that batch's
//! events only.
use foldhash::{HashMap, HashSet};

use perch_proto::v1::{self as pb, EncodedEvent, Process, event::Kind};
use prost::Message as _;
use rusqlite::{OptionalExtension as _, Transaction, params};

use super::{HistoryError, sql};

fn pid_of(p: &Process) -> u32 {
    p.key.map_or(0, |k| k.pid)
}

/// A process version valid from `from` (to `to`, exited at `exit`, when
/// known already).
pub fn insert_process(
    tx: &Transaction<'_>,
    p: &Process,
    from: u64,
    to: Option<u64>,
    exit: Option<u64>,
) -> Result<(), HistoryError> {
    tx.prepare_cached(
        "INSERT INTO processes (pid, valid_from, valid_to, exit_ns, blob) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        pid_of(p),
        sql(from),
        to.map(sql),
        exit.map(sql),
        p.encode_to_vec()
    ])?;
    Ok(())
}

/// Process versions opened in this batch and not written yet, each as the
/// event that opened it (still encoded).  A version closed in the same
/// batch (by the next exec or the exit: a short-lived process's fork, exec
/// and exit usually come in one batch) is not written at all: the batch's
/// events hold it, and the state query rebuilds it from them
/// ([`super::batch`]).  The rest are written open when the batch ends, the
/// only ones whose `Process` is decoded.
///
/// It also knows which pids have an open row, so a new pid (a fork: most
/// process events) costs no lookup in the table.
#[derive(Default)]
pub struct Opened {
    batch: HashMap<u32, Version>,
    rows: HashSet<u32>,
}

struct Version {
    event: EncodedEvent,
    from: u64,
}

impl Opened {
    /// A run starts with open rows for `pids` (and nothing else open).
    pub fn start_run(&mut self, pids: impl IntoIterator<Item = u32>) {
        self.batch.clear();
        self.rows = pids.into_iter().collect();
    }

    /// `pid`'s new version from `t` (opened by `event`), closing its
    /// previous one.
    pub fn open(
        &mut self,
        tx: &Transaction<'_>,
        pid: u32,
        event: &EncodedEvent,
        t: u64,
    ) -> Result<(), HistoryError> {
        let version = Version {
            event: event.clone(),
            from: t,
        };
        if self.batch.insert(pid, version).is_none() && self.rows.remove(&pid) {
            close_process(tx, pid, t)?;
        }
        Ok(())
    }

    /// `pid` exited at `t`: its open version ends with the exit.  One of
    /// this batch is simply forgotten (the events hold it); an open row
    /// is closed with the exit.
    pub fn exit(
        &mut self,
        tx: &Transaction<'_>,
        pid: u32,
        exit: impl FnOnce() -> Result<Option<pb::Exit>, HistoryError>,
        t: u64,
    ) -> Result<(), HistoryError> {
        if self.batch.remove(&pid).is_some() || !self.rows.remove(&pid) {
            return Ok(());
        }
        let open: Option<(i64, Vec<u8>)> = tx
            .prepare_cached(
                "SELECT rowid, blob FROM processes WHERE pid = ?1 AND valid_to IS NULL",
            )?
            .query_row([pid], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        if let Some((rowid, blob)) = open {
            let mut p = Process::decode(blob.as_slice())?;
            p.exit = exit()?;
            tx.prepare_cached(
                "UPDATE processes SET valid_to = ?1, exit_ns = ?1, blob = ?2 WHERE rowid = ?3",
            )?
            .execute(params![sql(t), p.encode_to_vec(), rowid])?;
        }
        Ok(())
    }

    /// Writes the versions still open at the batch's end, in the order
    /// they were opened: rows stay in time (and mostly pid) order, so a
    /// state query reading the open versions by pid walks the table's
    /// pages in order rather than at random.
    pub fn flush(&mut self, tx: &Transaction<'_>) -> Result<(), HistoryError> {
        let mut open: Vec<(u32, Version)> = self.batch.drain().collect();
        open.sort_by_key(|(_, v)| (v.from, v.event.seq));
        for (pid, v) in open {
            if let Some(p) = opened_process(v.event.decode()?) {
                insert_process(tx, &p, v.from, None, None)?;
                self.rows.insert(pid);
            }
        }
        Ok(())
    }
}

/// The process an exec, fork or update opens a version of.
pub fn opened_process(e: pb::Event) -> Option<Process> {
    match e.kind? {
        Kind::Exec(x) => x.process,
        Kind::Fork(f) => f.child,
        Kind::Update(u) => u.process,
        _ => None,
    }
}

fn close_process(tx: &Transaction<'_>, pid: u32, t: u64) -> Result<(), HistoryError> {
    tx.prepare_cached("UPDATE processes SET valid_to = ?1 WHERE pid = ?2 AND valid_to IS NULL")?
        .execute(params![sql(t), pid])?;
    Ok(())
}

/// A version of a connection or listening socket from `from` (to `to`,
/// when already over).
fn insert_net(
    tx: &Transaction<'_>,
    (id, listening): (u64, bool),
    from: u64,
    to: Option<u64>,
    blob: &[u8],
) -> Result<(), HistoryError> {
    tx.prepare_cached(
        "INSERT INTO net (id, listening, valid_from, valid_to, blob) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![sql(id), listening, sql(from), to.map(sql), blob])?;
    Ok(())
}

pub fn open_net(
    tx: &Transaction<'_>,
    id: u64,
    listening: bool,
    t: u64,
    blob: &[u8],
) -> Result<(), HistoryError> {
    insert_net(tx, (id, listening), t, None, blob)
}

pub fn update_net(
    tx: &Transaction<'_>,
    id: u64,
    listening: bool,
    blob: &[u8],
) -> Result<usize, HistoryError> {
    Ok(tx
        .prepare_cached(
            "UPDATE net SET blob = ?1 WHERE id = ?2 AND listening = ?3 AND valid_to IS NULL",
        )?
        .execute(params![blob, sql(id), listening])?)
}

pub fn close_net(
    tx: &Transaction<'_>,
    id: u64,
    listening: bool,
    t: u64,
    blob: Option<&[u8]>,
) -> Result<usize, HistoryError> {
    Ok(match blob {
        Some(b) => tx
            .prepare_cached(
                "UPDATE net SET valid_to = ?1, blob = ?2 WHERE id = ?3 AND listening = ?4 AND valid_to IS NULL",
            )?
            .execute(params![sql(t), b, sql(id), listening])?,
        None => tx
            .prepare_cached(
                "UPDATE net SET valid_to = ?1 WHERE id = ?2 AND listening = ?3 AND valid_to IS NULL",
            )?
            .execute(params![sql(t), sql(id), listening])?,
    })
}

/// A close: ends the open version with the final figures, or (a
/// connection announced only by its close) stores it as opened and closed
/// at `t`.
pub fn end_net(
    tx: &Transaction<'_>,
    id: u64,
    listening: bool,
    t: u64,
    blob: &[u8],
) -> Result<(), HistoryError> {
    if close_net(tx, id, listening, t, Some(blob))? == 0 {
        insert_net(tx, (id, listening), t, Some(t), blob)?;
    }
    Ok(())
}
