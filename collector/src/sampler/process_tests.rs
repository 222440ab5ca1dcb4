//! Tests for `ProcessSampler` with live children.
use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::*;
use crate::model::Source;
use crate::proc::ProcReader;

struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn key_of(pid: u32) -> ProcKey {
    ProcReader::system()
        .read_process(pid, Source::Procfs)
        .expect("child readable")
        .key
}

#[test]
fn parses_io() {
    let io = b"rchar: 1\nwchar: 2\nsyscr: 3\nsyscw: 4\nread_bytes: 4096\nwrite_bytes: 8192\ncancelled_write_bytes: 0\n";
    assert_eq!(parse_io(io), Some((4096, 8192)));
    assert_eq!(parse_io(b"rchar: 1\n"), None);
    assert_eq!(parse_io(b""), None);
}

#[test]
fn busy_child_uses_a_core() {
    let child = Reaped(
        Command::new("sh")
            .args(["-c", "while :; do :; done"])
            .spawn()
            .expect("spawn"),
    );
    let key = key_of(child.0.id());
    let mut s = ProcessSampler::new("/proc");
    let first = s.sample(&[key], 1 << 30);
    assert_eq!(first.len(), 1, "first sample always reported");
    assert!(first[0].1.cpu_percent.abs() < 1e-9);
    // The percentage must agree with the CPU time the child really got over
    // the wall time between samples: on a loaded machine (CI running other
    // tests) a spinning child may get far less than a core, so no fixed
    // floor, only agreement and progress.
    let (mut prev_cpu, mut prev_at) = (first[0].1.cpu_time_ns, std::time::Instant::now());
    let mut best = 0.0_f64;
    for _ in 0..5 {
        std::thread::sleep(Duration::from_millis(300));
        let sample = s.sample(&[key], 1 << 30);
        let at = std::time::Instant::now();
        for (k, usage, threads) in sample {
            assert_eq!((k, threads), (key, 1));
            assert!(usage.cpu_time_ns > 0 && usage.rss_bytes > 0 && usage.mem_percent > 0.0);
            let expected = (usage.cpu_time_ns - prev_cpu) as f64
                / at.duration_since(prev_at).as_nanos() as f64
                * 100.0;
            // Tick granularity (10 ms of CPU) over ~300 ms, plus sleep jitter.
            let slack = (expected * 0.2).max(5.0);
            assert!(
                (usage.cpu_percent - expected).abs() <= slack,
                "cpu_percent {} vs {expected:.1} from cpu time",
                usage.cpu_percent
            );
            (prev_cpu, prev_at) = (usage.cpu_time_ns, at);
            best = best.max(usage.cpu_percent);
        }
    }
    assert!(best > 0.0, "a spinning child used no CPU at all");
}

#[test]
fn writer_child_shows_storage_writes() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("data");
    // dd stays alive (blocked on stdin) after writing, so its counters can
    // be read: /proc/PID/io does not include reaped children.
    let mut child = Reaped(
        Command::new("dd")
            .arg(format!("of={}", out.display()))
            .args(["bs=64k", "oflag=dsync", "status=none"])
            .stdin(Stdio::piped())
            .spawn()
            .expect("spawn dd"),
    );
    let key = key_of(child.0.id());
    let mut s = ProcessSampler::new("/proc");
    let before = s.sample(&[key], 0);
    assert!(before[0].1.mem_percent.abs() < 1e-9, "unknown total memory");
    let mut stdin = child.0.stdin.take().expect("stdin");
    stdin.write_all(&vec![0x5a; 4 << 20]).expect("feed dd");
    stdin.flush().expect("flush");
    let mut written = 0;
    for _ in 0..50 {
        std::thread::sleep(Duration::from_millis(100));
        if let Some((_, usage, _)) = s.sample(&[key], 0).first() {
            written = usage.write_bytes;
            assert!(usage.write_bytes_per_sec >= 0.0);
        }
        if written >= 4 << 20 {
            break;
        }
    }
    assert!(written >= 4 << 20, "write_bytes {written}");
    drop(stdin);
}

#[test]
fn skips_reused_and_gone_pids_and_forgets_old_keys() {
    let me = key_of(std::process::id());
    let mut s = ProcessSampler::new("/proc");
    let wrong_start = ProcKey {
        pid: me.pid,
        start_ns: me.start_ns + 60_000_000_000,
    };
    let gone = ProcKey {
        pid: u32::MAX - 1,
        start_ns: 1,
    };
    let got = s.sample(&[me, wrong_start, gone], 1 << 30);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0, me);
    assert!(s.prev.contains_key(&me));
    assert!(s.sample(&[], 1 << 30).is_empty());
    assert!(s.prev.is_empty(), "state of keys not passed is dropped");
    assert_eq!(
        s.sample(&[me], 1 << 30).len(),
        1,
        "new again after being forgotten"
    );
}

#[test]
fn parses_statm_shared() {
    assert_eq!(parse_statm_shared(b"2453 225 198 5 0 120 0\n"), Some(198));
    assert_eq!(parse_statm_shared(b"2453 225"), None);
    assert_eq!(parse_statm_shared(b""), None);
}

#[test]
fn virt_shr_pri_and_a_renice_show_in_the_next_sample() {
    let child = Reaped(Command::new("sleep").arg("30").spawn().expect("spawn"));
    let pid = child.0.id();
    // Until it has exec'd, the child is a copy of this test's fork.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default() != "sleep\n" {
        assert!(std::time::Instant::now() < deadline, "sleep never ran");
        std::thread::sleep(Duration::from_millis(10));
    }
    let key = key_of(pid);
    let mut s = ProcessSampler::new("/proc");
    let first = s.sample(&[key], 1 << 30);
    let u = first[0].1;
    assert!(
        u.virtual_bytes >= u.rss_bytes && u.virtual_bytes > 0,
        "{u:?}"
    );
    // sleep maps libc: some of its resident pages are file-backed.  (Not
    // compared with RSS: stat's and statm's counters may lag each other.)
    assert!(u.shared_bytes > 0, "{u:?}");
    assert_eq!((u.nice, u.priority), (0, 20), "{u:?}");
    let renice = Command::new("renice")
        .args(["-n", "7", "-p", &pid.to_string()])
        .stdout(Stdio::null())
        .status()
        .expect("renice");
    assert!(renice.success());
    let next = s.sample(&[key], 1 << 30);
    assert_eq!(next.len(), 1, "a renice is a change");
    assert_eq!(
        (next[0].1.nice, next[0].1.priority),
        (7, 27),
        "{:?}",
        next[0].1
    );
}
