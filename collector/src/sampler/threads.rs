//! Per-thread sampling for the console's thread rows (htop's `H`): every
//! thread but the leader of each multi-threaded process, from
//! /proc/PID/task/TID/stat, with its CPU over the interval.  Only done
//! while a client asks (`WatchEventsRequest.threads`): a busy JVM has
//! hundreds of threads, and each costs a directory entry and a file read.
use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::Instant;

use perch_proto::v1 as pb;

use crate::clock::ticks_to_ns;
use crate::model::ProcKey;
use crate::proc::stat::{parse_stat, read_into};

/// What the previous sample of one thread saw.
#[derive(Debug)]
struct Prev {
    at: Instant,
    cpu_ticks: u64,
    /// The `generation` of the last `sample` call that saw this thread.
    seen: u64,
}

#[derive(Debug)]
pub struct ThreadSampler {
    root: String,
    path: String,
    buf: Vec<u8>,
    /// By (pid, tid, thread start tick): a reused tid is another thread.
    prev: HashMap<(u32, u32, u64), Prev>,
    generation: u64,
}

impl ThreadSampler {
    #[must_use]
    pub fn new(proc_root: impl AsRef<std::path::Path>) -> Self {
        let root = proc_root
            .as_ref()
            .to_string_lossy()
            .trim_end_matches('/')
            .to_owned();
        Self {
            root,
            path: String::new(),
            buf: Vec::with_capacity(512),
            prev: HashMap::new(),
            generation: 0,
        }
    }

    /// Forgets every thread (nobody watches any more): the next watcher's
    /// first sample starts from zero rates, as a process's first one does.
    pub fn forget(&mut self) {
        self.prev = HashMap::new();
    }

    /// The threads of `processes` (the multi-threaded ones; a process gone
    /// or with one thread left is skipped), the leader excluded: its row
    /// is the process itself.  A thread's first sample has 0 % CPU.
    pub fn sample(&mut self, processes: &[ProcKey]) -> Vec<pb::ProcessThreads> {
        self.generation = self.generation.wrapping_add(1);
        let mut out = Vec::new();
        for key in processes {
            let threads = self.sample_process(key);
            if !threads.is_empty() {
                out.push(pb::ProcessThreads {
                    key: Some(crate::convert::key(key)),
                    threads,
                });
            }
        }
        let generation = self.generation;
        self.prev.retain(|_, p| p.seen == generation);
        out
    }

    fn sample_process(&mut self, key: &ProcKey) -> Vec<pb::ThreadSample> {
        self.path.clear();
        let _ = write!(self.path, "{}/{}/task", self.root, key.pid);
        let Ok(dir) = std::fs::read_dir(&self.path) else {
            return Vec::new();
        };
        let mut tids: Vec<u32> = dir
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
            .filter(|&tid| tid != key.pid)
            .collect();
        tids.sort_unstable();
        tids.into_iter()
            .filter_map(|tid| self.sample_thread(key.pid, tid))
            .collect()
    }

    fn sample_thread(&mut self, pid: u32, tid: u32) -> Option<pb::ThreadSample> {
        self.path.clear();
        let _ = write!(self.path, "{}/{pid}/task/{tid}/stat", self.root);
        // A thread that exited since the directory was listed: skip it.
        read_into(&self.path, &mut self.buf).ok()?;
        let (st, comm) = parse_stat(&self.buf)?;
        let at = Instant::now();
        let cpu_ticks = st.utime.saturating_add(st.stime);
        let generation = self.generation;
        let prev = self.prev.entry((pid, tid, st.starttime)).or_insert(Prev {
            at,
            cpu_ticks,
            seen: generation,
        });
        let wall_ns = at.duration_since(prev.at).as_nanos();
        let used_ns = ticks_to_ns(cpu_ticks.saturating_sub(prev.cpu_ticks));
        let cpu_percent = if wall_ns == 0 {
            0.0
        } else {
            #[expect(
                clippy::cast_precision_loss,
                reason = "a percentage: nanoseconds beyond 2^52 do not matter"
            )]
            let p = used_ns as f64 * 100.0 / wall_ns as f64;
            p
        };
        *prev = Prev {
            at,
            cpu_ticks,
            seen: generation,
        };
        Some(pb::ThreadSample {
            tid,
            comm: String::from_utf8_lossy(comm).into_owned(),
            state: char::from(st.state).to_string(),
            cpu_percent,
            cpu_time_ns: ticks_to_ns(cpu_ticks),
            nice: st.nice,
            priority: st.priority,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// CPU time the calling thread has used, in ns.
    fn own_cpu_ns() -> u64 {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: clock_gettime only writes the timespec it is given.
        unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &raw mut ts) };
        u64::try_from(ts.tv_sec).unwrap_or(0) * 1_000_000_000
            + u64::try_from(ts.tv_nsec).unwrap_or(0)
    }

    /// This test's own process: a thread that has burnt 50 ms of CPU shows
    /// up by its name with CPU time, and the leader (the process) does not.
    #[test]
    fn samples_real_threads_of_this_process() {
        let me = std::process::id();
        let (burnt_tx, burnt_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
        let worker = std::thread::Builder::new()
            .name("perch-spin".into())
            .spawn(move || {
                let mut n = 0u64;
                while own_cpu_ns() < 50_000_000 {
                    n = std::hint::black_box(n.wrapping_add(1));
                }
                let _ = burnt_tx.send(n);
                let _ = stop_rx.recv();
            })
            .expect("spawn a thread");
        let key = ProcKey {
            pid: me,
            start_ns: 0,
        };
        let mut s = ThreadSampler::new("/proc");
        burnt_rx.recv().expect("the worker burns its CPU");
        let sampled = s.sample(&[key]);
        drop(stop_tx);
        worker.join().expect("join");
        assert_eq!(sampled.len(), 1);
        let threads = &sampled[0].threads;
        assert!(threads.iter().all(|t| t.tid != me), "{threads:?}");
        let spin = threads
            .iter()
            .find(|t| t.comm == "perch-spin")
            .expect("the named thread is sampled");
        assert!(spin.cpu_time_ns >= 10_000_000, "{spin:?}");
        assert!(
            spin.cpu_percent.abs() < f64::EPSILON,
            "a first sample has no rate"
        );
        assert_eq!(spin.state.len(), 1);
    }

    #[test]
    fn a_gone_process_gives_nothing() {
        let mut s = ThreadSampler::new("/proc");
        let key = ProcKey {
            pid: u32::MAX - 1,
            start_ns: 0,
        };
        assert!(s.sample(&[key]).is_empty());
    }
}
