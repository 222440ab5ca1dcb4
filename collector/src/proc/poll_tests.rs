//! Poller tests: deterministic ones on a fake proc tree, live ones with
//! real children turning into zombies.
use std::fs;
use std::path::Path;
use std::process::{Child, Command};
use std::time::Duration;

use super::*;
use crate::clock::now_boot_ns;
use crate::proc::{CgroupResolver, UserNames};

/// Writes `<root>/<pid>/{stat,status,cmdline,cgroup}` for a fake process.
fn fake(root: &Path, pid: u32, start_ticks: u64, state: char, exit_code: i32) {
    let dir = root.join(pid.to_string());
    fs::create_dir_all(&dir).expect("mkdir");
    let mut f = vec!["0".to_owned(); 50];
    f[0] = state.to_string();
    f[1] = "1".into();
    f[17] = "1".into();
    f[19] = start_ticks.to_string();
    f[49] = exit_code.to_string();
    fs::write(dir.join("stat"), format!("{pid} (fake) {}\n", f.join(" "))).expect("stat");
    fs::write(
        dir.join("status"),
        "Name:\tfake\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n",
    )
    .expect("status");
    fs::write(dir.join("cmdline"), "fake\0").expect("cmdline");
    fs::write(dir.join("cgroup"), "0::/\n").expect("cgroup");
}

fn fake_poller(root: &Path) -> Poller {
    Poller::new(ProcReader::new(
        root.to_owned(),
        CgroupResolver::new(root),
        UserNames::with_passwd(root.join("passwd")),
    ))
}

fn key(pid: u32, ticks: u64) -> ProcKey {
    ProcKey {
        pid,
        start_ns: ticks_to_ns(ticks),
    }
}

/// (kind, pid, code, signal) for compact asserts.
fn summary(events: &[ModelEvent]) -> Vec<(&'static str, u32, Option<i32>, Option<i32>)> {
    events
        .iter()
        .map(|e| match e {
            ModelEvent::Exec { process, .. } => ("exec", process.key.pid, None, None),
            ModelEvent::Exit { key, exit, .. } => ("exit", key.pid, exit.code, exit.signal),
            _ => ("other", 0, None, None),
        })
        .collect()
}

#[test]
fn fake_tree_new_reused_zombie_and_vanished() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path();
    fake(root, 10, 100, 'S', 0);
    fake(root, 11, 100, 'S', 0);
    let mut p = fake_poller(root);
    let seeded = p.prime();
    assert_eq!(seeded.len(), 2);
    assert!(seeded.iter().all(|s| s.source == Source::Seeded));
    assert!(p.poll(1_000).is_empty(), "nothing changed");

    fake(root, 12, 200, 'R', 0); // new
    fake(root, 11, 300, 'S', 0); // pid reused
    fake(root, 10, 100, 'Z', 9); // killed by SIGKILL
    let ev = p.poll(2_000);
    let mut got = summary(&ev);
    got.sort_unstable();
    assert_eq!(
        got,
        [
            ("exec", 11, None, None),
            ("exec", 12, None, None),
            ("exit", 10, None, Some(9)),
            ("exit", 11, None, None)
        ]
    );
    let old11 = ev
        .iter()
        .position(|e| matches!(e, ModelEvent::Exit { key: k, .. } if *k == key(11, 100)));
    let new11 = ev
        .iter()
        .position(|e| matches!(e, ModelEvent::Exec { process, .. } if process.key == key(11, 300)));
    assert!(old11 < new11, "old exit before new exec");
    for e in &ev {
        match e {
            ModelEvent::Exec {
                time_ns,
                process,
                old_pid,
            } => {
                assert_eq!(
                    (*time_ns, *old_pid, process.source),
                    (process.key.start_ns, 0, Source::Procfs)
                );
            }
            ModelEvent::Exit { time_ns, exit, .. } => {
                assert_eq!((*time_ns, exit.time_ns), (2_000, 2_000));
            }
            _ => {}
        }
    }

    // The zombie is reaped, 12 vanishes: only 12 gets an exit now.
    fs::remove_dir_all(root.join("10")).expect("rm");
    fs::remove_dir_all(root.join("12")).expect("rm");
    assert_eq!(summary(&p.poll(3_000)), [("exit", 12, None, None)]);
    assert!(p.poll(4_000).is_empty());
}

#[test]
fn fake_tree_new_process_already_zombie_and_leader_zombie_with_threads() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path();
    let mut p = fake_poller(root);
    assert!(p.prime().is_empty());
    fake(root, 20, 100, 'Z', 3 << 8);
    assert_eq!(
        summary(&p.poll(1)),
        [("exec", 20, None, None), ("exit", 20, Some(3), None)]
    );

    // A leader that called pthread_exit shows Z while its threads run.
    fake(root, 21, 100, 'Z', 0);
    let stat = root.join("21/stat");
    let text = fs::read_to_string(&stat)
        .expect("read")
        .replacen(" 1 0 100 ", " 4 0 100 ", 1);
    fs::write(&stat, text).expect("write");
    assert_eq!(summary(&p.poll(2)), [("exec", 21, None, None)]);
}

/// A child we reap only after the poller has seen it exit.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Polls until an exit for `pid` shows up; returns (saw exec, exit info).
fn poll_until_exit(p: &mut Poller, pid: u32) -> (bool, Option<ExitInfo>) {
    let mut exec = false;
    for _ in 0..200 {
        for e in p.poll(now_boot_ns()) {
            match e {
                ModelEvent::Exec { process, .. } if process.key.pid == pid => exec = true,
                ModelEvent::Exit { key, exit, .. } if key.pid == pid => return (exec, Some(exit)),
                _ => {}
            }
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    (exec, None)
}

#[test]
fn live_child_exec_then_zombie_exit() {
    let mut p = Poller::new(ProcReader::system());
    p.prime();
    let child = Reaped(Command::new("sleep").arg("0.2").spawn().expect("spawn"));
    let (exec, exit) = poll_until_exit(&mut p, child.0.id());
    assert!(exec, "exec seen before exit");
    let exit = exit.expect("exit seen while zombie");
    assert_eq!((exit.code, exit.signal), (Some(0), None));
    assert!(exit.time_ns > 0);
}

#[test]
fn live_child_exit_code_from_zombie() {
    let mut p = Poller::new(ProcReader::system());
    p.prime();
    let child = Reaped(
        Command::new("sh")
            .args(["-c", "exit 3"])
            .spawn()
            .expect("spawn"),
    );
    let (exec, exit) = poll_until_exit(&mut p, child.0.id());
    assert!(exec);
    assert_eq!(exit.expect("exit seen").code, Some(3));
    assert_eq!(
        p.reader_mut().zombie_exit_status(child.0.id()),
        Some(3 << 8),
        "still a zombie until reaped"
    );
}
