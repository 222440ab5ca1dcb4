//! Processes the tests spawn: unique markers to find them by, a guard that
//! kills and reaps them whatever happens, and running a binary to its end
//! with a bound on the wait.
#![expect(
    clippy::expect_used,
    clippy::panic,
    reason = "test support: a broken fixture or environment should fail the test loudly"
)]
use std::{
    io::Read as _,
    process::{Child, Command, ExitStatus, Stdio},
    sync::atomic::{AtomicU64, Ordering},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

/// The wall clock, Unix ns (0 before 1970, saturating far ahead): what
/// the tests and benchmarks compare perchd's stored instants with.
#[must_use]
pub fn unix_now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// A string no other test (nor another run of this one) puts in an argv.
#[must_use]
pub fn unique(tag: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let nanos = unix_now_ns();
    format!("perch-e2e-{tag}-{}-{n}-{nanos}", std::process::id())
}

/// `n` random bytes as lowercase hex (from the kernel's generator).
#[must_use]
pub fn random_hex(n: usize) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut buf = vec![0u8; n];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .expect("read /dev/urandom");
    buf.iter()
        .flat_map(|b| [HEX[usize::from(b >> 4)], HEX[usize::from(b & 0xf)]])
        .map(char::from)
        .collect()
}

/// A pod uid as Kubernetes makes them (a UUID), random per call.
#[must_use]
pub fn pod_uid() -> String {
    let h = random_hex(16);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// A spawned child, killed (SIGKILL) and reaped when dropped, so a failed
/// assertion leaves nothing running.
#[derive(Debug)]
pub struct ChildGuard {
    pub child: Child,
    reaped: bool,
}

impl ChildGuard {
    /// Spawns `cmd`, panicking with its program name if that fails.
    ///
    /// A binary a test has just written may be "busy" (ETXTBSY) for a moment:
    /// another thread of the test process forking while the file was open
    /// for writing holds a copy of that fd until its child execs.  Such a
    /// spawn is retried, a bounded number of times.
    pub fn spawn(cmd: &mut Command) -> Self {
        let mut tries = 0;
        let child = loop {
            match cmd.spawn() {
                Ok(child) => break child,
                Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) && tries < 100 => {
                    tries += 1;
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                Err(e) => panic!("spawn {}: {e}", cmd.get_program().display()),
            }
        };
        Self {
            child,
            reaped: false,
        }
    }

    #[must_use]
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for it to exit (blocking; inside a multi-threaded tokio runtime
    /// use `tokio::task::block_in_place`), bounded by a generous timeout.
    pub fn wait(&mut self) -> ExitStatus {
        let status = wait_bounded(&mut self.child, Duration::from_mins(1))
            .unwrap_or_else(|| panic!("pid {} still running after 60 s", self.pid()));
        self.reaped = true;
        status
    }

    /// SIGKILL and reap.
    pub fn kill(&mut self) -> ExitStatus {
        let _ = self.child.kill();
        self.wait()
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if !self.reaped {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Polls `child` until it exits or `timeout` passes.
pub fn wait_bounded(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    // Short pauses first: most children the tests wait for end at once.
    let mut pause = Duration::from_micros(100);
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}

/// What a finished run printed.
#[derive(Debug)]
pub struct Finished {
    /// The child's pid (gone by now; for matching its events).
    pub pid: u32,
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `cmd` (stdin null, output captured) to its end.  Panics if it is
/// still running after `timeout`, after killing it.
pub fn run_bounded(cmd: &mut Command, timeout: Duration) -> Finished {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {}: {e}", cmd.get_program().display()));
    // Read both pipes on threads so a chatty child cannot block on a full pipe.
    let out = child.stdout.take().map(read_on_thread);
    let err = child.stderr.take().map(read_on_thread);
    let status = wait_bounded(&mut child, timeout);
    if status.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    let stdout = out
        .map(|h| h.join().expect("stdout reader"))
        .unwrap_or_default();
    let stderr = err
        .map(|h| h.join().expect("stderr reader"))
        .unwrap_or_default();
    let Some(status) = status else {
        panic!(
            "{} still running after {timeout:?}; stderr:\n{stderr}",
            cmd.get_program().display()
        );
    };
    Finished {
        pid: child.id(),
        status,
        stdout,
        stderr,
    }
}

fn read_on_thread(mut r: impl std::io::Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut s = String::new();
        let _ = r.read_to_string(&mut s);
        s
    })
}

/// Calls `check` every 50 ms until it gives `Some`, at most for `timeout`.
pub async fn eventually<T>(
    timeout: Duration,
    mut check: impl AsyncFnMut() -> Option<T>,
) -> Option<T> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return Some(v);
        }
        if tokio::time::Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
