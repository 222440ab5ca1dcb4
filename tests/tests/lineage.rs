//! Lineage survives: a double-forked process whose intermediate parent
//! exited keeps its whole chain of parents in `ListProcesses` long after the
//! retention window (exited ancestors, with their command and exit), the
//! chain is released once the process is gone, and after a perchd restart
//! the process says its original parent is unknown and names its reaper
//! instead of claiming pid 1 forked it.  Real perchd (eBPF), real processes.
#![expect(
    clippy::expect_used,
    clippy::panic,
    reason = "helpers of end-to-end tests: a broken environment should fail the test loudly"
)]
use std::{process::Command, time::Duration};

use perch_e2e::{
    Perchd,
    events::{list_processes, pid},
    have_root_or_skip,
    procs::{eventually, run_bounded},
};
use perch_proto::{
    same_start_time,
    v1::{Process, ProcessKey},
};

const WAIT: Duration = Duration::from_secs(30);
/// perchd's exited retention in this test.
const RETENTION: Duration = Duration::from_secs(1);

/// A double fork: `sh -c '(sleep &); exit'`.  The subshell forks the
/// sleeper and exits, then sh exits: the sleeper's parent and grandparent
/// are gone.  Returns the sleeper's pid (the subshell prints it).
fn double_fork(tag: &str) -> u32 {
    // The tag is sh's $0, so the exited grandparent can be told apart.
    let out = run_bounded(
        Command::new("/bin/sh").args([
            "-c",
            "(/bin/sleep 300 >/dev/null 2>&1 & echo $!); exit 0",
            &format!("double-fork-{tag}"),
        ]),
        WAIT,
    );
    out.stdout.trim().parse().expect("the sleeper's pid")
}

/// Kills a process that is not our child (init reaps it).
struct Killed(u32);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(i32::try_from(self.0).unwrap_or(i32::MAX)),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
}

fn find(all: &[Process], key: ProcessKey) -> Option<&Process> {
    all.iter().find(|p| {
        p.key.is_some_and(|k| {
            k.pid == key.pid && same_start_time(k.start_time_ns, key.start_time_ns)
        })
    })
}

/// The chain of `pid` in `all`: its parent, grandparent, ... as far as the
/// snapshot has them.
fn chain(all: &[Process], pid_of: u32) -> Vec<Process> {
    let mut out = Vec::new();
    let mut p = all
        .iter()
        .find(|p| pid(p) == pid_of && p.exit.is_none())
        .unwrap_or_else(|| panic!("pid {pid_of} not listed live"));
    while let Some(parent) = find(
        all,
        ProcessKey {
            pid: p.ppid,
            start_time_ns: p.parent_start_time_ns,
        },
    ) {
        out.push(parent.clone());
        p = parent;
        if out.len() > 64 {
            break;
        }
    }
    out
}

/// The snapshot with exited processes and retained ancestors.
async fn everything(perchd: &Perchd) -> Vec<Process> {
    let mut client = perchd.client().await.expect("client");
    list_processes(&mut client, true, &[])
        .await
        .expect("ListProcesses")
        .0
}

#[tokio::test(flavor = "multi_thread")]
async fn a_double_forked_process_keeps_its_chain() {
    if !have_root_or_skip("a_double_forked_process_keeps_its_chain") {
        return;
    }
    let secs = RETENTION.as_secs().to_string();
    let mut perchd = Perchd::start(&["--exited-retention-secs", &secs]).await;
    let kept = Killed(tokio::task::block_in_place(|| double_fork("kept")));
    let gone = Killed(tokio::task::block_in_place(|| double_fork("gone")));
    perchd.wait_known(kept.0, "/bin/sleep").await;
    perchd.wait_known(gone.0, "/bin/sleep").await;
    let me = std::process::id();

    // Three retention windows later both chains still reach this test
    // through the exited subshell and sh, with their commands.
    tokio::time::sleep(RETENTION * 3).await;
    let all = everything(&perchd).await;
    for (sleeper, tag) in [(kept.0, "kept"), (gone.0, "gone")] {
        let up = chain(&all, sleeper);
        let pids: Vec<u32> = up.iter().map(pid).collect();
        assert!(
            up.len() >= 3 && pid(&up[2]) == me,
            "pid {sleeper}'s chain {pids:?} should run through its two exited parents to {me}"
        );
        for ancestor in &up[..2] {
            assert!(ancestor.exit.is_some(), "{ancestor:?}");
            assert!(ancestor.retained_ancestor, "{ancestor:?}");
        }
        let sh = &up[1];
        assert_eq!(
            sh.argv.first().map(String::as_str),
            Some("/bin/sh"),
            "{sh:?}"
        );
        assert!(sh.argv.iter().any(|a| a.contains(tag)), "{sh:?}");
        assert!(up[2].exit.is_none(), "the test itself runs");
    }
    // Reparented: the sampler names the reaper it went to.
    let sleeper = all
        .iter()
        .find(|p| pid(p) == kept.0 && p.exit.is_none())
        .expect("listed");
    assert!(!sleeper.original_parent_unknown, "{sleeper:?}");
    let reaper = eventually(WAIT, async || {
        let all = everything(&perchd).await;
        all.iter()
            .find(|p| pid(p) == kept.0 && p.exit.is_none())
            .and_then(|p| p.reaper)
    })
    .await
    .expect("the reaper is named");
    assert_eq!(
        reaper.pid, 1,
        "nothing between here and init is a subreaper"
    );

    // The other sleeper ends: its ancestors go after its own retention,
    // the kept one's stay.
    let gone_ancestors: Vec<ProcessKey> = chain(&all, gone.0)[..2]
        .iter()
        .filter_map(|p| p.key)
        .collect();
    drop(gone);
    let released = eventually(WAIT, async || {
        let all = everything(&perchd).await;
        gone_ancestors
            .iter()
            .all(|&k| find(&all, k).is_none())
            .then_some(all)
    })
    .await
    .expect("the ended sleeper's ancestors are released");
    let before: Vec<u32> = chain(&all, kept.0).iter().map(pid).collect();
    let after: Vec<u32> = chain(&released, kept.0).iter().map(pid).collect();
    assert_eq!(after, before, "the kept chain stays");

    // A restarted perchd did not see the sleeper start: /proc shows init as
    // its parent, which may only have adopted it.
    perchd.crash();
    perchd.respawn().await;
    let all = everything(&perchd).await;
    let seeded = all
        .iter()
        .find(|p| pid(p) == kept.0 && p.exit.is_none())
        .expect("seeded");
    assert!(seeded.original_parent_unknown, "{seeded:?}");
    assert_eq!(
        (seeded.ppid, seeded.parent_start_time_ns),
        (0, 0),
        "not 'parent pid 1': {seeded:?}"
    );
    assert_eq!(seeded.reaper.map(|r| r.pid), Some(1), "{seeded:?}");
}
