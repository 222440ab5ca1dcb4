//! The real console in a real terminal: `perch` runs inside tmux against a
//! real perchd; we start a uniquely named process, search for it with `/`,
//! and open its detail view to prove it is the one selected.
use std::{os::unix::process::CommandExt as _, process::Command};

use perch_e2e::{
    Perchd, binary, have_root_or_skip,
    procs::{ChildGuard, random_hex},
    tmux::Tmux,
};

/// Narrows the list to rows holding `text` (the `\` filter) and waits
/// until the footer shows it applied.
fn filter(tmux: &Tmux, text: &str) {
    tmux.keys(&["-l", "\\"]);
    tmux.keys(&["-l", text]);
    tmux.keys(&["Enter"]);
    let applied = format!("Filter: {text} ");
    tmux.wait_for("the filter", |s| {
        s.contains(&applied) && s.contains(" shown")
    });
}

#[tokio::test]
async fn search_finds_and_selects_a_new_process() {
    if !have_root_or_skip("search_finds_and_selects_a_new_process") {
        return;
    }
    let perchd = Perchd::start(&[]).await;
    let cmd = format!(
        "{} --socket {}",
        binary("perch").display(),
        perchd.socket.display()
    );
    let tmux = Tmux::start(&cmd);
    tmux.wait_for("the console's header", |s| {
        s.contains("CPU%") && s.contains("eBPF")
    });

    // Started after the console: it must arrive through the event stream.
    // Fuzzy search matches subsequences across a row's fields, so the name
    // must not be a subsequence of anything else on this machine.
    let marker = format!("zqxj-zqxj-{}", random_hex(6));
    let sleeper = ChildGuard::spawn(Command::new("/bin/sleep").arg0(&marker).arg("300"));
    let pid = sleeper.pid().to_string();

    // On screen first, so the search below runs over a list that holds
    // it.  A filter keeps it on screen on a busy host (other processes'
    // trees can fill the first page); Esc clears it before searching.
    filter(&tmux, "zqxj-zqxj-");
    tmux.wait_for("the new process on screen", |s| s.contains(&marker));
    tmux.keys(&["Escape"]);
    tmux.wait_for("the filter cleared", |s| !s.contains("Filter: "));
    tmux.keys(&["/"]);
    tmux.keys(&["-l", &marker]);
    // Wait for the whole query in the prompt and its match count.  (The
    // `tmux send-keys` process carried the marker too: its exited row also
    // matches, after ours, which has the lower pid.)
    let prompt = format!("Search: {marker}");
    let screen = tmux.wait_for("the search result", |s| {
        s.contains(&prompt) && s.contains(" match")
    });
    assert!(
        screen
            .lines()
            .any(|l| l.contains(&marker) && l.contains(&pid)),
        "{screen}"
    );

    // Enter ends the search; Enter again opens the selected process.
    tmux.keys(&["Enter"]);
    tmux.keys(&["Enter"]);
    let detail = tmux.wait_for("the detail view", |s| {
        s.contains("Cwd") && s.contains("Parents")
    });
    assert!(
        detail.contains(&marker),
        "detail of another process:\n{detail}"
    );
    assert!(
        detail.contains(&pid),
        "detail without the pid {pid}:\n{detail}"
    );

    // q quits from the list; the terminal is given back.
    tmux.keys(&["Escape"]);
    tmux.keys(&["q"]);
    tmux.wait_for("perch to exit", |s| !s.contains("CPU%"));
}

#[tokio::test]
async fn console_recovers_when_perchd_restarts() {
    if !have_root_or_skip("console_recovers_when_perchd_restarts") {
        return;
    }
    let mut perchd = Perchd::start(&[]).await;
    let cmd = format!(
        "{} --socket {}",
        binary("perch").display(),
        perchd.socket.display()
    );
    let tmux = Tmux::start(&cmd);
    tmux.wait_for("the console connected", |s| {
        s.contains("CPU%") && s.contains("connected")
    });

    // Only this test's processes, however busy the host: the filter stays
    // across the reconnect.
    filter(&tmux, "zqxj-");

    // One process that dies while perchd is down, one born after.
    let gone_marker = format!("zqxj-gone-{}", random_hex(6));
    let mut gone = ChildGuard::spawn(Command::new("/bin/sleep").arg0(&gone_marker).arg("300"));
    tmux.wait_for("the doomed process on screen", |s| s.contains(&gone_marker));

    perchd.crash();
    tmux.wait_for("the console to notice", |s| s.contains("reconnecting"));
    let _ = gone.child.kill();
    let _ = gone.child.wait();
    perchd.respawn().await;
    let born_marker = format!("zqxj-born-{}", random_hex(6));
    let _born = ChildGuard::spawn(Command::new("/bin/sleep").arg0(&born_marker).arg("300"));

    // No key pressed: the console reconnects, re-lists (the collector is a
    // new instance) and shows the world as it is now.
    let screen = tmux.wait_for("the list to be right again", |s| {
        s.contains("connected") && s.contains(&born_marker) && !s.contains(&gone_marker)
    });
    assert!(!screen.contains("reconnecting"), "{screen}");
}

#[tokio::test]
async fn watches_two_collectors_with_a_host_column_and_filter() {
    if !have_root_or_skip("watches_two_collectors_with_a_host_column_and_filter") {
        return;
    }
    // Two collectors on one machine report the same host name: the console
    // numbers them in --connect order.  One runs on eBPF, one polls /proc.
    let ebpf = Perchd::start(&[]).await;
    let procfs = Perchd::start(&["--procfs"]).await;
    let name = ebpf
        .client()
        .await
        .expect("client")
        .get_info(perch_proto::v1::GetInfoRequest {})
        .await
        .expect("GetInfo")
        .into_inner()
        .host;
    let (first, second) = (format!("{name}#1"), format!("{name}#2"));
    let cmd = format!(
        "{} --connect {} --connect {}",
        binary("perch").display(),
        ebpf.socket.display(),
        procfs.socket.display()
    );
    let tmux = Tmux::start(&cmd);
    tmux.wait_for("both hosts connected", |s| {
        s.contains("HOST") && s.contains(&first) && s.contains(&second) && !s.contains("connecting")
    });

    let marker = format!("zqxj-both-{}", random_hex(6));
    let _sleeper = ChildGuard::spawn(Command::new("/bin/sleep").arg0(&marker).arg("300"));
    // The flat list, filtered to the marker: one row per host.
    tmux.keys(&["t"]);
    tmux.keys(&["\\"]);
    tmux.keys(&["-l", &marker]);
    tmux.keys(&["Enter"]);
    let rows = |s: &str| -> Vec<String> {
        s.lines()
            .filter(|l| l.contains(&marker) && !l.contains("Filter"))
            .map(str::to_owned)
            .collect()
    };
    let screen = tmux.wait_for("the process on both hosts", |s| {
        let r = rows(s);
        r.iter().any(|l| l.contains(&first)) && r.iter().any(|l| l.contains(&second))
    });
    assert_eq!(rows(&screen).len(), 2, "{screen}");

    // Narrow to the second host.
    tmux.keys(&["\\"]);
    tmux.keys(&["-l", &format!(" host:{second}")]);
    tmux.keys(&["Enter"]);
    let screen = tmux.wait_for("only the second host's row", |s| rows(s).len() == 1);
    assert!(rows(&screen)[0].contains(&second), "{screen}");
}
