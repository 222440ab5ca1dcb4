//! Kernel record loss is counted, never silent: with a ring buffer far too
//! small for an exec storm, `GetInfo` counts the lost records per kind, every
//! client gets an `EVENTS_LOST` notice naming the window and the kinds, and
//! the process tree heals from /proc (a process started during the loss is
//! listed with its parent; the storm's exited processes are not live).
#![expect(
    clippy::expect_used,
    reason = "helpers of end-to-end tests: a broken environment should fail the test loudly"
)]
use std::{process::Command, time::Duration};

use perch_e2e::{
    events::{WAIT, ebpf_watch, info, list_processes, listed, notices},
    have_root_or_skip,
    procs::{ChildGuard, eventually, unique},
};
use perch_proto::v1::{self as pb, NoticeKind};

/// Spawns and reaps `n` `/bin/true` from `loops` threads.
fn storm(n: usize, loops: usize) {
    let handles: Vec<_> = (0..loops)
        .map(|_| {
            std::thread::spawn(move || {
                for _ in 0..n / loops {
                    let _ = Command::new("/bin/true").status();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("storm thread");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn lost_records_are_counted_noticed_and_healed() {
    if !have_root_or_skip("lost_records_are_counted_noticed_and_healed") {
        return;
    }
    // 8 KiB holds two or three exec records: a storm cannot fit.
    let (_perchd, mut client, mut log) = ebpf_watch(&["--ring-buffer-bytes", "8192"], &[]).await;

    // A sleeper started in the middle of the storm: its fork and exec are
    // likely lost, and the /proc re-read must bring it back.
    let marker = unique("loss");
    let first = tokio::task::spawn_blocking(|| storm(300, 2));
    let sleeper = ChildGuard::spawn(
        std::os::unix::process::CommandExt::arg0(&mut Command::new("/bin/sleep"), &marker)
            .arg("30"),
    );
    let second = tokio::task::spawn_blocking(|| storm(300, 2));
    first.await.expect("storm");
    second.await.expect("storm");

    let lost_notice = |ev: &[pb::Event]| {
        notices(ev)
            .find(|n| n.kind() == NoticeKind::EventsLost)
            .cloned()
    };
    let noticed = log.until(WAIT, |ev| lost_notice(ev).is_some()).await;
    assert!(
        noticed,
        "no EVENTS_LOST notice; stream end: {:?}",
        log.ended
    );
    let n = lost_notice(&log.events).expect("notice");
    assert!(n.lost_events > 0, "{n:?}");
    assert!(n.lost_until_ns > n.lost_from_ns, "{n:?}");
    assert!(
        n.lost_by_kind
            .iter()
            .any(|k| k.kind == "exec" && k.lost > 0),
        "{n:?}"
    );
    assert!(n.message.contains("/proc re-read"), "{n:?}");

    // GetInfo agrees, per kind, and the header's total is the same sum.
    let end = info(&mut client).await;
    let exec = end
        .events_by_kind
        .iter()
        .find(|k| k.kind == "exec")
        .unwrap_or_else(|| panic!("no exec counter: {end:?}"));
    assert!(exec.lost > 0 && exec.sent > 0, "{exec:?}");
    let sum: u64 = end.events_by_kind.iter().map(|k| k.lost).sum();
    assert_eq!(end.events_lost, sum, "{end:?}");
    assert!(end.loss_windows >= 1, "{end:?}");

    // Healed: the sleeper is listed with its parent, whatever was lost.
    let me = std::process::id();
    let p = listed(&mut client, sleeper.pid()).await;
    assert_eq!(p.ppid, me, "{p:?}");
    assert_eq!(p.argv.first(), Some(&marker), "{p:?}");
    // And no storm child is left live: their exits were lost or seen.
    let leftovers = eventually(Duration::from_secs(5), async || {
        let (procs, _) = list_processes(&mut client, false, &[]).await.ok()?;
        let live: Vec<u32> = procs
            .iter()
            .filter(|p| p.ppid == me && p.argv.first().is_some_and(|a| a == "/bin/true"))
            .filter_map(|p| p.key.map(|k| k.pid))
            .collect();
        live.is_empty().then_some(())
    })
    .await;
    assert!(leftovers.is_some(), "storm children still listed as live");
}
