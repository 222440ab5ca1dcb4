//! `spliced` against what it stands for: decode the stored version, set the
//! sampled fields (and clear the exit of a process alive then), encode.
use perch_proto::v1::{Exit, Process, ProcessKey, ProcessSample, ProcessSamples, ResourceUsage};
use prost::Message as _;

use super::{Found, Samples, spliced};

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
    // One arena for all, as a state's processes share one.
    let mut arena = bytes::BytesMut::new();
    for alive in [true, false] {
        for sample in samples.iter().map(Some).chain([None]) {
            let blob = stored().encode_to_vec();
            let found = Found { alive, blob: &blob };
            let bytes = sample.map(ProcessSample::encode_to_vec);
            let got =
                spliced(&found, bytes.as_deref(), &mut Vec::new(), &mut arena).expect("splice");
            let want = expected(alive, sample);
            assert_eq!(
                got.decode().expect("decode"),
                want,
                "alive {alive}, {sample:?}"
            );
            // As many bytes as encoding it gives: nothing written twice,
            // no default written (the order differs: the sampled fields
            // come last).
            assert_eq!(
                got.body.len(),
                want.encoded_len(),
                "alive {alive}, {sample:?}"
            );
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
    let sample = ProcessSample::default().encode_to_vec();
    let arena = &mut bytes::BytesMut::new();
    assert!(spliced(&found, Some(&sample), &mut Vec::new(), arena).is_err());
    // A damaged sample too.
    let blob = stored().encode_to_vec();
    let found = Found {
        alive: true,
        blob: &blob,
    };
    let mut sample = ProcessSample {
        state: "S".into(),
        ..ProcessSample::default()
    }
    .encode_to_vec();
    sample.pop();
    assert!(spliced(&found, Some(&sample), &mut Vec::new(), arena).is_err());
}

fn sample(pid: u32, rss_bytes: u64) -> ProcessSample {
    ProcessSample {
        key: Some(ProcessKey {
            pid,
            start_time_ns: 1,
        }),
        usage: Some(ResourceUsage {
            rss_bytes,
            ..ResourceUsage::default()
        }),
        threads: 2,
        ..ProcessSample::default()
    }
}

/// A keyframe, then the deltas after it: each pid's latest sample, found
/// inside the blobs as stored (a delta inside a larger message).
#[test]
fn samples_keep_each_pids_latest() {
    let frame = ProcessSamples {
        samples: vec![sample(1, 10), sample(2, 20), sample(3, 30)],
        interval_ns: 0,
    }
    .encode_to_vec();
    let mut s = Samples::default();
    let all = 0..frame.len();
    s.add(frame, all).expect("keyframe");
    let delta = ProcessSamples {
        samples: vec![
            sample(2, 21),
            sample(4, 40),
            ProcessSample {
                key: None,
                ..sample(0, 99)
            },
        ],
        interval_ns: 7,
    }
    .encode_to_vec();
    let mut framed = b"junk".to_vec();
    let at = framed.len()..framed.len() + delta.len();
    framed.extend_from_slice(&delta);
    framed.extend_from_slice(b"more");
    s.add(framed, at).expect("delta");
    let rss = |pid| {
        s.get(pid).map(|b| {
            ProcessSample::decode(b)
                .expect("sample")
                .usage
                .map(|u| u.rss_bytes)
        })
    };
    assert_eq!(rss(1), Some(Some(10)));
    assert_eq!(rss(2), Some(Some(21)));
    assert_eq!(rss(3), Some(Some(30)));
    assert_eq!(rss(4), Some(Some(40)));
    assert_eq!(rss(5), None);
    // A sample without a key is no process's (not pid 0's).
    assert_eq!(rss(0), None);
}
