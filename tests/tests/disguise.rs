//! Text that hides itself: `perch ps`, `perch events` and `perch audit
//! list` show a right-to-left override or a zero-width space as an escape
//! (`\u{202e}`), never raw, so a process named `x<RLO>gpj.exe` cannot pass
//! for `xexe.jpg`; and a reason made only of NULs, zero-width characters
//! or escape sequences is refused as no reason, by perchd and by `perch`.
use std::{
    io::{BufRead as _, BufReader},
    os::unix::process::CommandExt as _,
    process::Command,
    time::Duration,
};

use perch_e2e::{
    Perchd,
    act::{key, live, records},
    binary, have_root_or_skip,
    procs::{ChildGuard, run_bounded},
};
use perch_proto::v1::{ActRequest, ActionKind, ActionMode};
use tonic::Code;

const WAIT: Duration = Duration::from_secs(30);
const RLO: char = '\u{202e}';
const ZWSP: char = '\u{200b}';

#[tokio::test(flavor = "multi_thread")]
async fn disguised_names_and_reasons_are_shown_escaped() {
    if !have_root_or_skip("disguised_names_and_reasons_are_shown_escaped") {
        return;
    }
    let perchd = Perchd::start(&[]).await;
    let socket = perchd.socket.display().to_string();
    // `perch events` from now on, in the background; its lines are read as
    // they come (a busy machine's events would fill the pipe), and the one
    // naming the disguised process is handed over.
    let mut events = ChildGuard::spawn(
        Command::new(binary("perch"))
            .args(["events", "--socket", &socket])
            .stdout(std::process::Stdio::piped()),
    );
    let lines = BufReader::new(events.child.stdout.take().expect("stdout"));
    let (found_tx, found) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in lines.lines().map_while(Result::ok) {
            if line.contains("gpj.exe") && found_tx.send(line).is_err() {
                return;
            }
        }
    });
    tokio::time::sleep(Duration::from_secs(1)).await;
    let name = format!("x{RLO}gpj.exe");
    let target = ChildGuard::spawn(Command::new("/bin/sleep").arg0(&name).arg("300"));
    perchd.wait_known(target.pid(), "/bin/sleep").await;
    let escaped = "x\\u{202e}gpj.exe";

    let ps = tokio::task::block_in_place(|| {
        run_bounded(
            Command::new(binary("perch")).args(["ps", "--socket", &socket]),
            WAIT,
        )
    });
    assert!(ps.status.success(), "{ps:?}");
    assert!(ps.stdout.contains(escaped), "{}", ps.stdout);
    assert!(!ps.stdout.contains(RLO));

    // A dry run whose reason carries a zero-width space.
    let mut client = perchd.client().await.expect("client");
    let dry = ActRequest {
        mode: ActionMode::DryRun.into(),
        reason: format!("ad{ZWSP}min asked"),
        ..live(ActionKind::Kill, key(target.pid()))
    };
    client.act(dry).await.expect("dry run");
    let path = perchd.audit_log.display().to_string();
    let list = tokio::task::block_in_place(|| {
        run_bounded(
            Command::new(binary("perch")).args(["audit", "list", &path]),
            WAIT,
        )
    });
    assert!(list.status.success(), "{list:?}");
    assert!(
        list.stdout.contains("ad\\u{200b}min asked"),
        "{}",
        list.stdout
    );
    assert!(!list.stdout.contains(ZWSP));

    let line = tokio::task::block_in_place(|| found.recv_timeout(WAIT))
        .expect("perch events shows the disguised process's exec");
    assert!(line.contains(escaped), "{line}");
    assert!(!line.contains(RLO));
    events.kill();

    // Nothing but NULs, zero-width characters and escape sequences is no
    // reason: perchd refuses it (and audits that)...
    let blank = ActRequest {
        reason: format!("\0{ZWSP}\u{1b}[31m\u{1b}[0m"),
        ..live(ActionKind::Kill, key(target.pid()))
    };
    let err = client.act(blank).await.expect_err("refused");
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    assert!(err.message().starts_with("reason: required"), "{err:?}");
    let log = records(&perchd);
    assert_eq!(
        log.last().map(|r| r.code.as_str()),
        Some("invalid_argument")
    );
    // ... and so does `perch` before sending anything.
    let pid = target.pid().to_string();
    let cli = tokio::task::block_in_place(|| {
        run_bounded(
            Command::new(binary("perch")).args([
                "kill",
                "--socket",
                &socket,
                "--pid",
                &pid,
                "--reason",
                &format!("{ZWSP}\u{1b}[2J"),
            ]),
            WAIT,
        )
    });
    assert!(!cli.status.success(), "{cli:?}");
    assert!(cli.stderr.contains("reason"), "{cli:?}");
    assert_eq!(records(&perchd).len(), log.len(), "perch sent nothing");
    assert!(perch_e2e::alive(target.pid()));
}
