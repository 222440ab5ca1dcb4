//! What an exec record says beyond argv, against real processes in eBPF
//! mode: the file actually mapped (through a symlink, deleted, a memfd, a
//! setuid-root copy), the standard streams (a device, a pipe, TCP sockets
//! over IPv4 and IPv6), the login uid, and the configured environment
//! variables.  The same facts are read from /proc for seeded processes,
//! in both modes.
#![expect(
    clippy::panic,
    clippy::expect_used,
    reason = "helpers of end-to-end tests: a broken environment should fail the test loudly"
)]
use std::{
    fs,
    io::Read as _,
    net::{TcpListener, TcpStream},
    os::{
        fd::{AsFd as _, OwnedFd},
        unix::{fs::PermissionsExt as _, fs::symlink, process::CommandExt as _},
    },
    process::{Command, Stdio},
};

use perch_e2e::{
    Perchd,
    events::{EventLog, WAIT, ebpf_watch, find_exec, listed, pid},
    have_root_or_skip,
    procs::{ChildGuard, unique},
};
use perch_proto::v1::{self as pb, FdType, Process};

/// The system python, not a version manager's shim (which would exec it
/// under another name first).
const PYTHON: &str = "/usr/bin/python3";

/// A perchd in eBPF mode and a watch from its current head.
async fn ebpf_perchd() -> (Perchd, EventLog) {
    let (perchd, _, log) = ebpf_watch(&[], &[]).await;
    (perchd, log)
}

/// The exec of `pid` whose argv[0] is `argv0` (its last image, when the
/// process execs more than once), waited for.
async fn exec_of(log: &mut EventLog, pid_: u32, argv0: &str) -> Process {
    let want = |p: &Process| pid(p) == pid_ && p.argv.first().is_some_and(|a| a == argv0);
    let seen = log.until(WAIT, |ev| find_exec(ev, want).is_some()).await;
    assert!(
        seen,
        "no exec of {pid_} with argv[0] {argv0:?} within {WAIT:?}"
    );
    find_exec(&log.events, want).expect("exec").1.clone()
}

fn exe(p: &Process) -> &pb::ExecutableFile {
    p.executable
        .as_ref()
        .unwrap_or_else(|| panic!("no executable: {p:?}"))
}

fn stdio(p: &Process, fd: usize) -> &pb::StdioFd {
    p.stdio
        .get(fd)
        .unwrap_or_else(|| panic!("no fd {fd}: {p:?}"))
}

fn canonical(path: &str) -> String {
    fs::canonicalize(path)
        .expect("canonicalize")
        .display()
        .to_string()
}

fn ns_inode(name: &str) -> u32 {
    let link = fs::read_link(format!("/proc/self/ns/{name}")).expect("ns link");
    let link = link.display().to_string();
    link.trim_end_matches(']')
        .rsplit('[')
        .next()
        .expect("inum")
        .parse()
        .expect("number")
}

#[tokio::test(flavor = "multi_thread")]
async fn symlinked_deleted_and_memfd_executables() {
    if !have_root_or_skip("symlinked_deleted_and_memfd_executables") {
        return;
    }
    let (_perchd, mut log) = ebpf_perchd().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let sleep = canonical("/bin/sleep");

    // `sshd` that is really sleep: exe as given, the real binary beside it.
    let link = dir.path().join("sshd");
    symlink("/bin/sleep", &link).expect("symlink");
    let disguised = ChildGuard::spawn(Command::new(&link).arg("30"));
    let p = exec_of(&mut log, disguised.pid(), &link.display().to_string()).await;
    assert_eq!(p.exe, link.display().to_string(), "{p:?}");
    assert_eq!(p.comm, "sshd", "{p:?}");
    assert_eq!(exe(&p).path, sleep, "{p:?}");
    assert!(!exe(&p).deleted && !exe(&p).from_memfd, "{p:?}");
    assert!(
        p.names_disagree,
        "sshd running sleep must be flagged: {p:?}"
    );
    assert_eq!(
        (p.mnt_ns, p.pid_ns),
        (ns_inode("mnt"), ns_inode("pid")),
        "{p:?}"
    );

    // A binary unlinked before it is executed through its fd.
    let copy = dir.path().join("gone");
    fs::copy(&sleep, &copy).expect("copy");
    let marker = unique("unlinked");
    let script = format!(
        "import os; fd = os.open({copy:?}, os.O_RDONLY); os.unlink({copy:?}); \
         os.execve(f'/proc/self/fd/{{fd}}', [{marker:?}, '30'], {{}})",
        copy = copy.display().to_string()
    );
    let unlinked = ChildGuard::spawn(Command::new(PYTHON).args(["-c", &script]));
    let p = exec_of(&mut log, unlinked.pid(), &marker).await;
    assert!(exe(&p).deleted && exe(&p).links == 0, "{p:?}");
    assert_eq!(exe(&p).path, copy.display().to_string(), "{p:?}");
    assert!(p.exe.starts_with("/proc/self/fd/"), "{p:?}");

    // A memfd: no file at all.
    let marker = unique("memfd");
    let script = format!(
        "import os; fd = os.memfd_create('payload'); \
         os.write(fd, open({sleep:?}, 'rb').read()); \
         os.execve(f'/proc/self/fd/{{fd}}', [{marker:?}, '30'], {{}})"
    );
    let memfd = ChildGuard::spawn(Command::new(PYTHON).args(["-c", &script]));
    let p = exec_of(&mut log, memfd.pid(), &marker).await;
    assert!(exe(&p).from_memfd, "{p:?}");
    assert_eq!(exe(&p).path, "/memfd:payload", "{p:?}");
    assert_eq!(exe(&p).fs_type, "tmpfs", "{p:?}");
}

/// A binary deleted after its exec (no tracepoint sees the unlink) is
/// marked by perchd's periodic re-check, as an update — for every process
/// running it (the re-check looks at each file through one of them), and
/// not for a process running another copy.
#[tokio::test(flavor = "multi_thread")]
async fn binary_deleted_while_running_is_updated() {
    if !have_root_or_skip("binary_deleted_while_running_is_updated") {
        return;
    }
    let (_perchd, mut log) = ebpf_perchd().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let copy = dir.path().join("soon-gone");
    let kept = dir.path().join("kept");
    fs::copy("/bin/sleep", &copy).expect("copy");
    fs::copy("/bin/sleep", &kept).expect("copy");
    let marker = unique("deleted-later");
    let children = [
        ChildGuard::spawn(Command::new(&copy).arg0(&marker).arg("30")),
        ChildGuard::spawn(Command::new(&copy).arg0(&marker).arg("31")),
    ];
    let other = ChildGuard::spawn(Command::new(&kept).arg0(&marker).arg("32"));
    for child in children.iter().chain([&other]) {
        let p = exec_of(&mut log, child.pid(), &marker).await;
        assert!(!exe(&p).deleted && exe(&p).links == 1, "{p:?}");
    }
    fs::remove_file(&copy).expect("delete");
    let mut deleted_pids = std::collections::BTreeSet::new();
    let all_marked = |ev: &[pb::Event]| {
        for e in ev {
            if let Some(pb::event::Kind::Update(u)) = &e.kind
                && let Some(q) = &u.process
                && q.executable.as_ref().is_some_and(|x| x.deleted)
            {
                deleted_pids.insert(pid(q));
            }
        }
        children.iter().all(|c| deleted_pids.contains(&c.pid()))
    };
    assert!(
        log.until(WAIT, all_marked).await,
        "not every process of the deleted binary was marked within {WAIT:?}"
    );
    assert!(
        !deleted_pids.contains(&other.pid()),
        "{} runs a copy that is still there",
        other.pid()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn setuid_root_copy_run_by_nobody() {
    if !have_root_or_skip("setuid_root_copy_run_by_nobody") {
        return;
    }
    let (_perchd, mut log) = ebpf_perchd().await;
    let dir = tempfile::tempdir().expect("tempdir");
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).expect("chmod dir");
    let copy = dir.path().join("suid-sleep");
    fs::copy("/bin/sleep", &copy).expect("copy");
    fs::set_permissions(&copy, fs::Permissions::from_mode(0o4755)).expect("chmod u+s");
    let child = ChildGuard::spawn(
        Command::new("/usr/bin/setpriv")
            .args(["--reuid=nobody", "--regid=nogroup", "--clear-groups"])
            .arg(&copy)
            .arg("30"),
    );
    let p = exec_of(&mut log, child.pid(), &copy.display().to_string()).await;
    assert_eq!((p.uid, p.euid), (65534, 0), "setuid root by nobody: {p:?}");
    let f = exe(&p);
    assert!(f.setuid && !f.setgid, "{p:?}");
    assert_eq!(f.uid, 0, "{p:?}");
    assert_eq!(f.mode & 0o7777, 0o4755, "{p:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn stdio_types_and_socket_peers() {
    if !have_root_or_skip("stdio_types_and_socket_peers") {
        return;
    }
    let (_perchd, mut log) = ebpf_perchd().await;

    // stdin /dev/null, stdout a pipe to us, stderr closed.
    let marker = unique("pipe");
    let mut piped = ChildGuard::spawn(
        Command::new("/bin/bash")
            .args([
                "-c",
                &format!("exec 0</dev/null 2>&-; exec -a {marker} /bin/sleep 30"),
            ])
            .stdout(Stdio::piped()),
    );
    let out = piped.child.stdout.take().expect("stdout");
    let pipe_inode = nix::sys::stat::fstat(out.as_fd()).expect("fstat").st_ino;
    let p = exec_of(&mut log, piped.pid(), &marker).await;
    assert_eq!(stdio(&p, 0).r#type(), FdType::CharDevice, "{p:?}");
    assert_eq!(stdio(&p, 1).r#type(), FdType::Pipe, "{p:?}");
    assert_eq!(stdio(&p, 1).inode, pipe_inode, "{p:?}");
    assert_eq!(stdio(&p, 2).r#type(), FdType::Closed, "{p:?}");

    // stdin a TCP socket connected to a local listener, IPv4 and IPv6.
    for addr in ["127.0.0.1:0", "[::1]:0"] {
        let marker = unique("tcp");
        let listener = TcpListener::bind(addr).expect("listen");
        let server = listener.local_addr().expect("addr");
        let stream = TcpStream::connect(server).expect("connect");
        let client = stream.local_addr().expect("local");
        let child = ChildGuard::spawn(
            Command::new("/bin/sleep")
                .arg0(&marker)
                .arg("30")
                .stdin(Stdio::from(OwnedFd::from(stream))),
        );
        let p = exec_of(&mut log, child.pid(), &marker).await;
        let fd0 = stdio(&p, 0);
        assert_eq!(fd0.r#type(), FdType::Tcp, "{p:?}");
        assert_eq!(fd0.peer_address, server.ip().to_string(), "{p:?}");
        assert_eq!(fd0.peer_port, u32::from(server.port()), "{p:?}");
        assert_eq!(fd0.local_port, u32::from(client.port()), "{p:?}");
    }
    drop(out);
}

#[tokio::test(flavor = "multi_thread")]
async fn loginuid_and_configured_environment() {
    if !have_root_or_skip("loginuid_and_configured_environment") {
        return;
    }
    let (_perchd, mut log) = ebpf_perchd().await;

    // A login uid set in the child is inherited by what it runs.
    let marker = unique("login");
    let child = ChildGuard::spawn(Command::new("/bin/bash").args([
        "-c",
        &format!("echo 65534 > /proc/self/loginuid && exec -a {marker} /bin/sleep 30"),
    ]));
    let p = exec_of(&mut log, child.pid(), &marker).await;
    assert_eq!(p.loginuid, Some(65534), "{p:?}");
    assert_eq!(p.login_user, "nobody", "{p:?}");

    // LD_PRELOAD is reported (default list); a variable not listed is not.
    let marker = unique("env");
    let child = ChildGuard::spawn(
        Command::new("/bin/sleep")
            .arg0(&marker)
            .arg("30")
            .env_clear()
            .env("LD_PRELOAD", "/nonexistent.so")
            .env("PERCH_E2E_NOT_LISTED", "secret")
            .stderr(Stdio::null()),
    );
    let p = exec_of(&mut log, child.pid(), &marker).await;
    let env: Vec<(&str, &str)> = p
        .env
        .iter()
        .map(|v| (v.name.as_str(), v.value.as_str()))
        .collect();
    assert!(env.contains(&("LD_PRELOAD", "/nonexistent.so")), "{env:?}");
    assert!(
        !env.iter().any(|(n, _)| *n == "PERCH_E2E_NOT_LISTED"),
        "{env:?}"
    );
}

/// The kernel's exec record and /proc say the same: a disguised process
/// with `LD_PRELOAD` and a TCP stdin, seen at exec by an eBPF perchd, then
/// seeded from /proc by a --procfs one; and a copy deleted while it runs
/// is marked deleted when seeded (in both modes).
#[tokio::test(flavor = "multi_thread")]
async fn kernel_and_proc_agree_and_seeded_deletes_are_marked() {
    if !have_root_or_skip("kernel_and_proc_agree_and_seeded_deletes_are_marked") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let copy = dir.path().join("deleted-sleep");
    fs::copy("/bin/sleep", &copy).expect("copy");
    let deleted = ChildGuard::spawn(Command::new(&copy).arg0("deleted-sleep").arg("30"));
    wait_exec_done(deleted.pid(), "deleted-sleep");
    fs::remove_file(&copy).expect("delete");

    let (ebpf, mut log) = ebpf_perchd().await;
    let link = dir.path().join("sshd");
    symlink("/bin/sleep", &link).expect("symlink");
    let listener = TcpListener::bind("127.0.0.1:0").expect("listen");
    let server = listener.local_addr().expect("addr");
    let stream = TcpStream::connect(server).expect("connect");
    let disguised = ChildGuard::spawn(
        Command::new(&link)
            .arg("30")
            .env_clear()
            .env("LD_PRELOAD", "/nonexistent.so")
            .stdin(Stdio::from(OwnedFd::from(stream)))
            .stderr(Stdio::null()),
    );
    let from_kernel = exec_of(&mut log, disguised.pid(), &link.display().to_string()).await;
    assert_eq!(
        stdio(&from_kernel, 0).peer_address,
        "127.0.0.1",
        "{from_kernel:?}"
    );

    let procfs = Perchd::start(&["--procfs"]).await;
    for perchd in [&ebpf, &procfs] {
        let mut client = perchd.client().await.expect("connect");
        let d = listed(&mut client, deleted.pid()).await;
        assert_eq!(d.source(), pb::ProcessSource::Seeded, "{d:?}");
        assert!(exe(&d).deleted && exe(&d).links == 0, "{d:?}");
        assert_eq!(exe(&d).path, copy.display().to_string(), "{d:?}");
    }
    let mut client = procfs.client().await.expect("connect");
    let from_proc = listed(&mut client, disguised.pid()).await;
    assert_eq!(
        from_proc.source(),
        pb::ProcessSource::Seeded,
        "{from_proc:?}"
    );
    // Everything but the path given to execve, which /proc cannot know.
    assert_eq!(from_kernel.executable, from_proc.executable);
    assert_eq!(from_kernel.stdio, from_proc.stdio);
    assert_eq!(from_kernel.env, from_proc.env);
    assert_eq!(from_kernel.names_disagree, from_proc.names_disagree);
    let ids = |p: &Process| (p.loginuid, p.cap_effective, p.mnt_ns, p.pid_ns, p.egid);
    assert_eq!(ids(&from_kernel), ids(&from_proc));
    assert_eq!(exe(&from_proc).path, canonical("/bin/sleep"));
}

/// Waits until `pid` runs its new image (comm changed, argv set up).
fn wait_exec_done(pid_: u32, comm: &str) {
    for _ in 0..200 {
        let mut s = String::new();
        let ok = fs::File::open(format!("/proc/{pid_}/comm"))
            .and_then(|mut f| f.read_to_string(&mut s))
            .is_ok();
        let cmdline = fs::read(format!("/proc/{pid_}/cmdline")).unwrap_or_default();
        if ok && s.trim() == comm && !cmdline.is_empty() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    panic!("{pid_} never became {comm}");
}
