//! Threads of multi-threaded processes, as the collector samples them while
//! this console shows thread rows (htop's `H`).  Each sample lists every
//! multi-threaded process of its host, so it replaces that host's threads
//! whole: a thread missing from it has exited.
use std::collections::HashMap;

use perch_proto::v1 as pb;

use super::model::{FxBuild, HostId, ProcessKey};
use perch_client::clean;

/// One thread (not the leader: that is the process's own row).
#[derive(Clone, Debug, PartialEq)]
pub struct Thread {
    pub tid: u32,
    /// Its own name (`pthread_setname_np`), escaped.
    pub comm: String,
    pub state: u8,
    pub cpu_percent: f64,
    pub cpu_time_ns: u64,
    pub nice: i32,
    pub priority: i32,
}

#[derive(Debug, Default)]
pub struct Threads {
    by_process: HashMap<ProcessKey, Vec<Thread>, FxBuild>,
}

impl Threads {
    /// A host's new sample: its threads are these now.
    pub fn apply(&mut self, host: HostId, sample: &pb::ThreadSamples) {
        self.by_process.retain(|k, _| k.host != host);
        for p in &sample.processes {
            let Some(k) = &p.key else { continue };
            let mut threads: Vec<Thread> = p
                .threads
                .iter()
                .map(|t| Thread {
                    tid: t.tid,
                    comm: clean(&t.comm).into_owned(),
                    state: t.state.bytes().next().unwrap_or(0),
                    cpu_percent: t.cpu_percent,
                    cpu_time_ns: t.cpu_time_ns,
                    nice: t.nice,
                    priority: t.priority,
                })
                .collect();
            threads.sort_unstable_by_key(|t| t.tid);
            self.by_process
                .insert(ProcessKey::new(host, k.pid, k.start_time_ns), threads);
        }
    }

    /// Forgets every thread (thread rows were turned off, or a host's
    /// stream restarted without them).
    pub fn clear(&mut self) {
        self.by_process = HashMap::default();
    }

    /// The threads of `key`, by tid; empty when none are known.
    #[must_use]
    pub fn of(&self, key: &ProcessKey) -> &[Thread] {
        self.by_process.get(key).map_or(&[], Vec::as_slice)
    }

    #[must_use]
    pub fn get(&self, key: &ProcessKey, tid: u32) -> Option<&Thread> {
        let threads = self.of(key);
        threads
            .binary_search_by_key(&tid, |t| t.tid)
            .ok()
            .and_then(|i| threads.get(i))
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.by_process.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(pid: u32, tids: &[u32]) -> pb::ThreadSamples {
        pb::ThreadSamples {
            processes: vec![pb::ProcessThreads {
                key: Some(pb::ProcessKey {
                    pid,
                    start_time_ns: 0,
                }),
                threads: tids
                    .iter()
                    .map(|&tid| pb::ThreadSample {
                        tid,
                        comm: format!("w\x1b{tid}"),
                        state: "S".into(),
                        ..Default::default()
                    })
                    .collect(),
            }],
            interval_ns: 1,
        }
    }

    #[test]
    fn a_sample_replaces_its_hosts_threads_only() {
        let mut t = Threads::default();
        let (a, b) = (HostId(0), HostId(1));
        t.apply(a, &sample(10, &[12, 11]));
        t.apply(b, &sample(20, &[21]));
        let k10 = ProcessKey::new(a, 10, 0);
        assert_eq!(
            t.of(&k10).iter().map(|x| x.tid).collect::<Vec<_>>(),
            [11, 12]
        );
        assert_eq!(t.get(&k10, 12).map(|x| x.comm.as_str()), Some("w\\u{1b}12"));
        assert_eq!(t.get(&k10, 12).map(|x| x.state), Some(b'S'));
        // Host a's next sample no longer has pid 10: its threads are gone,
        // host b's stay.
        t.apply(a, &sample(30, &[31]));
        assert!(t.of(&k10).is_empty());
        assert_eq!(t.of(&ProcessKey::new(b, 20, 0)).len(), 1);
        t.clear();
        assert!(t.is_empty());
    }
}
