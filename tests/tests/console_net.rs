//! Issue 11's console "done when", in a real terminal (tmux) against a
//! real perchd: a python listener on 127.0.0.1 and a python client
//! connected to it; the Connections screen shows the connection from both
//! ends, each naming the other process as PEER, and the Listening screen
//! shows the listener with its owner.  Every key waits for the screen it
//! acts on, and every screen read must be a whole frame.
#![expect(
    clippy::expect_used,
    reason = "test support: a broken fixture or environment should fail the test loudly"
)]
use std::{
    io::{BufRead as _, BufReader},
    process::{Command, Stdio},
};

use perch_e2e::{Perchd, binary, have_root_or_skip, procs::ChildGuard, tmux::Tmux};

const SERVER: &str = "
import socket, sys, time
s = socket.socket()
s.bind(('127.0.0.1', 0))
s.listen(1)
print(s.getsockname()[1], flush=True)
c, _ = s.accept()
c.recv(100)
time.sleep(120)
";

const CLIENT: &str = "
import socket, sys, time
c = socket.create_connection(('127.0.0.1', int(sys.argv[1])))
c.sendall(b'x' * 100)
print('sent', flush=True)
time.sleep(120)
";

/// `python3 -c script args`, and its first stdout line.
fn python(script: &str, args: &[&str]) -> (ChildGuard, String) {
    let mut guard = ChildGuard::spawn(
        Command::new("python3")
            .arg("-c")
            .arg(script)
            .args(args)
            .stdout(Stdio::piped()),
    );
    let mut out = BufReader::new(guard.child.stdout.take().expect("stdout"));
    let mut line = String::new();
    out.read_line(&mut line).expect("read a line");
    (guard, line.trim().to_owned())
}

/// A whole frame: the tab bar and the footer's last key are on it.  The
/// console writes a frame in more than one write under load, and tmux can
/// be read between them (a frame with its bottom lines still blank).
fn whole(s: &str) -> bool {
    s.contains("p Processes")
        && s.lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .is_some_and(|l| l.contains("Quit"))
}

/// Opens the filter prompt, types `text` once the prompt shows, and
/// closes it (Enter) once the rows are filtered (`shown`, e.g. `2
/// shown`).  Each key waits for the screen it acts on: keys sent before
/// the console has drawn the last one's result make the test depend on
/// timing.
fn filter(tmux: &Tmux, text: &str, shown: &str) {
    tmux.keys(&["\\"]);
    tmux.wait_for("the filter prompt", |s| whole(s) && s.contains("Filter: "));
    tmux.keys(&["-l", text]);
    // The prompt line: `Filter: port:9000_  2 shown, Esc clears` (the
    // cursor after the text while it is typed).
    let prompt = format!("Filter: {text}");
    tmux.wait_for(&format!("{prompt} ({shown})"), |s| {
        whole(s)
            && s.lines()
                .any(|l| l.starts_with(&prompt) && l.contains(shown))
    });
    tmux.keys(&["Enter"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn connections_and_listening_screens_show_a_loopback_pair() {
    if !have_root_or_skip("connections_and_listening_screens_show_a_loopback_pair") {
        return;
    }
    let perchd = Perchd::start(&[]).await;
    let (server, port) = python(SERVER, &[]);
    let (client, _) = python(CLIENT, &[&port]);
    let (spid, cpid) = (server.pid(), client.pid());

    let tmux = Tmux::start(&format!(
        "{} --socket {}",
        binary("perch").display(),
        perchd.socket.display()
    ));
    tmux.wait_for("the console", |s| {
        whole(s) && s.contains("CPU%") && s.contains("connected")
    });
    tmux.keys(&["c"]);
    tmux.wait_for("the Connections screen", |s| {
        whole(s) && s.contains("REMOTE") && s.contains("PEER")
    });
    filter(&tmux, &format!("port:{port}"), "2 shown");
    let out = format!("{cpid} python3");
    let inn = format!("{spid} python3");
    let endpoint = format!("127.0.0.1:{port}");
    tmux.wait_for("both ends of the connection, peers named", |s| {
        let rows: Vec<&str> = s.lines().filter(|l| l.contains(&endpoint)).collect();
        let outbound = rows
            .iter()
            .any(|r| r.contains("-->") && r.contains(&out) && r.trim_end().ends_with(&inn));
        let inbound = rows
            .iter()
            .any(|r| r.contains("<--") && r.contains(&inn) && r.trim_end().ends_with(&out));
        whole(s) && s.contains("Filter: port:") && outbound && inbound
    });

    tmux.keys(&["o"]);
    tmux.wait_for("the listener on the Listening screen", |s| {
        whole(s)
            && s.contains("FAMILY")
            && s.lines().any(|l| {
                l.contains("ipv4") && l.contains(&endpoint) && l.trim_end().ends_with(&inn)
            })
    });
    // Enter on it shows its owner on the processes screen.
    filter(&tmux, &format!("port:{port}"), "1 shown");
    tmux.keys(&["Enter"]);
    tmux.wait_for("the listener's process", |s| {
        whole(s)
            && s.contains("PID")
            && s.contains(&spid.to_string())
            && s.contains("import socket")
    });
    tmux.keys(&["q"]);
}
