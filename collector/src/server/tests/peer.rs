//! Caller identity for real: a server on a temp Unix socket with perchd's
//! own accept path, whose interceptor records `identify()` for every call,
//! and clients that are this test binary again (the ignored `peer_client`)
//! started under setpriv(1) as other uids and groups.
use std::{
    os::unix::fs::PermissionsExt as _,
    path::Path,
    process::Command,
    sync::{Arc, Mutex},
    time::Duration,
};

use perch_proto::v1::{
    GetInfoRequest, collector_client::CollectorClient, collector_server::CollectorServer,
};
use tonic::{Request, Status, transport::Server};

use super::{TestApi, unix_channel};
use crate::{
    hub::Hub,
    roles::{Identity, Principal, Roles, identify},
    server::{
        CollectorService,
        listen::{accepted_unix, gate::Gate},
    },
};

const SOCKET_ENV: &str = "PERCH_PEER_TEST_SOCKET";

#[tokio::test]
#[ignore = "the client half of the peer identity tests, which run it as other uids"]
async fn peer_client() {
    let socket = std::env::var_os(SOCKET_ENV).expect("run by the peer identity tests");
    let channel = unix_channel(Path::new(&socket)).await.expect("connect");
    let info = CollectorClient::new(channel)
        .get_info(GetInfoRequest {})
        .await
        .expect("GetInfo")
        .into_inner();
    println!(
        "\nPEER pid={} role={} caller={}",
        std::process::id(),
        info.caller_role().as_str_name(),
        info.caller
    );
}

/// What a client saw and what the server recorded for it.
struct Seen {
    pid: u32,
    role: String,
    caller: String,
    identity: Identity,
}

/// Runs `peer_client` under `setpriv ARGS` (or directly with no args).
fn run_client(socket: &Path, setpriv: &[&str], recorded: &Mutex<Vec<Identity>>) -> Seen {
    let exe = std::env::current_exe().unwrap();
    let mut cmd = if setpriv.is_empty() {
        Command::new(&exe)
    } else {
        let mut c = Command::new("setpriv");
        c.args(setpriv).arg(&exe);
        c
    };
    let out = cmd
        .args([
            "--exact",
            "server::tests::peer::peer_client",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(SOCKET_ENV, socket)
        .output()
        .expect("run the client");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "client {setpriv:?}: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("PEER "))
        .unwrap_or_else(|| panic!("no PEER line: {stdout}"));
    let (pid, rest) = line.split_once(' ').unwrap();
    let (role, caller) = rest.split_once(' ').unwrap();
    let pid: u32 = pid.strip_prefix("pid=").unwrap().parse().unwrap();
    let identity = recorded
        .lock()
        .unwrap()
        .iter()
        .find(|i| i.pid == Some(pid))
        .cloned()
        .unwrap_or_else(|| panic!("the server recorded no call from pid {pid}"));
    Seen {
        pid,
        role: role.strip_prefix("role=").unwrap().to_owned(),
        caller: caller.strip_prefix("caller=").unwrap().to_owned(),
        identity,
    }
}

/// A client's result, within a bound.
async fn get(client: tokio::task::JoinHandle<Seen>) -> Seen {
    tokio::time::timeout(Duration::from_mins(1), client)
        .await
        .expect("the client finished within 60 s")
        .expect("the client thread")
}

#[tokio::test(flavor = "multi_thread")]
async fn unix_peers_are_identified_by_their_credentials() {
    let dir = tempfile::tempdir().unwrap();
    // Other uids must reach the socket: open the directory and the socket.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let socket = dir.path().join("peer.sock");
    let listener = tokio::net::UnixListener::bind(&socket).unwrap();
    std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o666)).unwrap();
    let api = Arc::new(TestApi {
        hub: Hub::new(10, 4),
        processes: Vec::new(),
        roles: Roles {
            admin: Vec::new(),
            operator: vec![Principal::Gid(4242)],
        },
    });
    let recorded = Arc::new(Mutex::new(Vec::new()));
    let record = {
        let recorded = Arc::clone(&recorded);
        move |req: Request<()>| -> Result<Request<()>, Status> {
            recorded.lock().unwrap().push(identify(&req));
            Ok(req)
        }
    };
    let service = CollectorServer::with_interceptor(CollectorService::new(api), record);
    let server = tokio::spawn(
        Server::builder()
            .add_service(service)
            .serve_with_incoming(accepted_unix(listener, Gate::new("unix", 16, 16))),
    );
    let run = |args: &'static [&'static str]| {
        let socket = socket.clone();
        let recorded = Arc::clone(&recorded);
        tokio::task::spawn_blocking(move || run_client(&socket, args, &recorded))
    };

    let root: Seen = get(run(&[])).await;
    assert_eq!(root.role, "ROLE_ADMIN");
    assert_eq!(root.caller, "uid 0 (root)");
    assert_eq!(root.identity.uid, Some(0));
    assert_eq!(root.identity.origin, format!("unix pid {}", root.pid));

    let nobody: Seen = get(run(&["--reuid=65534", "--regid=65534", "--clear-groups"])).await;
    assert_eq!(nobody.role, "ROLE_VIEWER");
    assert_eq!(nobody.caller, "uid 65534 (nobody)");
    let id = &nobody.identity;
    assert_eq!(
        (id.uid, id.gid, id.pid),
        (Some(65534), Some(65534), Some(nobody.pid))
    );
    assert!(id.groups.is_empty(), "{id:?}");
    assert_eq!(id.user.as_deref(), Some("nobody"));

    // A supplementary group (read from the socket, SO_PEERGROUPS) ...
    let member: Seen = get(run(&[
        "--reuid=65534",
        "--regid=65534",
        "--groups=100,4242",
    ]))
    .await;
    assert_eq!(member.role, "ROLE_OPERATOR", "{:?}", member.identity);
    assert_eq!(member.identity.groups, [100, 4242]);
    // ... and the primary group count.
    let primary: Seen = get(run(&["--reuid=65534", "--regid=4242", "--clear-groups"])).await;
    assert_eq!(primary.role, "ROLE_OPERATOR", "{:?}", primary.identity);
    assert_eq!(primary.identity.gid, Some(4242));

    server.abort();
}
