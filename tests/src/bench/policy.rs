//! Workload policies' cost, measured against a baseline taken in the same
//! run:
//! - `policy-kill`: a deviant process started into a service's cgroup and
//!   killed by an enforcing policy (agentKillProcess): start -> dead,
//!   p50/p99 over N, against start -> exit of `/bin/true` through the same
//!   launcher (the process's own start-up, the floor);
//! - `policy-storm`: the exec storm with P workload policies in force
//!   (one covering the storm's workload, the others selecting other
//!   services) against perchd with none: throughput, and perchd's CPU per
//!   event with and without, whose difference is the policies' cost.
use std::{
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail};

use crate::{
    args::{Opt, median, parse, percentile},
    exec_storm::{self, Opts, perchd_round, rate, storm},
};

pub const KILL_USAGE: &str = "perch-bench policy-kill [--kills N (10..=100000, 1000)]";
pub const STORM_USAGE: &str = "perch-bench policy-storm [--processes N (20000)] [--rounds R (3)] [--loops L] [--policies P (1..=1000, 50)]";

const CGROUP2: &str = "/sys/fs/cgroup/unified";

/// A cgroup made for the run, removed (its processes killed) on drop.
struct Cgroup(PathBuf);

impl Cgroup {
    fn make(name: &str) -> anyhow::Result<Self> {
        let dir = Path::new(CGROUP2).join(name);
        std::fs::create_dir_all(&dir).with_context(|| format!("mkdir {}", dir.display()))?;
        Ok(Self(dir))
    }
}

impl Drop for Cgroup {
    fn drop(&mut self) {
        let _ = std::fs::write(self.0.join("cgroup.kill"), "1");
        for _ in 0..100 {
            if std::fs::remove_dir(&self.0).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Moves this process back to the cgroup it started in when dropped:
/// declared after the storm's [`Cgroup`], it is dropped first, so that
/// cgroup's `cgroup.kill` does not kill the benchmark itself.
struct Return(PathBuf);

impl Return {
    fn here() -> anyhow::Result<Self> {
        let own =
            std::fs::read_to_string("/proc/self/cgroup").context("reading /proc/self/cgroup")?;
        let path = own
            .lines()
            .find_map(|l| l.strip_prefix("0::"))
            .context("no cgroup2 line in /proc/self/cgroup")?;
        Ok(Self(Path::new(CGROUP2).join(path.trim_start_matches('/'))))
    }
}

impl Drop for Return {
    fn drop(&mut self) {
        let _ = std::fs::write(self.0.join("cgroup.procs"), std::process::id().to_string());
    }
}

/// `program ARGS` started inside `leaf` through `sh`; waits for its end.
fn run_in(leaf: &Path, program: &Path, args: &str) -> anyhow::Result<Duration> {
    let script = format!(
        "echo $$ > {}/cgroup.procs && exec {} {args}",
        leaf.display(),
        program.display()
    );
    let t0 = Instant::now();
    let status = Command::new("/bin/sh").args(["-c", &script]).status()?;
    let took = t0.elapsed();
    if status.success() == program.ends_with("perch-deviant") {
        bail!("{} ended with {status}: not as expected", program.display());
    }
    Ok(took)
}

fn policy(name: &str, cgroup: &str, roots: &str, actions: &str) -> String {
    format!(
        "apiVersion: spyderbat/v1\nkind: SpyderbatPolicy\nmetadata: {{name: {name}, type: linux-service}}\n\
         spec:\n  serviceSelector: {{cgroup: \"{cgroup}\"}}\n  mode: enforce\n  processPolicy: {roots}\n\
         \x20 networkPolicy: {{ingress: [], egress: []}}\n  response:\n    default: []\n    actions: {actions}\n"
    )
}

pub async fn kill(args: Vec<String>) -> anyhow::Result<()> {
    let mut n = 1000;
    parse(
        args,
        &mut [Opt {
            name: "--kills",
            value: &mut n,
            range: 10..=100_000,
        }],
        KILL_USAGE,
    )?;
    let me = std::process::id();
    let cg = Cgroup::make(&format!("perch-bench-kill-{me}.service"))?;
    let dir = tempfile::Builder::new()
        .prefix("perch-bench-kill")
        .tempdir_in("/tmp")?;
    let deviant = dir.path().join("perch-deviant");
    std::fs::copy("/bin/sleep", &deviant).context("copying /bin/sleep")?;
    let policies = dir.path().join("policies");
    std::fs::create_dir(&policies)?;
    std::fs::write(
        policies.join("bench-kill.yaml"),
        policy(
            "bench-kill",
            &format!("/perch-bench-kill-{me}.service"),
            "[{name: \"true\", exe: [\"*/true\"], id: true_0, euser: [\"*\"]}]",
            "[{agentKillProcess: {processSelector: {name: perch-deviant}}}]",
        ),
    )?;
    let perchd = perch_e2e::Perchd::start(&[
        "--log",
        "warn",
        "--policies",
        &policies.display().to_string(),
    ])
    .await;
    let (leaf, truth) = (cg.0.clone(), PathBuf::from("/bin/true"));
    let (mut killed, mut floor) = (Vec::with_capacity(n), Vec::with_capacity(n));
    tokio::task::block_in_place(|| -> anyhow::Result<()> {
        for _ in 0..n {
            floor.push(run_in(&leaf, &truth, "")?);
            killed.push(run_in(&leaf, &deviant, "30")?);
        }
        Ok(())
    })?;
    drop(perchd);
    let (k50, k99) = (percentile(&mut killed, 50), percentile(&mut killed, 99));
    let (f50, f99) = (percentile(&mut floor, 50), percentile(&mut floor, 99));
    println!(
        "kills: {n} (a deviant started into the service's cgroup, one at a time; enforce, agentKillProcess)"
    );
    println!("start -> exit of /bin/true (baseline):   p50 {f50:.2} ms, p99 {f99:.2} ms");
    println!(
        "start -> deviant killed by the policy:   p50 {k50:.2} ms, p99 {k99:.2} ms ({:.2}x / {:.2}x the baseline; target p99 < 50 ms)",
        k50 / f50.max(1e-9),
        k99 / f99.max(1e-9)
    );
    Ok(())
}

/// `count` policies into `dir`: one covering the storm's workload (this
/// process, its `/bin/true` children and perchd), the others selecting
/// services that do not run here.
fn write_policies(some: &Path, me: u32, count: usize) -> anyhow::Result<()> {
    std::fs::write(
        some.join("storm.yaml"),
        policy(
            "storm",
            &format!("/perch-bench-storm-{me}.service"),
            "[{name: \"perch-bench\", exe: [\"*/perch-bench\"], id: bench_0, euser: [root], children: [{name: \"true\", exe: [\"*/true\"], id: true_0}, {name: perchd, exe: [\"*/perchd\"], id: perchd_0}]}]",
            "[{agentKillProcess: {processSelector: {name: never-runs}}}]",
        ),
    )?;
    for i in 1..count {
        std::fs::write(
            some.join(format!("svc-{i}.yaml")),
            policy(
                &format!("svc-{i}"),
                &format!("/system.slice/perch-bench-svc-{i}.service"),
                "[{name: nginx, exe: [/usr/sbin/nginx], id: nginx_0, euser: [www-data]}]",
                "[{agentKillProcess: {processSelector: {name: sh}}}]",
            ),
        )?;
    }
    Ok(())
}

pub async fn storm_with_policies(args: Vec<String>) -> anyhow::Result<()> {
    let mut o = Opts::default();
    let mut count = 50;
    let [processes, rounds, loops] = o.storm_opts();
    parse(
        args,
        &mut [
            processes,
            rounds,
            loops,
            Opt {
                name: "--policies",
                value: &mut count,
                range: 1..=1000,
            },
        ],
        STORM_USAGE,
    )?;
    let me = std::process::id();
    // The storm's workload: this process and its /bin/true children, in a
    // service cgroup of their own (perchd, started from here, too).
    let cg = Cgroup::make(&format!("perch-bench-storm-{me}.service"))?;
    let _home = Return::here()?;
    std::fs::write(cg.0.join("cgroup.procs"), me.to_string())
        .context("joining the storm's cgroup")?;
    let dir = tempfile::Builder::new()
        .prefix("perch-bench-policies")
        .tempdir_in("/tmp")?;
    let (none, some) = (dir.path().join("none"), dir.path().join("some"));
    std::fs::create_dir(&none)?;
    std::fs::create_dir(&some)?;
    write_policies(&some, me, count)?;
    println!(
        "exec storm with {count} workload policies (one covering the storm, {} selecting other services) vs none: {} processes per round, {} rounds",
        count - 1,
        o.processes,
        o.rounds
    );
    let (mut base, mut without, mut with) = (Vec::new(), Vec::new(), Vec::new());
    let (none_s, some_s) = (none.display().to_string(), some.display().to_string());
    for round in 1..=o.rounds {
        let (pids, took) = tokio::task::spawn_blocking({
            let (n, l) = (o.processes, o.loops);
            move || storm(n, l)
        })
        .await??;
        base.push(rate(pids.len(), took));
        let (r0, p0) = perchd_round(&o, &["--log", "warn", "--policies", &none_s]).await?;
        drop(p0);
        let (r1, p1) = perchd_round(&o, &["--log", "warn", "--policies", &some_s]).await?;
        drop(p1);
        println!(
            "  round {round}: without perchd {:.0} execs/s; no policies {:.0} execs/s, {:.2} µs CPU/event; {count} policies {:.0} execs/s, {:.2} µs CPU/event; received {}/{}",
            base[round - 1],
            r0.rate,
            r0.per_event_us,
            r1.rate,
            r1.per_event_us,
            r1.got,
            r1.spawned
        );
        without.push(r0);
        with.push(r1);
    }
    let med = |rs: &[exec_storm::Round], f: &dyn Fn(&exec_storm::Round) -> f64| {
        median(rs.iter().map(f).collect())
    };
    let (w0, w1) = (med(&without, &|r| r.rate), med(&with, &|r| r.rate));
    let (c0, c1) = (
        med(&without, &|r| r.per_event_us),
        med(&with, &|r| r.per_event_us),
    );
    println!(
        "without perchd:                 {:.0} execs/s (median)",
        median(base)
    );
    println!("perchd, no policies (baseline): {w0:.0} execs/s, {c0:.2} µs CPU/event (median)");
    println!("perchd, {count} policies:           {w1:.0} execs/s, {c1:.2} µs CPU/event (median)");
    println!(
        "throughput {count} policies/none:   {:.3}",
        w1 / w0.max(1e-9)
    );
    println!(
        "policy evaluation per event:    {:.2} µs ({:.3}x the CPU/event without)",
        c1 - c0,
        c1 / c0.max(1e-9)
    );
    Ok(())
}
