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

/// A process forked by `parent` (its key as the link).
fn child_of(pid: u32, start_ns: u64, parent: &ProcessInfo) -> ProcessInfo {
    ProcessInfo {
        key: ProcKey { pid, start_ns },
        ppid: parent.key.pid,
        parent_start_ns: parent.key.start_ns,
        ..ProcessInfo::default()
    }
}

fn exit(m: &mut ProcessModel, p: &ProcessInfo, time_ns: u64) {
    let exit = ExitInfo {
        time_ns,
        ..ExitInfo::default()
    };
    assert!(
        m.apply(ModelEvent::Exit {
            time_ns,
            key: p.key,
            exit
        })
        .is_some()
    );
}

fn exited_pids(m: &ProcessModel) -> Vec<(u32, bool)> {
    let mut v: Vec<(u32, bool)> = m
        .exited()
        .map(|p| (p.key.pid, p.retained_ancestor))
        .collect();
    v.sort_unstable();
    v
}

#[test]
fn ancestors_of_a_live_process_outlive_the_retention_then_go() {
    let mut m = ProcessModel::new(1_000);
    let init = info(1, 10_000_000, 0);
    let shell = child_of(100, 1_000_000_000, &init);
    // The double fork: shell -> subshell -> daemon; both parents exit.
    let sub = child_of(101, 2_000_000_000, &shell);
    let daemon = child_of(102, 3_000_000_000, &sub);
    let other = child_of(103, 4_000_000_000, &shell);
    m.seed([init, shell.clone()]);
    for c in [&sub, &daemon, &other] {
        m.apply(ModelEvent::Fork {
            time_ns: 1,
            child: c.clone(),
        });
    }
    exit(&mut m, &sub, 10);
    exit(&mut m, &other, 11);
    exit(&mut m, &shell, 20);
    m.expire(100_000);
    // other had no descendants: gone; sub and shell are the daemon's chain.
    assert_eq!(exited_pids(&m), [(100, true), (101, true)]);
    let kept = m.retained().find(|p| p.key.pid == 101).expect("subshell");
    assert!(kept.exit.is_some());
    // The daemon exits: its chain stays for its own retention, then goes.
    exit(&mut m, &daemon, 200_000);
    m.expire(200_500);
    assert_eq!(exited_pids(&m), [(100, true), (101, true), (102, false)]);
    m.expire(201_500);
    assert!(exited_pids(&m).is_empty(), "{:?}", exited_pids(&m));
}

#[test]
fn exec_keeps_who_forked_it_and_where_it_went() {
    let mut m = ProcessModel::new(1_000);
    let mut p = info(50, 5_000_000_000, 0);
    p.parent_unknown = true;
    p.reaper = Some(ProcKey {
        pid: 1,
        start_ns: 10_000_000,
    });
    p.state = b'S';
    m.seed([p]);
    // The kernel's exec record names today's parent, pid 1.
    let exec = info(50, 5_000_000_000, 1);
    let Some(ModelEvent::Exec { process, .. }) = m.apply(ModelEvent::Exec {
        time_ns: 2,
        process: exec,
        old_pid: 0,
    }) else {
        panic!("exec not applied")
    };
    assert_eq!((process.ppid, process.parent_unknown), (0, true));
    assert_eq!(process.reaper.map(|r| r.pid), Some(1));
    assert_eq!(process.state, b'S');
}

#[test]
fn reparenting_names_the_reaper_once() {
    let mut m = ProcessModel::new(1_000);
    let init = info(1, 10_000_000, 0);
    let parent = child_of(60, 1_000_000_000, &init);
    let child = child_of(61, 2_000_000_000, &parent);
    m.seed([init, parent.clone(), child.clone()]);
    assert!(m.set_parents(&[(child.key, 60)]).is_empty(), "not moved");
    exit(&mut m, &parent, 5);
    let moved = m.set_parents(&[(child.key, 1)]);
    assert_eq!(moved.len(), 1);
    assert_eq!(moved[0].ppid, 60, "the original parent stays");
    assert_eq!(
        moved[0].reaper,
        Some(ProcKey {
            pid: 1,
            start_ns: 10_000_000
        })
    );
    assert!(m.set_parents(&[(child.key, 1)]).is_empty(), "once");
    // A history store names the original parent of an unknown one.
    let mut orphan = info(70, 3_000_000_000, 0);
    orphan.parent_unknown = true;
    m.seed([orphan.clone()]);
    let found = ProcKey {
        pid: 69,
        start_ns: 2_500_000_000,
    };
    let p = m.recover_parent(&orphan.key, found).expect("recovered");
    assert_eq!((p.ppid, p.parent_unknown), (69, false));
    assert!(m.recover_parent(&orphan.key, found).is_none(), "known now");
}

#[test]
fn states_and_freezes_are_reported_when_they_change() {
    let mut m = ProcessModel::new(1_000);
    let mut p = info(80, 1_000_000_000, 1);
    p.cgroup = Some(std::sync::Arc::new(CgroupInfo {
        path: "/box".into(),
        ..CgroupInfo::default()
    }));
    m.seed([p.clone()]);
    assert_eq!(m.set_states(&[(p.key, b'S')]), [p.key]);
    assert!(m.set_states(&[(p.key, b'S')]).is_empty());
    assert_eq!(m.set_frozen(|path| path == "/box"), [p.key]);
    assert!(m.set_frozen(|path| path == "/box").is_empty());
    assert_eq!(m.cgroup_paths(), ["/box"]);
    assert_eq!(m.set_frozen(|_| false), [p.key]);
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

/// A fork-and-exit chain of any length over one live process: the
/// retained ancestors stay within the byte bound, the nearest ones kept,
/// and once the leaf goes everything is released (no count left behind).
#[test]
fn a_long_chain_of_exited_ancestors_is_bounded_in_bytes() {
    let bound = 64 * 1024;
    let mut m = ProcessModel::with_bounds(1_000, bound);
    let root = info(1, 10_000_000, 0);
    m.seed([root.clone()]);
    let mut chain = vec![root];
    for i in 0..2_000u32 {
        let parent = chain.last().cloned().expect("a parent");
        let mut c = child_of(10 + i, u64::from(i + 2) * 10_000_000, &parent);
        c.exe = format!("/tmp/chain/{i:0>200}");
        m.apply(ModelEvent::Fork {
            time_ns: u64::from(i),
            child: c.clone(),
        });
        chain.push(c);
    }
    // Every link but the leaf exits, and its retention passes.
    let leaf = chain.pop().expect("the leaf");
    for (i, p) in chain.iter().skip(1).enumerate() {
        exit(&mut m, p, 10 + u64::try_from(i).expect("small"));
        m.expire(1_000_000 + u64::try_from(i).expect("small"));
    }
    m.expire(10_000_000);
    assert!(
        m.retained_bytes() <= bound,
        "{} > {bound}",
        m.retained_bytes()
    );
    assert!(m.ancestors_dropped() > 0);
    let kept: Vec<u32> = m.retained().map(|p| p.key.pid).collect();
    assert!(!kept.is_empty());
    // The leaf's own parent is among the kept: the nearest stay.
    assert!(kept.contains(&leaf.ppid), "{kept:?}");
    assert!(
        kept.iter().all(|&pid| pid + 1_000 > leaf.key.pid),
        "{kept:?}"
    );
    exit(&mut m, &leaf, 20_000_000);
    m.expire(30_000_000);
    assert_eq!(m.retained().count(), 0);
    assert_eq!(m.retained_bytes(), 0);
}
