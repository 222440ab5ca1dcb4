//! Healing the model after the kernel lost events: a fresh /proc scan is
//! compared with the live processes, and the differences become ordinary
//! model events, so every client sees the fix-up in its stream.
use std::collections::HashMap;

use super::{ExitInfo, ModelEvent, ProcessInfo, ProcessModel};

/// One process as the heal scan read it.
#[derive(Debug)]
pub struct Scanned {
    pub process: ProcessInfo,
    /// Its raw wait status when it had already exited (a zombie).
    pub zombie_status: Option<i32>,
}

impl ProcessModel {
    /// Events that bring the model in line with `scan` (read from /proc
    /// after a loss), timed `now_ns`: exits for live processes that are
    /// gone, execs for processes the model does not know and for ones that
    /// exec'd unseen, renames for names that changed, and exits for those
    /// that have become zombies.  The caller applies them.
    #[must_use]
    pub fn reconcile(&self, scan: &[Scanned], now_ns: u64) -> Vec<ModelEvent> {
        let mut events = Vec::new();
        let by_pid: HashMap<u32, &Scanned> = scan.iter().map(|s| (s.process.key.pid, s)).collect();
        for p in self.live() {
            let still_there = by_pid
                .get(&p.key.pid)
                .is_some_and(|s| s.process.key.same_as(&p.key));
            if !still_there {
                events.push(exit(p, None, now_ns));
            }
        }
        for s in scan {
            let seen = &s.process;
            match self.get_key(&seen.key) {
                None if self.exited().any(|e| e.key.same_as(&seen.key)) => {}
                None => {
                    events.push(ModelEvent::Exec {
                        time_ns: now_ns,
                        process: seen.clone(),
                        old_pid: 0,
                    });
                    if s.zombie_status.is_some() {
                        events.push(exit(seen, s.zombie_status, now_ns));
                    }
                }
                Some(known) => {
                    if execd(known, seen) {
                        events.push(ModelEvent::Exec {
                            time_ns: now_ns,
                            process: seen.clone(),
                            old_pid: 0,
                        });
                    } else if known.comm != seen.comm && !seen.comm.is_empty() {
                        events.push(ModelEvent::Rename {
                            time_ns: now_ns,
                            key: known.key,
                            comm: seen.comm.clone(),
                        });
                    }
                    if s.zombie_status.is_some() {
                        events.push(exit(known, s.zombie_status, now_ns));
                    }
                }
            }
        }
        events
    }
}

/// Did the process exec since the model last heard of it?  Its mapped file
/// changed (both known), or its argv did (only an exec replaces argv as
/// /proc shows it, short of the process rewriting its own memory).
fn execd(known: &ProcessInfo, seen: &ProcessInfo) -> bool {
    let file = |p: &ProcessInfo| {
        p.facts
            .as_deref()
            .filter(|f| !f.exe.path.is_empty())
            .map(|f| (f.exe.ino, f.exe.dev_major, f.exe.dev_minor))
    };
    match (file(known), file(seen)) {
        (Some(a), Some(b)) if a != b => true,
        _ => !seen.argv.is_empty() && known.argv != seen.argv,
    }
}

fn exit(p: &ProcessInfo, status: Option<i32>, now_ns: u64) -> ModelEvent {
    ModelEvent::Exit {
        time_ns: now_ns,
        key: p.key,
        exit: status.map_or(
            ExitInfo {
                time_ns: now_ns,
                ..ExitInfo::default()
            },
            |s| ExitInfo::from_wait_status(now_ns, s),
        ),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::model::{ExecFacts, ProcKey};

    fn proc(pid: u32, start_ns: u64, argv: &[&str]) -> ProcessInfo {
        ProcessInfo {
            key: ProcKey { pid, start_ns },
            ppid: 1,
            comm: "c".into(),
            argv: argv.iter().map(|&a| a.to_owned()).collect(),
            ..ProcessInfo::default()
        }
    }

    fn scanned(p: ProcessInfo, zombie_status: Option<i32>) -> Scanned {
        Scanned {
            process: p,
            zombie_status,
        }
    }

    #[test]
    fn differences_become_exits_execs_and_renames() {
        let mut m = ProcessModel::new(1_000_000_000);
        let s = 1_000_000_000;
        m.seed([
            proc(10, s, &["gone"]),
            proc(11, s, &["same"]),
            proc(12, s, &["old"]),
            proc(13, s, &["named"]),
            proc(14, s, &["reused"]),
            proc(15, s, &["zombie"]),
        ]);
        let mut new_name = proc(13, s, &["named"]);
        new_name.comm = "new-name".into();
        let mut facts = ExecFacts::default();
        facts.exe.path = "/bin/x".into();
        let mut new = proc(16, 2 * s, &["new"]);
        new.facts = Some(Arc::new(facts));
        let scan = vec![
            scanned(proc(11, s, &["same"]), None),
            scanned(proc(12, s, &["exec'd"]), None),
            scanned(new_name, None),
            scanned(proc(14, 3 * s, &["reused"]), None),
            scanned(proc(15, s, &["zombie"]), Some(2 << 8)),
            scanned(new, None),
        ];
        let events = m.reconcile(&scan, 5);
        let mut exits: Vec<(u32, Option<i32>)> = Vec::new();
        let mut execs = Vec::new();
        let mut renames = Vec::new();
        for e in &events {
            match e {
                ModelEvent::Exit { key, exit, .. } => exits.push((key.pid, exit.code)),
                ModelEvent::Exec { process, .. } => {
                    execs.push((process.key.pid, process.key.start_ns));
                }
                ModelEvent::Rename { key, comm, .. } => renames.push((key.pid, comm.clone())),
                other => panic!("unexpected {other:?}"),
            }
        }
        exits.sort_unstable();
        execs.sort_unstable();
        assert_eq!(exits, [(10, None), (14, None), (15, Some(2))]);
        assert_eq!(execs, [(12, s), (14, 3 * s), (16, 2 * s)]);
        assert_eq!(renames, [(13, "new-name".to_owned())]);
        for e in events {
            m.apply(e);
        }
        assert_eq!(
            m.get(16).map(|p| p.argv.to_vec()),
            Some(vec!["new".to_owned()])
        );
        assert!(m.get(10).is_none());
        assert_eq!(m.get(14).map(|p| p.key.start_ns), Some(3 * s));
    }
}
