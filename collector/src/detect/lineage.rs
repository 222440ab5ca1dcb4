//! Where a process stands: its live ancestors, its parent's key, and a
//! hash of its command line (for the restart count).
use super::context;
use crate::model::{ProcKey, ProcessInfo, ProcessModel};

pub fn command_hash(p: &ProcessInfo) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    p.exe.hash(&mut h);
    for a in p.argv.iter() {
        a.hash(&mut h);
    }
    h.finish()
}

pub fn parent_key(p: &ProcessInfo) -> ProcKey {
    ProcKey {
        pid: p.ppid,
        start_ns: p.parent_start_ns,
    }
}

/// The live ancestors of `p`, nearest first.
pub fn ancestry<'m>(model: &'m ProcessModel, p: &ProcessInfo) -> Vec<&'m ProcessInfo> {
    let mut out: Vec<&ProcessInfo> = Vec::new();
    let (mut ppid, mut pstart) = (p.ppid, p.parent_start_ns);
    while out.len() < context::MAX_ANCESTORS && ppid != 0 {
        let Some(q) = model.get(ppid) else { break };
        if pstart != 0
            && !q.key.same_as(&ProcKey {
                pid: ppid,
                start_ns: pstart,
            })
        {
            break;
        }
        if out.iter().any(|a| a.key.pid == q.key.pid) || q.key.pid == p.key.pid {
            break;
        }
        out.push(q);
        (ppid, pstart) = (q.ppid, q.parent_start_ns);
    }
    out
}
