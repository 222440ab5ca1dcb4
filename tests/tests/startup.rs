//! perchd refusing to start: each mistake gives a non-zero exit and one
//! line on stderr that says what is wrong (naming the socket, key, line,
//! range, flag or file), never a panic.  Every case fails before eBPF is
//! loaded, so these run without root.
#![expect(
    clippy::expect_used,
    reason = "helpers of end-to-end tests: a broken environment should fail the test loudly"
)]
use std::{
    io::{BufRead as _, BufReader, Read as _},
    path::Path,
    process::{Command, Stdio},
    time::Duration,
};

use perch_e2e::{
    Perchd, binary,
    procs::{ChildGuard, Finished, run_bounded},
};

/// Runs perchd with `args` (plus a private socket unless `args` has one)
/// and returns what it printed; it must exit, and not successfully.
fn perchd_fails(args: &[&str]) -> Finished {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cmd = Command::new(binary("perchd"));
    if !args.contains(&"--socket") {
        cmd.arg("--socket").arg(dir.path().join("perchd.sock"));
    }
    let out = run_bounded(cmd.args(args), Duration::from_secs(30));
    assert!(!out.status.success(), "perchd {args:?} succeeded: {out:?}");
    assert!(
        !out.stderr.contains("panicked"),
        "perchd {args:?} panicked: {}",
        out.stderr
    );
    out
}

/// The one error line of a failed start (tracing lines aside, there are none
/// before the error in these cases).
fn one_line(out: &Finished) -> &str {
    let lines: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect();
    assert_eq!(
        lines.len(),
        1,
        "expected one line on stderr: {:?}",
        out.stderr
    );
    assert!(lines[0].starts_with("perchd: "), "{:?}", lines[0]);
    lines[0]
}

fn write_config(dir: &Path, text: &str) -> String {
    let path = dir.join("perchd.toml");
    std::fs::write(&path, text).expect("write config");
    path.to_str().expect("utf-8 path").to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn second_perchd_on_a_busy_socket() {
    // The first one runs in /proc mode so this works without root too.
    let first = Perchd::start(&["--procfs"]).await;
    let socket = first.socket.to_str().expect("utf-8 path");
    let out = tokio::task::block_in_place(|| perchd_fails(&["--socket", socket, "--procfs"]));
    let line = one_line(&out);
    assert!(line.contains(socket) && line.contains("busy"), "{line}");
    // And the first one still answers.
    let mut c = first.client().await.expect("first perchd still reachable");
    c.get_info(perch_proto::v1::GetInfoRequest {})
        .await
        .expect("GetInfo");
}

#[tokio::test(flavor = "multi_thread")]
async fn log_to_a_pipe_has_no_colour_codes() {
    // NO_COLOR unset: only the pipe decides (a terminal would get colour).
    let mut cmd = Command::new(binary("perchd"));
    cmd.env_remove("NO_COLOR").stderr(Stdio::piped());
    let mut perchd = Perchd::start_with(cmd, &["--procfs"]).await;
    let mut stderr = perchd.child.stderr.take().expect("piped stderr");
    // SIGTERM: a clean shutdown logs once more, then closes the pipe.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(perchd.pid()).expect("pid")),
        nix::sys::signal::Signal::SIGTERM,
    )
    .expect("SIGTERM perchd");
    let mut log = String::new();
    tokio::task::block_in_place(|| stderr.read_to_string(&mut log)).expect("read stderr");
    assert!(
        log.contains("perchd ready") && log.contains("shutting down"),
        "{log}"
    );
    assert!(
        !log.contains('\x1b'),
        "escape sequences in a piped log: {log:?}"
    );
}

/// A SIGTERM sent the moment perchd says it is ready shuts it down cleanly:
/// its handler is in place before the line is logged, so the signal's
/// default action (death, exit status by signal) never wins the race.
#[test]
fn sigterm_right_after_ready_is_a_clean_shutdown() {
    for round in 0..5 {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut cmd = Command::new(binary("perchd"));
        cmd.arg("--procfs")
            .arg("--socket")
            .arg(dir.path().join("perchd.sock"))
            .arg("--audit-log")
            .arg(dir.path().join("audit.log"))
            .arg("--no-history")
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stderr(Stdio::piped());
        let mut perchd = ChildGuard::spawn(&mut cmd);
        let mut stderr = BufReader::new(perchd.child.stderr.take().expect("piped stderr"));
        let mut log = String::new();
        while !log.contains("perchd ready") {
            let read = stderr.read_line(&mut log).expect("read stderr");
            assert!(read > 0, "round {round}: perchd ended before ready: {log}");
        }
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(i32::try_from(perchd.pid()).expect("pid")),
            nix::sys::signal::Signal::SIGTERM,
        )
        .expect("SIGTERM perchd");
        stderr.read_to_string(&mut log).expect("read stderr");
        let status = perchd.wait();
        assert!(
            status.success() && log.contains("shutting down"),
            "round {round}: {status}: {log}"
        );
    }
}

#[test]
fn socket_in_an_impossible_place() {
    let out = perchd_fails(&["--socket", "/proc/perch/x.sock"]);
    let line = one_line(&out);
    assert!(line.contains("/proc/perch"), "{line}");
}

#[test]
fn config_value_out_of_range_names_key_line_and_range() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(dir.path(), "procfs = true\nsample_interval_ms = 5\n");
    let line = one_line(&perchd_fails(&["--config", &config])).to_owned();
    for part in [
        config.as_str(),
        "sample_interval_ms",
        "line 2",
        "100..=60000",
    ] {
        assert!(line.contains(part), "{part:?} missing: {line}");
    }
}

#[test]
fn config_unknown_key_is_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(dir.path(), "procfs = true\nsampel_interval_ms = 500\n");
    let line = one_line(&perchd_fails(&["--config", &config])).to_owned();
    for part in [config.as_str(), "sampel_interval_ms", "line 2"] {
        assert!(line.contains(part), "{part:?} missing: {line}");
    }
}

#[test]
fn plain_tcp_is_refused() {
    let out = perchd_fails(&["--listen", "127.0.0.1:0"]);
    let line = one_line(&out);
    assert!(line.contains("plain TCP is refused"), "{line}");
}

#[test]
fn missing_tls_cert_is_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = dir.path().join("key.pem");
    std::fs::write(&key, "not a key, but present").expect("write key");
    let cert = dir.path().join("missing-cert.pem");
    let (cert, key) = (cert.to_str().expect("utf-8"), key.to_str().expect("utf-8"));
    let out = perchd_fails(&[
        "--listen",
        "127.0.0.1:0",
        "--tls-cert",
        cert,
        "--tls-key",
        key,
    ]);
    let line = one_line(&out);
    assert!(line.contains(cert) && line.contains("--tls-cert"), "{line}");
}

#[test]
fn out_of_range_flag_names_flag_and_range() {
    let out = perchd_fails(&["--sample-interval-ms", "5"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "clap's usage error status: {out:?}"
    );
    // clap's message, then a hint line pointing at --help.
    let first = out.stderr.lines().next().unwrap_or_default();
    for part in ["--sample-interval-ms", "100..=60000", "5"] {
        assert!(first.contains(part), "{part:?} missing: {first}");
    }
}
