//! `perch-bench flag-latency`: exec -> flag visible to a `WatchEvents`
//! client, p50/p99 over N triggers, against exec -> Exec event visible
//! measured on the same execs (the baseline).  The trigger is a copy of
//! `true` run from a temp dir (rule `exec_from_temp`), one at a time; the
//! first raises the flag, the others are repeats of it, which perchd still
//! publishes as `FlagRaised` events (with the repeat count).
use std::{
    os::unix::fs::PermissionsExt as _,
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail};
use perch_e2e::Perchd;
use perch_proto::v1::{self as pb, event::Kind};
use tokio::sync::mpsc;
use tokio_stream::StreamExt as _;

use crate::args::{Opt, parse, percentile};

pub const USAGE: &str = "perch-bench flag-latency [--triggers N (10..=100000, 1000)]";

/// What the watcher saw, and when.
enum Seen {
    Exec(u32),
    Flag,
}

/// Spawns `exe`, again if it is busy for a moment (ETXTBSY: the copy was
/// just written and a concurrent fork may still hold it open).
fn spawn(exe: &std::path::Path) -> anyhow::Result<std::process::Child> {
    for _ in 0..50 {
        match std::process::Command::new(exe).spawn() {
            Err(e) if e.raw_os_error() == Some(nix::libc::ETXTBSY) => {
                std::thread::sleep(Duration::from_millis(10));
            }
            r => return r.with_context(|| format!("spawning {}", exe.display())),
        }
    }
    bail!("{} stayed busy (ETXTBSY)", exe.display())
}

pub async fn run(args: Vec<String>) -> anyhow::Result<()> {
    let mut n = 1000;
    parse(
        args,
        &mut [Opt {
            name: "--triggers",
            value: &mut n,
            range: 10..=100_000,
        }],
        USAGE,
    )?;
    let dir = tempfile::Builder::new()
        .prefix("perch-flag-latency")
        .tempdir_in("/tmp")?;
    let trigger = dir.path().join("trigger");
    std::fs::copy("/bin/true", &trigger).context("copying /bin/true")?;
    std::fs::set_permissions(&trigger, std::fs::Permissions::from_mode(0o755))?;

    let perchd = Perchd::start(&["--log", "warn"]).await;
    let mut client = perchd.client().await?;
    let info = client.get_info(pb::GetInfoRequest {}).await?.into_inner();
    let mut stream = client
        .watch_events(pb::WatchEventsRequest {
            resume_after_seq: Some(info.head_seq),
            kinds: vec![],
            threads: false,
        })
        .await?
        .into_inner();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let me = std::process::id();
    let watcher = tokio::spawn(async move {
        while let Some(Ok(msg)) = stream.next().await {
            let at = Instant::now();
            for e in msg.events {
                let seen = match e.kind {
                    Some(Kind::Exec(x)) => match x.process {
                        Some(p) if p.ppid == me => Seen::Exec(p.key.map_or(0, |k| k.pid)),
                        _ => continue,
                    },
                    Some(Kind::Flag(f))
                        if f.flag
                            .as_ref()
                            .is_some_and(|f| f.rule_id == "exec_from_temp") =>
                    {
                        Seen::Flag
                    }
                    _ => continue,
                };
                if tx.send((seen, at)).is_err() {
                    return;
                }
            }
        }
    });

    let (mut to_exec, mut to_flag) = (Vec::with_capacity(n), Vec::with_capacity(n));
    let mut missed = 0usize;
    for _ in 0..n {
        // Whatever arrived late for the previous trigger is not this one's.
        while rx.try_recv().is_ok() {}
        let t0 = Instant::now();
        let mut child = spawn(&trigger)?;
        let pid = child.id();
        child.wait()?;
        let (mut exec, mut flag) = (None, None);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while exec.is_none() || flag.is_none() {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some((Seen::Exec(p), at))) if p == pid => exec = Some(at - t0),
                Ok(Some((Seen::Flag, at))) => flag = flag.or(Some(at - t0)),
                Ok(Some(_)) => {}
                Ok(None) => bail!("the event stream ended"),
                Err(_) => break,
            }
        }
        match (exec, flag) {
            (Some(e), Some(f)) => {
                to_exec.push(e);
                to_flag.push(f);
            }
            _ => missed += 1,
        }
    }
    watcher.abort();
    if to_flag.is_empty() {
        bail!("no flag seen in {n} triggers");
    }
    let (e50, e99) = (percentile(&mut to_exec, 50), percentile(&mut to_exec, 99));
    let (f50, f99) = (percentile(&mut to_flag, 50), percentile(&mut to_flag, 99));
    println!(
        "triggers: {n} (exec of a copied binary from /tmp, one at a time), measured {}, missed {missed}",
        to_flag.len()
    );
    println!("exec -> Exec event visible: p50 {e50:.2} ms, p99 {e99:.2} ms (baseline)");
    println!(
        "exec -> flag visible:       p50 {f50:.2} ms, p99 {f99:.2} ms ({:.2}x / {:.2}x the baseline; target p99 < 100 ms)",
        f50 / e50.max(1e-9),
        f99 / e99.max(1e-9)
    );
    Ok(())
}
