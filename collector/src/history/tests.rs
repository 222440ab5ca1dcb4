//! Unit tests of the store: schema, writer and queries on a temp file.
use std::sync::{Arc, Mutex};

use perch_proto::v1::{
    ConnectionEvent, Deviation, DeviationRaised, EncodedEvent, Event, EventKind, Exit, Flag,
    FlagRaised, HistoryStatus, HostSample, Process, ProcessExec, ProcessExit, ProcessFork,
    ProcessKey, ProcessSample, ProcessSamples, ResourceUsage, StoredEvent, Trace, TraceUpdated,
    event::Kind,
};

use super::{
    History, HistorySettings, ListQuery, QueryError, StateQuery, Status, bound, schema,
    write::Writer,
};

pub(super) const BOOT: u64 = 1_700_000_000 * perch_proto::NS_PER_SEC;
pub(super) const S: u64 = perch_proto::NS_PER_SEC;

pub(super) fn event(seq: u64, secs: u64, kind: Kind) -> EncodedEvent {
    let mut e = EncodedEvent::new(&Event {
        seq: 0,
        time_ns: secs * S,
        kind: Some(kind),
    });
    e.seq = seq;
    e
}

pub(super) fn process(pid: u32, argv: &[&str]) -> Process {
    Process {
        key: Some(ProcessKey {
            pid,
            start_time_ns: u64::from(pid) * 1000,
        }),
        comm: argv[0].to_owned(),
        argv: argv.iter().map(|&a| a.to_owned()).collect(),
        ..Process::default()
    }
}

pub(super) fn exec(seq: u64, secs: u64, p: Process) -> EncodedEvent {
    event(
        seq,
        secs,
        Kind::Exec(ProcessExec {
            process: Some(p),
            old_pid: 0,
        }),
    )
}

pub(super) fn exit(seq: u64, secs: u64, pid: u32, code: i32) -> EncodedEvent {
    event(
        seq,
        secs,
        Kind::Exit(ProcessExit {
            key: Some(ProcessKey {
                pid,
                start_time_ns: u64::from(pid) * 1000,
            }),
            exit: Some(Exit {
                time_ns: secs * S,
                code: Some(code),
                ..Exit::default()
            }),
        }),
    )
}

pub(super) fn samples(seq: u64, secs: u64, cpu: &[(u32, f64)]) -> EncodedEvent {
    event(
        seq,
        secs,
        Kind::ProcessSamples(ProcessSamples {
            samples: cpu
                .iter()
                .map(|&(pid, c)| ProcessSample {
                    key: Some(ProcessKey {
                        pid,
                        start_time_ns: u64::from(pid) * 1000,
                    }),
                    usage: Some(ResourceUsage {
                        cpu_percent: c,
                        ..ResourceUsage::default()
                    }),
                    ..ProcessSample::default()
                })
                .collect(),
            interval_ns: S,
        }),
    )
}

/// The stored exec events from boot to `secs` after it (at most `limit`),
/// and whether the limit cut them short.
pub(super) fn execs_until(h: &History, secs: u64, limit: u32) -> (Vec<StoredEvent>, bool) {
    h.list(&ListQuery {
        from_unix_ns: BOOT,
        to_unix_ns: BOOT + secs * S,
        kinds: vec![EventKind::Exec],
        pids: vec![],
        limit,
    })
    .expect("list")
}

/// `len` characters that do not compress (the stored batches are
/// compressed: a bound is filled with these, not with repeats).
pub(super) fn noise(seed: u64, len: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_";
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            // xorshift64
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from(ALPHABET[usize::try_from(x % 64).expect("index")])
        })
        .collect()
}

/// A store in a temp dir with a writer and a History answering from it.
pub(super) fn store(dir: &tempfile::TempDir, max_bytes: u64) -> (Writer, Arc<History>) {
    let settings = HistorySettings {
        enabled: true,
        path: dir.path().join("h.db"),
        max_bytes,
        max_age: std::time::Duration::from_hours(1),
    };
    let conn = schema::open_writer(&settings.path, max_bytes).expect("open");
    let mut h = History::new(&settings, Status::Ok, 30 * S);
    h.reader = Some(Mutex::new(
        schema::open_reader(&settings.path).expect("reader"),
    ));
    let mut w = Writer::new(conn, BOOT);
    w.start_run(BOOT + S, &[process(1, &["init"])], &[], &[])
        .expect("start");
    (w, Arc::new(h))
}

pub(super) fn pids(ps: &[Process]) -> Vec<u32> {
    let mut v: Vec<u32> = ps.iter().filter_map(|p| p.key.map(|k| k.pid)).collect();
    v.sort_unstable();
    v
}

/// The state `secs` seconds after boot (in the stored range).
pub(super) fn state(h: &History, secs: u64) -> super::State {
    h.state_at(StateQuery {
        at_unix_ns: BOOT + secs * S,
    })
    .expect("state")
}

#[test]
fn state_at_follows_exec_exit_and_usage() {
    let dir = tempfile::tempdir().expect("tmp");
    let (mut w, h) = store(&dir, 1 << 30);
    w.write(
        &[
            exec(1, 10, process(100, &["sh", "-c", "sleep 3"])),
            exec(2, 11, process(101, &["sleep", "3"])),
            samples(3, 12, &[(100, 5.0), (101, 50.0)]),
            event(
                4,
                12,
                Kind::HostSample(HostSample {
                    load1: 1.5,
                    ..HostSample::default()
                }),
            ),
            samples(5, 13, &[(101, 70.0)]),
            exit(6, 14, 101, 7),
            exit(7, 15, 100, 0),
            event(8, 100, Kind::HostSample(HostSample::default())),
        ],
        0,
    )
    .expect("write");
    bound::refresh(&w, &h);
    let at = |secs: u64| {
        h.state_at(StateQuery {
            at_unix_ns: BOOT + secs * S,
        })
    };
    let s = at(13).expect("state at 13 s");
    assert_eq!(
        pids(&s.decoded_processes().expect("decode")),
        vec![1, 100, 101]
    );
    let sleep = s
        .decoded_processes()
        .expect("decode")
        .into_iter()
        .find(|p| p.comm == "sleep")
        .expect("sleep");
    assert_eq!(sleep.argv, vec!["sleep", "3"]);
    assert!(sleep.exit.is_none(), "alive at 13 s");
    assert_eq!(sleep.usage.map(|u| u.cpu_percent), Some(70.0));
    assert_eq!(s.at_unix_ns, BOOT + 13 * S);
    assert_eq!(s.host.map(|h| h.load1), Some(1.5));
    // After the exit, within the retention: there with its exit status.
    let s = at(20).expect("state at 20 s");
    let sleep = s
        .decoded_processes()
        .expect("decode")
        .into_iter()
        .find(|p| p.comm == "sleep")
        .expect("sleep");
    assert_eq!(sleep.exit.and_then(|e| e.code), Some(7));
    // Past the retention (30 s): gone.
    assert_eq!(
        pids(
            &at(99)
                .expect("state at 99 s")
                .decoded_processes()
                .expect("decode")
        ),
        vec![1]
    );
    // Before anything stored, and after the newest: the range.
    match at(1) {
        Err(QueryError::OutOfRange { oldest, newest }) => {
            assert_eq!((oldest, newest), (BOOT + 10 * S, BOOT + 100 * S));
        }
        other => panic!("expected OutOfRange, got {other:?}"),
    }
    assert!(matches!(at(101), Err(QueryError::OutOfRange { .. })));
}

/// A fork, its exec and its exit (a short-lived process): the states
/// between them are the same whether the three came in one batch (one
/// closed row per version, no update) or one per batch (rows opened, then
/// closed by update).
#[test]
fn versions_closed_in_their_own_batch_read_as_across_batches() {
    let fork = |seq, secs| {
        event(
            seq,
            secs,
            Kind::Fork(ProcessFork {
                child: Some(process(200, &["bash"])),
                ..ProcessFork::default()
            }),
        )
    };
    let batches = [
        vec![vec![
            fork(1, 10),
            exec(2, 12, process(200, &["true"])),
            exit(3, 14, 200, 3),
            event(4, 60, Kind::HostSample(HostSample::default())),
        ]],
        vec![
            vec![fork(1, 10)],
            vec![exec(2, 12, process(200, &["true"]))],
            vec![exit(3, 14, 200, 3)],
            vec![event(4, 60, Kind::HostSample(HostSample::default()))],
        ],
    ];
    let mut seen = Vec::new();
    for written in batches {
        let dir = tempfile::tempdir().expect("tmp");
        let (mut w, h) = store(&dir, 1 << 30);
        for batch in &written {
            w.write(batch, 0).expect("write");
        }
        bound::refresh(&w, &h);
        let at = |secs: u64| {
            state(&h, secs)
                .decoded_processes()
                .expect("decode")
                .into_iter()
                .find(|p| p.key.is_some_and(|k| k.pid == 200))
                .map(|p| (p.comm.clone(), p.exit.and_then(|e| e.code)))
        };
        let states: Vec<_> = [10, 11, 12, 13, 14, 20, 50].into_iter().map(at).collect();
        assert_eq!(
            states,
            vec![
                Some(("bash".to_owned(), None)),
                Some(("bash".to_owned(), None)),
                Some(("true".to_owned(), None)),
                Some(("true".to_owned(), None)),
                Some(("true".to_owned(), Some(3))),
                Some(("true".to_owned(), Some(3))),
                None,
            ],
            "fork at 10 s, exec at 12 s, exit at 14 s, retention 30 s"
        );
        let open: i64 = w
            .conn()
            .query_row(
                "SELECT COUNT(*) FROM processes WHERE pid = 200 AND valid_to IS NULL",
                [],
                |r| r.get(0),
            )
            .expect("count");
        assert_eq!(open, 0, "nothing of the exited process left open");
        seen.push(states);
    }
    assert_eq!(seen[0], seen[1]);
}

/// The state queries find their rows through an index (the partial ones
/// only serve a literal kind and an implied `valid_to IS NOT NULL`): a
/// plan that scans a whole table would make seeks grow with the store.
#[test]
fn state_queries_use_the_indexes() {
    let dir = tempfile::tempdir().expect("tmp");
    let (w, _h) = store(&dir, 1 << 30);
    let plan = |q: &str| -> String {
        let mut stmt = w
            .conn()
            .prepare(&format!("EXPLAIN QUERY PLAN {q}"))
            .expect("plan");
        let rows = stmt
            .query_map([1_i64, 2_i64], |r| r.get::<_, String>(3))
            .expect("rows");
        rows.map(|r| r.expect("row")).collect::<Vec<_>>().join("; ")
    };
    let uses = |q: &str, index: &str| {
        let p = plan(q);
        assert!(p.contains(index), "{q}\n{p}");
        assert!(
            !p.split("; ")
                .any(|step| step.starts_with("SCAN ") && !step.contains("INDEX")),
            "{q}\n{p}"
        );
    };
    uses(
        "SELECT blob FROM processes WHERE valid_to > ?1 AND valid_from <= ?2 \
         UNION ALL SELECT blob FROM processes WHERE valid_to IS NULL AND valid_from <= ?2",
        "processes_closed",
    );
    uses(
        "SELECT blob FROM processes WHERE valid_to > ?1 AND valid_from <= ?2 \
         UNION ALL SELECT blob FROM processes WHERE valid_to IS NULL AND valid_from <= ?2",
        "processes_open_from",
    );
    uses(super::batch::OVERLAPPING, "batches_time");
    uses(
        &format!(
            "SELECT blob FROM events WHERE kind = {} AND unix_ns > ?1 AND unix_ns <= ?2",
            schema::KIND_PROCESS_SAMPLES
        ),
        "events_samples",
    );
    uses(
        &format!(
            "SELECT blob FROM events WHERE kind = {} AND unix_ns <= ?1 AND ?2 \
             ORDER BY unix_ns DESC LIMIT 1",
            schema::KIND_HOST_SAMPLE
        ),
        "events_host",
    );
    uses(
        &format!(
            "SELECT blob FROM events WHERE kind = {} AND unix_ns > ?1 AND unix_ns <= ?2",
            schema::KIND_DEVIATION
        ),
        "events_deviations",
    );
    for (k, want) in [
        (schema::KIND_PROCESS_SAMPLES, EventKind::ProcessSamples),
        (schema::KIND_HOST_SAMPLE, EventKind::HostSample),
        (schema::KIND_DEVIATION, EventKind::Deviation),
    ] {
        assert_eq!(
            k,
            i32::from(want),
            "the partial indexes name perch.v1's numbers"
        );
    }
}

/// A version 1 file (its indexes) is migrated on open: data kept, the
/// indexes replaced, the version recorded.
#[test]
fn a_version_1_store_is_migrated() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("h.db");
    {
        let old = rusqlite::Connection::open(&path).expect("create");
        old.execute_batch(
            "CREATE TABLE schema_version (version INTEGER NOT NULL);
             INSERT INTO schema_version VALUES (1);
             CREATE TABLE events (unix_ns INTEGER NOT NULL, seq INTEGER NOT NULL,
               kind INTEGER NOT NULL, pid INTEGER NOT NULL, blob BLOB NOT NULL);
             CREATE INDEX events_time ON events (unix_ns);
             CREATE INDEX events_kind_time ON events (kind, unix_ns);
             CREATE TABLE processes (pid INTEGER NOT NULL, valid_from INTEGER NOT NULL,
               valid_to INTEGER, exit_ns INTEGER, blob BLOB NOT NULL);
             CREATE INDEX processes_from ON processes (valid_from);
             CREATE INDEX processes_to ON processes (valid_to);
             CREATE INDEX processes_open ON processes (pid) WHERE valid_to IS NULL;
             INSERT INTO events VALUES (5, 1, 1, 7, x'00');
             INSERT INTO processes VALUES (7, 5, NULL, NULL, x'00');",
        )
        .expect("a version 1 file");
    }
    let conn = schema::open_writer(&path, 1 << 30).expect("migrated");
    let one = |q: &str| -> i64 { conn.query_row(q, [], |r| r.get(0)).expect(q) };
    assert_eq!(
        one("SELECT version FROM schema_version"),
        super::SCHEMA_VERSION
    );
    assert_eq!(
        one("SELECT COUNT(*) FROM events") + one("SELECT COUNT(*) FROM processes"),
        2
    );
    let indexes: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'index' ORDER BY name")
        .expect("indexes")
        .query_map([], |r| r.get(0))
        .expect("rows")
        .map(|r| r.expect("name"))
        .collect();
    for gone in ["events_kind_time", "processes_from", "processes_to"] {
        assert!(!indexes.iter().any(|i| i == gone), "{indexes:?}");
    }
    for made in [
        "events_samples",
        "processes_closed",
        "processes_open",
        "net_closed",
    ] {
        assert!(indexes.iter().any(|i| i == made), "{indexes:?}");
    }
}

#[test]
fn list_filters_by_kind_pid_and_limit() {
    let dir = tempfile::tempdir().expect("tmp");
    let (mut w, h) = store(&dir, 1 << 30);
    w.write(
        &[
            exec(1, 10, process(100, &["a"])),
            exec(2, 11, process(101, &["b"])),
            exit(3, 12, 100, 0),
            samples(4, 12, &[(101, 1.0)]),
        ],
        0,
    )
    .expect("write");
    bound::refresh(&w, &h);
    let q = |kinds: Vec<EventKind>, pids: Vec<u32>, limit| ListQuery {
        from_unix_ns: BOOT,
        to_unix_ns: BOOT + 100 * S,
        kinds,
        pids,
        limit,
    };
    let (all, truncated) = h.list(&q(vec![], vec![], 100)).expect("list");
    assert_eq!(all.len(), 4);
    assert!(!truncated);
    assert_eq!(all[0].event.as_ref().map(|e| e.seq), Some(1));
    assert_eq!(all[0].unix_ns, BOOT + 10 * S);
    let (execs, _) = h
        .list(&q(vec![EventKind::Exec], vec![], 100))
        .expect("list");
    assert_eq!(execs.len(), 2);
    let (of_100, _) = h.list(&q(vec![], vec![100], 100)).expect("list");
    assert_eq!(of_100.len(), 2, "exec and exit of 100");
    let (first, truncated) = h.list(&q(vec![], vec![], 1)).expect("list");
    assert_eq!(first.len(), 1);
    assert!(truncated);
    // [from, to): the event at `to` is not in.
    let (none, _) = h
        .list(&ListQuery {
            from_unix_ns: BOOT,
            to_unix_ns: BOOT + 10 * S,
            limit: 10,
            ..ListQuery::default()
        })
        .expect("list");
    assert!(none.is_empty());
}

#[test]
fn flags_traces_and_connections_as_they_stood() {
    let dir = tempfile::tempdir().expect("tmp");
    let (mut w, h) = store(&dir, 1 << 30);
    let trace = |score| Trace {
        id: "trace:1".into(),
        score,
        ..Trace::default()
    };
    let conn = perch_proto::v1::Connection {
        id: 9,
        remote_port: 443,
        ..perch_proto::v1::Connection::default()
    };
    w.write(
        &[
            event(
                1,
                10,
                Kind::Flag(FlagRaised {
                    flag: Some(Flag {
                        id: "flag:1".into(),
                        ..Flag::default()
                    }),
                }),
            ),
            event(
                2,
                10,
                Kind::Trace(TraceUpdated {
                    trace: Some(trace(10)),
                }),
            ),
            event(
                3,
                11,
                Kind::Connect(ConnectionEvent {
                    connection: Some(conn.clone()),
                }),
            ),
            event(
                4,
                20,
                Kind::Trace(TraceUpdated {
                    trace: Some(trace(50)),
                }),
            ),
            event(
                5,
                21,
                Kind::Close(perch_proto::v1::CloseEvent {
                    connection: Some(conn),
                    listening: None,
                }),
            ),
            event(6, 30, Kind::HostSample(HostSample::default())),
        ],
        0,
    )
    .expect("write");
    bound::refresh(&w, &h);
    let at = |secs: u64| state(&h, secs);
    let s = at(15);
    assert_eq!(s.flags.len(), 1);
    assert_eq!(
        s.traces.iter().map(|t| t.score).collect::<Vec<_>>(),
        vec![10]
    );
    assert_eq!(s.connections.len(), 1);
    let s = at(25);
    assert_eq!(
        s.traces.iter().map(|t| t.score).collect::<Vec<_>>(),
        vec![50]
    );
    assert!(s.connections.is_empty(), "closed at 21 s");
}

#[test]
fn deviations_as_of_their_latest_sighting_before_the_instant() {
    let dir = tempfile::tempdir().expect("tmp");
    let (mut w, h) = store(&dir, 1 << 30);
    let sighting = |seq: u64, secs: u64, id: &str, count: u64| {
        event(
            seq,
            secs,
            Kind::Deviation(DeviationRaised {
                deviation: Some(Deviation {
                    id: id.into(),
                    policy: "web".into(),
                    count,
                    last_ns: secs * S,
                    ..Deviation::default()
                }),
            }),
        )
    };
    w.write(
        &[
            sighting(1, 10, "web:a", 1),
            sighting(2, 12, "web:b", 1),
            sighting(3, 14, "web:a", 2),
            sighting(4, 20, "web:a", 3),
            event(5, 30, Kind::HostSample(HostSample::default())),
        ],
        0,
    )
    .expect("write");
    bound::refresh(&w, &h);
    let at = |secs: u64| {
        state(&h, secs)
            .deviations
            .into_iter()
            .map(|d| (d.id, d.count))
            .collect::<Vec<_>>()
    };
    assert_eq!(at(11), vec![("web:a".to_owned(), 1)]);
    assert_eq!(
        at(15),
        vec![("web:b".to_owned(), 1), ("web:a".to_owned(), 2)],
        "each once, as of its newest sighting by then, oldest sighting first"
    );
    assert_eq!(
        at(25),
        vec![("web:b".to_owned(), 1), ("web:a".to_owned(), 3)]
    );
}

#[test]
fn a_new_run_closes_what_the_last_one_left_open() {
    let dir = tempfile::tempdir().expect("tmp");
    let (mut w, h) = store(&dir, 1 << 30);
    w.write(
        &[
            exec(1, 10, process(100, &["old"])),
            event(2, 20, Kind::HostSample(HostSample::default())),
        ],
        0,
    )
    .expect("write");
    // perchd restarts at 40 s: 100 is gone, 200 is there.
    w.start_run(BOOT + 40 * S, &[process(200, &["new"])], &[], &[])
        .expect("restart");
    w.write(&[event(3, 50, Kind::HostSample(HostSample::default()))], 0)
        .expect("write");
    bound::refresh(&w, &h);
    let at = |secs: u64| state(&h, secs);
    assert_eq!(
        pids(&at(15).decoded_processes().expect("decode")),
        vec![1, 100]
    );
    assert_eq!(
        pids(&at(45).decoded_processes().expect("decode")),
        vec![200]
    );
}

#[test]
fn a_storm_after_a_quiet_hour_keeps_its_newest_part() {
    // A 30 s storm after a quiet hour, nine times the bound: the cut is
    // counted in bytes, so the quiet hour and the storm's oldest part go
    // and its newest stays.
    let dir = tempfile::tempdir().expect("tmp");
    let (mut w, h) = store(&dir, 1 << 20);
    let quiet: Vec<_> = (0..3600u64)
        .map(|n| samples(n + 1, 10 + n, &[(1, 1.0)]))
        .collect();
    w.write(&quiet, 0).expect("write");
    let storm: Vec<_> = (0..3000u64)
        .flat_map(|n| {
            let pid = u32::try_from(5000 + n).expect("pid");
            let at = 3610 + n / 100;
            [
                exec(10_000 + 2 * n, at, process(pid, &["cmd", &noise(n, 1000)])),
                exit(10_001 + 2 * n, at, pid, 0),
            ]
        })
        .collect();
    w.write(&storm, 0).expect("write");
    bound::enforce(&w, &h, BOOT + 3640 * S).expect("enforce");
    let info = h.info();
    assert!(info.bytes <= 1 << 20, "{} bytes", info.bytes);
    assert!(
        info.oldest_unix_ns > BOOT + 3000 * S,
        "the quiet hour went first: {info:?}"
    );
    let (execs, _) = execs_until(&h, 4000, 10_000);
    assert!(
        execs.len() > 100,
        "only {} of the storm's execs kept",
        execs.len()
    );
    let newest = execs.last().and_then(|e| e.event.as_ref()).map(|e| e.seq);
    assert_eq!(newest, Some(10_000 + 2 * 2999), "the newest exec stayed");
}

#[test]
fn the_size_bound_drops_the_oldest_first() {
    let dir = tempfile::tempdir().expect("tmp");
    let (mut w, h) = store(&dir, 1 << 20);
    // ~4 MiB of execs with long command lines, a second apart.
    for batch in 0..20u64 {
        let mut events = Vec::new();
        for i in 0..100u64 {
            let n = batch * 100 + i;
            let pid = u32::try_from(1000 + n).expect("pid");
            // Short-lived, like a storm's: the exit closes the version.
            events.push(exec(
                2 * n + 1,
                10 + n,
                process(pid, &["cmd", &noise(n, 2000)]),
            ));
            events.push(exit(2 * n + 2, 10 + n, pid, 0));
        }
        w.write(&events, 0).expect("write");
    }
    bound::enforce(&w, &h, BOOT + 2100 * S).expect("enforce");
    let info = h.info();
    let pages = |p: &str| -> i64 {
        w.conn()
            .query_row(&format!("PRAGMA {p}"), [], |r| r.get(0))
            .expect(p)
    };
    assert!(
        info.bytes <= 1 << 20,
        "{} bytes on disk ({} pages, {} free)",
        info.bytes,
        pages("page_count"),
        pages("freelist_count")
    );
    assert!(info.oldest_unix_ns > BOOT + 10 * S, "the oldest went");
    assert_eq!(info.newest_unix_ns, BOOT + 2009 * S, "the newest stayed");
    let file = std::fs::metadata(dir.path().join("h.db"))
        .expect("file")
        .len();
    assert!(file <= 1 << 20, "the file itself shrank: {file}");
    // Age: everything older than an hour before `now` goes too.
    // A row of events goes once all of it is older: the oldest left is
    // within one row (64 KiB, ~30 of these execs) of the cut.
    bound::enforce(&w, &h, BOOT + 2000 * S + 3600 * S).expect("enforce");
    let before_cut: i64 = w
        .conn()
        .query_row(
            "SELECT COUNT(*) FROM batches WHERE last_ns < ?1",
            [i64::try_from(BOOT + 2000 * S).expect("ns")],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(before_cut, 0, "no row wholly before the cut is left");
    let oldest = h.info().oldest_unix_ns;
    assert!(
        (BOOT + 1960 * S..=BOOT + 2000 * S).contains(&oldest),
        "oldest {}",
        oldest.saturating_sub(BOOT) / S
    );
}

#[test]
fn disabled_and_broken_stores_say_why() {
    let dir = tempfile::tempdir().expect("tmp");
    let settings = HistorySettings {
        path: dir.path().join("h.db"),
        ..HistorySettings::default()
    };
    let off = History::disabled(&settings);
    assert_eq!(off.info().status(), HistoryStatus::Disabled);
    assert!(matches!(
        off.state_at(StateQuery { at_unix_ns: 1 }),
        Err(QueryError::Unavailable(_))
    ));
    // A directory where the file should be: it cannot open.
    std::fs::create_dir(dir.path().join("h.db")).expect("dir");
    let e = schema::open_writer(&settings.path, 1 << 30).expect_err("a directory");
    assert!(e.to_string().contains("h.db"), "{e}");
    // A file that is not a database.
    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, vec![0x5a; 8192]).expect("junk");
    let e = schema::open_writer(&junk, 1 << 30).expect_err("not a database");
    assert!(e.to_string().contains("junk.db"), "{e}");
}

#[test]
fn the_schema_version_is_recorded_and_newer_ones_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("h.db");
    let conn = schema::open_writer(&path, 1 << 30).expect("open");
    let v: i64 = conn
        .query_row("SELECT version FROM schema_version", [], |r| r.get(0))
        .expect("version");
    assert_eq!(v, super::SCHEMA_VERSION);
    conn.execute("UPDATE schema_version SET version = 99", [])
        .expect("bump");
    drop(conn);
    let e = schema::open_writer(&path, 1 << 30).expect_err("newer");
    assert!(e.to_string().contains("schema version 99"), "{e}");
}
