//! Names given after exec reach the console: a process renaming itself
//! with `prctl(PR_SET_NAME)` is updated (`task:task_rename`), and a kernel
//! thread created after perchd started carries its own name, not
//! kthreadd's (which every one of them showed before).
#![expect(
    clippy::expect_used,
    reason = "helpers of end-to-end tests: a broken environment should fail the test loudly"
)]
use std::{path::Path, process::Command, time::Duration};

use perch_e2e::{
    Perchd,
    events::{EventLog, WAIT, info, key, pid, same_key},
    have_root_or_skip,
    procs::{ChildGuard, run_bounded, unique},
};
use perch_proto::v1::{self as pb, Event, Process, event::Kind};

/// Kernel threads forked.
fn kthread_fork(events: &[Event]) -> impl Iterator<Item = &Process> {
    events.iter().filter_map(|e| match &e.kind {
        Some(Kind::Fork(f)) => f.child.as_ref().filter(|c| c.kernel_thread),
        _ => None,
    })
}

/// Updates of process `pid` (renames arrive as updates).
fn updates(events: &[Event], pid_: u32) -> impl Iterator<Item = &Process> {
    events.iter().filter_map(move |e| match &e.kind {
        Some(Kind::Update(u)) => u.process.as_ref().filter(|p| pid(p) == pid_),
        _ => None,
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn prctl_rename_is_an_update() {
    if !have_root_or_skip("prctl_rename_is_an_update") {
        return;
    }
    let perchd = Perchd::start(&[]).await;
    let mut client = perchd.client().await.expect("connect");
    let start = info(&mut client).await;
    let mut log = EventLog::watch(&mut client, Some(start.head_seq), &[])
        .await
        .expect("WatchEvents");
    // The rootkit trick: a user process named like a kernel thread.
    let marker = unique("rename");
    let script = format!(
        "import ctypes, time; ctypes.CDLL(None).prctl(15, b'kworker/0:9', 0, 0, 0); \
         time.sleep(30)  # {marker}"
    );
    let child = ChildGuard::spawn(Command::new("/usr/bin/python3").args(["-c", &script]));
    let renamed = log
        .until(WAIT, |ev| {
            updates(ev, child.pid()).any(|p| p.comm == "kworker/0:9")
        })
        .await;
    assert!(renamed, "no update naming {} kworker/0:9", child.pid());
    let p = updates(&log.events, child.pid())
        .find(|p| p.comm == "kworker/0:9")
        .expect("update");
    // The whole process, not only its name; and the names now disagree.
    assert_eq!(p.argv.first().map(String::as_str), Some("/usr/bin/python3"));
    assert!(p.names_disagree, "{p:?}");
    assert!(!p.kernel_thread, "{p:?}");
}

/// A loop device with a mounted ext4 (whose journal gets a kernel thread,
/// `jbd2/loopN-8`), torn down on drop.
struct Ext4Mount {
    loop_dev: String,
    dir: tempfile::TempDir,
    mounted: bool,
}

impl Ext4Mount {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let image = dir.path().join("fs.img");
        std::fs::File::create(&image)
            .and_then(|f| f.set_len(8 << 20))
            .expect("image");
        run(Command::new("mkfs.ext4").args(["-q", "-F"]).arg(&image));
        let out = run(Command::new("losetup").args(["-f", "--show"]).arg(&image));
        let mut me = Self {
            loop_dev: out.trim().to_owned(),
            dir,
            mounted: false,
        };
        std::fs::create_dir(me.mount_point()).expect("mount point");
        run(Command::new("mount")
            .arg(&me.loop_dev)
            .arg(me.mount_point()));
        me.mounted = true;
        me
    }

    fn mount_point(&self) -> std::path::PathBuf {
        self.dir.path().join("mnt")
    }

    /// `loop3` of `/dev/loop3`.
    fn name(&self) -> &str {
        Path::new(&self.loop_dev)
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
    }
}

impl Drop for Ext4Mount {
    fn drop(&mut self) {
        if self.mounted {
            let _ = Command::new("umount").arg(self.mount_point()).status();
        }
        let _ = Command::new("losetup")
            .args(["-d", &self.loop_dev])
            .status();
    }
}

/// Runs a set-up command; it must succeed (under CI the tools are there).
fn run(cmd: &mut Command) -> String {
    let out = run_bounded(cmd, Duration::from_secs(30));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        out.stdout,
        out.stderr
    );
    out.stdout
}

#[tokio::test(flavor = "multi_thread")]
async fn kernel_thread_created_later_has_its_name() {
    if !have_root_or_skip("kernel_thread_created_later_has_its_name") {
        return;
    }
    let perchd = Perchd::start(&[]).await;
    let mut client = perchd.client().await.expect("connect");
    let start = info(&mut client).await;
    let mut log = EventLog::watch(&mut client, Some(start.head_seq), &[])
        .await
        .expect("WatchEvents");
    let fs = Ext4Mount::new();
    let want = format!("jbd2/{}-8", fs.name());
    let is_it = |c: &Process| c.kernel_thread && c.comm == want;
    let seen = log.until(WAIT, |ev| kthread_fork(ev).any(&is_it)).await;
    let forks: Vec<(u32, &str)> = kthread_fork(&log.events)
        .map(|c| (pid(c), c.comm.as_str()))
        .collect();
    assert!(
        seen,
        "no kernel thread {want:?} forked; kernel forks: {forks:?}"
    );
    let child = kthread_fork(&log.events)
        .find(|c| is_it(c))
        .expect("fork")
        .clone();
    assert_eq!(child.ppid, 2, "kthreadd forks kernel threads: {child:?}");
    // Listed under its name while it runs.
    let (procs, _) = perch_e2e::events::list_processes(&mut client, false, &[pid(&child)])
        .await
        .expect("ListProcesses");
    let listed = procs.iter().find(|p| same_key(&key(p), &key(&child)));
    assert_eq!(
        listed.map(|p| p.comm.as_str()),
        Some(want.as_str()),
        "{procs:?}"
    );
    assert_eq!(start.mode(), pb::CollectorMode::Ebpf);
    drop(fs);
}
