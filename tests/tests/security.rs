//! Security events against the real kernel programs: each syscall family
//! is made by a real process (strace, python3, a setuid-root binary run by
//! nobody, bash's /dev/tcp, mount, unshare, nsenter) and must come back as
//! one `SecurityEvent` with the caller's process key and the right detail.
//! File events use a watched prefix inside the test's temp dir, so nothing
//! of the host is touched; writes elsewhere must not be reported.
#![expect(
    clippy::many_single_char_names,
    reason = "each check names its event e and its detail by one letter"
)]
use std::{
    fs,
    net::TcpListener,
    os::unix::fs::PermissionsExt as _,
    path::Path,
    process::{Command, Stdio},
    time::Duration,
};

use perch_e2e::{
    Perchd, binary,
    events::{EventLog, info},
    have_root_or_skip,
    procs::{ChildGuard, run_bounded},
    sec::{caller, path_of, run_ok, sec_perchd, secs, wait_for},
    start_time_ns,
};
use perch_proto::{
    same_start_time,
    v1::{self as pb, security_event::Detail},
};

/// The system python, not a version manager's shim.
const PYTHON: &str = "/usr/bin/python3";

#[tokio::test(flavor = "multi_thread")]
async fn changes_under_a_watched_prefix_are_reported_and_nothing_else() {
    if !have_root_or_skip("changes_under_a_watched_prefix_are_reported_and_nothing_else") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let root = fs::canonicalize(dir.path()).expect("canonical");
    let watched = root.join("w");
    fs::create_dir(&watched).expect("mkdir");
    let config = root.join("perchd.toml");
    fs::write(
        &config,
        format!(
            "[watch]\nmodify = [\"{w}/\"]\nread = [\"{w}/secret\"]\ntruncate = []\n",
            w = watched.display()
        ),
    )
    .expect("config");
    let (_perchd, mut log) = sec_perchd(&["--config", &config.display().to_string()]).await;
    let w = |name: &str| watched.join(name).display().to_string();
    let outside = root.join("other.txt");

    // A write elsewhere first: it must never be reported.
    let sh = |script: &str| run_ok(Command::new("/bin/sh").arg("-c").arg(script));
    let quiet = sh(&format!("echo x > {}", outside.display()));
    let write = sh(&format!("echo hi > {}", w("a.txt")));
    let rename = run_ok(Command::new("/bin/mv").arg(&outside).arg(w("moved")));
    let chmod = run_ok(Command::new("/bin/chmod").arg("u+s").arg(w("moved")));
    let truncate = run_ok(
        Command::new("/usr/bin/truncate")
            .args(["-s", "0"])
            .arg(w("moved")),
    );
    let unlink = run_ok(Command::new("/bin/rm").arg(w("moved")));
    fs::write(w("secret"), "s").expect("secret");
    let read = run_ok(
        Command::new("/bin/cat")
            .arg(w("secret"))
            .stdout(Stdio::null()),
    );
    let fence = sh(&format!("echo done > {}", w("fence")));

    let e = wait_for(&mut log, "file_write", write, |s| {
        matches!(&s.detail, Some(Detail::FileWrite(o)) if path_of(o.path.as_ref()) == w("a.txt"))
    })
    .await;
    assert_eq!(e.syscall, "openat", "{e:?}");
    assert!(e.result >= 0, "{e:?}");
    let e = wait_for(&mut log, "file_rename", rename, |s| {
        matches!(&s.detail, Some(Detail::FileRename(_)))
    })
    .await;
    let Some(Detail::FileRename(r)) = &e.detail else {
        unreachable!()
    };
    assert_eq!(path_of(r.to.as_ref()), w("moved"), "{e:?}");
    assert_eq!(
        path_of(r.from.as_ref()),
        outside.display().to_string(),
        "{e:?}"
    );
    let e = wait_for(&mut log, "file_chmod", chmod, |s| {
        matches!(&s.detail, Some(Detail::FileChmod(_)))
    })
    .await;
    let Some(Detail::FileChmod(c)) = &e.detail else {
        unreachable!()
    };
    assert!(c.setuid && !c.setgid && c.mode & 0o4000 != 0, "{e:?}");
    assert_eq!(path_of(c.path.as_ref()), w("moved"), "{e:?}");
    wait_for(&mut log, "file_truncate", truncate, |s| {
        matches!(&s.detail, Some(Detail::FileTruncate(t))
            if t.length == 0 && path_of(t.path.as_ref()) == w("moved"))
    })
    .await;
    wait_for(&mut log, "file_unlink", unlink, |s| {
        matches!(&s.detail, Some(Detail::FileUnlink(u)) if path_of(u.path.as_ref()) == w("moved"))
    })
    .await;
    wait_for(&mut log, "file_read", read, |s| {
        matches!(&s.detail, Some(Detail::FileRead(o)) if path_of(o.path.as_ref()) == w("secret"))
    })
    .await;
    // The fence is the last call: everything before it has arrived.
    wait_for(&mut log, "fence", fence, |s| {
        matches!(&s.detail, Some(Detail::FileWrite(o)) if path_of(o.path.as_ref()) == w("fence"))
    })
    .await;

    let of = |pid: u32| secs(&log.events).filter(|s| caller(s) == pid).count();
    assert_eq!(of(quiet), 0, "a write outside the prefix was reported");
    assert_eq!(of(write), 1, "one write, one event");
    assert_eq!(of(unlink), 1, "one unlink, one event");
    // Nothing of ours outside the temp dir, and no write outside the prefix.
    let ours = [quiet, write, rename, chmod, truncate, unlink, read, fence];
    for s in secs(&log.events).filter(|s| ours.contains(&caller(s))) {
        if let Some(Detail::FileWrite(o) | Detail::FileRead(o)) = &s.detail {
            assert!(path_of(o.path.as_ref()).starts_with(&w("")), "{s:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_watch_prefix_is_refused_with_its_key_and_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("perchd.toml");
    fs::write(
        &config,
        "[watch]\nmodify = [\n  \"/etc/cron\",\n  \"etc/x\",\n]\n",
    )
    .expect("write");
    let done = run_bounded(
        Command::new(binary("perchd"))
            .arg("--config")
            .arg(&config)
            .arg("--socket")
            .arg(dir.path().join("s.sock")),
        Duration::from_secs(20),
    );
    assert!(!done.status.success(), "{done:?}");
    assert!(
        done.stderr.contains("line 4") && done.stderr.contains("watch.modify"),
        "{}",
        done.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn ptrace_memfd_and_setuid_to_root() {
    if !have_root_or_skip("ptrace_memfd_and_setuid_to_root") {
        return;
    }
    let (_perchd, mut log) = sec_perchd(&[]).await;

    // strace attaching to a sleeper: the target is named by its key.
    let mut sleeper = ChildGuard::spawn(Command::new("/bin/sleep").arg("300"));
    let mut strace = ChildGuard::spawn(
        Command::new("/usr/bin/strace")
            .args(["-o", "/dev/null", "-p"])
            .arg(sleeper.pid().to_string())
            .stderr(Stdio::null()),
    );
    let e = wait_for(&mut log, "ptrace", strace.pid(), |s| {
        matches!(&s.detail, Some(Detail::Ptrace(p))
            if p.target_pid == sleeper.pid() && matches!(p.request_name.as_str(), "seize" | "attach"))
    })
    .await;
    let Some(Detail::Ptrace(p)) = &e.detail else {
        unreachable!()
    };
    let target = p.target.expect("target key");
    assert_eq!(target.pid, sleeper.pid(), "{e:?}");
    assert!(
        same_start_time(target.start_time_ns, start_time_ns(sleeper.pid())),
        "{e:?}"
    );
    assert_eq!(e.result, 0, "{e:?}");
    strace.kill();
    sleeper.kill();

    // memfd_create by python3.
    let memfd = run_ok(Command::new(PYTHON).args([
        "-c",
        "import os; os.memfd_create('perch-e2e-memfd', os.MFD_CLOEXEC)",
    ]));
    let e = wait_for(
        &mut log,
        "memfd_create",
        memfd,
        |s| matches!(&s.detail, Some(Detail::MemfdCreate(m)) if m.name == "perch-e2e-memfd"),
    )
    .await;
    let Some(Detail::MemfdCreate(m)) = &e.detail else {
        unreachable!()
    };
    assert_eq!(m.flag_names, ["cloexec"], "{e:?}");

    // A process renaming itself (prctl PR_SET_NAME) outside exec.
    let renamed = run_ok(Command::new(PYTHON).args([
        "-c",
        "import ctypes, time\n\
         ctypes.CDLL(None).prctl(15, b'perch-renamed', 0, 0, 0)\ntime.sleep(0.2)",
    ]));
    let e = wait_for(
        &mut log,
        "comm_rename",
        renamed,
        |s| matches!(&s.detail, Some(Detail::CommRename(c)) if c.new_comm == "perch-renamed"),
    )
    .await;
    let Some(Detail::CommRename(c)) = &e.detail else {
        unreachable!()
    };
    assert_eq!(c.old_comm, "python3", "{e:?}");

    // A setuid-root binary that calls setuid(0), run by nobody.
    let dir = tempfile::tempdir().expect("tempdir");
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).expect("chmod dir");
    let src = dir.path().join("su0.c");
    let bin = dir.path().join("su0");
    fs::write(
        &src,
        "#include <unistd.h>\nint main(void) { return setuid(0) ? 1 : 0; }\n",
    )
    .expect("source");
    run_ok(Command::new("gcc").arg("-o").arg(&bin).arg(&src));
    fs::set_permissions(&bin, fs::Permissions::from_mode(0o4755)).expect("chmod u+s");
    let su = run_ok(
        Command::new("/usr/bin/setpriv")
            .args(["--reuid=nobody", "--regid=nogroup", "--clear-groups"])
            .arg(&bin),
    );
    let e = wait_for(&mut log, "setid", su, |s| {
        matches!(&s.detail, Some(Detail::Setid(_)))
    })
    .await;
    let Some(Detail::Setid(id)) = &e.detail else {
        unreachable!()
    };
    assert_eq!(e.syscall, "setuid", "{e:?}");
    assert_eq!(id.requested, [0], "{e:?}");
    let (before, after) = (id.before.expect("before"), id.after.expect("after"));
    assert_eq!((before.uid, before.euid), (65534, 0), "{e:?}");
    assert_eq!((after.uid, after.euid), (0, 0), "{e:?}");
    assert_eq!(e.result, 0, "{e:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn stdio_socket_dup_vm_write_and_bpf_load() {
    if !have_root_or_skip("stdio_socket_dup_vm_write_and_bpf_load") {
        return;
    }
    let (_perchd, mut log) = sec_perchd(&[]).await;

    // A shell whose stdin becomes a TCP connection.
    let listener = TcpListener::bind("127.0.0.1:0").expect("listen");
    let port = listener.local_addr().expect("addr").port();
    let accept = std::thread::spawn(move || listener.accept().map(|(s, _)| s));
    let dup = run_ok(Command::new("/bin/bash").arg("-c").arg(format!(
        "exec 3<>/dev/tcp/127.0.0.1/{port}; exec 0<&3; true"
    )));
    let _conn = accept.join().expect("accept thread").expect("accept");
    let e = wait_for(
        &mut log,
        "stdio_socket_dup",
        dup,
        |s| matches!(&s.detail, Some(Detail::StdioSocketDup(d)) if d.new_fd == 0),
    )
    .await;
    let Some(Detail::StdioSocketDup(d)) = &e.detail else {
        unreachable!()
    };
    let sock = d.socket.as_ref().expect("socket");
    assert_eq!(
        (sock.peer_address.as_str(), sock.peer_port),
        ("127.0.0.1", u32::from(port)),
        "{e:?}"
    );
    assert_eq!(d.old_fd, 3, "{e:?}");

    // process_vm_writev into another process, from python ctypes.
    let mut target = ChildGuard::spawn(Command::new("/bin/sleep").arg("300"));
    let vm = run_bounded(
        Command::new(PYTHON)
            .args(["-c", VM_WRITE])
            .arg(target.pid().to_string())
            .stdin(Stdio::null()),
        Duration::from_secs(20),
    );
    let e = wait_for(
        &mut log,
        "process_vm_writev",
        vm.pid,
        |s| matches!(&s.detail, Some(Detail::ProcessVmWritev(v)) if v.target_pid == target.pid()),
    )
    .await;
    let Some(Detail::ProcessVmWritev(v)) = &e.detail else {
        unreachable!()
    };
    assert_eq!(v.target.map(|k| k.pid), Some(target.pid()), "{e:?}");
    assert_eq!((v.local_iovcnt, v.remote_iovcnt), (1, 1), "{e:?}");
    target.kill();

    // bpf(BPF_PROG_LOAD) of a two-instruction socket filter.
    let bpf = run_ok(Command::new(PYTHON).args(["-c", BPF_LOAD]));
    let e = wait_for(&mut log, "bpf_prog_load", bpf, |s| {
        matches!(&s.detail, Some(Detail::BpfProgLoad(_)))
    })
    .await;
    let Some(Detail::BpfProgLoad(b)) = &e.detail else {
        unreachable!()
    };
    assert_eq!(
        (b.prog_type_name.as_str(), b.name.as_str(), b.insn_count),
        ("socket_filter", "perch_e2e", 2),
        "{e:?}"
    );
    assert!(e.result >= 0, "{e:?}");
}

/// Writes 4 bytes of its own into the stack of pid argv[1] at an address
/// it does not own: the kernel answers EFAULT or succeeds; the call is
/// made either way, which is what is reported.
const VM_WRITE: &str = r"
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
class iovec(ctypes.Structure):
    _fields_ = [('base', ctypes.c_void_p), ('len', ctypes.c_size_t)]
buf = ctypes.create_string_buffer(b'abcd')
local = iovec(ctypes.cast(buf, ctypes.c_void_p), 4)
remote = iovec(ctypes.c_void_p(0x10000), 4)
libc.process_vm_writev(int(sys.argv[1]), ctypes.byref(local), 1, ctypes.byref(remote), 1, 0)
";

/// `r0 = 0; exit` as a socket filter named `perch_e2e`.
const BPF_LOAD: &str = r"
import ctypes, struct
libc = ctypes.CDLL(None, use_errno=True)
insns = struct.pack('<BBhiBBhi', 0xb7, 0, 0, 0, 0x95, 0, 0, 0)
prog = ctypes.create_string_buffer(insns)
lic = ctypes.create_string_buffer(b'GPL')
attr = ctypes.create_string_buffer(128)
struct.pack_into('<IIQQ', attr, 0, 1, 2, ctypes.addressof(prog), ctypes.addressof(lic))
struct.pack_into('16s', attr, 48, b'perch_e2e')
fd = libc.syscall(321, 5, attr, 128)
assert fd >= 0, ctypes.get_errno()
";

#[tokio::test(flavor = "multi_thread")]
async fn mount_unshare_and_setns() {
    if !have_root_or_skip("mount_unshare_and_setns") {
        return;
    }
    let (_perchd, mut log) = sec_perchd(&[]).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let at = fs::canonicalize(dir.path()).expect("canonical");
    // In a private mount namespace, so the host's mounts are untouched.
    let mount = run_ok(
        Command::new("/usr/bin/unshare")
            .args([
                "-m",
                "--propagation",
                "private",
                "/bin/mount",
                "-t",
                "tmpfs",
                "-o",
                "size=1m,nosuid",
                "perch-e2e",
            ])
            .arg(&at),
    );
    let e = wait_for(
        &mut log,
        "mount",
        mount,
        |s| matches!(&s.detail, Some(Detail::Mount(m)) if m.fstype == "tmpfs"),
    )
    .await;
    let Some(Detail::Mount(m)) = &e.detail else {
        unreachable!()
    };
    assert_eq!(m.source, "perch-e2e", "{e:?}");
    assert_eq!(
        path_of(m.target.as_ref()),
        at.display().to_string(),
        "{e:?}"
    );
    assert!(m.flag_names.iter().any(|f| f == "nosuid"), "{e:?}");
    assert_eq!(e.result, 0, "{e:?}");
    // unshare(1) itself called unshare(CLONE_NEWNS).
    let e = wait_for(&mut log, "unshare", mount, |s| {
        matches!(&s.detail, Some(Detail::Unshare(_)))
    })
    .await;
    let Some(Detail::Unshare(u)) = &e.detail else {
        unreachable!()
    };
    assert!(u.namespaces.iter().any(|n| n == "mnt"), "{e:?}");

    let net = run_ok(Command::new("/usr/bin/unshare").args(["-n", "/bin/true"]));
    wait_for(
        &mut log,
        "unshare -n",
        net,
        |s| matches!(&s.detail, Some(Detail::Unshare(u)) if u.namespaces == ["net"]),
    )
    .await;

    // nsenter into a sleeper's network namespace (a separate one).
    let mut holder =
        ChildGuard::spawn(Command::new("/usr/bin/unshare").args(["-n", "/bin/sleep", "300"]));
    let ns_pid = holder.pid();
    let ns_file = format!("/proc/{ns_pid}/ns/net");
    let mut ready = false;
    for _ in 0..100 {
        // unshare(1) execs sleep once the namespace is made.
        if fs::read_link(format!("/proc/{ns_pid}/exe")).is_ok_and(|p| p.ends_with("sleep")) {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(ready, "the namespace holder never ran sleep");
    let inode = fs::read_link(&ns_file)
        .expect("ns link")
        .display()
        .to_string();
    let enter = run_ok(
        Command::new("/usr/bin/nsenter")
            .arg(format!("--net={ns_file}"))
            .arg("/bin/true"),
    );
    let e = wait_for(&mut log, "setns", enter, |s| {
        matches!(&s.detail, Some(Detail::Setns(_)))
    })
    .await;
    let Some(Detail::Setns(n)) = &e.detail else {
        unreachable!()
    };
    assert_eq!(n.namespace, "net", "{e:?}");
    assert_eq!(format!("net:[{}]", n.ns_inode), inode, "{e:?}");
    assert_eq!(e.result, 0, "{e:?}");
    holder.kill();
}

/// A flood of watched writes into a ring far too small: the loss is
/// counted per kind in `GetInfo`, and a second client's stream still
/// delivers what comes after.
#[tokio::test(flavor = "multi_thread")]
async fn a_flood_of_watched_writes_counts_its_loss_per_kind() {
    if !have_root_or_skip("a_flood_of_watched_writes_counts_its_loss_per_kind") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let root = fs::canonicalize(dir.path()).expect("canonical");
    let config = root.join("perchd.toml");
    fs::write(
        &config,
        format!("[watch]\nmodify = [\"{}/flood\"]\n", root.display()),
    )
    .expect("config");
    let (perchd, mut log) = sec_perchd(&[
        "--config",
        &config.display().to_string(),
        "--ring-buffer-bytes",
        "8192",
    ])
    .await;
    let mut other = perchd.client().await.expect("connect");
    let mut second = EventLog::watch(&mut other, None, &[pb::EventKind::Security])
        .await
        .expect("second watch");
    let flood = root.join("flood");
    run_ok(
        Command::new(PYTHON)
            .args([
                "-c",
                "import sys\nfor _ in range(20000): open(sys.argv[1], 'w').close()",
            ])
            .arg(&flood),
    );
    let mut client = perchd.client().await.expect("connect");
    let lost = |i: &pb::GetInfoResponse| {
        i.events_by_kind
            .iter()
            .find(|k| k.kind == "file_open")
            .map_or((0, 0), |k| (k.sent, k.lost))
    };
    let (sent, dropped) = lost(&info(&mut client).await);
    assert!(
        dropped > 0,
        "sent {sent}, lost {dropped}: the flood fit in 8 KiB?"
    );
    assert!(sent > 0, "sent {sent}, lost {dropped}");
    // After the flood, both streams still deliver new events.  The tiny
    // ring also drops what the rest of the machine does, so a write may
    // be lost: write until one arrives.
    let mut arrived = None;
    for _ in 0..20 {
        let pid = run_ok(
            Command::new("/bin/sh")
                .arg("-c")
                .arg(format!("echo > {}", flood.display())),
        );
        if log
            .until(Duration::from_secs(1), |ev| {
                secs(ev).any(|s| caller(s) == pid)
            })
            .await
        {
            arrived = Some(pid);
            break;
        }
    }
    let pid = arrived.expect("no write after the flood arrived in 20 tries");
    wait_for(
        &mut second,
        "write after the flood (second client)",
        pid,
        |_| true,
    )
    .await;
}

/// The capability list names what this kernel cannot watch, and why.
#[tokio::test(flavor = "multi_thread")]
async fn capabilities_say_module_loading_is_absent_here() {
    if !have_root_or_skip("capabilities_say_module_loading_is_absent_here") {
        return;
    }
    let perchd = Perchd::start(&[]).await;
    let mut client = perchd.client().await.expect("connect");
    let i = info(&mut client).await;
    let cap = |name: &str| {
        i.capabilities
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("no capability {name}: {:?}", i.capabilities))
    };
    for name in ["ptrace", "file_watch", "mount", "bpf_prog_load", "setns"] {
        assert!(cap(name).available, "{:?}", cap(name));
    }
    let m = cap("module_load");
    if Path::new("/proc/modules").exists() {
        assert!(m.available, "{m:?}");
    } else {
        assert!(!m.available && m.detail.contains("init_module"), "{m:?}");
    }
}
