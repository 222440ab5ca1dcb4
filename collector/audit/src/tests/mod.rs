//! The audit log against real files in temp dirs: the line format, the
//! chain, byte flips, torn tails, broken chains, several writers, and
//! (in `crash`) a writer process killed with SIGKILL mid-stream.
mod chain;
mod crash;
mod integrity;
mod recovery;
mod seeds;

use std::path::{Path, PathBuf};

use perch_proto::v1::{
    ActionKind, ActionMode, ActionResult, ActionTarget, AffectedProcess, AuditRecord, ProcessKey,
    ProcessOutcome, Role, Signal,
};

use super::AuditLog;

/// A record as the Act handler would fill it; `n` varies it, `procs` sets
/// how many affected processes it lists (and so its size).
pub(super) fn sample(n: u32, procs: u32) -> AuditRecord {
    AuditRecord {
        actor_uid: 1000 + n,
        actor_user: format!("user{n}"),
        actor_role: Role::Operator.into(),
        origin: format!("unix pid {} tty pts/3", 4000 + n),
        action: ActionKind::KillTree.into(),
        signal: Signal::Term.into(),
        priority: n.is_multiple_of(2).then_some(5),
        mode: ActionMode::Live.into(),
        target: Some(ActionTarget {
            key: Some(ProcessKey {
                pid: 4242 + n,
                start_time_ns: 77_000 + u64::from(n),
            }),
            exe: "/usr/bin/sleep".into(),
            argv: vec!["sleep".into(), "1000".into(), "\"quoted\" é \n".into()],
            uid: 1000,
            user: "alice".into(),
            container_id: "abc123".into(),
            pod_uid: "pod-uid".into(),
            pod_namespace: "default".into(),
            pod_name: "web-0".into(),
            cgroup_path: "/kubepods/pod-uid/abc123".into(),
        }),
        processes: (0..procs)
            .map(|i| AffectedProcess {
                key: Some(ProcessKey {
                    pid: 5000 + i,
                    start_time_ns: u64::from(i),
                }),
                ppid: 4242,
                comm: format!("child{i}"),
                exe: "/usr/bin/sleep".into(),
                outcome: ProcessOutcome::Done.into(),
                detail: String::new(),
                ..AffectedProcess::default()
            })
            .collect(),
        reason: format!("incident {n}: miner"),
        result: ActionResult::Partial.into(),
        code: "partial".into(),
        detail: "1 process already gone".into(),
        ..AuditRecord::default()
    }
}

pub(super) fn log_path(dir: &Path) -> PathBuf {
    dir.join("lib/perch/audit.log")
}

/// A log of `n` sample records; returns what `append` returned.
pub(super) fn write_log(path: &Path, n: u32) -> Vec<AuditRecord> {
    let mut log = AuditLog::open(path).expect("open");
    (0..n)
        .map(|i| log.append(&sample(i, 2)).expect("append"))
        .collect()
}

/// The log's lines, each with its newline.
pub(super) fn lines(path: &Path) -> Vec<Vec<u8>> {
    std::fs::read(path)
        .expect("read log")
        .split_inclusive(|&b| b == b'\n')
        .map(<[u8]>::to_vec)
        .collect()
}
