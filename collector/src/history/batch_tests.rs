//! Unit tests of the batched events: versions rebuilt from the rows of a
//! batch read as rows would, across the cuts between rows, and events kept
//! in `events` rows (older files) listed alongside.
use perch_proto::v1::{EventKind, ProcessFork, event::Kind};

use super::{
    ListQuery, bound,
    tests::{BOOT, S, event, exec, execs_until, exit, noise, process, state, store},
};

/// Process `i` of the storm: forked at 10 + i s, exec at 11 + i, exit at
/// 12 + i, so three are in flight at every instant and many straddle the
/// cut between two rows.
const N: u64 = 400;

fn pid(i: u64) -> u32 {
    u32::try_from(1000 + i).expect("pid")
}

/// What the state at `s` should say of process `i` (retention 30 s): its
/// comm and exit code, or nothing.
fn expected(i: u64, s: u64) -> Option<(String, Option<i32>)> {
    let (fork, exec, exit) = (10 + i, 11 + i, 12 + i);
    if s < fork || s >= exit + 30 {
        None
    } else if s < exec {
        Some(("bash".into(), None))
    } else if s < exit {
        Some(("true".into(), None))
    } else {
        Some(("true".into(), Some(7)))
    }
}

#[test]
fn versions_straddling_the_rows_of_a_batch_read_as_they_happened() {
    let dir = tempfile::tempdir().expect("tmp");
    let (mut w, h) = store(&dir, 1 << 30);
    let mut events = Vec::new();
    let mut seq = 0;
    for s in 10..N + 13 {
        let mut push = |e| events.push(e);
        if let Some(i) = s.checked_sub(12).filter(|i| *i < N) {
            seq += 1;
            push(exit(seq, s, pid(i), 7));
        }
        if let Some(i) = s.checked_sub(11).filter(|i| *i < N) {
            seq += 1;
            push(exec(seq, s, process(pid(i), &["true", &noise(s, 600)])));
        }
        if let Some(i) = s.checked_sub(10).filter(|i| *i < N) {
            seq += 1;
            let mut child = process(pid(i), &["bash", &noise(s + 7, 600)]);
            child.comm = "bash".into();
            push(event(
                seq,
                s,
                Kind::Fork(ProcessFork {
                    child: Some(child),
                    ..ProcessFork::default()
                }),
            ));
        }
    }
    // ~1,200 events of ~600 bytes: one batch, cut into several rows.
    w.write(&events, 0).expect("write");
    bound::refresh(&w, &h);
    let rows: i64 = w
        .conn()
        .query_row("SELECT COUNT(*) FROM batches", [], |r| r.get(0))
        .expect("count");
    assert!(rows >= 5, "{rows} rows");
    for s in (10..N + 12).step_by(7) {
        let got = state(&h, s);
        for i in 0..N {
            let seen = got
                .decoded_processes()
                .expect("decode")
                .into_iter()
                .find(|p| p.key.is_some_and(|k| k.pid == pid(i)))
                .map(|p| (p.comm.clone(), p.exit.and_then(|x| x.code)));
            assert_eq!(seen, expected(i, s), "process {i} at {s} s");
        }
    }
    let (execs, truncated) = execs_until(&h, 1000, 10_000);
    assert!(!truncated);
    let pids: Vec<u32> = execs
        .iter()
        .filter_map(|e| match e.event.as_ref()?.kind.as_ref()? {
            Kind::Exec(x) => x.process.as_ref()?.key.map(|k| k.pid),
            _ => None,
        })
        .collect();
    assert_eq!(
        pids,
        (0..N).map(pid).collect::<Vec<_>>(),
        "every exec, in order"
    );
    // A limit reads only as far as it needs and still gives the oldest.
    let (first, truncated) = h
        .list(&ListQuery {
            from_unix_ns: BOOT,
            to_unix_ns: BOOT + 1000 * S,
            kinds: vec![],
            pids: vec![pid(N - 1)],
            limit: 2,
        })
        .expect("list");
    assert!(truncated, "fork, exec and exit of the last one: 3 > 2");
    let seqs: Vec<u64> = first
        .iter()
        .filter_map(|e| e.event.as_ref().map(|e| e.seq))
        .collect();
    assert_eq!(seqs.len(), 2);
    assert!(seqs[0] < seqs[1]);
}

/// A schema 2 file holds every event as an `events` row: after the
/// migration those are listed with the new batches, in time order.
#[test]
fn rows_of_an_older_file_are_listed_with_the_batches() {
    let dir = tempfile::tempdir().expect("tmp");
    let (mut w, h) = store(&dir, 1 << 30);
    let old = exec(1, 10, process(50, &["old"]));
    w.conn()
        .execute(
            "INSERT INTO events (unix_ns, seq, kind, pid, blob) VALUES (?1, 1, ?2, 50, ?3)",
            rusqlite::params![
                i64::try_from(BOOT + 10 * S).expect("ns"),
                i32::from(EventKind::Exec),
                old.body.as_ref()
            ],
        )
        .expect("an old row");
    w.write(
        &[
            exec(2, 5, process(51, &["new"])),
            exec(3, 20, process(52, &["new"])),
        ],
        0,
    )
    .expect("write");
    bound::refresh(&w, &h);
    let (all, _) = execs_until(&h, 100, 10);
    let seqs: Vec<u64> = all
        .iter()
        .filter_map(|e| e.event.as_ref().map(|e| e.seq))
        .collect();
    assert_eq!(seqs, vec![2, 1, 3], "5 s, 10 s (the old row), 20 s");
}

/// A damaged row (a length past any row's, an unknown codec) is an error
/// for the question that reads it, never a panic or a huge allocation; a
/// plain row (codec 0) reads as the compressed ones do.
#[test]
fn damaged_rows_are_refused_and_plain_ones_read() {
    let dir = tempfile::tempdir().expect("tmp");
    let (w, h) = store(&dir, 1 << 30);
    let mut plain = Vec::new();
    exec(9, 10, process(90, &["plain"])).encode_stored(BOOT + 10 * S, &mut plain);
    let ns = |s: u64| i64::try_from(BOOT + s * S).expect("ns");
    let insert = |at: u64, codec: i64, blob: &[u8]| {
        w.conn()
            .execute(
                "INSERT INTO batches (first_ns, last_ns, codec, blob) VALUES (?1, ?1, ?2, ?3)",
                rusqlite::params![ns(at), codec, blob],
            )
            .expect("row");
    };
    insert(10, 0, &plain);
    bound::refresh(&w, &h);
    let q = |to: u64| ListQuery {
        from_unix_ns: BOOT,
        to_unix_ns: BOOT + to * S,
        limit: 10,
        ..ListQuery::default()
    };
    let (got, _) = h.list(&q(15)).expect("list");
    assert_eq!(got.len(), 1);
    insert(20, 1, &[0xff, 0xff, 0xff, 0x7f, 1, 2, 3]);
    insert(30, 7, &plain);
    assert!(h.list(&q(25)).is_err(), "an impossible length");
    let err = h.list(&q(40)).expect_err("an unknown codec");
    assert!(err.to_string().contains("does not decompress"), "{err}");
}
