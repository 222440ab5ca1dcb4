//! perch as a remote client: it presents a client certificate over TLS
//! (`--tls-cert/--tls-key`), so a certificate perchd's roles name can act;
//! perchd refuses a CA certificate as its own, saying how to make a proper
//! one (and that recipe works); perch refuses a CA certificate as a
//! client's before connecting; and every command gives up on a collector
//! that never answers, after `--timeout`, with a message that says so.
use std::{path::Path, process::Command, time::Duration};

use perch_e2e::{
    Perchd,
    act::{NOBODY, as_user, records},
    alive, binary, have_root_or_skip,
    procs::{ChildGuard, Finished, run_bounded},
    tls::{Pki, default_self_signed, free_port, openssl},
};

const WAIT: Duration = Duration::from_mins(1);

fn perch(args: &[&str]) -> Finished {
    run_bounded(Command::new(binary("perch")).args(args), WAIT)
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_certificate_named_in_roles_acts_remotely() {
    if !have_root_or_skip("a_client_certificate_named_in_roles_acts_remotely") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let pki = Pki::make(&dir.path().join("pki"));
    let (alice, alice_key) = pki.client("alice");
    let config = dir.path().join("perchd.toml");
    std::fs::write(&config, "[roles]\noperator = [\"cert:alice\"]\n").expect("config");
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let perchd = Perchd::start(&[
        "--config",
        &s(&config),
        "--listen",
        &listen,
        "--tls-cert",
        &s(&pki.cert),
        "--tls-key",
        &s(&pki.key),
        "--tls-client-ca",
        &s(&pki.ca),
    ])
    .await;
    // Not root's: an operator may kill it.
    let target = ChildGuard::spawn(as_user(NOBODY, NOBODY, "/bin/sleep").arg("300"));
    perchd.wait_known(target.pid(), "/bin/sleep").await;
    let pid = target.pid().to_string();
    let ca = s(&pki.ca);
    let kill = |client: &[&str]| {
        let mut args = vec![
            "kill",
            "--connect",
            &listen,
            "--tls-ca",
            &ca,
            "--pid",
            &pid,
            "--reason",
            "remote e2e",
        ];
        args.extend(client);
        tokio::task::block_in_place(|| perch(&args))
    };

    // Without a certificate: a viewer.
    let anon = kill(&[]);
    assert!(!anon.status.success(), "{anon:?}");
    assert!(anon.stderr.contains("viewer"), "{anon:?}");
    assert!(alive(target.pid()));

    let (alice, alice_key) = (s(&alice), s(&alice_key));
    let done = kill(&["--tls-cert", &alice, "--tls-key", &alice_key]);
    assert!(done.status.success(), "{done:?}");
    let log = records(&perchd);
    let rec = log.last().expect("record");
    assert_eq!(
        (rec.code.as_str(), rec.actor_user.as_str()),
        ("ok", "cert:alice")
    );
    assert!(rec.origin.contains("cn=alice"), "{rec:?}");

    // A CA certificate as the client's: refused by perch, with the fix.
    let (ca_cert, ca_key) = default_self_signed(dir.path(), "bob");
    let refused = kill(&["--tls-cert", &s(&ca_cert), "--tls-key", &s(&ca_key)]);
    assert!(!refused.status.success(), "{refused:?}");
    assert!(
        refused.stderr.contains("is a CA certificate")
            && refused.stderr.contains("extendedKeyUsage=clientAuth"),
        "{refused:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_default_self_signed_certificate_is_refused_with_a_recipe_that_works() {
    if !have_root_or_skip("a_default_self_signed_certificate_is_refused_with_a_recipe_that_works") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let (cert, key) = default_self_signed(dir.path(), "localhost");
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let socket = dir.path().join("perchd.sock");
    let refused = tokio::task::block_in_place(|| {
        run_bounded(
            Command::new(binary("perchd")).args([
                "--socket",
                &s(&socket),
                "--audit-log",
                &s(&dir.path().join("audit.log")),
                "--listen",
                &listen,
                "--tls-cert",
                &s(&cert),
                "--tls-key",
                &s(&key),
            ]),
            WAIT,
        )
    });
    assert!(!refused.status.success(), "{refused:?}");
    let said = &refused.stderr;
    assert!(said.contains("is a CA certificate"), "{refused:?}");
    assert!(
        said.contains("basicConstraints=critical,CA:FALSE"),
        "{said}"
    );

    // The recipe from the message, for 127.0.0.1.
    let (good, good_key) = (dir.path().join("good.pem"), dir.path().join("good.key"));
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-days",
        "1",
        "-keyout",
        &s(&good_key),
        "-out",
        &s(&good),
        "-subj",
        "/CN=127.0.0.1",
        "-addext",
        "basicConstraints=critical,CA:FALSE",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
        "-addext",
        "extendedKeyUsage=serverAuth",
    ]);
    let _perchd = Perchd::start(&[
        "--listen",
        &listen,
        "--tls-cert",
        &s(&good),
        "--tls-key",
        &s(&good_key),
    ])
    .await;
    let ps =
        tokio::task::block_in_place(|| perch(&["ps", "--connect", &listen, "--tls-ca", &s(&good)]));
    assert!(ps.status.success(), "{ps:?}");
    assert!(ps.stdout.lines().count() > 3, "{ps:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn every_command_gives_up_on_a_collector_that_never_answers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("silent.sock");
    // Accepts every connection and never says a word.
    let listener = tokio::net::UnixListener::bind(&path).expect("bind");
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    let socket = s(&path);
    for cmd in [
        vec!["ps"],
        vec!["events"],
        vec!["kill", "--pid", "4242", "--reason", "e2e"],
    ] {
        let mut args = cmd.clone();
        args.extend(["--socket", &socket, "--timeout", "1"]);
        let out = tokio::task::block_in_place(|| perch(&args));
        assert!(!out.status.success(), "{cmd:?}: {out:?}");
        assert!(
            out.stderr.contains("within 1 s") && out.stderr.contains("--timeout"),
            "{cmd:?}: {out:?}"
        );
    }
    holder.abort();
}
