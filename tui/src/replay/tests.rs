//! Recordings against the Spydertop example files (`shared/fixtures`,
//! found from the workspace root upwards, never copied here): the
//! expected values are computed in each test from the file itself, read
//! with `serde_json` apart from the importer.
use std::{
    collections::{BTreeMap, BTreeSet},
    io::{Read as _, Write as _},
    path::{Path, PathBuf},
};

use serde_json::Value;

use super::*;

/// A Spydertop example recording (missing: the test fails, never skips).
pub fn fixture(name: &str) -> PathBuf {
    super::fixture::spydertop(name).unwrap_or_else(|e| panic!("{e}"))
}

fn lines(path: &Path) -> Vec<Value> {
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn schema(v: &Value) -> &str {
    v["schema"].as_str().unwrap().split(':').next().unwrap()
}

fn ns(secs: f64) -> u64 {
    secs_to_ns(secs)
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or(0.0)
}

/// Checks processes, CPU%, flags and traces at the middle sample.
fn state_matches_the_file(name: &str) {
    let path = fixture(name);
    let file = lines(&path);
    let rec = Recording::open(&path).unwrap();
    let mut tops: Vec<&Value> = file
        .iter()
        .filter(|v| schema(v) == "event_top_data")
        .collect();
    tops.sort_by(|a, b| f(&a["time"]).total_cmp(&f(&b["time"])));
    let mid = tops.len() / 2;
    let t = f(&tops[mid]["time"]);
    let state = rec.state(ns(t)).unwrap();
    assert_eq!(state.at_unix_ns, ns(t));

    // Processes: non-thread records, by id; started at or before t and
    // not closed more than a second before.
    let mut by_id: BTreeMap<&str, Vec<&Value>> = BTreeMap::new();
    for v in file.iter().filter(|v| schema(v) == "model_process") {
        if v["type"] != "thread" {
            by_id.entry(v["id"].as_str().unwrap()).or_default().push(v);
        }
    }
    let expected: BTreeSet<u32> = by_id
        .values()
        .filter(|vs| {
            let start = f(&vs[0]["create_time"]);
            let end = vs
                .iter()
                .filter_map(|v| v["valid_to"].as_f64())
                .reduce(f64::max);
            start <= t && end.is_none_or(|e| e + 1.0 >= t)
        })
        .map(|vs| u32::try_from(vs[0]["pid"].as_u64().unwrap()).unwrap())
        .collect();
    let got: BTreeSet<u32> = state.processes.iter().map(|p| p.key.unwrap().pid).collect();
    assert_eq!(
        state.processes.len(),
        expected.len(),
        "{name}: process count at {t}"
    );
    assert_eq!(got, expected);

    // CPU% of the busiest pid: its utime+stime (default applied) between
    // this sample and the one before, over clk_tck.
    let ticks = |top: &Value, pid: &str| {
        let d = &top["processes"]["default"];
        let e = &top["processes"][pid];
        let get = |k: &str| e.get(k).or(d.get(k)).and_then(Value::as_u64).unwrap_or(0);
        get("utime") + get("stime")
    };
    let (prev, now) = (tops[mid - 1], tops[mid]);
    let clk = f(&now["clk_tck"]);
    let dt = f(&now["time"]) - f(&prev["time"]);
    let (busy, busy_ticks) = now["processes"]
        .as_object()
        .unwrap()
        .keys()
        .filter(|k| *k != "default" && prev["processes"].get(k.as_str()).is_some())
        .map(|k| (k.clone(), ticks(now, k) - ticks(prev, k)))
        .max_by_key(|(_, d)| *d)
        .unwrap();
    assert!(busy_ticks > 0, "{name}: some process ran");
    let cpu = state
        .processes
        .iter()
        .find(|p| p.key.unwrap().pid.to_string() == busy)
        .and_then(|p| p.usage)
        .unwrap()
        .cpu_percent;
    let want = busy_ticks as f64 / clk / dt * 100.0;
    assert!(
        (cpu - want).abs() < want * 1e-5,
        "{name}: pid {busy} cpu {cpu} != {want}"
    );

    // Flags: those at or before t, newest last.
    let mut flags: Vec<&Value> = file
        .iter()
        .filter(|v| schema(v) == "event_redflag" && f(&v["time"]) <= t)
        .collect();
    flags.sort_by(|a, b| f(&a["time"]).total_cmp(&f(&b["time"])));
    assert_eq!(state.flags.len(), flags.len(), "{name}: flags at {t}");
    let (newest, got) = (flags.last().unwrap(), state.flags.last().unwrap());
    assert_eq!(got.id, newest["id"].as_str().unwrap());
    assert_eq!(got.short_name, newest["short_name"].as_str().unwrap());
    assert_eq!(got.description, newest["description"].as_str().unwrap());

    traces_match(name, &file, t, &state);
}

/// Traces: started at or before t, each as its newest version at or
/// before t (its oldest when all are later).
fn traces_match(name: &str, file: &[Value], t: f64, state: &StateAt) {
    let mut traces: BTreeMap<&str, Vec<&Value>> = BTreeMap::new();
    for v in file.iter().filter(|v| schema(v) == "model_spydertrace") {
        traces.entry(v["id"].as_str().unwrap()).or_default().push(v);
    }
    let shown: Vec<&Value> = traces
        .values_mut()
        .filter(|vs| vs.iter().any(|v| f(&v["valid_from"]) <= t))
        .map(|vs| {
            vs.sort_by(|a, b| f(&a["time"]).total_cmp(&f(&b["time"])));
            *vs.iter()
                .rev()
                .find(|v| f(&v["time"]) <= t)
                .unwrap_or(&vs[0])
        })
        .collect();
    assert_eq!(state.traces.len(), shown.len(), "{name}: traces at {t}");
    let top = shown
        .iter()
        .max_by_key(|v| (v["score"].as_u64(), v["id"].as_str()))
        .unwrap();
    let got = state
        .traces
        .iter()
        .find(|x| x.id == top["id"].as_str().unwrap())
        .unwrap();
    assert_eq!(u64::from(got.score), top["score"].as_u64().unwrap());
    assert_eq!(got.name, top["name"].as_str().unwrap());
    assert_eq!(got.root_proc_name, top["root_proc_name"].as_str().unwrap());
}

#[test]
fn minikube_node_state_matches_the_file() {
    state_matches_the_file("minikube-node.json.gz");
}

#[test]
fn minikube_provisioning_state_matches_the_file() {
    state_matches_the_file("minikube-provisioning.json.gz");
}

#[test]
fn counts_every_record_and_no_error_in_the_fixtures() {
    for name in ["minikube-node.json.gz", "minikube-provisioning.json.gz"] {
        let file = lines(&fixture(name));
        let rec = Recording::open(&fixture(name)).unwrap();
        let r = rec.report();
        assert_eq!(r.malformed, 0, "{name}: {:?}", r.first_error);
        assert_eq!(r.total_records() + r.total_unknown(), file.len() as u64);
        let ops = file
            .iter()
            .filter(|v| schema(v) == "model_operation")
            .count() as u64;
        assert_eq!(r.unknown.get("model_operation").copied().unwrap_or(0), ops);
    }
}

#[test]
fn a_bad_line_is_counted_with_the_first_line_number() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.ndjson");
    let good = lines(&fixture("minikube-node.json.gz"));
    let mut f = std::fs::File::create(&path).unwrap();
    writeln!(f, "{}", good[0]).unwrap();
    writeln!(f).unwrap();
    writeln!(f, "{{\"schema\": \"model_process::1.2.0\", \"id\": ").unwrap(); // line 3
    writeln!(
        f,
        "{{\"schema\": \"model_gizmo::9\", \"id\": \"g\", \"time\": 1}}"
    )
    .unwrap();
    writeln!(f, "{{\"schema\": \"event_redflag:x:1\", \"id\": \"f\"}}").unwrap(); // no time
    writeln!(f, "not json at all").unwrap();
    writeln!(f, "{}", good[1]).unwrap();
    f.write_all(b"\xff\xfe\n").unwrap();
    drop(f);
    let rec = Recording::open(&path).unwrap();
    let r = rec.report();
    assert_eq!(r.lines, 8);
    assert_eq!(r.malformed, 4);
    let (line, error) = r.first_error.clone().unwrap();
    assert_eq!(line, 3, "{error}");
    assert_eq!(r.unknown, BTreeMap::from([("model_gizmo".to_owned(), 1)]));
    assert_eq!(r.total_records(), 2);
}

#[test]
fn a_time_outside_the_file_names_its_range() {
    let rec = Recording::open(&fixture("minikube-node.json.gz")).unwrap();
    let (lo, hi) = rec.span();
    assert!(lo < hi);
    let err = rec.state(hi + 1).unwrap_err();
    assert_eq!(
        err,
        SourceError::OutOfRange {
            oldest_unix_ns: lo,
            newest_unix_ns: hi
        }
    );
    assert!(rec.state(lo - 1).is_err());
}

#[test]
fn missing_file_is_an_error_naming_it() {
    let err = Recording::open(Path::new("/nonexistent/x.json.gz")).unwrap_err();
    assert!(err.to_string().contains("/nonexistent/x.json.gz"), "{err}");
}

/// Every sample's state of `rec`.
fn states(rec: &Recording) -> Vec<StateAt> {
    rec.sample_times()
        .into_iter()
        .map(|t| rec.state(t).unwrap())
        .collect()
}

#[test]
fn export_then_import_gives_the_same_states() {
    for name in ["minikube-node.json.gz", "minikube-provisioning.json.gz"] {
        let rec = Recording::open(&fixture(name)).unwrap();
        let before = states(&rec);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.ndjson.gz");
        let file = std::fs::File::create(&path).unwrap();
        let mut gz = flate2::write::GzEncoder::new(file, flate2::Compression::default());
        let n = export::write(&mut gz, &rec.machine(), &before).unwrap();
        gz.finish().unwrap();
        let again = Recording::open(&path).unwrap();
        assert_eq!(
            again.report().malformed,
            0,
            "{:?}",
            again.report().first_error
        );
        assert_eq!(again.report().total_records(), n);
        assert_eq!(again.sample_times(), rec.sample_times());
        for (a, b) in before.iter().zip(states(&again)) {
            assert_eq!(
                a.processes.len(),
                b.processes.len(),
                "{name} at {}",
                a.at_unix_ns
            );
            for (p, q) in a.processes.iter().zip(&b.processes) {
                assert_eq!(p, q);
            }
            assert_eq!(a.flags, b.flags);
            assert_eq!(a.traces, b.traces);
            assert_eq!(a.connections, b.connections);
            assert_eq!(a.listening, b.listening);
            assert_eq!(a.host, b.host);
            assert_eq!(*a, b);
        }
    }
}

#[tokio::test]
async fn a_recorded_window_reads_back_as_the_states_it_holds() {
    let rec = Recording::open(&fixture("minikube-node.json.gz")).unwrap();
    let (lo, hi) = rec.span();
    let from = lo + (hi - lo) / 3;
    let to = from + 60 * NS_PER_SEC;
    // Every 50 ms: no sample of the file is skipped (its closest are
    // 0.1 s apart), so each usage figure has the same sample before it.
    let states = record::states(&rec, from, to, NS_PER_SEC / 20)
        .await
        .unwrap();
    let want: Vec<u64> = rec
        .sample_times()
        .into_iter()
        .filter(|t| (from..=to).contains(t))
        .collect();
    assert_eq!(
        states
            .iter()
            .map(|s| s.at_unix_ns)
            .skip(1)
            .collect::<Vec<_>>(),
        want
    );
    assert!(states.len() > 30, "{} states", states.len());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("window.ndjson.gz");
    let n = record::write_file(&path, &rec.machine(), &states).unwrap();
    let again = Recording::open(&path).unwrap();
    assert_eq!(again.report().total_records(), n);
    assert_eq!(again.report().malformed, 0);
    let times: Vec<u64> = states.iter().map(|s| s.at_unix_ns).collect();
    assert_eq!(again.sample_times(), times);
    for s in &states {
        let mut b = again.state(s.at_unix_ns).unwrap();
        // The window's own range, not the whole file's; and CPU% of the
        // window's first sample has no sample before it in the window.
        (b.oldest_unix_ns, b.newest_unix_ns) = (s.oldest_unix_ns, s.newest_unix_ns);
        if s.at_unix_ns == times[0] {
            continue;
        }
        assert_eq!(s.processes.len(), b.processes.len());
        assert_eq!(s.flags, b.flags);
        assert_eq!(s.traces, b.traces);
        assert_eq!(s.connections, b.connections);
        assert_eq!(*s, b);
    }
    assert!(matches!(
        record::states(&rec, to, from, NS_PER_SEC).await,
        Err(record::RecordError::Window { .. })
    ));
}
