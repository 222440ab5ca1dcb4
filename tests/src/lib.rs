//! Helpers for the end-to-end tests and benchmarks: start the real perchd
//! binary on a private socket, connect real gRPC clients, spawn and watch
//! real processes.  Nothing here stands in for the kernel or the collector.
#![expect(
    clippy::expect_used,
    clippy::panic,
    reason = "test support: a broken fixture or environment should fail the test loudly"
)]
use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::Duration,
};

use perch_proto::{
    stat,
    v1::{self as pb, collector_client::CollectorClient},
};
use tonic::transport::Channel;

pub mod act;
pub mod cgroups;
pub mod events;
pub mod flags;
pub mod fs;
pub mod memory;
pub mod policies;
pub mod procs;
pub mod sec;
pub mod tls;
pub mod tmux;

/// Root is required for eBPF.  Under `CI=true` a non-root run fails the test
/// instead of skipping it: CI must never pass by running nothing.
#[must_use]
pub fn have_root_or_skip(test: &str) -> bool {
    if nix::unistd::geteuid().is_root() {
        return true;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{test}: needs root under CI=true"
    );
    eprintln!("{test}: skipped (needs root)");
    false
}

/// The directory holding this build's binaries (target/<profile>).
#[must_use]
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    let mut dir = exe.parent().expect("exe dir").to_path_buf();
    if dir.ends_with("deps") {
        dir.pop();
    }
    dir
}

/// Path of a workspace binary, built by `cargo build --bins` beforehand.
#[must_use]
pub fn binary(name: &str) -> PathBuf {
    let p = bin_dir().join(name);
    assert!(
        p.exists(),
        "{} missing: run `cargo build --bins` first (./x test does)",
        p.display()
    );
    p
}

/// A perchd process on a private socket (and with a private audit log
/// beside it, unless `args` name one), killed on drop.
pub struct Perchd {
    pub child: Child,
    pub socket: PathBuf,
    pub audit_log: PathBuf,
    args: Vec<String>,
    _dir: tempfile::TempDir,
}

impl Perchd {
    /// Starts perchd with `args` on a fresh socket and waits until it answers.
    pub async fn start(args: &[&str]) -> Self {
        Self::start_with(Command::new(binary("perchd")), args).await
    }

    pub async fn start_with(cmd: Command, args: &[&str]) -> Self {
        Self::start_in(cmd, tempfile::tempdir().expect("tempdir"), args).await
    }

    /// Like `start_with`, with the socket in `dir` (for example a directory
    /// an unprivileged perchd may write to); `dir` is removed on drop.
    pub async fn start_in(mut cmd: Command, dir: tempfile::TempDir, args: &[&str]) -> Self {
        let socket = dir.path().join("perchd.sock");
        let mut args: Vec<String> = args.iter().map(|&a| a.to_owned()).collect();
        let audit_log = if let Some(i) = args.iter().position(|a| a == "--audit-log") {
            PathBuf::from(&args[i + 1])
        } else {
            // Not the system's log, and one per perchd: tests run at once.
            let path = dir.path().join("audit.log");
            args.extend(["--audit-log".to_owned(), path.display().to_string()]);
            path
        };
        if !args.iter().any(|a| a == "--history" || a == "--no-history") {
            // Likewise the history store: never the system's.
            let path = dir.path().join("history.db");
            args.extend(["--history".to_owned(), path.display().to_string()]);
        }
        let child = cmd
            .arg("--socket")
            .arg(&socket)
            .args(&args)
            .stdin(Stdio::null())
            .spawn()
            .expect("spawn perchd");
        let mut me = Self {
            child,
            socket,
            audit_log,
            args,
            _dir: dir,
        };
        me.wait_ready().await;
        me
    }

    /// Kills perchd with SIGKILL, like a crash: the socket file stays behind.
    pub fn crash(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Stops perchd as an admin would (SIGTERM) and waits for it to exit.
    pub fn stop(&mut self) -> std::process::ExitStatus {
        let pid = nix::unistd::Pid::from_raw(i32::try_from(self.pid()).expect("pid"));
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::SIGTERM);
        procs::wait_bounded(&mut self.child, Duration::from_mins(1))
            .expect("perchd still running a minute after SIGTERM")
    }

    /// Starts a new perchd with the same arguments on the same socket.
    pub async fn respawn(&mut self) {
        self.child = Command::new(binary("perchd"))
            .arg("--socket")
            .arg(&self.socket)
            .args(&self.args)
            .stdin(Stdio::null())
            .spawn()
            .expect("spawn perchd");
        self.wait_ready().await;
    }

    async fn wait_ready(&mut self) {
        let me = self;
        for _ in 0..300 {
            if let Ok(mut c) = me.client().await
                && c.get_info(pb::GetInfoRequest {}).await.is_ok()
            {
                return;
            }
            if let Ok(Some(status)) = me.child.try_wait() {
                panic!("perchd exited during start-up: {status}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "perchd did not answer on {} within 15 s",
            me.socket.display()
        );
    }

    pub async fn client(&self) -> anyhow::Result<CollectorClient<Channel>> {
        connect(&self.socket).await
    }

    #[must_use]
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits (bounded) until perchd's model holds `pid` running `exe` (its
    /// exec seen, not only its fork), as it does for any process a user
    /// would pick from the console.
    pub async fn wait_known(&self, pid: u32, exe: &str) {
        let mut client = self.client().await.expect("client");
        for _ in 0..300 {
            let mut list = client
                .list_processes(pb::ListProcessesRequest {
                    pids: vec![pid],
                    ..Default::default()
                })
                .await
                .expect("list")
                .into_inner();
            while let Some(chunk) = list.message().await.expect("chunk") {
                if chunk.processes.iter().any(|p| p.exe == exe) {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("perchd never learnt of pid {pid} ({exe})");
    }
}

impl Drop for Perchd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A gRPC client on a Unix socket (the same connector `perch` uses).
pub async fn connect(socket: &Path) -> anyhow::Result<CollectorClient<Channel>> {
    Ok(perch_client::connect(&perch_client::Target::Unix(socket.to_path_buf())).await?)
}

/// A plain gRPC channel on a Unix socket, for requests no generated
/// client would send.
pub async fn channel(socket: &Path) -> anyhow::Result<Channel> {
    let path = socket.to_path_buf();
    Ok(
        tonic::transport::Endpoint::from_static("http://perchd.local")
            .connect_with_connector(tower::service_fn(move |_: tonic::transport::Uri| {
                let path = path.clone();
                async move {
                    let stream = tokio::net::UnixStream::connect(path).await?;
                    Ok::<_, std::io::Error>(hyper_util::rt::TokioIo::new(stream))
                }
            }))
            .await?,
    )
}

/// A client whose HTTP/2 flow-control windows (stream and connection) are
/// `window` bytes instead of hyper's 2 MiB / 5 MiB.  A stream this client
/// does not read stops the collector's sends after `window` bytes, which is
/// how a stalled client looks to the collector; with the defaults, megabytes
/// of events would sit in this process's buffers first.
pub async fn connect_with_window(
    socket: &Path,
    window: u32,
) -> anyhow::Result<CollectorClient<Channel>> {
    let path = socket.to_path_buf();
    let channel = tonic::transport::Endpoint::from_static("http://perchd.local")
        .initial_stream_window_size(window)
        .initial_connection_window_size(window)
        .connect_with_connector(tower::service_fn(move |_: tonic::transport::Uri| {
            let path = path.clone();
            async move {
                let stream = tokio::net::UnixStream::connect(path).await?;
                Ok::<_, std::io::Error>(hyper_util::rt::TokioIo::new(stream))
            }
        }))
        .await?;
    Ok(perch_client::client(channel))
}

/// CPU time (user + system) of a process, in ns; 0 when it is gone.
/// Read from the process's CPU-time clock (every thread, those already
/// gone included, to the nanosecond): /proc's figures are in 10 ms ticks,
/// a few percent of a benchmark round's half second of perchd CPU.
#[must_use]
pub fn cpu_time_ns(pid: u32) -> u64 {
    let clock = i32::try_from(pid)
        .ok()
        .and_then(|p| nix::time::clock_getcpuclockid(nix::unistd::Pid::from_raw(p)).ok())
        .and_then(|c| nix::time::clock_gettime(c).ok());
    match clock {
        Some(t) => {
            u64::try_from(t.tv_sec()).unwrap_or(0) * perch_proto::NS_PER_SEC
                + u64::try_from(t.tv_nsec()).unwrap_or(0)
        }
        None => stat::read_pid(pid).map_or(0, |s| (s.utime + s.stime) * perch_proto::NS_PER_TICK),
    }
}

/// Resident set size of a process, in bytes.
#[must_use]
pub fn rss_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// Start time of a process as perch.v1 keys carry it (`CLOCK_BOOTTIME` ns,
/// clock-tick precision); 0 when it is gone.
#[must_use]
pub fn start_time_ns(pid: u32) -> u64 {
    stat::read_pid(pid).map_or(0, |s| s.start_time_ns())
}

/// Whether `pid` still runs (and is not a zombie).
#[must_use]
pub fn alive(pid: u32) -> bool {
    stat::read_pid(pid).is_some_and(|s| !matches!(s.state, b'Z' | b'X'))
}
