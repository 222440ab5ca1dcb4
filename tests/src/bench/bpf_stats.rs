//! Run-time statistics of perchd's kernel programs: with `BPF_ENABLE_STATS`
//! held, the kernel times every program run; the programs of one perchd
//! are found through its open fds (`/proc/PID/fdinfo` names each
//! program's id), so other collectors running on the machine do not count.
use std::{collections::HashMap, os::fd::OwnedFd};

use anyhow::Context as _;
use aya::{
    programs::{ProgramInfo, loaded_programs},
    sys::{Stats, enable_stats},
};

/// Kernel statistics are collected while this lives.
pub struct Enabled(#[expect(dead_code, reason = "held for its Drop")] OwnedFd);

/// Turns the run-time statistics on (for every program on the machine,
/// until the guard is dropped).
pub fn enable() -> anyhow::Result<Enabled> {
    Ok(Enabled(
        enable_stats(Stats::RunTime).context("BPF_ENABLE_STATS (needs root)")?,
    ))
}

/// Total run time and runs of one program.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Runs {
    pub ns: u64,
    pub count: u64,
}

/// Runs per program of process `pid`, by program name without perchd's
/// `perch_` prefix (`exec`, `fork`, `exit`, `rename`).
pub fn of_process(pid: u32) -> anyhow::Result<HashMap<String, Runs>> {
    let ids = prog_ids(pid)?;
    let mut out = HashMap::new();
    for info in loaded_programs() {
        let info = info.context("listing BPF programs")?;
        if ids.contains(&info.id()) {
            let runs = Runs {
                ns: u64::try_from(info.run_time().as_nanos()).unwrap_or(u64::MAX),
                count: info.run_count(),
            };
            let e = out.entry(label(&info)).or_insert_with(Runs::default);
            e.ns += runs.ns;
            e.count += runs.count;
        }
    }
    Ok(out)
}

/// `perch_exec` → `exec`; `perch_exit_tp` (older kernels) → `exit`.
fn label(info: &ProgramInfo) -> String {
    let name = info.name_as_str().unwrap_or_default();
    let name = name.strip_prefix("perch_").unwrap_or(name);
    name.strip_suffix("_tp").unwrap_or(name).to_owned()
}

/// Ids of the BPF programs process `pid` holds open.
fn prog_ids(pid: u32) -> anyhow::Result<Vec<u32>> {
    let dir = format!("/proc/{pid}/fd");
    let mut ids = Vec::new();
    for entry in std::fs::read_dir(&dir).with_context(|| dir.clone())? {
        let Ok(entry) = entry else { continue };
        let is_prog = std::fs::read_link(entry.path())
            .is_ok_and(|l| l.to_string_lossy() == "anon_inode:bpf-prog");
        if !is_prog {
            continue;
        }
        let info = format!("/proc/{pid}/fdinfo/{}", entry.file_name().to_string_lossy());
        let text = std::fs::read_to_string(&info).unwrap_or_default();
        if let Some(id) = text
            .lines()
            .find_map(|l| l.strip_prefix("prog_id:"))
            .and_then(|v| v.trim().parse().ok())
        {
            ids.push(id);
        }
    }
    Ok(ids)
}
