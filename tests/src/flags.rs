//! Detection tests' helpers: cases run in their own session (each roots
//! its own trace), flags listed and waited for by rule and process, and
//! the behaviours' plumbing (a reverse shell's accept, a memory cgroup to
//! be OOM-killed in).
use std::{
    fs,
    net::TcpListener,
    os::unix::process::CommandExt as _,
    path::Path,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use perch_proto::v1 as pb;

use crate::{
    cgroups::{CGROUP2, Cgroups},
    events::Client,
    procs::{ChildGuard, unique},
};

/// How long a flag may take to appear.
pub const WAIT: Duration = Duration::from_secs(20);

/// `cmd` in a new session, made before its exec (the setsid binary would
/// exec first with the same argv, still in our session).
pub fn new_session(cmd: &mut Command) -> &mut Command {
    // SAFETY: setsid(2) is async-signal-safe.
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            Ok(())
        })
    }
}

/// Spawns `argv` in a new session (so it roots its own trace).
#[must_use]
pub fn session(argv: &[&str]) -> ChildGuard {
    ChildGuard::spawn(
        new_session(&mut Command::new(argv[0]))
            .args(&argv[1..])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    )
}

/// Runs `argv` in a new session to its end; its pid.
#[must_use]
pub fn run(argv: &[&str]) -> u32 {
    let mut c = session(argv);
    let pid = c.pid();
    tokio::task::block_in_place(|| c.wait());
    pid
}

/// Every flag perchd holds, excepted ones included.
///
/// # Panics
/// When the RPC fails.
pub async fn all_flags(client: &mut Client) -> Vec<pb::Flag> {
    client
        .list_flags(pb::ListFlagsRequest {
            include_excepted: true,
            limit: 10_000,
            ..Default::default()
        })
        .await
        .expect("ListFlags")
        .into_inner()
        .flags
}

/// The flag is on `pid` or on one of its descendants.
#[must_use]
pub fn under(f: &pb::Flag, pid: u32) -> bool {
    f.process.is_some_and(|k| k.pid == pid) || f.ancestor_keys.iter().any(|k| k.pid == pid)
}

/// Waits until every (rule, pid) in `want` has a flag (excepted or not),
/// then returns all.
///
/// # Panics
/// When one is still missing after [`WAIT`].
pub async fn wait_for(client: &mut Client, want: &[(&str, u32)]) -> Vec<pb::Flag> {
    let deadline = Instant::now() + WAIT;
    loop {
        let flags = all_flags(client).await;
        let missing: Vec<_> = want
            .iter()
            .filter(|(rule, pid)| !flags.iter().any(|f| f.rule_id == *rule && under(f, *pid)))
            .collect();
        if missing.is_empty() {
            return flags;
        }
        assert!(
            Instant::now() < deadline,
            "no flag for {missing:?} within {WAIT:?}; flags: {:#?}",
            flags
                .iter()
                .map(|f| (&f.rule_id, f.process.map(|k| k.pid), &f.args))
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The rule's flag (not excepted) on `pid` or under it.
///
/// # Panics
/// When there is none.
#[must_use]
pub fn flag<'a>(flags: &'a [pb::Flag], rule: &str, pid: u32) -> &'a pb::Flag {
    flags
        .iter()
        .find(|f| f.rule_id == rule && under(f, pid) && !f.excepted)
        .unwrap_or_else(|| panic!("no {rule} flag under {pid}"))
}

/// The reverse shell's connection, waited for at most `WAIT`.
///
/// # Panics
/// When none comes.
#[must_use]
pub fn accept_bounded(l: &TcpListener) -> std::net::TcpStream {
    l.set_nonblocking(true).expect("nonblocking");
    let deadline = Instant::now() + WAIT;
    loop {
        match l.accept() {
            Ok((s, _)) => return s,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => panic!("the reverse shell never connected: {e}"),
        }
    }
}

/// A memory cgroup limited to `bytes` (swap included): cgroup v1's
/// memory hierarchy where the memory controller is there (as on this
/// machine), else a cgroup2 one.  Removed on drop.
///
/// # Panics
/// When the cgroup cannot be made.
#[must_use]
pub fn memory_cgroup(bytes: u64) -> Cgroups {
    let v1 = Path::new("/sys/fs/cgroup/memory");
    let name = unique("oom");
    if v1.join("memory.limit_in_bytes").exists() {
        let dir = v1.join(&name);
        fs::create_dir(&dir).expect("memory cgroup");
        for f in ["memory.limit_in_bytes", "memory.memsw.limit_in_bytes"] {
            // memsw is absent without swap accounting.
            let _ = fs::write(dir.join(f), bytes.to_string());
        }
        return Cgroups::adopt(dir);
    }
    let _ = fs::write(Path::new(CGROUP2).join("cgroup.subtree_control"), "+memory");
    let cg = Cgroups::make(&name);
    fs::write(cg.leaf.join("memory.max"), bytes.to_string()).expect("memory.max");
    let _ = fs::write(cg.leaf.join("memory.swap.max"), "0");
    cg
}

/// `cmd` joins the cgroup `dir` before its exec (so it allocates nothing
/// outside it); `0` names the writer itself.
pub fn in_cgroup<'c>(cmd: &'c mut Command, dir: &Path) -> &'c mut Command {
    let procs = std::ffi::CString::new(dir.join("cgroup.procs").display().to_string())
        .expect("no NUL in a path");
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            let fd = libc::open(procs.as_ptr(), libc::O_WRONLY);
            if fd < 0 || libc::write(fd, b"0".as_ptr().cast(), 1) != 1 {
                return Err(std::io::Error::last_os_error());
            }
            libc::close(fd);
            Ok(())
        })
    }
}
