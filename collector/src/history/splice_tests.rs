//! `spliced` against what it stands for: decode the stored version, set the
//! sampled fields (and clear the exit of a process alive then), encode.
use perch_proto::v1::{Exit, ProcessKey, ProcessSample, ResourceUsage};
use prost::Message as _;

use super::{Found, Process, spliced};

fn stored() -> Process {
    Process {
        key: Some(ProcessKey {
            pid: 42,
            start_time_ns: 5,
        }),
        comm: "nginx".into(),
        argv: vec!["nginx".into(), "-g".into(), "daemon off;".into()],
        exit: Some(Exit {
            time_ns: 9,
            signal: Some(9),
            ..Exit::default()
        }),
        usage: Some(ResourceUsage {
            cpu_percent: 1.0,
            rss_bytes: 10,
            ..ResourceUsage::default()
        }),
        threads: 8,
        nice: -5,
        state: "R".into(),
        frozen: true,
        cgroup_path: "/system.slice/nginx.service".into(),
        ..Process::default()
    }
}

/// The state's process the slow way.
fn expected(alive: bool, sample: Option<&ProcessSample>) -> Process {
    let mut p = stored();
    if alive {
        p.exit = None;
    }
    if let Some(s) = sample {
        p.usage = s.usage;
        p.threads = s.threads;
        p.state.clone_from(&s.state);
        p.frozen = s.frozen;
        if let Some(n) = s.nice {
            p.nice = n;
        }
    }
    p
}

#[test]
fn spliced_is_decode_set_encode() {
    let samples = [
        ProcessSample {
            usage: Some(ResourceUsage {
                cpu_time_ns: 77,
                ..ResourceUsage::default()
            }),
            threads: 1,
            state: "S".into(),
            frozen: false,
            nice: Some(0),
            ..ProcessSample::default()
        },
        // No nice from an older perchd: the stored one stays.
        ProcessSample {
            state: "D".into(),
            frozen: true,
            nice: None,
            ..ProcessSample::default()
        },
        ProcessSample::default(),
    ];
    for alive in [true, false] {
        for sample in samples.iter().map(Some).chain([None]) {
            let blob = stored().encode_to_vec();
            let found = Found { alive, blob: &blob };
            let got = spliced(&found, sample)
                .expect("splice")
                .decode()
                .expect("decode");
            assert_eq!(got, expected(alive, sample), "alive {alive}, {sample:?}");
        }
    }
}

#[test]
fn a_damaged_version_is_an_error_not_a_panic() {
    let mut blob = stored().encode_to_vec();
    blob.truncate(blob.len() / 2);
    let found = Found {
        alive: true,
        blob: &blob,
    };
    assert!(spliced(&found, Some(&ProcessSample::default())).is_err());
}
