//! Confirm → target dead: the latency of a live kill through perchd (the
//! gRPC request the console's confirm button sends, the pidfd check and
//! signal, the fsynced audit record, the answer), against the baseline of
//! this process calling kill(2) itself, in the same run.
use std::{
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail};
use perch_e2e::{Perchd, start_time_ns};
use perch_proto::v1::{ActRequest, ActionKind, ActionMode, ProcessKey, Signal};

use crate::args::{Opt, parse};

pub const USAGE: &str = "kill-latency [--kills N (10..=100000, default 1000)]";

fn sleeper() -> anyhow::Result<Child> {
    Command::new("/bin/sleep")
        .arg("300")
        .stdin(Stdio::null())
        .spawn()
        .context("spawn /bin/sleep")
}

/// p-th percentile (nearest rank) of sorted `v`, in ms.
fn pct(v: &[Duration], p: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "a rank among at most 100k samples"
    )]
    let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
    v[rank.clamp(1, v.len()) - 1].as_secs_f64() * 1e3
}

fn report(name: &str, mut v: Vec<Duration>) -> (f64, f64) {
    v.sort();
    let (p50, p99) = (pct(&v, 50.0), pct(&v, 99.0));
    println!(
        "  {name:<28} p50 {p50:7.3} ms  p99 {p99:7.3} ms  max {:7.3} ms",
        pct(&v, 100.0)
    );
    (p50, p99)
}

pub async fn run(args: Vec<String>) -> anyhow::Result<()> {
    let mut kills = 1000;
    parse(
        args,
        &mut [Opt {
            name: "--kills",
            value: &mut kills,
            range: 10..=100_000,
        }],
        USAGE,
    )?;
    println!("kill latency: {kills} kills of /bin/sleep, SIGKILL, each after the previous died");

    // Baseline: this process signals the child itself.
    let mut direct = Vec::with_capacity(kills);
    for _ in 0..kills {
        let mut child = sleeper()?;
        let pid = i32::try_from(child.id()).context("pid")?;
        let t0 = Instant::now();
        // SAFETY: kill(2) on our own child, which we have not reaped.
        if unsafe { libc::kill(pid, libc::SIGKILL) } != 0 {
            bail!("kill: {}", std::io::Error::last_os_error());
        }
        child.wait().context("wait")?;
        direct.push(t0.elapsed());
    }

    let perchd = Perchd::start(&["--log", "warn"]).await;
    let mut client = perchd.client().await?;
    let mut via = Vec::with_capacity(kills);
    let mut answered = Vec::with_capacity(kills);
    for _ in 0..kills {
        let mut child = sleeper()?;
        let pid = child.id();
        let key = ProcessKey {
            pid,
            start_time_ns: start_time_ns(pid),
        };
        let req = ActRequest {
            action: ActionKind::Kill.into(),
            target: Some(key),
            reason: "perch-bench kill-latency".to_owned(),
            mode: ActionMode::Live.into(),
            signal: Signal::Kill.into(),
            ..ActRequest::default()
        };
        let t0 = Instant::now();
        let reply = client.act(req).await.context("Act")?.into_inner();
        answered.push(t0.elapsed());
        // Reaped by us: returns as soon as the kernel has it dead.
        child.wait().context("wait")?;
        via.push(t0.elapsed());
        let code = reply.record.map(|r| r.code).unwrap_or_default();
        if code != "ok" {
            bail!("perchd answered {code} for pid {pid}");
        }
    }
    let (d50, d99) = report("kill(2) by the benchmark", direct);
    report("perchd: confirm -> answered", answered);
    let (p50, p99) = report("perchd: confirm -> dead", via);
    println!(
        "confirm -> dead: p50 {p50:.3} ms, p99 {p99:.3} ms (target p99 < 20 ms); \
         over kill(2): p50 x{:.1}, p99 x{:.1}",
        p50 / d50.max(1e-9),
        p99 / d99.max(1e-9)
    );
    Ok(())
}
