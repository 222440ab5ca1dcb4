//! The benchmark's population: N sleeping processes (`/bin/sleep` with a
//! distinctive argv), checked against the machine's limits first, and all
//! killed and reaped when the guard drops (also on error and on panic;
//! each also dies with the benchmark process, via `PR_SET_PDEATHSIG`).
use std::{
    os::unix::process::CommandExt as _,
    process::{Child, Command, Stdio},
    sync::mpsc,
    thread::JoinHandle,
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail};

/// `argv[0]` of every sleeper, to tell them apart in a process list.
pub const ARGV0: &str = "perch-bench-sleeper";

/// Memory a sleeper costs the kernel and itself, generously (page tables,
/// kernel stack, task and mm structures, a few private pages).
const BYTES_PER_SLEEPER: u64 = 256 * 1024;

/// Pids kept free for everything else running meanwhile (builds, perchd).
const PID_MARGIN: u64 = 2_000;

/// The limits that bound how many processes the machine can hold.
#[derive(Debug)]
pub struct Limits {
    pub pid_max: u64,
    pub threads_max: u64,
    pub nproc_soft: Option<u64>,
    pub tasks_now: u64,
}

impl std::fmt::Display for Limits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let nproc = self
            .nproc_soft
            .map_or_else(|| "unlimited".to_owned(), |n| n.to_string());
        write!(
            f,
            "kernel.pid_max {}, kernel.threads-max {}, RLIMIT_NPROC {nproc}, tasks running {}",
            self.pid_max, self.threads_max, self.tasks_now
        )
    }
}

fn read_u64(path: &str) -> anyhow::Result<u64> {
    let text = std::fs::read_to_string(path).with_context(|| format!("read {path}"))?;
    text.trim()
        .parse()
        .with_context(|| format!("{path}: not a number: {}", text.trim()))
}

/// Threads alive on the machine now (each takes a pid).
fn tasks_now() -> u64 {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0;
    };
    dir.flatten()
        .filter(|e| e.file_name().to_string_lossy().parse::<u32>().is_ok())
        .map(|e| std::fs::read_dir(e.path().join("task")).map_or(1, Iterator::count) as u64)
        .sum()
}

fn mem_available() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kb: u64 = info
        .lines()
        .find_map(|l| l.strip_prefix("MemAvailable:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    Some(kb * 1024)
}

/// Checks that `n` more processes fit; the error says which limit is too
/// low and how to raise it.
pub fn check_limits(n: usize) -> anyhow::Result<Limits> {
    let (soft, _) = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NPROC)
        .context("getrlimit RLIMIT_NPROC")?;
    let limits = Limits {
        pid_max: read_u64("/proc/sys/kernel/pid_max")?,
        threads_max: read_u64("/proc/sys/kernel/threads-max")?,
        nproc_soft: (soft != nix::sys::resource::RLIM_INFINITY).then_some(soft),
        tasks_now: tasks_now(),
    };
    let need = limits.tasks_now + n as u64 + PID_MARGIN;
    if limits.pid_max < need {
        bail!(
            "kernel.pid_max is {}, too low for {n} sleepers next to the {} tasks running \
             (about {need} pids needed); raise it: sysctl -w kernel.pid_max={}",
            limits.pid_max,
            limits.tasks_now,
            need.next_power_of_two()
        );
    }
    if limits.threads_max < need {
        bail!(
            "kernel.threads-max is {}, too low for {n} sleepers next to the {} tasks running \
             (about {need} needed); raise it: sysctl -w kernel.threads-max={need}",
            limits.threads_max,
            limits.tasks_now
        );
    }
    // The kernel does not apply RLIMIT_NPROC to root (CAP_SYS_RESOURCE).
    if let Some(soft) = limits.nproc_soft
        && soft < need
        && !nix::unistd::geteuid().is_root()
    {
        bail!("RLIMIT_NPROC is {soft}, too low for {n} sleepers (about {need}); raise `ulimit -u`");
    }
    if let Some(avail) = mem_available() {
        let want = n as u64 * BYTES_PER_SLEEPER;
        if avail < want {
            bail!(
                "MemAvailable is {} MiB; {n} sleepers want about {} MiB",
                avail >> 20,
                want >> 20
            );
        }
    }
    Ok(limits)
}

/// The sleepers; dropping this kills and reaps every one.
pub struct Sleepers {
    children: Vec<Child>,
    /// The threads that forked them, parked until the sleepers are dead:
    /// `PR_SET_PDEATHSIG` fires when the *thread* that forked a child
    /// ends, not the process.  Dropping a sender releases its thread.
    spawners: Vec<(mpsc::Sender<()>, JoinHandle<()>)>,
}

/// Spawns one sleeper that dies with the calling thread.
fn sleeper(secs: &str) -> std::io::Result<Child> {
    let mut cmd = Command::new("/bin/sleep");
    cmd.arg0(ARGV0)
        .arg(secs)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SAFETY: prctl is async-signal-safe; nothing is allocated.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd.spawn()
}

impl Sleepers {
    /// Spawns `n` sleepers from `threads` threads; each exits on its own
    /// after `lifetime` at the latest.
    pub fn spawn(n: usize, threads: usize, lifetime: Duration) -> anyhow::Result<(Self, Duration)> {
        let start = Instant::now();
        let mut me = Self {
            children: Vec::with_capacity(n),
            spawners: Vec::new(),
        };
        let secs = lifetime.as_secs().max(1).to_string();
        let (tx, rx) = mpsc::channel();
        let per = n.div_ceil(threads.max(1));
        for i in 0..threads.max(1) {
            let count = per.min(n.saturating_sub(i * per));
            let (release, parked) = mpsc::channel::<()>();
            let (tx, secs) = (tx.clone(), secs.clone());
            let handle = std::thread::Builder::new()
                .name(format!("sleepers-{i}"))
                .spawn(move || {
                    for _ in 0..count {
                        let child = sleeper(&secs);
                        let failed = child.is_err();
                        if tx.send(child).is_err() || failed {
                            break;
                        }
                    }
                    drop(tx);
                    // Parked until released (or the sender is gone).
                    let _ = parked.recv();
                })
                .context("spawn a sleeper-spawning thread")?;
            me.spawners.push((release, handle));
        }
        drop(tx);
        // `me` drops on an error and takes the ones spawned so far.
        for child in rx {
            let child = child.with_context(|| {
                format!(
                    "spawn sleeper {} of {n} (/bin/sleep)",
                    me.children.len() + 1
                )
            })?;
            me.children.push(child);
        }
        if me.children.len() != n {
            bail!("spawned only {} of {n} sleepers", me.children.len());
        }
        Ok((me, start.elapsed()))
    }

    /// How many are still running (not yet exited).
    pub fn running(&mut self) -> usize {
        self.children
            .iter_mut()
            .filter_map(|c| c.try_wait().ok())
            .filter(Option::is_none)
            .count()
    }
}

impl Drop for Sleepers {
    fn drop(&mut self) {
        // Kill all first, then reap: they die in parallel.
        for c in &mut self.children {
            let _ = c.kill();
        }
        for c in &mut self.children {
            let _ = c.wait();
        }
        for (release, handle) in self.spawners.drain(..) {
            drop(release);
            let _ = handle.join();
        }
    }
}
