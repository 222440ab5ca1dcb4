//! Tests for `ProcReader` against the live /proc (we run as root on Linux).
use std::fs;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use std::os::unix::ffi::OsStrExt;
use std::sync::Arc;

use super::*;

/// A child killed and reaped on drop, so a failing assert leaks nothing.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(cmd: &mut Command) -> Reaped {
    Reaped(
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .expect("spawn"),
    )
}

/// Waits until the child has exec'd: comm changed and argv is set up (for
/// a moment during execve comm is new but cmdline still empty).
fn wait_exec(reader: &mut ProcReader, pid: u32, comm: &str) -> ProcessInfo {
    for _ in 0..200 {
        if let Ok(p) = reader.read_process(pid, Source::Procfs)
            && p.comm == comm
            && !p.argv.is_empty()
        {
            return p;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("{pid} never became {comm}");
}

#[test]
fn reads_own_process() {
    let mut r = ProcReader::system();
    let me = r
        .read_process(std::process::id(), Source::Seeded)
        .expect("self");
    assert_eq!(me.key.pid, std::process::id());
    assert!(me.key.start_ns > 0);
    assert_eq!(me.ppid, nix::unistd::getppid().as_raw().unsigned_abs());
    assert!(me.parent_start_ns > 0 && me.parent_start_ns <= me.key.start_ns);
    let args: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    assert_eq!(me.argv, args);
    assert!(!me.argv_truncated);
    assert_eq!(me.uid, nix::unistd::getuid().as_raw());
    assert_eq!(me.euid, nix::unistd::geteuid().as_raw());
    assert_eq!(me.gid, nix::unistd::getgid().as_raw());
    assert_eq!(
        me.exe,
        std::env::current_exe().expect("exe").to_string_lossy()
    );
    assert_eq!(
        me.cwd,
        std::env::current_dir().expect("cwd").to_string_lossy()
    );
    assert_eq!(r.cwd(me.key.pid).as_deref(), Some(me.cwd.as_str()));
    assert_eq!(me.pgid, nix::unistd::getpgrp().as_raw().unsigned_abs());
    assert!(!me.kernel_thread);
    assert!(me.threads >= 1);
    assert!(me.usage.rss_bytes > 0);
    assert_eq!(me.source, Source::Seeded);
    if me.uid == 0 {
        assert_eq!(me.user.as_deref(), Some("root"));
    }
    let cg = me.cgroup.expect("cgroup v2 line");
    assert!(cg.path.starts_with('/'));
    assert!(me.cgroup_id > 0);
    assert!(Arc::ptr_eq(
        &r.cgroups_mut()
            .resolve_id(me.cgroup_id)
            .expect("resolvable"),
        &cg
    ));
}

#[test]
fn reads_spawned_child() {
    let mut r = ProcReader::system();
    let me = r
        .read_process(std::process::id(), Source::Seeded)
        .expect("self");
    let child = spawn(Command::new("sleep").arg("30"));
    let p = wait_exec(&mut r, child.0.id(), "sleep");
    assert_eq!(p.ppid, me.key.pid);
    assert_eq!(p.parent_start_ns, me.key.start_ns);
    assert_eq!(p.argv, ["sleep", "30"]);
    assert!(p.exe.ends_with("/sleep"), "{}", p.exe);
    assert!(p.key.start_ns >= me.key.start_ns);
    assert_eq!(p.threads, 1);
    assert_eq!(r.zombie_exit_status(p.key.pid), None, "running");
    assert!(r.pids().expect("pids").contains(&p.key.pid));
    assert!(r.scan(Source::Seeded).iter().any(|s| s.key == p.key));
}

#[test]
fn a_long_command_line_is_capped_and_flagged() {
    let mut r = ProcReader::system();
    // `sleep` adds up its arguments: a long run of zeros is a valid 0.
    let zeros = "0".repeat(3 * ARGV_BYTES);
    let child = spawn(Command::new("sleep").args(["30", &zeros]));
    let p = wait_exec(&mut r, child.0.id(), "sleep");
    assert!(p.argv_truncated);
    assert_eq!(p.argv.len_bytes(), ARGV_BYTES);
    let argv = p.argv.to_vec();
    assert_eq!(argv[..2], ["sleep", "30"]);
    assert!(argv[2].bytes().all(|b| b == b'0'));
}

#[test]
fn keeps_empty_args_and_non_utf8_names() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let odd = tmp.path().join(std::ffi::OsStr::from_bytes(b"s\xffh"));
    if std::fs::copy("/bin/sh", &odd).is_err() {
        return;
    }
    let mut r = ProcReader::system();
    // `; exit` keeps the shell itself alive (no exec of the last command).
    let child = spawn(Command::new(&odd).args(["-c", "sleep 30; exit 0", "", "x"]));
    let p = wait_exec(&mut r, child.0.id(), "s\u{fffd}h");
    let argv = p.argv.to_vec();
    assert_eq!(argv[1..], ["-c", "sleep 30; exit 0", "", "x"]);
    assert!(argv[0].ends_with("s\u{fffd}h"), "{:?}", p.argv);
}

#[test]
fn missing_pid_is_gone() {
    let mut r = ProcReader::system();
    let err = r
        .read_process(u32::MAX - 1, Source::Procfs)
        .expect_err("no such pid");
    assert!(err.is_gone(), "{err}");
    assert_eq!(r.cwd(u32::MAX - 1), None);
    assert_eq!(r.zombie_exit_status(u32::MAX - 1), None);
}

#[test]
fn kernel_thread_is_flagged() {
    let mut r = ProcReader::system();
    let Ok(p) = r.read_process(2, Source::Seeded) else {
        return;
    };
    if p.comm != "kthreadd" {
        return; // in a pid namespace pid 2 is an ordinary process
    }
    assert!(p.kernel_thread);
    assert!(p.exe.is_empty());
    assert!(p.argv.is_empty());
}

fn split_cmdline(buf: &[u8]) -> Vec<String> {
    Argv::from_cmdline(buf).0.to_vec()
}

#[test]
fn parses_status_ids_cmdline_and_cgroup() {
    let status =
        b"Name:\tx\nUmask:\t0022\nState:\tS\nUid:\t1000\t0\t0\t0\nGid:\t100\t100\t100\t100\n";
    assert_eq!(parse_ids(status), Some((1000, 0, 100)));
    assert_eq!(parse_ids(b"Name:\tx\nUid:\t1\n"), None);
    assert_eq!(split_cmdline(b""), Vec::<String>::new());
    assert_eq!(split_cmdline(b"a\0\0b\0"), ["a", "", "b"]);
    assert_eq!(
        split_cmdline(b"postgres: writer   "),
        ["postgres: writer   "]
    );
    assert_eq!(
        unified_path(b"12:pids:/x\n0::/system.slice/a.service\n").as_deref(),
        Some("/system.slice/a.service")
    );
    assert_eq!(unified_path(b"4:memory:/x\n"), None);
}

/// DESIGN.md: container identity is testable without a runtime by making
/// the cgroups by hand.  Skipped where cgroup2 is not writable.
#[test]
fn process_in_hand_made_container_cgroup() {
    let Some(root) = find_cgroup2_mount() else {
        return;
    };
    let id = "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789";
    let parent = root.join(format!("perch-test-{}", std::process::id()));
    let scope = parent.join(format!("docker-{id}.scope"));
    if fs::create_dir_all(&scope).is_err() {
        return;
    }
    let mut child = spawn(Command::new("sleep").arg("30"));
    let moved = fs::write(scope.join("cgroup.procs"), child.0.id().to_string());
    let mut r = ProcReader::system();
    let read = moved
        .is_ok()
        .then(|| wait_exec(&mut r, child.0.id(), "sleep"));
    let _ = child.0.kill();
    let _ = child.0.wait();
    let _ = fs::remove_dir(&scope);
    let _ = fs::remove_dir(&parent);
    let Some(p) = read else { return };
    let cg = p.cgroup.expect("cgroup");
    assert_eq!(cg.container_id.as_deref(), Some(id));
    assert_eq!(cg.runtime, Some("docker"));
    assert!(
        cg.path.ends_with(&format!("/docker-{id}.scope")),
        "{}",
        cg.path
    );
    let by_id = r.cgroups_mut().resolve_id(p.cgroup_id).expect("id known");
    assert_eq!(by_id.container_id.as_deref(), Some(id));
}
