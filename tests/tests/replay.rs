//! `perch replay FILE --print` through the real binary on both Spydertop
//! example recordings (shared/fixtures/spydertop, found from the
//! workspace root upwards; never copied into the repository).  What the
//! command should print is computed here from the file itself, read with
//! `serde_json`: processes, flags and traces at a sample in the middle of
//! the file.  Plus a file with bad lines, and a time outside the file.
#![expect(
    clippy::unwrap_used,
    clippy::panic,
    reason = "helpers of end-to-end tests: a fixture that does not read as expected should fail the test loudly"
)]
use std::{
    collections::BTreeMap,
    io::{Read as _, Write as _},
    path::{Path, PathBuf},
    process::Command,
    time::Duration,
};

use perch_e2e::{binary, procs::run_bounded};
use serde_json::Value;

const WAIT: Duration = Duration::from_mins(1);

/// A Spydertop example recording (missing: the test fails, never skips).
fn fixture(name: &str) -> PathBuf {
    perch::replay::fixture::spydertop(name).unwrap_or_else(|e| panic!("{e}"))
}

fn records(path: &Path) -> Vec<Value> {
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn of<'a>(file: &'a [Value], schema: &str) -> impl Iterator<Item = &'a Value> {
    let prefix = format!("{schema}:");
    file.iter()
        .filter(move |v| v["schema"].as_str().unwrap().starts_with(&prefix))
}

fn secs(v: &Value) -> f64 {
    v.as_f64().unwrap_or(0.0)
}

/// Unix seconds as the Unix ns perch prints.
#[expect(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "positive times of 2022 in ns fit in u64"
)]
fn ns(secs: f64) -> u64 {
    (secs * 1e9).round() as u64
}

/// What the file says at `t` (Unix seconds): processes (not threads)
/// started by then and not gone more than a second before; flags at or
/// before; traces started by then, as their newest version by then.
struct Expected {
    processes: usize,
    flags: Vec<String>,
    traces: BTreeMap<String, u64>,
}

fn expected(file: &[Value], t: f64) -> Expected {
    let mut procs: BTreeMap<&str, Vec<&Value>> = BTreeMap::new();
    for v in of(file, "model_process").filter(|v| v["type"] != "thread") {
        procs.entry(v["id"].as_str().unwrap()).or_default().push(v);
    }
    let processes = procs
        .values()
        .filter(|vs| {
            let end = vs
                .iter()
                .filter_map(|v| v["valid_to"].as_f64())
                .reduce(f64::max);
            secs(&vs[0]["create_time"]) <= t && end.is_none_or(|e| e + 1.0 >= t)
        })
        .count();
    let mut flags: Vec<(f64, String)> = of(file, "event_redflag")
        .filter(|v| secs(&v["time"]) <= t)
        .map(|v| (secs(&v["time"]), v["id"].as_str().unwrap().to_owned()))
        .collect();
    flags.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
    let mut traces: BTreeMap<&str, Vec<&Value>> = BTreeMap::new();
    for v in of(file, "model_spydertrace") {
        traces.entry(v["id"].as_str().unwrap()).or_default().push(v);
    }
    let traces = traces
        .into_iter()
        .filter(|(_, vs)| vs.iter().any(|v| secs(&v["valid_from"]) <= t))
        .map(|(id, mut vs)| {
            vs.sort_by(|a, b| secs(&a["time"]).total_cmp(&secs(&b["time"])));
            let v = vs
                .iter()
                .rev()
                .find(|v| secs(&v["time"]) <= t)
                .unwrap_or(&vs[0]);
            (id.to_owned(), v["score"].as_u64().unwrap())
        })
        .collect();
    Expected {
        processes,
        flags: flags.into_iter().map(|(_, id)| id).collect(),
        traces,
    }
}

fn replay(args: &[&str]) -> perch_e2e::procs::Finished {
    run_bounded(Command::new(binary("perch")).arg("replay").args(args), WAIT)
}

fn prints_the_state_the_file_holds(name: &str) {
    let path = fixture(name);
    let file = records(&path);
    let mut tops: Vec<f64> = of(&file, "event_top_data")
        .map(|v| secs(&v["time"]))
        .collect();
    tops.sort_by(f64::total_cmp);
    // --at takes whole seconds (@UNIX_SECONDS): the state is then at the
    // newest sample at or before that second.
    let at = tops[tops.len() / 2].floor();
    let run = replay(&[
        path.to_str().unwrap(),
        "--print",
        "--json",
        &format!("--at=@{at}"),
    ]);
    assert!(run.status.success(), "{name}: {}", run.stderr);
    let got: Value = serde_json::from_str(&run.stdout).unwrap();
    let want = expected(&file, at);
    assert_eq!(got["import"]["malformed"], 0, "{name}");
    assert_eq!(
        got["import"]["records"]["event_redflag"].as_u64().unwrap(),
        of(&file, "event_redflag").count() as u64
    );
    let sample = tops.iter().rev().find(|s| **s <= at).unwrap();
    assert_eq!(got["at_unix_ns"].as_u64().unwrap(), ns(*sample));
    assert_eq!(
        got["processes"].as_array().unwrap().len(),
        want.processes,
        "{name}"
    );
    let flags: Vec<&str> = got["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert_eq!(flags, want.flags, "{name}: flags at {at}");
    let traces: BTreeMap<String, u64> = got["traces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["id"].as_str().unwrap().to_owned(),
                t["score"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(traces, want.traces, "{name}: traces at {at}");

    // The text at the last sample: the counts line.
    let run = replay(&[path.to_str().unwrap(), "--print"]);
    assert!(run.status.success(), "{name}: {}", run.stderr);
    let last = expected(&file, *tops.last().unwrap());
    let counts = format!("{} processes (0 exited)", last.processes);
    assert!(
        run.stdout.contains(&counts),
        "{name}: want {counts:?} in\n{}",
        run.stdout
    );
    assert!(run.stdout.contains(&format!(
        "{} flags, {} traces",
        last.flags.len(),
        last.traces.len()
    )));
    assert!(run.stdout.contains(", 0 malformed"), "{}", run.stdout);
}

#[test]
fn replay_prints_minikube_node() {
    prints_the_state_the_file_holds("minikube-node.json.gz");
}

#[test]
fn replay_prints_minikube_provisioning() {
    prints_the_state_the_file_holds("minikube-provisioning.json.gz");
}

#[test]
fn replay_counts_bad_lines_and_names_the_range() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.ndjson");
    let good = records(&fixture("minikube-node.json.gz"));
    let top = of(&good, "event_top_data").next().unwrap();
    let mut f = std::fs::File::create(&path).unwrap();
    writeln!(f, "{top}").unwrap();
    writeln!(
        f,
        "{{\"schema\": \"model_process::1.2.0\", \"pid\": \"one\"}}"
    )
    .unwrap(); // line 2
    writeln!(
        f,
        "{{\"schema\": \"model_widget::1\", \"id\": \"w\", \"time\": 2}}"
    )
    .unwrap();
    writeln!(f, "{{broken").unwrap();
    drop(f);
    let run = replay(&[path.to_str().unwrap(), "--print"]);
    assert!(run.status.success(), "{}", run.stderr);
    assert!(
        run.stdout.contains(", 2 malformed, 1 of unknown schemas"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("first malformed line: 2: "),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("ignored schemas: model_widget 1"),
        "{}",
        run.stdout
    );

    let first = of(&good, "event_top_data")
        .map(|v| secs(&v["time"]))
        .reduce(f64::min)
        .unwrap();
    let run = replay(&[
        fixture("minikube-node.json.gz").to_str().unwrap(),
        "--print",
        "--at=@1",
    ]);
    assert_eq!(run.status.code(), Some(1));
    let range = format!("({} .. ", ns(first));
    assert!(
        run.stderr.contains("outside the recording, which holds "),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(&range),
        "want {range:?} in {}",
        run.stderr
    );
}
