//! Loads and attaches the kernel programs and reads their ring buffer and
//! counters.  The programs stay attached as long as [`EbpfSource`] lives.
use aya::{
    Ebpf, EbpfLoader,
    maps::{MapData, PerCpuArray, RingBuf},
    programs::{BtfTracePoint, TracePoint},
};
use perch_common::Offsets;
use tokio::io::unix::AsyncFd;

use super::{EbpfError, btf::KernelBtf, tracefs};

/// The object built by collector/build.rs from collector-ebpf.
static OBJECT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/perch-ebpf"));

/// Reads every layout the programs need; fails if any is missing.
pub fn resolve_offsets() -> Result<Offsets, EbpfError> {
    let root = tracefs::tracefs_root()?;
    let exec = tracefs::read_format(&root, "sched", "sched_process_exec")?;
    let exit = tracefs::read_format(&root, "sched", "sched_process_exit")?;
    let field = |map: &std::collections::HashMap<String, tracefs::Field>, ev: &str, name: &str| {
        map.get(name)
            .map(|f| f.offset)
            .ok_or_else(|| EbpfError::Tracefs(format!("{ev} has no field {name}")))
    };
    let b = KernelBtf::load()?;
    Ok(Offsets {
        valid: 1,
        exec_filename_loc: field(&exec, "sched_process_exec", "filename")?,
        exec_old_pid: field(&exec, "sched_process_exec", "old_pid")?,
        // Absent before Linux 6.16: the program then reports group leaders.
        exit_group_dead: exit.get("group_dead").map_or(0, |f| f.offset),
        task_pid: b.offset("task_struct", "pid")?,
        task_tgid: b.offset("task_struct", "tgid")?,
        task_flags: b.offset("task_struct", "flags")?,
        task_real_parent: b.offset("task_struct", "real_parent")?,
        task_group_leader: b.offset("task_struct", "group_leader")?,
        task_start_boottime: b.offset("task_struct", "start_boottime")?,
        task_real_cred: b.offset("task_struct", "real_cred")?,
        task_mm: b.offset("task_struct", "mm")?,
        task_signal: b.offset("task_struct", "signal")?,
        task_exit_code: b.offset("task_struct", "exit_code")?,
        cred_uid: b.offset("cred", "uid")?,
        cred_gid: b.offset("cred", "gid")?,
        cred_euid: b.offset("cred", "euid")?,
        mm_arg_start: b.offset("mm_struct", "arg_start")?,
        mm_arg_end: b.offset("mm_struct", "arg_end")?,
        signal_pids: b.offset("signal_struct", "pids")?,
        signal_tty: b.offset("signal_struct", "tty")?,
        pidtype_pgid: b.enum_value("pid_type", "PIDTYPE_PGID")?,
        pidtype_sid: b.enum_value("pid_type", "PIDTYPE_SID")?,
        pid_numbers: b.offset("pid", "numbers")?,
        upid_nr: b.offset("upid", "nr")?,
        tty_name: b.offset("tty_struct", "name")?,
    })
}

/// The attached programs and their maps.
pub struct EbpfSource {
    // Keeps the programs attached; dropped last.
    _ebpf: Ebpf,
    ring: AsyncFd<RingBuf<MapData>>,
    counters: PerCpuArray<MapData, u64>,
}

impl EbpfSource {
    /// Loads and attaches; `wakeup_bytes` is the fill level at which the
    /// kernel wakes the reader early (below it the reader polls).
    pub fn start(wakeup_bytes: u64) -> Result<Self, EbpfError> {
        let offsets = resolve_offsets()?;
        let load = |e: &dyn std::fmt::Display| EbpfError::Load(e.to_string());
        let mut ebpf = EbpfLoader::new()
            .override_global("OFFSETS", &offsets, true)
            .override_global("WAKEUP_BYTES", &wakeup_bytes, true)
            .load(OBJECT)
            .map_err(|e| load(&e))?;
        for (prog, category, name) in [
            ("sched_process_exec", "sched", "sched_process_exec"),
            ("sched_process_exit", "sched", "sched_process_exit"),
        ] {
            let attach = |e: &dyn std::fmt::Display| EbpfError::Attach {
                program: prog,
                detail: e.to_string(),
            };
            let p: &mut TracePoint = ebpf
                .program_mut(prog)
                .ok_or_else(|| load(&format!("program {prog} missing from the object")))?
                .try_into()
                .map_err(|e| attach(&e))?;
            p.load().map_err(|e| attach(&e))?;
            p.attach(category, name).map_err(|e| attach(&e))?;
        }
        let btf = aya::Btf::from_sys_fs().map_err(|e| EbpfError::Btf(e.to_string()))?;
        let attach = |e: &dyn std::fmt::Display| EbpfError::Attach {
            program: "sched_process_fork",
            detail: e.to_string(),
        };
        let fork: &mut BtfTracePoint = ebpf
            .program_mut("sched_process_fork")
            .ok_or_else(|| load(&"program sched_process_fork missing from the object"))?
            .try_into()
            .map_err(|e| attach(&e))?;
        fork.load("sched_process_fork", &btf)
            .map_err(|e| attach(&e))?;
        fork.attach().map_err(|e| attach(&e))?;

        let ring = ebpf
            .take_map("EVENTS")
            .ok_or_else(|| load(&"map EVENTS missing"))?;
        let ring = RingBuf::try_from(ring).map_err(|e| load(&e))?;
        // SAFETY: the AsyncFd owns the RingBuf, which owns the fd, so the fd
        // stays open for as long as it is registered.
        let ring = unsafe { AsyncFd::register(ring) }.map_err(|e| load(&e))?;
        let counters = ebpf
            .take_map("COUNTERS")
            .ok_or_else(|| load(&"map COUNTERS missing"))?;
        let counters = PerCpuArray::try_from(counters).map_err(|e| load(&e))?;
        Ok(Self {
            _ebpf: ebpf,
            ring,
            counters,
        })
    }

    /// Waits until the kernel forces a wake-up (the ring is filling up) or
    /// `timeout` passes, whichever is first.  Records are not read here.
    pub async fn wait(&mut self, timeout: std::time::Duration) {
        if let Ok(Ok(mut guard)) = tokio::time::timeout(timeout, self.ring.readable_mut()).await {
            guard.clear_ready();
        }
    }

    /// Calls `f` on every record waiting in the ring; returns how many.
    pub fn drain(&mut self, mut f: impl FnMut(&[u8])) -> usize {
        let ring = self.ring.get_mut();
        let mut n = 0;
        while let Some(item) = ring.next() {
            f(&item);
            n += 1;
        }
        n
    }

    /// Records the kernel could not queue, summed over CPUs.
    #[must_use]
    pub fn lost(&self) -> u64 {
        self.counter(0)
    }

    /// Records queued by the kernel, summed over CPUs.
    #[must_use]
    pub fn sent(&self) -> u64 {
        self.counter(1)
    }

    fn counter(&self, index: u32) -> u64 {
        self.counters.get(&index, 0).map_or(0, |v| v.iter().sum())
    }
}
