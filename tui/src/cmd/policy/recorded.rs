//! What ran in a window of perchd's history, as `perch policy test` and
//! `perch policy learn` read it: the processes alive at its start, then
//! every exec, fork, connection and listening socket in it, oldest first,
//! each process's latest version kept so a chain can be walked as it stood.
use std::{collections::HashMap, time::Duration};

use perch_client::Target;
use perch_proto::v1::{Connection, EventKind, ListeningSocket, Process, ProcessKey, event::Kind};

use crate::cmd::history::{instant, stored_events};

/// One thing that happened, in order.
pub enum Step {
    /// The process as it stood after the exec.
    Exec(Box<Process>),
    Connect(Connection),
    Accept(Connection),
    Listen(ListeningSocket),
}

/// The processes seen (latest version of each) and the steps.
#[derive(Default)]
pub struct Recorded {
    pub host: String,
    by_pid: HashMap<u32, Vec<Process>>,
    pub steps: Vec<Step>,
    /// Connections and listening sockets open at the window's end.
    pub connections: Vec<Connection>,
    pub listening: Vec<ListeningSocket>,
}

fn key_of(p: &Process) -> ProcessKey {
    p.key.unwrap_or_default()
}

impl Recorded {
    /// Keeps `p` as the latest version of its process.
    pub fn put(&mut self, p: Process) {
        let k = key_of(&p);
        let versions = self.by_pid.entry(k.pid).or_default();
        match versions
            .iter_mut()
            .find(|q| perch_proto::same_start_time(key_of(q).start_time_ns, k.start_time_ns))
        {
            Some(q) => *q = p,
            None => versions.push(p),
        }
    }

    #[must_use]
    pub fn get(&self, k: &ProcessKey) -> Option<&Process> {
        self.by_pid
            .get(&k.pid)?
            .iter()
            .find(|q| perch_proto::same_start_time(key_of(q).start_time_ns, k.start_time_ns))
    }

    /// `p`'s ancestors, nearest first, as far as the record knows them.
    #[must_use]
    pub fn ancestors<'a>(&'a self, p: &Process) -> Vec<&'a Process> {
        let mut out: Vec<&Process> = Vec::new();
        let (mut ppid, mut start) = (p.ppid, p.parent_start_time_ns);
        while ppid != 0 && out.len() < 64 {
            let Some(q) = self.get(&ProcessKey {
                pid: ppid,
                start_time_ns: start,
            }) else {
                break;
            };
            out.push(q);
            (ppid, start) = (q.ppid, q.parent_start_time_ns);
        }
        out
    }

    /// Every process seen.
    pub fn processes(&self) -> impl Iterator<Item = &Process> {
        self.by_pid.values().flatten()
    }

    /// Reads `[from, to)` (`to`: now when `None`) from the collector.
    pub async fn read(
        target: &Target,
        timeout: Duration,
        from: &str,
        to: Option<&str>,
    ) -> anyhow::Result<Self> {
        use perch::travel::TimeSource as _;
        let source = perch::live::GrpcHistory::new(target.clone(), timeout);
        // A window reaching back before the store starts reads what it
        // holds (a policy is learned from what was recorded).
        let (oldest, _) = source
            .range()
            .await
            .map_err(|e| crate::cmd::history::source_error(from, e))?;
        let from_ns = instant(from)?.max(oldest);
        let start = source
            .state_at(from_ns)
            .await
            .map_err(|e| crate::cmd::history::source_error(from, e))?;
        let from_owned = format!("@{}", from_ns / 1_000_000_000);
        let from = from_owned.as_str();
        let rec_newest = start.newest_unix_ns;
        let mut rec = Self {
            host: start.host_name.clone(),
            ..Self::default()
        };
        for p in start.processes {
            rec.put(p);
        }
        let kinds = [
            EventKind::Exec,
            EventKind::Fork,
            EventKind::Connect,
            EventKind::Accept,
            EventKind::Listen,
        ];
        let stored = stored_events(target, timeout, (from, to), &kinds, &[]).await?;
        for s in stored {
            let Some(kind) = s.event.and_then(|e| e.kind) else {
                continue;
            };
            match kind {
                Kind::Exec(e) => {
                    if let Some(p) = e.process {
                        rec.put(p.clone());
                        rec.steps.push(Step::Exec(Box::new(p)));
                    }
                }
                Kind::Fork(f) => {
                    if let Some(p) = f.child {
                        rec.put(p);
                    }
                }
                Kind::Connect(c) => rec.steps.extend(c.connection.map(Step::Connect)),
                Kind::Accept(c) => rec.steps.extend(c.connection.map(Step::Accept)),
                Kind::Listen(l) => rec.steps.extend(l.socket.map(Step::Listen)),
                _ => {}
            }
        }
        let end = match to {
            Some(t) => source
                .state_at(instant(t)?)
                .await
                .map_err(|e| crate::cmd::history::source_error(t, e))?,
            None => source
                .state_at(rec_newest)
                .await
                .map_err(|e| crate::cmd::history::source_error("now", e))?,
        };
        for p in end.processes {
            if rec.get(&key_of(&p)).is_none() {
                rec.put(p);
            }
        }
        rec.connections = end.connections;
        rec.listening = end.listening;
        Ok(rec)
    }
}
