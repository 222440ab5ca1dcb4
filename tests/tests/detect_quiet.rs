//! What the detector must keep quiet about, with every default rule (exec,
//! security and network ones) and the default [watch] paths: `cargo test`
//! of a fresh crate (offline), `apt-get install` and purge of a tiny local
//! .deb with a maintainer script, a python http.server on loopback under a
//! few hundred curl requests, and an admin reading the journal.  None may
//! raise a flag above low or a notable trace.  (detect.rs covers `cargo
//! build` and ps/ss/df.)
#![expect(
    clippy::expect_used,
    reason = "end-to-end tests: a broken environment should fail the test loudly"
)]
use std::{fs, net::TcpListener, os::unix::fs::PermissionsExt as _, path::Path};

use perch_e2e::{
    Perchd,
    flags::{run, session, under, wait_for},
    have_root_or_skip,
    procs::unique,
};
use perch_proto::v1::{self as pb, Severity};

/// A tiny package: one file and a postinst, as packages ship them.
fn build_deb(dir: &Path, name: &str) -> String {
    let pkg = dir.join("pkg");
    let doc = pkg.join(format!("usr/share/doc/{name}"));
    fs::create_dir_all(pkg.join("DEBIAN")).expect("mkdir");
    fs::create_dir_all(&doc).expect("mkdir");
    fs::write(
        pkg.join("DEBIAN/control"),
        format!(
            "Package: {name}\nVersion: 1.0\nArchitecture: all\n\
             Maintainer: perch e2e <e2e@localhost>\nDescription: perch quiet-case package\n"
        ),
    )
    .expect("control");
    let postinst = pkg.join("DEBIAN/postinst");
    fs::write(&postinst, "#!/bin/sh\nset -e\nls /etc >/dev/null\n").expect("postinst");
    fs::set_permissions(&postinst, fs::Permissions::from_mode(0o755)).expect("chmod");
    fs::write(doc.join("README"), "perch e2e\n").expect("README");
    let deb = dir.join(format!("{name}.deb")).display().to_string();
    let built = run(&[
        "/usr/bin/dpkg-deb",
        "--build",
        &pkg.display().to_string(),
        &deb,
    ]);
    assert!(
        Path::new(&deb).exists(),
        "dpkg-deb (pid {built}) built nothing"
    );
    deb
}

/// A fresh crate with one test, in `krate`; its manifest path.
fn tiny_crate(krate: &Path) -> String {
    fs::create_dir_all(krate.join("src")).expect("mkdir");
    fs::write(
        krate.join("Cargo.toml"),
        "[package]\nname = \"tiny\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n",
    )
    .expect("Cargo.toml");
    fs::write(
        krate.join("src/lib.rs"),
        "#[test]\nfn adds() { assert_eq!(1 + 1, 2); }\n",
    )
    .expect("lib.rs");
    krate.join("Cargo.toml").display().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn installs_servers_tests_and_the_journal_stay_quiet() {
    if !have_root_or_skip("installs_servers_tests_and_the_journal_stay_quiet") {
        return;
    }
    let perchd = Perchd::start(&[]).await;
    let mut client = perchd.client().await.expect("connect");
    let dir = tempfile::tempdir().expect("tempdir");
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).expect("chmod");

    // cargo test of a fresh crate (a build, then its test binary).
    let krate = dir.path().join("tiny");
    let manifest = tiny_crate(&krate);
    let tests = run(&[
        "cargo",
        "test",
        "--offline",
        "--quiet",
        "--manifest-path",
        &manifest,
    ]);
    assert!(
        krate.join("target/debug").exists(),
        "cargo test must have built"
    );

    // apt-get install of a local package, then its purge.
    let name = unique("perch-e2e-quiet").replace('_', "-").to_lowercase();
    let deb = build_deb(dir.path(), &name);
    let apt = |args: &[&str]| {
        let mut argv = vec![
            "/usr/bin/env",
            "DEBIAN_FRONTEND=noninteractive",
            "/usr/bin/apt-get",
        ];
        argv.extend_from_slice(args);
        run(&argv)
    };
    let install = apt(&["install", "-y", "-q", &deb]);
    let installed = Path::new("/usr/share/doc").join(&name).join("README");
    assert!(
        installed.exists(),
        "apt-get install (pid {install}) installed nothing"
    );
    let purge = apt(&["purge", "-y", "-q", &name]);
    assert!(
        !installed.exists(),
        "apt-get purge (pid {purge}) left the package"
    );

    // A web server on loopback under a few hundred requests.
    let free = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = free.local_addr().expect("addr").port().to_string();
    drop(free);
    let mut server = session(&[
        "/usr/bin/python3",
        "-m",
        "http.server",
        "--bind",
        "127.0.0.1",
        "--directory",
        &dir.path().display().to_string(),
        &port,
    ]);
    let curls = run(&[
        "/bin/sh",
        "-c",
        &format!(
            "i=0; until curl -s -o /dev/null http://127.0.0.1:{port}/; do i=$((i+1)); \
             [ $i -gt 100 ] && exit 1; sleep 0.1; done; \
             for i in $(seq 300); do curl -s -o /dev/null http://127.0.0.1:{port}/tiny/; done"
        ),
    ]);
    let web = server.pid();

    // An admin reading the journal.
    let admin = run(&[
        "/bin/sh",
        "-c",
        "journalctl -n 50 --no-pager; ss -ltn; true",
    ]);

    // A sentinel: once it is flagged, perchd has read past the cases above.
    let sentinel = run(&["/bin/true", "-o", "stratum+tcp://127.0.0.1:3333"]);
    let flags = wait_for(&mut client, &[("crypto_miner", sentinel)]).await;
    let _ = server.kill();
    let cases = [tests, install, purge, web, curls, admin];
    for pid in cases {
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
        .filter(|t| t.root.is_some_and(|k| cases.contains(&k.pid)))
        .collect();
    assert!(notable.is_empty(), "{notable:#?}");
}
