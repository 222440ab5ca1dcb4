//! Config file and validation rules, with the messages users see.
use super::*;

/// `text` as perchd.toml over the defaults (every config module's tests).
pub(super) fn merge(text: &str) -> Result<Settings, ConfigError> {
    let mut s = Settings::default();
    s.merge_str(Path::new("perchd.toml"), text)?;
    Ok(s)
}

#[test]
fn values_are_merged() {
    let s = merge("socket = \"/tmp/x.sock\"\nsample_interval_ms = 500\nprocfs = true\n")
        .expect("valid");
    assert_eq!(s.socket.as_deref(), Some(Path::new("/tmp/x.sock")));
    assert_eq!(s.sample_interval, Duration::from_millis(500));
    assert!(s.force_procfs);
}

#[test]
fn out_of_range_names_key_line_and_range() {
    let e = merge("procfs = false\n\nsample_interval_ms = 5\n")
        .expect_err("too small")
        .to_string();
    assert_eq!(
        e,
        "config perchd.toml line 3: sample_interval_ms must be in 100..=60000 (got 5)"
    );
}

#[test]
fn unknown_key_and_bad_type_name_the_line() {
    let e = merge("socket = \"/x\"\nsampel_interval_ms = 5\n")
        .expect_err("typo")
        .to_string();
    assert!(
        e.contains("line 2") && e.contains("sampel_interval_ms"),
        "{e}"
    );
    let e = merge("replay_capacity = \"lots\"\n")
        .expect_err("type")
        .to_string();
    assert!(e.contains("line 1"), "{e}");
}

#[test]
fn roles_are_read() {
    let s = merge(
        "[roles]\nadmin = [\"group:root\", \"cert:alice\"]\noperator = [\"user:nobody\", \"uid:1000\"]\n",
    )
    .expect("valid");
    assert_eq!(
        s.roles.admin,
        [Principal::Gid(0), Principal::Cert("alice".into())]
    );
    assert_eq!(
        s.roles.operator,
        [Principal::Uid(65534), Principal::Uid(1000)]
    );
    assert_eq!(merge("").expect("empty").roles, Roles::default());
}

#[test]
fn bad_role_entries_name_key_and_line() {
    let e = |text: &str| merge(text).expect_err("bad").to_string();
    assert_eq!(
        e(
            "procfs = true\n[roles]\nadmin = [\"uid:0\"]\noperator = [\n  \"uid:1000\",\n  \"user:no-such-user-perch\",\n]\n"
        ),
        "config perchd.toml line 6: roles.operator: unknown user \"no-such-user-perch\""
    );
    assert_eq!(
        e("[roles]\nadmin = [\"uid:x\"]\n"),
        "config perchd.toml line 2: roles.admin: bad uid \"x\": expected a number in 0..=4294967294"
    );
    assert!(
        e("[roles]\nadmin = [\"wheel\"]\n")
            .starts_with("config perchd.toml line 2: roles.admin: \"wheel\" has no kind")
    );
    assert!(e("[roles]\nadmin = [\"grp:wheel\"]\n").contains("unknown kind \"grp\""));
    assert!(
        e("[roles]\nadmin = [\"group:no-such-group-perch\"]\n")
            .contains("line 2: roles.admin: unknown group")
    );
    // Unknown role names and wrong types are parse errors with a line.
    let viewer = e("\n[roles]\nviewers = [\"uid:1\"]\n");
    assert!(
        viewer.contains("line 3") && viewer.contains("viewers"),
        "{viewer}"
    );
    let typed = e("[roles]\nadmin = \"uid:0\"\n");
    assert!(typed.contains("line 2"), "{typed}");
}

#[test]
fn client_ca_needs_listen() {
    let s = Settings {
        tls_client_ca: Some("/etc/hostname".into()),
        ..Settings::default()
    };
    assert!(
        s.validate()
            .expect_err("no listen")
            .to_string()
            .contains("--tls-client-ca are only used with --listen")
    );
}

#[test]
fn plain_tcp_is_refused() {
    let s = Settings {
        listen: Some("127.0.0.1:7443".parse().expect("addr")),
        ..Settings::default()
    };
    assert!(
        s.validate()
            .expect_err("no tls")
            .to_string()
            .contains("plain TCP is refused")
    );
}

#[test]
fn byte_bounds_are_read_and_checked() {
    let s = merge("replay_bytes = 8388608\nclient_queue_bytes = 262144\nexited_bytes = 1048576\n")
        .expect("valid");
    let hub = s.hub_limits();
    assert_eq!(
        (hub.replay_bytes, hub.client_queue_bytes),
        (8 << 20, 256 << 10)
    );
    assert_eq!(s.exited_bytes, 1 << 20);
    assert_eq!(
        merge("\nreplay_bytes = 1000\n")
            .expect_err("small")
            .to_string(),
        "config perchd.toml line 2: replay_bytes must be in 1048576..=4294967296 (got 1000)"
    );
    assert_eq!(
        merge("client_queue_bytes = 0\n")
            .expect_err("zero")
            .to_string(),
        "config perchd.toml line 1: client_queue_bytes must be in 65536..=268435456 (got 0)"
    );
    assert!(
        merge("exited_bytes = 5000000000000\n")
            .expect_err("huge")
            .to_string()
            .contains("exited_bytes must be in 65536..=4294967296")
    );
}

#[test]
fn stream_limits_are_read_and_checked() {
    let s = merge("max_streams = 4\nmax_streams_per_caller = 2\n").expect("valid");
    assert_eq!(
        s.stream_limits,
        StreamLimits {
            total: 4,
            per_caller: 2
        }
    );
    assert_eq!(
        merge("max_streams = 0\n").expect_err("zero").to_string(),
        "config perchd.toml line 1: max_streams must be in 1..=65536 (got 0)"
    );
}
