//! What the memory tests and the `memory` benchmark share: an argv-heavy
//! exec storm run as an unprivileged user, event streams that are opened
//! and never read, and a process's peak RSS.
use std::{
    os::unix::process::CommandExt as _,
    path::Path,
    process::{Command, Stdio},
};

use perch_proto::v1::{EventKind, WatchEventsRequest, WatchEventsResponse};
use tonic::Streaming;

use crate::procs::ChildGuard;

/// uid and gid of `nobody`: the storm runs as a user without privileges.
pub const NOBODY: u32 = 65_534;

/// Peak resident set size of a process (`VmHWM`), in bytes.
#[must_use]
pub fn peak_rss_bytes(pid: u32) -> u64 {
    status_kib(pid, "VmHWM:") * 1024
}

/// Resident bytes of the process's own executable file (its code and
/// read-only data pages, from `/proc/PID/smaps`).  A debug build's are
/// ~22 MiB against a release build's ~6, and they grow with every feature:
/// the e2e tests, which run the debug binaries, take them out of the peak
/// they bound so that the bound is on memory the process allocates, as
/// the release binary's measured figures (BENCHMARKS.md) are.
#[must_use]
pub fn code_rss_bytes(pid: u32) -> u64 {
    let Ok(exe) = std::fs::read_link(format!("/proc/{pid}/exe")) else {
        return 0;
    };
    let exe = exe.display().to_string();
    let smaps = std::fs::read_to_string(format!("/proc/{pid}/smaps")).unwrap_or_default();
    let mut ours = false;
    let mut kib = 0;
    for line in smaps.lines() {
        let mut words = line.split_whitespace();
        match words.next() {
            // A mapping's header: "start-end perms offset dev inode path".
            Some(range) if range.contains('-') && !range.ends_with(':') => {
                ours = words.nth(4) == Some(exe.as_str());
            }
            Some("Rss:") if ours => {
                kib += words
                    .next()
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(0);
            }
            _ => {}
        }
    }
    kib * 1024
}

/// Resets a process's peak RSS to its current RSS (`clear_refs` 5), so a
/// later [`peak_rss_bytes`] measures from now, not from its start-up.
pub fn reset_peak_rss(pid: u32) {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").expect("reset VmHWM");
}

fn status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// Shell loops, each exec'ing `/bin/true` `per_loop` times with 8 KiB of
/// one-byte arguments (the shells carry them too, so their children's
/// fork events do): the most arguments, and so the most per-argument
/// overhead, a command line of the contract's size can have.
pub struct ArgvStorm {
    loops: Vec<ChildGuard>,
}

impl ArgvStorm {
    /// Starts `loops` shells as `uid` (and the same gid); `None`: as we are.
    #[must_use]
    pub fn start(loops: usize, per_loop: usize, uid: Option<u32>) -> Self {
        let script =
            format!("i=0; while [ $i -lt {per_loop} ]; do /bin/true \"$@\"; i=$((i+1)); done");
        let loops = (0..loops)
            .map(|_| {
                let mut cmd = Command::new("/bin/sh");
                cmd.arg("-c")
                    .arg(&script)
                    .arg("perch-argv-storm")
                    // With "/bin/true" in front: 8192 bytes counted with
                    // their NULs, the contract's cap exactly.
                    .args(std::iter::repeat_n("a", 4091))
                    .current_dir("/")
                    .stdin(Stdio::null())
                    .stdout(Stdio::null());
                if let Some(id) = uid {
                    cmd.uid(id).gid(id);
                }
                ChildGuard::spawn(&mut cmd)
            })
            .collect();
        Self { loops }
    }

    /// Waits for every loop to finish; an error if one failed.
    pub fn wait(mut self) -> anyhow::Result<()> {
        for l in &mut self.loops {
            let status = l.wait();
            anyhow::ensure!(status.success(), "storm loop: {status}");
        }
        Ok(())
    }
}

/// Lets unprivileged users reach perchd's socket (perchd, not the file
/// mode, decides what they may do).
pub fn open_to_all(socket: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    if let Some(dir) = socket.parent() {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755))?;
    }
    std::fs::set_permissions(socket, std::fs::Permissions::from_mode(0o666))
}

/// `perch-bench stall-streams` run as `uid`: `n` streams opened and never
/// read (`quiet`: of action events only).  Returns the helper (it holds
/// them until dropped) and its line ("opened A refused B: ...").
pub fn stall_as(
    uid: u32,
    socket: &Path,
    n: usize,
    quiet: bool,
) -> anyhow::Result<(ChildGuard, String)> {
    use std::io::BufRead as _;
    let mut helper = ChildGuard::spawn(
        Command::new("setpriv")
            .args([
                &format!("--reuid={uid}"),
                &format!("--regid={uid}"),
                "--clear-groups",
            ])
            .arg(crate::binary("perch-bench"))
            .arg("stall-streams")
            .arg(socket)
            .arg(n.to_string())
            .args(quiet.then_some("quiet"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped()),
    );
    let mut line = String::new();
    let stdout = helper
        .child
        .stdout
        .take()
        .ok_or_else(|| anyhow::anyhow!("the helper's stdout"))?;
    std::io::BufReader::new(stdout).read_line(&mut line)?;
    anyhow::ensure!(line.starts_with("opened "), "the helper said {line:?}");
    Ok((helper, line))
}

/// What [`stalled_streams`] got: the streams it holds open, and the
/// refusals (their count and the first one's message).
pub struct Stalled {
    pub streams: Vec<Streaming<WatchEventsResponse>>,
    pub refused: usize,
    pub first_refusal: Option<String>,
}

/// Opens `n` `WatchEvents` streams (from the next new event) and never
/// reads them, over connections of at most 100 streams whose flow-control
/// windows are as large as HTTP/2 allows: the worst a client that stops
/// reading can make perchd buffer.  Keep the result alive for as long as
/// they should stay open.
pub async fn stalled_streams(
    socket: &Path,
    n: usize,
    kinds: &[EventKind],
) -> anyhow::Result<Stalled> {
    let mut out = Stalled {
        streams: Vec::with_capacity(n),
        refused: 0,
        first_refusal: None,
    };
    let mut client = None;
    for i in 0..n {
        if i % 100 == 0 {
            client = Some(crate::connect_with_window(socket, (1 << 31) - 1).await?);
        }
        let Some(c) = client.as_mut() else { break };
        let req = WatchEventsRequest {
            resume_after_seq: None,
            kinds: kinds.iter().map(|&k| i32::from(k)).collect(),
            threads: false,
        };
        match c.watch_events(req).await {
            Ok(resp) => out.streams.push(resp.into_inner()),
            Err(status) if status.code() == tonic::Code::ResourceExhausted => {
                out.refused += 1;
                out.first_refusal
                    .get_or_insert_with(|| status.message().to_owned());
            }
            Err(status) => return Err(status.into()),
        }
    }
    Ok(out)
}

/// `perch-bench stall-streams SOCKET N [quiet]`: opens N stalled streams
/// as [`stalled_streams`] does (`quiet`: of action events only, which
/// nothing sends unless asked, so none ends by lagging), prints `opened A
/// refused B` (and the first refusal) on one line, then holds them until
/// stdin closes.  The memory test and benchmark run it as other users.
pub async fn stall_main(args: Vec<String>) -> anyhow::Result<()> {
    let (socket, n, quiet) = match args.as_slice() {
        [socket, n] => (socket, n, false),
        [socket, n, q] if q == "quiet" => (socket, n, true),
        _ => anyhow::bail!("usage: {STALL_USAGE}"),
    };
    let n: usize = n
        .parse()
        .map_err(|_| anyhow::anyhow!("N: not a whole number: {n}"))?;
    let kinds: &[EventKind] = if quiet { &[EventKind::Action] } else { &[] };
    let stalled = stalled_streams(Path::new(socket), n, kinds).await?;
    println!(
        "opened {} refused {}{}",
        stalled.streams.len(),
        stalled.refused,
        stalled
            .first_refusal
            .as_deref()
            .map(|m| format!(": {m}"))
            .unwrap_or_default()
    );
    tokio::task::spawn_blocking(|| std::io::copy(&mut std::io::stdin(), &mut std::io::sink()))
        .await??;
    drop(stalled);
    Ok(())
}

pub const STALL_USAGE: &str = "perch-bench stall-streams SOCKET N [quiet]";
