//! Crash safety: a writer process appending as fast as it can is killed
//! with SIGKILL, again and again.  Every append it reported as returned
//! must be in the log, and the log must verify after each reopen.  The
//! writer is this test binary again, running the ignored `crash_writer`.
use std::{
    collections::HashSet,
    io::{BufRead as _, BufReader},
    process::{Child, Command, Stdio},
    time::Duration,
};

use perch_proto::v1::AuditLogStatus;

use super::{log_path, sample};
use crate::{AuditLog, TORN_TAIL_CODE, read, verify};

const LOG_ENV: &str = "PERCH_AUDIT_CRASH_LOG";

#[test]
#[ignore = "the writer half of appends_survive_sigkill, which runs it in a child process"]
fn crash_writer() {
    let path = std::env::var_os(LOG_ENV).expect("run by appends_survive_sigkill");
    let mut log = AuditLog::open(std::path::Path::new(&path)).expect("open");
    for n in 0.. {
        // Large records too, so that some writes span several pages and a
        // kill can land in the middle of one.
        let procs = if n % 3 == 0 { 400 } else { 1 };
        let r = log.append(&sample(n, procs)).expect("append");
        println!("done {}", r.id);
    }
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn appends_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_path(dir.path());
    let mut reported = HashSet::new();
    let mut recovered = 0;
    for round in 0..12_usize {
        let child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "tests::crash::crash_writer",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(LOG_ENV, &path)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut child = Killed(child);
        // Drained all the time, so that the writer never waits on the pipe
        // and the kill lands wherever it happens to be.
        let out = BufReader::new(child.0.stdout.take().unwrap());
        let (tx, rx) = std::sync::mpsc::channel();
        let drain = std::thread::spawn(move || {
            for line in out.lines().map_while(Result::ok) {
                if let Some(id) = line.strip_prefix("done ") {
                    let _ = tx.send(id.to_owned());
                }
            }
        });
        // Kill after a varying number of appends, while it keeps appending.
        let kill_after = 1 + (round * 7) % 25;
        for _ in 0..kill_after {
            let id = rx
                .recv_timeout(Duration::from_mins(1))
                .unwrap_or_else(|e| panic!("round {round}: no append reported: {e}"));
            reported.insert(id);
        }
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(i32::try_from(child.0.id()).unwrap()),
            nix::sys::signal::Signal::SIGKILL,
        )
        .unwrap();
        child.0.wait().unwrap();
        drain.join().unwrap();
        // Whatever it printed before dying was reported too.
        reported.extend(rx.try_iter());
        let log = AuditLog::open(&path).unwrap();
        match log.status() {
            AuditLogStatus::Ok => {}
            AuditLogStatus::RecoveredTornTail => recovered += 1,
            other => panic!("round {round}: {other:?}: {}", log.status_detail()),
        }
        verify(&path).unwrap_or_else(|e| panic!("round {round}: {e}"));
    }
    let ids: HashSet<String> = read(&path)
        .unwrap()
        .map(|e| e.unwrap().record)
        .filter(|r| r.code != TORN_TAIL_CODE)
        .map(|r| r.id)
        .collect();
    let missing: Vec<_> = reported.difference(&ids).collect();
    assert!(
        missing.is_empty(),
        "reported but not in the log: {missing:?}"
    );
    eprintln!(
        "{} appends reported, {} in the log, {recovered} torn tails recovered",
        reported.len(),
        ids.len()
    );
}
