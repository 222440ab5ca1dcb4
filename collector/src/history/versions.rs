//! Versioned rows: a process, connection or listening socket is stored as
//! versions valid from one instant to the next (`valid_to` NULL: still
//! so).  The writer opens and closes them as events arrive; process
//! versions opened and closed within one batch are written once, closed.
use std::collections::HashMap;

use perch_proto::v1::{self as pb, Process};
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

/// Process versions opened in this batch and not written yet.  A version
/// closed in the same batch (by the next exec or the exit: a short-lived
/// process's fork, exec and exit usually come in one batch) is written
/// once, closed, with no UPDATE and no passage through the open-version
/// index; the rest are written open when the batch ends.
#[derive(Default)]
pub struct Opened(HashMap<u32, Version>);

struct Version {
    process: Process,
    from: u64,
}

impl Version {
    fn write(
        &self,
        tx: &Transaction<'_>,
        to: Option<u64>,
        exit: Option<u64>,
    ) -> Result<(), HistoryError> {
        insert_process(tx, &self.process, self.from, to, exit)
    }
}

impl Opened {
    /// `p`'s new version from `t`, closing its previous one.
    pub fn open(&mut self, tx: &Transaction<'_>, p: Process, t: u64) -> Result<(), HistoryError> {
        let pid = pid_of(&p);
        match self.0.remove(&pid) {
            Some(prev) => prev.write(tx, Some(t), None)?,
            None => close_process(tx, pid, t)?,
        }
        self.0.insert(
            pid,
            Version {
                process: p,
                from: t,
            },
        );
        Ok(())
    }

    /// `pid` exited at `t`: its open version (of this batch, or an open
    /// row) closed with the exit.
    pub fn exit(
        &mut self,
        tx: &Transaction<'_>,
        pid: u32,
        exit: Option<pb::Exit>,
        t: u64,
    ) -> Result<(), HistoryError> {
        if let Some(mut v) = self.0.remove(&pid) {
            v.process.exit = exit;
            return v.write(tx, Some(t), Some(t));
        }
        let open: Option<(i64, Vec<u8>)> = tx
            .prepare_cached(
                "SELECT rowid, blob FROM processes WHERE pid = ?1 AND valid_to IS NULL",
            )?
            .query_row([pid], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        if let Some((rowid, blob)) = open {
            let mut p = Process::decode(blob.as_slice())?;
            p.exit = exit;
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
    pub fn flush(self, tx: &Transaction<'_>) -> Result<(), HistoryError> {
        let mut open: Vec<Version> = self.0.into_values().collect();
        open.sort_by_key(|v| (v.from, pid_of(&v.process)));
        for v in open {
            v.write(tx, None, None)?;
        }
        Ok(())
    }
}

fn close_process(tx: &Transaction<'_>, pid: u32, t: u64) -> Result<(), HistoryError> {
    tx.prepare_cached("UPDATE processes SET valid_to = ?1 WHERE pid = ?2 AND valid_to IS NULL")?
        .execute(params![sql(t), pid])?;
    Ok(())
}

pub fn open_net(
    tx: &Transaction<'_>,
    id: u64,
    listening: bool,
    t: u64,
    blob: &[u8],
) -> Result<(), HistoryError> {
    tx.prepare_cached("INSERT INTO net (id, listening, valid_from, blob) VALUES (?1, ?2, ?3, ?4)")?
        .execute(params![sql(id), listening, sql(t), blob])?;
    Ok(())
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
        tx.prepare_cached(
            "INSERT INTO net (id, listening, valid_from, valid_to, blob) VALUES (?1, ?2, ?3, ?3, ?4)",
        )?
        .execute(params![sql(id), listening, sql(t), blob])?;
    }
    Ok(())
}
