//! Time travel with two collectors, in a real terminal: both keep history
//! (here both on this host, so each sees the same processes), and stepping
//! back shows both collectors' rows of a process that lives throughout,
//! as LIVE does, not the first collector's only.  (A file of its own:
//! test files run one after the other, so its two perchds do not load the
//! machine under `console_travel`'s timing-sensitive steps.)
use std::{os::unix::process::CommandExt as _, process::Command, time::Duration};

use perch_e2e::{
    Perchd, binary, have_root_or_skip,
    procs::{ChildGuard, random_hex},
    tmux::Tmux,
};

#[tokio::test]
async fn the_past_of_every_collector_is_shown() {
    if !have_root_or_skip("the_past_of_every_collector_is_shown") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let store = |n: &str| dir.path().join(n).display().to_string();
    let a = Perchd::start(&["--history", &store("a.db")]).await;
    let b = Perchd::start(&["--history", &store("b.db")]).await;
    let marker = format!("zqxj-both-{}", random_hex(6));
    let _alive = ChildGuard::spawn(Command::new("/bin/sleep").arg0(&marker).arg("300"));
    // A few stored seconds in both stores.
    tokio::time::sleep(Duration::from_secs(4)).await;

    let cmd = format!(
        "{} --connect {} --connect {}",
        binary("perch").display(),
        a.socket.display(),
        b.socket.display()
    );
    let tmux = Tmux::start(&cmd);
    // Keys typed before the console reads them are lost.
    tmux.wait_for("the console, LIVE", |s| {
        s.contains("CPU%") && s.contains("Time: LIVE")
    });
    let rows = |s: &str| s.lines().filter(|l| l.contains(&marker)).count();
    tmux.keys(&["-l", "\\"]);
    tmux.keys(&["-l", "zqxj-both-"]);
    tmux.keys(&["Enter"]);
    tmux.wait_for("both collectors' rows, LIVE", |s| {
        s.contains("Filter: zqxj-both-")
            && !s.contains("zqxj-both-_")
            && s.contains("Time: LIVE")
            && rows(s) == 2
    });
    tmux.keys(&["["]);
    let past = tmux.wait_for("the past", |s| {
        s.contains(" ago") && !s.contains("loading…") && rows(s) > 0
    });
    assert_eq!(rows(&past), 2, "one row per collector in the past:\n{past}");
    assert!(!past.contains("no history then"), "{past}");
    tmux.keys(&["q"]);
}
