//! What a `perch.v1` message may hold, in one place: what perchd accepts
//! in an `ActRequest` (clients — the console's dialog, `perch kill …` —
//! check the same values before sending, so both give the same answer with
//! the same numbers in it), and how large anything perchd sends or records
//! may be.  Those sizes are facts of the contract too: perchd caps every
//! string it sends or records (an unprivileged process chooses its own
//! command line, path and name, and a TLS client its certificate's CN), the
//! audit log caps what it writes, and clients accept every message perchd
//! can produce.  The `.proto` comments repeat the numbers.
//!
//! Caps are in bytes of UTF-8 and cut on a character boundary; a cut
//! argv sets `argv_truncated`.
use std::ops::RangeInclusive;

use crate::v1::{ActionKind, ActionTarget, AffectedProcess, AuditRecord, Process, Signal};

/// Nice values Linux accepts (`setpriority`'s range).
pub const PRIORITY_RANGE: RangeInclusive<i32> = -20..=19;

/// The longest reason accepted, in bytes: a sentence or two, not a document.
pub const REASON_MAX_BYTES: usize = 1024;

/// The largest pid Linux can assign (`PID_MAX_LIMIT` on 64-bit).
pub const MAX_PID: u32 = 4_194_304;

/// The signals a client may choose, in the order consoles offer them:
/// every `Signal` but `SIGNAL_UNSPECIFIED` (which means the action's
/// default).
pub const SIGNALS: [Signal; 9] = [
    Signal::Term,
    Signal::Kill,
    Signal::Int,
    Signal::Hup,
    Signal::Quit,
    Signal::Stop,
    Signal::Cont,
    Signal::Usr1,
    Signal::Usr2,
];

/// The actions that send a signal the client chooses.
#[must_use]
pub fn takes_signal(kind: ActionKind) -> bool {
    matches!(
        kind,
        ActionKind::Kill | ActionKind::KillTree | ActionKind::KillGroup
    )
}

/// A command line: bytes as `/proc/PID/cmdline` counts them (each argument
/// plus its NUL).  Equal to the kernel programs' capture size (8 KiB).
pub const ARGV_BYTES: usize = 8192;
/// Paths: `exe`, `cwd`, `cgroup_path` (`PATH_MAX`).
pub const PATH_BYTES: usize = 4096;
/// `comm`: the kernel keeps 15 bytes; non-UTF-8 bytes become U+FFFD (3
/// bytes each), so the text can be three times as long.
pub const COMM_BYTES: usize = 64;
/// Names: user, host, tty, container runtime, pod namespace and name.
pub const NAME_BYTES: usize = 256;
/// Identifiers: container id, pod uid, record id, hashes.
pub const ID_BYTES: usize = 128;
/// Where a request came from (`AuditRecord.origin`, `GetInfo.caller`):
/// perchd's description of the peer plus the client's own, which it clips.
pub const ORIGIN_BYTES: usize = 512;
/// A client's own description of where it runs (`client_origin`).
pub const CLIENT_ORIGIN_BYTES: usize = 256;
/// An environment variable's value (`Process.env`).
pub const ENV_VALUE_BYTES: usize = 256;
/// Sentences perchd writes: a record's detail, a notice's message, a
/// status detail.
pub const DETAIL_BYTES: usize = 4096;
/// One affected process's detail and a record's code.
pub const SHORT_DETAIL_BYTES: usize = 256;

/// perchd closes a response message once its content reaches this many
/// bytes (`ListProcesses`, `WatchEvents` and `ListAudit` chunks); with
/// the caps above one item is at most a few tens of KiB, so no message
/// perchd sends comes near [`MAX_MESSAGE_BYTES`].  Small, because every
/// open stream buffers about a message in perchd while it is sent.
pub const CHUNK_BYTES: usize = 64 << 10;
/// The largest message a client must accept (16 MiB; gRPC's default is
/// 4 MiB).  perchd's messages stay far below it; clients set it
/// explicitly so that the margin never depends on a library default.
pub const MAX_MESSAGE_BYTES: usize = 16 << 20;

/// Cuts `s` to at most `max` bytes on a character boundary; true if cut.
pub fn clip(s: &mut String, max: usize) -> bool {
    if s.len() <= max {
        return false;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.truncate(end);
    true
}

/// `s` cut to at most `max` bytes on a character boundary.
#[must_use]
pub fn clipped(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Bytes of `argv` as `/proc/PID/cmdline` counts them.
#[must_use]
pub fn argv_bytes(argv: &[String]) -> usize {
    argv.iter().map(|a| a.len() + 1).sum()
}

/// Cuts `argv` to [`ARGV_BYTES`]: whole arguments while they fit, then
/// what fits of the next; true if anything was cut.
pub fn clip_argv(argv: &mut Vec<String>) -> bool {
    let mut used = 0;
    for i in 0..argv.len() {
        let need = argv[i].len() + 1;
        if used + need <= ARGV_BYTES {
            used += need;
            continue;
        }
        let room = ARGV_BYTES - used;
        // A part of the argument needs at least one byte besides its NUL.
        if room >= 2 {
            clip(&mut argv[i], room - 1);
            argv.truncate(i + 1);
        } else {
            argv.truncate(i);
        }
        return true;
    }
    false
}

/// Caps every string of a process; a cut argv sets `argv_truncated`.
pub fn cap_process(p: &mut Process) {
    if clip_argv(&mut p.argv) {
        p.argv_truncated = true;
    }
    clip(&mut p.comm, COMM_BYTES);
    for path in [&mut p.exe, &mut p.cwd, &mut p.cgroup_path] {
        clip(path, PATH_BYTES);
    }
    for name in [
        &mut p.user,
        &mut p.tty,
        &mut p.container_runtime,
        &mut p.pod_namespace,
        &mut p.pod_name,
    ] {
        clip(name, NAME_BYTES);
    }
    clip(&mut p.container_id, ID_BYTES);
    clip(&mut p.pod_uid, ID_BYTES);
    if let Some(x) = &mut p.executable {
        x.path_truncated |= clip(&mut x.path, PATH_BYTES);
        clip(&mut x.fs_type, NAME_BYTES);
    }
    for fd in &mut p.stdio {
        clip(&mut fd.local_address, NAME_BYTES);
        clip(&mut fd.peer_address, NAME_BYTES);
    }
    clip(&mut p.login_user, NAME_BYTES);
    for var in &mut p.env {
        clip(&mut var.name, NAME_BYTES);
        var.value_truncated |= clip(&mut var.value, ENV_VALUE_BYTES);
    }
}

fn cap_target(t: &mut ActionTarget) {
    clip_argv(&mut t.argv);
    clip(&mut t.exe, PATH_BYTES);
    clip(&mut t.cgroup_path, PATH_BYTES);
    for name in [&mut t.user, &mut t.pod_namespace, &mut t.pod_name] {
        clip(name, NAME_BYTES);
    }
    clip(&mut t.container_id, ID_BYTES);
    clip(&mut t.pod_uid, ID_BYTES);
}

fn cap_affected(p: &mut AffectedProcess) {
    clip(&mut p.comm, COMM_BYTES);
    clip(&mut p.exe, PATH_BYTES);
    clip(&mut p.detail, SHORT_DETAIL_BYTES);
}

/// Caps every string of an audit record (what the log writes, and so what
/// every client reads back).
pub fn cap_record(r: &mut AuditRecord) {
    for id in [&mut r.id, &mut r.prev_hash, &mut r.hash] {
        clip(id, ID_BYTES);
    }
    clip(&mut r.host, NAME_BYTES);
    clip(&mut r.actor_user, NAME_BYTES);
    clip(&mut r.origin, ORIGIN_BYTES);
    if let Some(t) = &mut r.target {
        cap_target(t);
    }
    r.processes.iter_mut().for_each(cap_affected);
    clip(&mut r.reason, REASON_MAX_BYTES);
    clip(&mut r.code, SHORT_DETAIL_BYTES);
    clip(&mut r.detail, DETAIL_BYTES);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::every;

    #[test]
    fn every_signal_but_unspecified_may_be_chosen() {
        let mut chosen: Vec<Signal> = SIGNALS.to_vec();
        let mut defined: Vec<Signal> = every::<Signal>()
            .filter(|s| *s != Signal::Unspecified)
            .collect();
        chosen.sort_unstable();
        defined.sort_unstable();
        assert_eq!(chosen, defined);
    }

    fn argv(parts: &[&str]) -> Vec<String> {
        parts.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn clip_cuts_on_a_character_boundary() {
        let mut s = "aé".to_owned();
        assert!(clip(&mut s, 2));
        assert_eq!(s, "a");
        assert!(!clip(&mut s, 2));
        assert_eq!(clipped("日本", 4), "日");
        assert_eq!(clipped("ab", 4), "ab");
    }

    #[test]
    fn argv_is_cut_to_its_byte_budget_like_cmdline() {
        let mut short = argv(&["sh", "-c", ""]);
        assert!(!clip_argv(&mut short));
        assert_eq!(argv_bytes(&short), 7);

        let big = "x".repeat(5000);
        let mut two = vec![big.clone(), big.clone()];
        assert!(clip_argv(&mut two));
        assert_eq!(two.len(), 2);
        assert_eq!(argv_bytes(&two), ARGV_BYTES);
        assert_eq!(two[0], big);

        // No room for a byte of the next argument: it is dropped whole.
        let mut exact = vec!["y".repeat(ARGV_BYTES - 2), "zz".to_owned()];
        assert!(clip_argv(&mut exact));
        assert_eq!(exact.len(), 1);

        // Many empty arguments count one byte each.
        let mut empties = vec![String::new(); ARGV_BYTES + 5];
        assert!(clip_argv(&mut empties));
        assert_eq!(empties.len(), ARGV_BYTES);
    }

    #[test]
    fn a_process_is_capped_and_flagged() {
        let mut p = Process {
            argv: vec!["a".repeat(3 * ARGV_BYTES)],
            exe: "/".repeat(2 * PATH_BYTES),
            comm: "\u{fffd}".repeat(40),
            container_id: "c".repeat(1000),
            ..Process::default()
        };
        cap_process(&mut p);
        assert!(p.argv_truncated);
        assert_eq!(argv_bytes(&p.argv), ARGV_BYTES);
        assert_eq!(p.exe.len(), PATH_BYTES);
        assert!(p.comm.len() <= COMM_BYTES && p.comm.ends_with('\u{fffd}'));
        assert_eq!(p.container_id.len(), ID_BYTES);
    }

    #[test]
    fn a_record_is_capped() {
        let mut r = AuditRecord {
            reason: "r".repeat(5000),
            origin: "o".repeat(5000),
            target: Some(ActionTarget {
                argv: vec!["a".repeat(1 << 20)],
                ..ActionTarget::default()
            }),
            processes: vec![AffectedProcess {
                detail: "d".repeat(5000),
                ..AffectedProcess::default()
            }],
            ..AuditRecord::default()
        };
        cap_record(&mut r);
        assert_eq!(r.reason.len(), REASON_MAX_BYTES);
        assert_eq!(r.origin.len(), ORIGIN_BYTES);
        assert_eq!(
            argv_bytes(
                &r.target
                    .as_ref()
                    .map(|t| t.argv.clone())
                    .unwrap_or_default()
            ),
            ARGV_BYTES
        );
        assert_eq!(r.processes[0].detail.len(), SHORT_DETAIL_BYTES);
    }
}
