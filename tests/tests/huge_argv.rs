//! A command line of megabytes blinds nothing.  Any user can start a
//! process with ~5 MB of arguments (a stack limit of 20 MB or more lets
//! execve take them); perchd caps argv at the contract's limit on every
//! path (seeding, /proc polling, eBPF) and says so with `argv_truncated`,
//! so `perch ps`, `perch events`, `perch kill`, `ListAudit` and the console
//! keep working, and the kill's audit record stays small and verifies.
#![expect(
    clippy::expect_used,
    clippy::panic,
    reason = "helpers of end-to-end tests: a broken environment should fail the test loudly"
)]
use std::{
    io::{BufRead as _, BufReader},
    os::unix::process::CommandExt as _,
    process::{Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use perch_e2e::{
    Perchd, binary,
    events::{WAIT, info, list_processes},
    have_root_or_skip,
    procs::{ChildGuard, run_bounded, unique},
    tmux::Tmux,
};
use perch_proto::{
    limits::{ARGV_BYTES, argv_bytes},
    v1::{AuditRecord, ListAuditRequest, Process},
};
use serde_json::Value;

/// The longest single argument execve takes (`MAX_ARG_STRLEN`, 32 pages,
/// counting its NUL).
const ARG_LEN: usize = 32 * 4096 - 1;
/// 40 of them: 5.2 MB, past the 4 MiB a gRPC client accepts by default.
const ARGS: usize = 40;

/// A shell with a 5 MB command line that forks a `sleep` every 0.2 s, so
/// that in eBPF mode its children's fork events carry what the child
/// inherits from it.  argv[0] (`$0`) is `marker`.
fn huge(marker: &str) -> ChildGuard {
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c")
        .arg("while :; do sleep 0.2; done")
        .arg(marker)
        .args((0..ARGS).map(|i| format!("{i:02}").repeat(ARG_LEN / 2)))
        .stdin(Stdio::null());
    // SAFETY: setrlimit is async-signal-safe; nothing else runs here.
    unsafe {
        cmd.pre_exec(|| {
            use nix::sys::resource::{Resource, getrlimit, setrlimit};
            // The arguments may take a quarter of the stack limit (and at
            // most 6 MB with an unlimited one): raise the soft limit.
            let (_, hard) = getrlimit(Resource::RLIMIT_STACK)?;
            setrlimit(Resource::RLIMIT_STACK, hard, hard)?;
            Ok(())
        });
    }
    ChildGuard::spawn(&mut cmd)
}

fn perch(socket: &std::path::Path) -> Command {
    let mut cmd = Command::new(binary("perch"));
    cmd.arg("--socket").arg(socket);
    cmd
}

/// The huge process as `perch ps --json` prints it: the command must work,
/// and the process must be listed with a capped, flagged argv.
fn check_ps(perchd: &Perchd, pid: u32, marker: &str) {
    let out = run_bounded(perch(&perchd.socket).args(["ps", "--json"]), WAIT);
    assert!(
        out.status.success(),
        "perch ps --json failed: {}",
        out.stderr
    );
    let line = out
        .stdout
        .lines()
        .find(|l| l.contains(&format!("\"pid\":{pid},")))
        .unwrap_or_else(|| panic!("pid {pid} not in perch ps --json"));
    let v: Value = serde_json::from_str(line).expect("one JSON object");
    assert_eq!(v["argv_truncated"], Value::Bool(true), "{line:.300}");
    let argv: Vec<String> = serde_json::from_value(v["argv"].clone()).expect("argv");
    assert_eq!(argv.get(3).map(String::as_str), Some(marker));
    assert!(
        argv_bytes(&argv) <= ARGV_BYTES,
        "{} bytes",
        argv_bytes(&argv)
    );
}

/// `perch events --json`, its lines gathered on a thread.
struct Events {
    child: ChildGuard,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Events {
    fn start(perchd: &Perchd) -> Self {
        let mut child = ChildGuard::spawn(
            perch(&perchd.socket)
                .args(["events", "--json"])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped()),
        );
        let stdout = child.child.stdout.take().expect("piped stdout");
        let lines = Arc::new(Mutex::new(Vec::new()));
        std::thread::spawn({
            let lines = Arc::clone(&lines);
            move || {
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    lines.lock().expect("lines").push(line);
                }
            }
        });
        Self { child, lines }
    }

    /// Waits (bounded) until a line satisfies `ok`; fails if `perch
    /// events` exits first.
    fn wait_for(&mut self, what: &str, ok: impl Fn(&str) -> bool) {
        let deadline = Instant::now() + WAIT;
        loop {
            if self.lines.lock().expect("lines").iter().any(|l| ok(l)) {
                return;
            }
            if let Ok(Some(status)) = self.child.child.try_wait() {
                let mut err = String::new();
                if let Some(mut e) = self.child.child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut e, &mut err);
                }
                panic!("perch events exited ({status}) before {what}: {err}");
            }
            assert!(Instant::now() < deadline, "perch events: no {what}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// The whole `ListAudit` answer over gRPC.
async fn list_audit(perchd: &Perchd) -> Vec<AuditRecord> {
    let mut client = perchd.client().await.expect("connect");
    let mut chunks = client
        .list_audit(ListAuditRequest { limit: 0 })
        .await
        .expect("ListAudit")
        .into_inner();
    let mut records = Vec::new();
    while let Some(chunk) = chunks.message().await.expect("ListAudit chunk") {
        records.extend(chunk.records);
        if chunk.last {
            break;
        }
    }
    records
}

/// `ListProcesses` over gRPC, as any client calls it: the huge process
/// with a capped, flagged argv.
async fn check_grpc(perchd: &Perchd, pid: u32) -> Process {
    let mut client = perchd.client().await.expect("connect");
    let (procs, _) = list_processes(&mut client, true, &[])
        .await
        .expect("ListProcesses");
    let p = procs
        .into_iter()
        .find(|p| p.key.is_some_and(|k| k.pid == pid))
        .unwrap_or_else(|| panic!("pid {pid} not listed"));
    assert!(p.argv_truncated, "argv_truncated not set");
    assert!(argv_bytes(&p.argv) <= ARGV_BYTES);
    list_audit(perchd).await;
    p
}

/// `perch kill --pid` of the huge process: the CLI looks it up, perchd
/// kills it, and the record (capped argv) verifies with the whole log.
fn check_kill(perchd: &Perchd, target: &mut ChildGuard) {
    let pid = target.pid().to_string();
    let out = run_bounded(
        perch(&perchd.socket).args(["kill", "--pid", &pid, "--reason", "e2e: huge argv"]),
        WAIT,
    );
    assert!(out.status.success(), "perch kill failed: {}", out.stderr);
    let status = target.wait();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(9)
    );
    let records: Vec<_> = perch_audit::read(&perchd.audit_log)
        .expect("read the audit log")
        .map(|e| e.expect("every line verifies").record)
        .collect();
    let rec = records.last().expect("the kill's record");
    assert_eq!(rec.code, "ok", "{:.300}", format!("{rec:?}"));
    let argv = &rec.target.as_ref().expect("target").argv;
    assert!(
        (1..=ARGV_BYTES).contains(&argv_bytes(argv)),
        "{} bytes",
        argv_bytes(argv)
    );
    let line_len = std::fs::read_to_string(&perchd.audit_log)
        .expect("audit log")
        .lines()
        .map(str::len)
        .max()
        .unwrap_or(0);
    assert!(line_len < 64 * 1024, "an audit line of {line_len} bytes");
    let verify = run_bounded(
        Command::new(binary("perch"))
            .args(["audit", "verify"])
            .arg(&perchd.audit_log),
        WAIT,
    );
    assert!(verify.status.success(), "{verify:?}");
}

/// The console in a terminal lists processes (it is not stuck
/// reconnecting with none).
fn check_console(perchd: &Perchd, marker: &str) {
    let cmd = format!(
        "{} --socket {}",
        binary("perch").display(),
        perchd.socket.display()
    );
    let tmux = Tmux::start(&cmd);
    let screen = tmux.wait_for("processes listed", |s| {
        s.lines().any(|l| {
            l.split_whitespace()
                .collect::<Vec<_>>()
                .windows(2)
                .any(|w| w[1] == "processes" && w[0].parse::<u32>().is_ok_and(|n| n > 1))
        })
    });
    assert!(!screen.contains("reconnecting"), "{screen}");
    // The huge process is among them (search for its marker).
    tmux.keys(&["/"]);
    tmux.keys(&["-l", marker]);
    tmux.wait_for("the huge process found", |s| s.contains(" match"));
}

async fn blinds_nothing(mode: &[&str]) {
    let marker = unique("huge-argv");
    // Running before perchd starts: seeding reads its cmdline.
    let mut seeded = huge(&marker);
    let perchd = Perchd::start(mode).await;
    let procfs = mode.contains(&"--procfs");
    let mut events = Events::start(&perchd);
    let head = {
        let mut client = perchd.client().await.expect("connect");
        info(&mut client).await.head_seq
    };
    // In /proc mode a new one is also read by the poller and announced.
    let mut later = procfs.then(|| huge(&marker));
    let pid = seeded.pid();
    tokio::task::block_in_place(|| check_ps(&perchd, pid, &marker));
    let p = check_grpc(&perchd, pid).await;
    assert_eq!(p.argv.get(3), Some(&marker));
    // The stream carries what follows: forks of the shell in eBPF mode
    // (children inherit its argv), the later shell's exec in /proc mode.
    let shell = later.as_ref().map_or(pid, ChildGuard::pid);
    let needle = format!("\"pid\":{shell},");
    tokio::task::block_in_place(|| {
        events.wait_for("an event of the huge shell", |l| {
            l.contains(&needle) || l.contains(&format!("\"ppid\":{shell},"))
        });
    });
    tokio::task::block_in_place(|| check_console(&perchd, &marker));
    tokio::task::block_in_place(|| check_kill(&perchd, &mut seeded));
    // The kill's record reaches the stream too, and the stream goes on.
    tokio::task::block_in_place(|| {
        events.wait_for("the kill's record", |l| l.contains("huge argv"));
    });
    if let Some(l) = later.as_mut() {
        l.kill();
    }
    let mut client = perchd.client().await.expect("connect");
    assert!(info(&mut client).await.head_seq > head);
    let records = list_audit(&perchd).await;
    assert!(
        records.iter().any(|r| r.reason == "e2e: huge argv"),
        "the kill's record is listed"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn huge_argv_blinds_nothing_in_ebpf_mode() {
    if !have_root_or_skip("huge_argv_blinds_nothing_in_ebpf_mode") {
        return;
    }
    blinds_nothing(&[]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn huge_argv_blinds_nothing_in_procfs_mode() {
    if !have_root_or_skip("huge_argv_blinds_nothing_in_procfs_mode") {
        return;
    }
    blinds_nothing(&["--procfs"]).await;
}
