//! Model rules: fork inheritance, exec replacement, exit retention, pid
//! reuse, the byte bound on exited processes.
use super::*;

fn info(pid: u32, start_ns: u64, parent: u32) -> ProcessInfo {
    ProcessInfo {
        key: ProcKey { pid, start_ns },
        ppid: parent,
        ..ProcessInfo::default()
    }
}

#[test]
fn fork_inherits_exec_replaces_exit_retains() {
    let mut m = ProcessModel::new(1_000);
    let mut parent = info(10, 5_000_000_000, 1);
    parent.exe = "/bin/sh".into();
    parent.argv = ["sh"].into_iter().collect();
    parent.cwd = "/tmp".into();
    m.seed([parent]);

    let child = info(11, 6_000_000_000, 10);
    let Some(ModelEvent::Fork { child, .. }) = m.apply(ModelEvent::Fork { time_ns: 1, child })
    else {
        panic!("fork not applied")
    };
    assert_eq!(
        (child.exe.as_str(), child.cwd.as_str()),
        ("/bin/sh", "/tmp")
    );

    let mut exec = info(11, 6_000_000_000, 10);
    exec.exe = "/bin/true".into();
    exec.argv = ["true"].into_iter().collect();
    let Some(ModelEvent::Exec { process, .. }) = m.apply(ModelEvent::Exec {
        time_ns: 2,
        process: exec,
        old_pid: 0,
    }) else {
        panic!("exec not applied")
    };
    assert_eq!(
        (process.exe.as_str(), process.cwd.as_str()),
        ("/bin/true", "/tmp")
    );

    let key = process.key;
    let exit = ExitInfo::from_wait_status(3, 0);
    assert!(
        m.apply(ModelEvent::Exit {
            time_ns: 3,
            key,
            exit
        })
        .is_some()
    );
    assert!(m.get(11).is_none());
    assert_eq!(m.exited().count(), 1);
    m.expire(500);
    assert_eq!(m.exited().count(), 1, "within retention");
    m.expire(2_000);
    assert_eq!(m.exited().count(), 0, "past retention");
}

#[test]
fn stale_exit_does_not_remove_the_pids_new_owner() {
    let mut m = ProcessModel::new(1_000);
    m.seed([info(20, 7_000_000_000, 1)]);
    let stale = ProcKey {
        pid: 20,
        start_ns: 1_000_000_000,
    };
    assert!(
        m.apply(ModelEvent::Exit {
            time_ns: 1,
            key: stale,
            exit: ExitInfo::default()
        })
        .is_none()
    );
    assert!(m.get(20).is_some());
}

#[test]
fn pid_reuse_retires_the_previous_owner() {
    let mut m = ProcessModel::new(1_000);
    m.seed([info(30, 7_000_000_000, 1)]);
    let newer = info(30, 9_000_000_000, 1);
    m.apply(ModelEvent::Fork {
        time_ns: 5,
        child: newer,
    });
    assert_eq!(m.get(30).map(|p| p.key.start_ns), Some(9_000_000_000));
    assert_eq!(m.exited().count(), 1);
}

#[test]
fn seeded_tick_precision_matches_kernel_nanoseconds() {
    let mut m = ProcessModel::new(1_000);
    m.seed([info(40, 7_120_000_000, 1)]);
    let key = ProcKey {
        pid: 40,
        start_ns: 7_123_456_789,
    };
    assert!(
        m.apply(ModelEvent::Exit {
            time_ns: 1,
            key,
            exit: ExitInfo::default()
        })
        .is_some()
    );
}

/// An exec storm of long command lines: exited processes stay within the
/// byte bound (the oldest go first, counted), whatever the retention says.
#[test]
fn exited_processes_are_bounded_in_bytes() {
    let bound = 1 << 20;
    let mut m = ProcessModel::with_bounds(u64::MAX, bound);
    let long: Argv = std::iter::repeat_n("a", 4000).collect();
    for pid in 1..=2_000 {
        let mut p = info(pid, u64::from(pid) * 1_000_000_000, 1);
        p.argv = long.clone();
        m.apply(ModelEvent::Exec {
            time_ns: u64::from(pid),
            process: p,
            old_pid: 0,
        });
        m.apply(ModelEvent::Exit {
            time_ns: u64::from(pid),
            key: ProcKey {
                pid,
                start_ns: u64::from(pid) * 1_000_000_000,
            },
            exit: ExitInfo::default(),
        });
        assert!(m.exited_bytes() <= bound, "{} bytes", m.exited_bytes());
    }
    let kept = m.exited().count();
    assert!((10..2_000).contains(&kept), "{kept} kept");
    assert_eq!(m.dropped_early(), 2_000 - kept as u64);
    // The newest are the ones kept.
    assert_eq!(m.exited().last().map(|p| p.key.pid), Some(2_000));
    let sum: usize = m.exited().map(ProcessInfo::heap_bytes).sum();
    assert_eq!(sum, m.exited_bytes());
    m.expire(u64::MAX);
    let sum: usize = m.exited().map(ProcessInfo::heap_bytes).sum();
    assert_eq!(m.exited_bytes(), sum);
}
