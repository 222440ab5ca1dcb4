//! Recordings: importing the larger Spydertop example (shared/fixtures,
//! minikube-provisioning) in records per second against the baseline of
//! plain gzip + JSON parsing of the same file (every line into a
//! `serde_json::Value`, nothing indexed), and seeking — the state at
//! random instants of the recording — p50/p99 against one whole import
//! (what answering by re-reading the file would cost).
use std::{
    io::{BufRead as _, BufReader},
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use anyhow::Context as _;
use perch::replay::Recording;

use crate::args::{Opt, median, parse};

pub const USAGE: &str =
    "replay [--rounds N (1..=100, default 5)] [--seeks N (10..=100000, default 2000)]";

/// The larger Spydertop example, found from the workspace root upwards.
fn fixture() -> anyhow::Result<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    root.ancestors()
        .map(|d| d.join("shared/fixtures/spydertop/minikube-provisioning.json.gz"))
        .find(|p| p.exists())
        .with_context(|| format!("no shared/fixtures/spydertop above {}", root.display()))
}

/// Lines parsed, by the baseline: gunzip and parse each line, keep nothing.
fn baseline(path: &Path) -> anyhow::Result<u64> {
    let file = std::fs::File::open(path).with_context(|| path.display().to_string())?;
    let reader = BufReader::new(flate2::read::MultiGzDecoder::new(file));
    let mut n = 0;
    for line in reader.lines() {
        let line = line?;
        if !line.trim().is_empty() {
            let v: serde_json::Value = serde_json::from_str(&line)?;
            std::hint::black_box(v);
            n += 1;
        }
    }
    Ok(n)
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

pub fn run(args: Vec<String>) -> anyhow::Result<()> {
    let (mut rounds, mut seeks) = (5, 2000);
    parse(
        args,
        &mut [
            Opt {
                name: "--rounds",
                value: &mut rounds,
                range: 1..=100,
            },
            Opt {
                name: "--seeks",
                value: &mut seeks,
                range: 10..=100_000,
            },
        ],
        USAGE,
    )?;
    let path = fixture()?;
    println!(
        "replay: {} ({rounds} rounds, {seeks} seeks)",
        path.display()
    );
    let (mut base, mut import) = (Vec::new(), Vec::new());
    let mut records = 0;
    let mut rec = None;
    // Alternate the two so load on the machine hits both alike.
    for _ in 0..rounds {
        let t = Instant::now();
        records = baseline(&path)?;
        base.push(records as f64 / t.elapsed().as_secs_f64());
        let t = Instant::now();
        let r = Recording::open(&path)?;
        import.push(records as f64 / t.elapsed().as_secs_f64());
        rec = Some(r);
    }
    let rec = rec.context("no round ran")?;
    let (base, import) = (median(base), median(import));
    println!("  baseline gzip + JSON parse     {base:>10.0} records/s ({records} records)");
    println!("  import (indexed Recording)     {import:>10.0} records/s");
    println!("  ratio import / baseline        {:>10.2}", import / base);
    let whole_import_ms = records as f64 / import * 1e3;
    let (lo, hi) = rec.span();
    // xorshift64: reproducible instants without a dependency.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut took = Vec::with_capacity(seeks);
    for _ in 0..seeks {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let at = lo + x % (hi - lo + 1);
        let t = Instant::now();
        let state = rec.state(at)?;
        took.push(t.elapsed());
        std::hint::black_box(state);
    }
    took.sort();
    let (p50, p99) = (pct(&took, 50.0), pct(&took, 99.0));
    println!("  seek (state at a random time)  p50 {p50:.3} ms  p99 {p99:.3} ms");
    println!("  one whole import (baseline)    {whole_import_ms:.3} ms");
    println!(
        "  ratio seek p99 / whole import  {:.4}",
        p99 / whole_import_ms
    );
    Ok(())
}
