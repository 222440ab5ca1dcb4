//! The /proc polling fallback, used when eBPF cannot be loaded: each poll
//! compares the live pids with the previous poll's and turns differences
//! into exec and exit events.  Short-lived processes that start and end
//! between two polls are missed, and an exec without fork (same pid, same
//! start time) is not seen; the console says so by showing the mode.
use std::collections::HashMap;

use super::reader::ProcReader;
use super::stat::StatFields;
use crate::clock::ticks_to_ns;
use crate::model::{ExitInfo, ModelEvent, ProcKey, ProcessInfo, Source};

/// A process seen on the previous poll.
#[derive(Debug)]
struct Known {
    key: ProcKey,
    /// Wait status read while it was a zombie.
    zombie_status: Option<i32>,
    /// Exit already reported (it was a zombie).
    exited: bool,
    /// Generation of the last poll that listed it.
    seen: u64,
}

#[derive(Debug)]
pub struct Poller {
    reader: ProcReader,
    known: HashMap<u32, Known>,
    generation: u64,
}

impl Poller {
    #[must_use]
    pub fn new(reader: ProcReader) -> Self {
        Self {
            reader,
            known: HashMap::new(),
            generation: 0,
        }
    }

    pub fn reader_mut(&mut self) -> &mut ProcReader {
        &mut self.reader
    }

    /// Initial scan: every process now running, as `Source::Seeded`.
    /// Later polls report changes relative to this set.
    pub fn prime(&mut self) -> Vec<ProcessInfo> {
        let procs = self.reader.scan(Source::Seeded);
        self.known.clear();
        for p in &procs {
            let known = Known {
                key: p.key,
                zombie_status: None,
                exited: false,
                seen: self.generation,
            };
            self.known.insert(p.key.pid, known);
        }
        procs
    }

    /// Events since the previous poll (or `prime`).  New processes give
    /// `Exec` (timed at their start, the best bound /proc offers); a pid
    /// whose start time changed gives the old one's `Exit`, then the new
    /// one's `Exec`; a process that became a zombie or vanished gives one
    /// `Exit` at `now_boot_ns`, with its wait status if it was seen as a
    /// zombie.
    pub fn poll(&mut self, now_boot_ns: u64) -> Vec<ModelEvent> {
        let pids = match self.reader.pids() {
            Ok(pids) => pids,
            Err(e) => {
                tracing::warn!(error = %e, "cannot list processes");
                return Vec::new();
            }
        };
        self.generation = self.generation.wrapping_add(1);
        let mut events = Vec::new();
        for pid in pids {
            // Unreadable now: it exited between listing and reading; if we
            // knew it, it is reported as vanished below.
            let Ok(st) = self.reader.stat(pid) else {
                continue;
            };
            let key = ProcKey {
                pid,
                start_ns: ticks_to_ns(st.starttime),
            };
            match self.known.get_mut(&pid) {
                Some(k) if k.key.same_as(&key) => {
                    k.seen = self.generation;
                    if !k.exited && st.is_exited_zombie() {
                        k.exited = true;
                        k.zombie_status = st.exit_code;
                        events.push(exit_event(k.key, k.zombie_status, now_boot_ns));
                    }
                }
                Some(k) => {
                    // pid reused since the last poll.
                    if !k.exited {
                        events.push(exit_event(k.key, k.zombie_status, now_boot_ns));
                    }
                    self.known.remove(&pid);
                    self.add(pid, &st, now_boot_ns, &mut events);
                }
                None => self.add(pid, &st, now_boot_ns, &mut events),
            }
        }
        let generation = self.generation;
        self.known.retain(|_, k| {
            if k.seen != generation && !k.exited {
                events.push(exit_event(k.key, k.zombie_status, now_boot_ns));
            }
            k.seen == generation
        });
        events
    }

    /// A pid not seen before: `Exec`, and at once `Exit` if it is already a
    /// zombie.  If it cannot be read it is tried again next poll.
    fn add(&mut self, pid: u32, st: &StatFields, now: u64, events: &mut Vec<ModelEvent>) {
        let process = match self.reader.read_process(pid, Source::Procfs) {
            Ok(p) => p,
            Err(e) if e.is_gone() => return,
            Err(e) => {
                tracing::debug!(pid, error = %e, "cannot read new process");
                return;
            }
        };
        let key = process.key;
        // `st` was read just before; a different start means the pid was
        // reused in between and `st` says nothing about this process.
        let exited = st.is_exited_zombie()
            && key.same_as(&ProcKey {
                pid,
                start_ns: ticks_to_ns(st.starttime),
            });
        let zombie_status = if exited { st.exit_code } else { None };
        events.push(ModelEvent::Exec {
            time_ns: key.start_ns,
            process,
            old_pid: 0,
        });
        if exited {
            events.push(exit_event(key, zombie_status, now));
        }
        self.known.insert(
            pid,
            Known {
                key,
                zombie_status,
                exited,
                seen: self.generation,
            },
        );
    }
}

fn exit_event(key: ProcKey, status: Option<i32>, time_ns: u64) -> ModelEvent {
    let exit = status.map_or(
        ExitInfo {
            time_ns,
            ..ExitInfo::default()
        },
        |s| ExitInfo::from_wait_status(time_ns, s),
    );
    ModelEvent::Exit { time_ns, key, exit }
}

#[cfg(test)]
#[path = "poll_tests.rs"]
mod tests;
