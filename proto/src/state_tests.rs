use prost_types::{FileDescriptorSet, field_descriptor_proto::Type};

use super::*;
use crate::v1::{Exit, ProcessKey, ResourceUsage};

fn process(pid: u32) -> Process {
    Process {
        key: Some(ProcessKey {
            pid,
            start_time_ns: 77,
        }),
        comm: "sleep".into(),
        argv: vec!["sleep".into(), "60".into()],
        exit: Some(Exit {
            time_ns: 9,
            code: Some(0),
            ..Exit::default()
        }),
        usage: Some(ResourceUsage {
            cpu_percent: 3.5,
            rss_bytes: 4096,
            ..ResourceUsage::default()
        }),
        threads: 4,
        nice: 5,
        state: "S".into(),
        frozen: true,
        cwd: "/tmp".into(),
        ..Process::default()
    }
}

/// The fields written here are the `.proto`'s, by number, name and type:
/// a field added to the contract fails this until it is handled above.
#[test]
fn fields_match_the_contract() {
    let fds = FileDescriptorSet::decode(crate::v1::FILE_DESCRIPTOR_SET).expect("descriptors");
    let msg = fds
        .file
        .iter()
        .filter(|f| f.package() == "perch.v1")
        .flat_map(|f| &f.message_type)
        .find(|m| m.name() == "GetStateAtResponse")
        .expect("GetStateAtResponse in the descriptors");
    let got: Vec<(i32, &str, Type, &str)> = msg
        .field
        .iter()
        .map(|f| (f.number(), f.name(), f.r#type(), f.type_name()))
        .collect();
    let m = Type::Message;
    let want = vec![
        (1, "at_unix_ns", Type::Uint64, ""),
        (2, "oldest_unix_ns", Type::Uint64, ""),
        (3, "newest_unix_ns", Type::Uint64, ""),
        (4, "processes", m, ".perch.v1.Process"),
        (5, "connections", m, ".perch.v1.Connection"),
        (6, "listening", m, ".perch.v1.ListeningSocket"),
        (7, "flags", m, ".perch.v1.Flag"),
        (8, "traces", m, ".perch.v1.Trace"),
        (9, "host", m, ".perch.v1.HostSample"),
        (10, "actions", m, ".perch.v1.AuditRecord"),
        (11, "host_name", Type::String, ""),
        (12, "last", Type::Bool, ""),
        (13, "boot_time_unix_ns", Type::Uint64, ""),
        (14, "deviations", m, ".perch.v1.Deviation"),
    ];
    assert_eq!(got, want);
}

fn full() -> GetStateAtResponse {
    GetStateAtResponse {
        at_unix_ns: 1,
        oldest_unix_ns: 2,
        newest_unix_ns: 3,
        processes: vec![process(10), process(11)],
        connections: vec![Connection::default(), Connection::default()],
        listening: vec![ListeningSocket::default()],
        flags: vec![Flag {
            id: "flag:1".into(),
            ..Flag::default()
        }],
        traces: vec![Trace::default()],
        host: Some(HostSample {
            memory_total_bytes: 8,
            ..HostSample::default()
        }),
        actions: vec![AuditRecord::default()],
        host_name: "web-1".into(),
        last: true,
        boot_time_unix_ns: 13,
        deviations: vec![Deviation::default()],
        encoded_processes: vec![],
    }
}

#[test]
fn every_field_round_trips() {
    let m = full();
    let bytes = m.encode_to_vec();
    assert_eq!(bytes.len(), m.encoded_len());
    assert_eq!(
        GetStateAtResponse::decode(bytes.as_slice()).expect("decode"),
        m
    );
    let empty = GetStateAtResponse::default();
    assert!(empty.encode_to_vec().is_empty());
}

/// Pre-encoded processes are, byte for byte, the decoded ones encoded.
#[test]
fn encoded_processes_are_wire_identical() {
    let typed = full();
    let mut shared = full();
    shared.encoded_processes = shared
        .processes
        .drain(..)
        .map(|p| EncodedProcess::new(&p))
        .collect();
    assert_eq!(typed.encode_to_vec(), shared.encode_to_vec());
    assert_eq!(shared.encoded_len(), shared.encode_to_vec().len());
    let back = GetStateAtResponse::decode(shared.encode_to_vec().as_slice()).expect("decode");
    assert_eq!(back, typed);
}

#[test]
fn unknown_fields_are_skipped() {
    let mut bytes = full().encode_to_vec();
    uint64::encode(99, &5, &mut bytes);
    string::encode(98, &"x".to_owned(), &mut bytes);
    assert_eq!(
        GetStateAtResponse::decode(bytes.as_slice()).expect("decode"),
        full()
    );
}

/// A splice replaces exactly the dropped fields, including with defaults
/// (which an appended message alone could not do: a default is not
/// written, so the stored value would stay).
#[test]
fn splices_replace_the_dropped_fields() {
    let stored = process(10).encode_to_vec();
    let overlay = Process {
        usage: Some(ResourceUsage {
            cpu_time_ns: 5,
            ..ResourceUsage::default()
        }),
        threads: 1,
        ..Process::default()
    };
    let drop = [25, 26, 27, 28, 40, 41];
    let got = EncodedProcess::spliced(&stored, &drop, &overlay.encode_to_vec())
        .expect("splice")
        .decode()
        .expect("decode");
    let mut want = process(10);
    want.exit = None;
    want.usage = overlay.usage;
    want.threads = 1;
    want.nice = 0;
    want.state = String::new();
    want.frozen = false;
    assert_eq!(got, want);

    // Nothing dropped, nothing overlaid: the same bytes.
    let same = EncodedProcess::spliced(&stored, &[], &[]).expect("splice");
    assert_eq!(same.body, stored);
}

#[test]
fn a_malformed_stored_process_is_an_error() {
    let mut stored = process(10).encode_to_vec();
    stored.truncate(stored.len() - 1);
    assert!(EncodedProcess::spliced(&stored, &[26], &[]).is_err());
    assert!(EncodedProcess::spliced(&[0xff], &[], &[]).is_err());
}

/// Processes spliced into one arena are each their own bytes (the same as
/// spliced alone), share its blocks, and outlive it; a malformed one
/// between them leaves nothing behind in it.
#[test]
fn processes_spliced_into_one_arena_stay_apart() {
    let mut arena = bytes::BytesMut::new();
    let mut bad = process(1).encode_to_vec();
    bad.truncate(bad.len() - 1);
    let mut got = Vec::new();
    for pid in 1..=300 {
        let stored = process(pid).encode_to_vec();
        got.push(EncodedProcess::spliced_in(&mut arena, &stored, &[26], &[]).expect("splice"));
        assert!(EncodedProcess::spliced_in(&mut arena, &bad, &[], &[]).is_err());
        assert!(arena.is_empty(), "a failed splice left bytes behind");
    }
    drop(arena);
    for (p, pid) in got.iter().zip(1..) {
        let alone =
            EncodedProcess::spliced(&process(pid).encode_to_vec(), &[26], &[]).expect("splice");
        assert_eq!(p, &alone, "pid {pid}");
        assert_eq!(p.decode().expect("decode").key.map(|k| k.pid), Some(pid));
    }
    // Neighbours in one block: the second starts where the first ends.
    let (a, b) = (&got[0].body, &got[1].body);
    assert_eq!(a.as_ptr().wrapping_add(a.len()), b.as_ptr());
}
