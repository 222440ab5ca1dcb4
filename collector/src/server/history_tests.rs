//! The state's messages as the Chunker cuts them.
use super::*;

fn state(processes: usize) -> State {
    State {
        at_unix_ns: 7,
        flags: vec![perch_proto::v1::Flag::default()],
        processes: (0..processes)
            .map(|pid| {
                EncodedProcess::new(&perch_proto::v1::Process {
                    key: Some(perch_proto::v1::ProcessKey {
                        pid: u32::try_from(pid).unwrap_or(u32::MAX),
                        start_time_ns: 1,
                    }),
                    ..Default::default()
                })
            })
            .collect(),
        ..State::default()
    }
}

/// Feeds `state` as the store's reader does: its head, then each process.
fn chunked(state: State, size: usize) -> Vec<GetStateAtResponse> {
    let mut out = Vec::new();
    let mut chunker = Chunker::new(("h".into(), 9), size, |m| {
        out.push(m);
        true
    });
    let processes = state.processes.clone();
    assert!(chunker.head(State {
        processes: Vec::new(),
        ..state
    }));
    for p in processes {
        assert!(chunker.process(p));
    }
    assert!(chunker.finish());
    out
}

#[test]
fn chunks_carry_the_head_first_and_last_at_the_end() {
    let msgs = chunked(state(2500), 1000);
    let sizes: Vec<_> = msgs.iter().map(|m| m.encoded_processes.len()).collect();
    assert_eq!(sizes, [1000, 1000, 500]);
    let lasts: Vec<_> = msgs.iter().map(|m| m.last).collect();
    assert_eq!(lasts, [false, false, true]);
    assert_eq!(
        (msgs[0].host_name.as_str(), msgs[0].boot_time_unix_ns),
        ("h", 9)
    );
    assert_eq!((msgs[0].at_unix_ns, msgs[0].flags.len()), (7, 1));
    assert!(
        msgs[1..]
            .iter()
            .all(|m| m.flags.is_empty() && m.host_name.is_empty())
    );
    // Every process once, in the order read.
    let pids: Vec<u32> = msgs
        .iter()
        .flat_map(|m| &m.encoded_processes)
        .map(|p| p.decode().map_or(u32::MAX, |p| p.key.map_or(0, |k| k.pid)))
        .collect();
    assert_eq!(pids, (0..2500).collect::<Vec<_>>());
}

#[test]
fn a_state_without_processes_is_one_last_message() {
    let msgs = chunked(state(0), 1000);
    assert_eq!(msgs.len(), 1);
    assert!(msgs[0].last && msgs[0].encoded_processes.is_empty());
    assert_eq!(msgs[0].flags.len(), 1);
}

#[test]
fn a_reader_gone_stops_the_chunks() {
    let mut sent = 0;
    let mut chunker = Chunker::new(("h".into(), 9), 2, |_| {
        sent += 1;
        false
    });
    assert!(chunker.head(State::default()));
    assert!(chunker.process(EncodedProcess::default()));
    assert!(chunker.process(EncodedProcess::default()));
    // The third begins a message: the first goes out, and nobody takes it.
    assert!(!chunker.process(EncodedProcess::default()));
    assert!(!chunker.finish());
    assert_eq!(sent, 2);
}
