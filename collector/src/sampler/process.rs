//! Per-process resource sampling, once a second for every live process:
//! CPU (percent of one core), memory and storage I/O, from /proc/PID/stat,
//! /proc/PID/io and /proc/PID/statm (shared memory) — and, from the same
//! stat line, virtual size, priority and nice, the state letter (a stopped
//! process shows `T`) and the current parent (where a process went when its
//! parent exited).  Built for 100k processes: one reused path and one
//! reused read buffer, no per-process allocation besides the state map.
use std::collections::HashMap;
use std::time::Instant;

use perch_proto::NS_PER_SEC;

use crate::clock::{page_size, ticks_to_ns};
use crate::model::{ProcKey, Usage};
use crate::proc::stat::{PidPath, read_into, read_stat};

/// What the previous sample of one process saw.
#[derive(Debug)]
struct Prev {
    at: Instant,
    cpu_ticks: u64,
    usage: Usage,
    threads: u32,
    state: u8,
    ppid: u32,
    /// The `generation` of the last `sample` call that included this key.
    seen: u64,
    /// When /proc/PID/io was last read, and its totals then.
    io_at: Instant,
    io_read: u64,
    io_write: u64,
}

/// How long a quiet process's io file goes unread (see `sample`).
const IO_REFRESH: std::time::Duration = std::time::Duration::from_secs(5);

#[derive(Debug)]
pub struct ProcessSampler {
    path: PidPath,
    buf: Vec<u8>,
    prev: HashMap<ProcKey, Prev>,
    generation: u64,
    /// Of the last `sample` call: states and parents that changed (every
    /// key's on its first sample).
    states: Vec<(ProcKey, u8)>,
    parents: Vec<(ProcKey, u32)>,
}

impl ProcessSampler {
    #[must_use]
    pub fn new(proc_root: impl AsRef<std::path::Path>) -> Self {
        Self {
            path: PidPath::new(proc_root.as_ref()),
            buf: Vec::with_capacity(1024),
            prev: HashMap::new(),
            generation: 0,
            states: Vec::new(),
            parents: Vec::new(),
        }
    }

    /// State letters that changed in the last `sample` call.
    #[must_use]
    pub fn states(&self) -> &[(ProcKey, u8)] {
        &self.states
    }

    /// Parents (/proc's ppid) that changed in the last `sample` call.
    #[must_use]
    pub fn parents(&self) -> &[(ProcKey, u32)] {
        &self.parents
    }

    /// Samples `keys` and returns `(key, usage, threads)` for those whose
    /// values changed since the previous call (every key on its first
    /// sample, with zero rates).  Rates cover the wall time since that
    /// key's previous sample.  Gone processes and keys whose pid now belongs
    /// to another process (start time differs) are skipped; state of keys
    /// not passed any more is forgotten.
    pub fn sample(&mut self, keys: &[ProcKey], mem_total_bytes: u64) -> Vec<(ProcKey, Usage, u32)> {
        self.generation = self.generation.wrapping_add(1);
        self.states.clear();
        self.parents.clear();
        let page = page_size();
        let mut out = Vec::new();
        for &key in keys {
            out.extend(self.sample_one(key, page, mem_total_bytes));
        }
        let generation = self.generation;
        self.prev.retain(|_, p| p.seen == generation);
        out
    }

    /// One key's sample, when its usage changed (or it is new); `None` for
    /// a gone or reused pid.  Notes its state and parent when they changed.
    fn sample_one(
        &mut self,
        key: ProcKey,
        page: u64,
        mem_total_bytes: u64,
    ) -> Option<(ProcKey, Usage, u32)> {
        let Ok(st) = read_stat(&mut self.path, key.pid, &mut self.buf) else {
            return None;
        };
        if !key.same_as(&ProcKey {
            pid: key.pid,
            start_ns: ticks_to_ns(st.starttime),
        }) {
            return None;
        }
        let at = Instant::now();
        let cpu_ticks = st.utime.saturating_add(st.stime);
        let rss_bytes = st.rss_pages.saturating_mul(page);
        let prev = self.prev.get_mut(&key);
        if prev.as_ref().is_none_or(|p| p.state != st.state) {
            self.states.push((key, st.state));
        }
        if prev.as_ref().is_none_or(|p| p.ppid != st.ppid) {
            self.parents.push((key, st.ppid));
        }
        // Storage I/O is submitted by the process itself (or accounted
        // to it when it dirties pages), which takes CPU time or leaves
        // it waiting in state D.  A process that did neither since its
        // last io read most likely has the same totals — and most of
        // 10k sleeping processes are such: their io file is read only
        // every IO_REFRESH, which halves the files read per second.
        // (A little I/O done in under a clock tick of CPU shows up at
        // the latest then, averaged over the time since the last read.)
        let quiet = prev.as_ref().is_some_and(|p| {
            p.cpu_ticks == cpu_ticks && st.state != b'D' && at.duration_since(p.io_at) < IO_REFRESH
        });
        // Shared pages (statm's third field) move with what the process
        // itself does too: read on the same schedule.
        let (io, shared) = if quiet {
            (None, None)
        } else {
            io_and_shared(&mut self.path, &mut self.buf, key.pid, page)
        };
        // An unreadable io file (a race with exit, or not root) keeps
        // the last totals rather than dropping to 0 and back.
        let (read_bytes, write_bytes) = io
            .or_else(|| {
                prev.as_ref()
                    .map(|p| (p.usage.read_bytes, p.usage.write_bytes))
            })
            .unwrap_or((0, 0));
        let shared_bytes = shared
            .or_else(|| prev.as_ref().map(|p| p.usage.shared_bytes))
            .unwrap_or(0);
        let mut usage = Usage {
            cpu_time_ns: ticks_to_ns(cpu_ticks),
            rss_bytes,
            mem_percent: percent(rss_bytes, mem_total_bytes),
            read_bytes,
            write_bytes,
            virtual_bytes: st.vsize,
            shared_bytes,
            priority: st.priority,
            nice: st.nice,
            ..Usage::default()
        };
        let threads = st.num_threads;
        if let Some(p) = prev {
            let secs = at.duration_since(p.at).as_secs_f64();
            if secs > 0.0 {
                let cpu_ns = ticks_to_ns(cpu_ticks.saturating_sub(p.cpu_ticks));
                usage.cpu_percent = cpu_ns as f64 / NS_PER_SEC as f64 / secs * 100.0;
            }
            // I/O rates over the time since the io file was last read.
            let io_secs = at.duration_since(p.io_at).as_secs_f64();
            if io.is_some() && io_secs > 0.0 {
                usage.read_bytes_per_sec = (read_bytes.saturating_sub(p.io_read) as f64) / io_secs;
                usage.write_bytes_per_sec =
                    (write_bytes.saturating_sub(p.io_write) as f64) / io_secs;
            }
            let changed = usage != p.usage || threads != p.threads;
            let (io_at, io_read, io_write) = if io.is_some() {
                (at, read_bytes, write_bytes)
            } else {
                (p.io_at, p.io_read, p.io_write)
            };
            *p = Prev {
                at,
                cpu_ticks,
                usage,
                threads,
                state: st.state,
                ppid: st.ppid,
                seen: self.generation,
                io_at,
                io_read,
                io_write,
            };
            changed.then_some((key, usage, threads))
        } else {
            self.prev.insert(
                key,
                Prev {
                    at,
                    cpu_ticks,
                    usage,
                    threads,
                    state: st.state,
                    ppid: st.ppid,
                    seen: self.generation,
                    io_at: at,
                    io_read: read_bytes,
                    io_write: write_bytes,
                },
            );
            Some((key, usage, threads))
        }
    }
}

/// `read_bytes` and `write_bytes` of /proc/PID/io: bytes this process
/// caused to be fetched from / sent to storage (not page-cache hits, not
/// pipes or sockets, which `rchar`/`wchar` include).
fn parse_io(buf: &[u8]) -> Option<(u64, u64)> {
    let mut read = None;
    let mut write = None;
    for line in buf.split(|&b| b == b'\n') {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let (name, value) = line.split_at(colon);
        let value = std::str::from_utf8(&value[1..])
            .ok()
            .and_then(|v| v.trim().parse().ok());
        match name {
            b"read_bytes" => read = value,
            b"write_bytes" => write = value,
            _ => {}
        }
    }
    Some((read?, write?))
}

/// /proc/PID/io's storage totals and the resident bytes shared with others
/// (/proc/PID/statm); `None` for a file that could not be read.
fn io_and_shared(
    path: &mut PidPath,
    buf: &mut Vec<u8>,
    pid: u32,
    page: u64,
) -> (Option<(u64, u64)>, Option<u64>) {
    let io = read_into(path.get(pid, "io"), buf)
        .ok()
        .and_then(|()| parse_io(buf));
    let shared = read_into(path.get(pid, "statm"), buf)
        .ok()
        .and_then(|()| parse_statm_shared(buf))
        .map(|pages| pages.saturating_mul(page));
    (io, shared)
}

/// The third field of /proc/PID/statm: resident pages shared with others
/// (file-backed and shared memory).
fn parse_statm_shared(buf: &[u8]) -> Option<u64> {
    let field = buf.split(|&b| b == b' ').nth(2)?;
    std::str::from_utf8(field).ok()?.trim().parse().ok()
}

fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64 * 100.0
    }
}

#[cfg(test)]
#[path = "process_tests.rs"]
mod tests;
