//! A gRPC C-core client on the Unix socket: Debian's python3-grpcio (which
//! `./x` installs) calls perchd with the `:authority` newer C-core
//! releases send for a `unix:` target — the socket path, percent-encoded —
//! and with the raw path, and without setting one; perchd answers all.
use std::{process::Command, time::Duration};

use perch_e2e::{Perchd, have_root_or_skip, procs::run_bounded};

const PYTHON: &str = "/usr/bin/python3";

/// Calls `GetInfo` (an empty request, the answer's bytes) with each
/// authority given on the command line ("-" for none) and prints one line
/// per call.
const CLIENT: &str = r#"
import sys, grpc
target, authorities = sys.argv[1], sys.argv[2:]
for auth in authorities:
    opts = [] if auth == "-" else [("grpc.default_authority", auth)]
    with grpc.insecure_channel("unix:" + target, options=opts) as ch:
        try:
            answer = ch.unary_unary("/perch.v1.Collector/GetInfo")(b"", timeout=20)
            print("OK", auth, b"uid 0 (root)" in answer)
        except grpc.RpcError as e:
            print("ERR", auth, e.code(), e.details())
"#;

fn have_python_grpc() -> bool {
    let ok = Command::new(PYTHON)
        .args(["-c", "import grpc"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok || std::env::var("CI").as_deref() != Ok("true"),
        "python3-grpcio is missing: ./x setup installs it"
    );
    ok
}

#[tokio::test(flavor = "multi_thread")]
async fn a_python_grpc_client_needs_no_default_authority() {
    if !have_root_or_skip("a_python_grpc_client_needs_no_default_authority") || !have_python_grpc()
    {
        return;
    }
    let perchd = Perchd::start(&[]).await;
    let path = perchd.socket.display().to_string();
    let encoded = path.replace('/', "%2F");
    let out = tokio::task::block_in_place(|| {
        run_bounded(
            Command::new(PYTHON).args(["-c", CLIENT, &path, &encoded, &path, "-"]),
            Duration::from_mins(1),
        )
    });
    assert!(out.status.success(), "{out:?}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{out:?}");
    for line in lines {
        assert!(
            line.starts_with("OK ") && line.ends_with(" True"),
            "{out:?}"
        );
    }
}
