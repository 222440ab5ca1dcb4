//! Binding: socket mode, busy and stale sockets, unusable paths, and TCP
//! (refused without TLS, working with it).
use std::{
    net::SocketAddr,
    os::unix::fs::PermissionsExt as _,
    path::{Path, PathBuf},
    process::Command,
    sync::Arc,
};

use perch_proto::v1::{GetInfoRequest, collector_client::CollectorClient};
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint};

use super::{Running, TestApi, unix_channel};
use crate::{
    hub::Hub,
    roles::Roles,
    server::{ServeError, ServeOptions, TlsFiles, bind},
};

fn socket_opts(path: &Path) -> ServeOptions {
    ServeOptions {
        socket: Some(path.to_owned()),
        ..ServeOptions::default()
    }
}

fn tcp_opts(tls: Option<TlsFiles>) -> ServeOptions {
    ServeOptions {
        listen: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
        tls,
        ..ServeOptions::default()
    }
}

async fn bind_err(opts: ServeOptions) -> String {
    match bind(opts).await {
        Ok(b) => panic!("bind should fail, got {b:?}"),
        Err(e) => e.to_string(),
    }
}

#[tokio::test]
async fn socket_is_mode_0660() {
    let server = Running::start(Vec::new()).await;
    let mode = std::fs::metadata(&server.socket)
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o660);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn socket_group_is_given_or_refused_by_name() {
    use std::os::unix::fs::MetadataExt as _;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("perchd.sock");
    let bound = bind(ServeOptions {
        socket_group: Some("nogroup".to_owned()),
        ..socket_opts(&path)
    })
    .await
    .unwrap();
    let meta = std::fs::metadata(&path).unwrap();
    assert_eq!((meta.gid(), meta.mode() & 0o777), (65534, 0o660));
    drop(bound);
    // A number works too.
    let bound = bind(ServeOptions {
        socket_group: Some("4242".to_owned()),
        ..socket_opts(&path)
    })
    .await
    .unwrap();
    assert_eq!(std::fs::metadata(&path).unwrap().gid(), 4242);
    drop(bound);
    let err = bind_err(ServeOptions {
        socket_group: Some("no-such-group-perch".to_owned()),
        ..socket_opts(&path)
    })
    .await;
    assert_eq!(
        err,
        format!(
            "--socket-group no-such-group-perch for socket {}: no such group",
            path.display()
        )
    );
    assert!(!path.exists(), "nothing is created for a bad group");
}

#[tokio::test]
async fn busy_socket_is_refused_and_left_alone() {
    let server = Running::start(Vec::new()).await;
    let err = bind_err(socket_opts(&server.socket)).await;
    let expected = format!(
        "socket {} is busy: another perchd is listening",
        server.socket.display()
    );
    assert_eq!(err, expected);
    // The running server still answers.
    server
        .client()
        .await
        .get_info(GetInfoRequest {})
        .await
        .unwrap();
    server.stop().await.unwrap();
}

#[tokio::test]
async fn stale_socket_is_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("perchd.sock");
    // A socket file nobody listens on, as a crashed perchd leaves behind.
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    assert!(path.exists());
    let bound = bind(socket_opts(&path)).await.unwrap();
    let api = Arc::new(TestApi {
        hub: Hub::new(10, 4),
        processes: Vec::new(),
        roles: Roles::default(),
    });
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(bound.serve(api, async move {
        let _ = stopped.await;
    }));
    let mut client = CollectorClient::new(unix_channel(&path).await.unwrap());
    client.get_info(GetInfoRequest {}).await.unwrap();
    let _ = stop.send(());
    task.await.unwrap().unwrap();
    assert!(!path.exists());
}

#[tokio::test]
async fn a_file_that_is_not_a_socket_is_not_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("perchd.sock");
    std::fs::write(&path, "precious").unwrap();
    let err = bind_err(socket_opts(&path)).await;
    assert!(err.contains("is not a socket"), "{err}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "precious");
}

#[tokio::test]
async fn unusable_socket_path_names_path_and_os_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("file");
    std::fs::write(&file, "").unwrap();
    let path = file.join("perchd.sock");
    let err = bind_err(socket_opts(&path)).await;
    let expected = format!(
        "cannot create directory {} for socket {}: File exists (os error 17)",
        file.display(),
        path.display()
    );
    assert_eq!(err, expected);
    // Binding itself failing (here: a path longer than a socket address
    // holds) is reported with the path and the reason too.
    let long = dir.path().join("x".repeat(120));
    let err = bind_err(socket_opts(&long)).await;
    assert!(
        err.starts_with(&format!("cannot bind socket {}: ", long.display())),
        "{err}"
    );
    assert!(err.contains("shorter than SUN_LEN"), "{err}");
}

#[tokio::test]
async fn nothing_to_listen_on_is_an_error() {
    assert!(matches!(
        bind(ServeOptions::default()).await,
        Err(ServeError::NoListener)
    ));
}

#[tokio::test]
async fn plain_tcp_is_refused_before_anything_is_created() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("perchd.sock");
    let opts = ServeOptions {
        socket: Some(socket.clone()),
        ..tcp_opts(None)
    };
    let err = bind_err(opts).await;
    assert!(
        err.contains("refusing to serve plain TCP on 127.0.0.1:0"),
        "{err}"
    );
    assert!(!socket.exists());
}

#[tokio::test]
async fn bad_tls_files_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.pem");
    let garbage = dir.path().join("garbage.pem");
    std::fs::write(&garbage, "not PEM at all\n").unwrap();
    let (cert, key) = make_cert(dir.path());

    let err = bind_err(tcp_opts(Some(TlsFiles {
        cert: missing.clone(),
        key: key.clone(),
        client_ca: None,
    })))
    .await;
    assert!(
        err.starts_with(&format!("TLS certificate {}: ", missing.display())),
        "{err}"
    );
    assert!(err.contains("No such file"), "{err}");
    let err = bind_err(tcp_opts(Some(TlsFiles {
        cert: garbage.clone(),
        key: key.clone(),
        client_ca: None,
    })))
    .await;
    assert!(
        err.starts_with(&format!("TLS certificate {}: ", garbage.display())),
        "{err}"
    );
    let err = bind_err(tcp_opts(Some(TlsFiles {
        cert: cert.clone(),
        key: garbage.clone(),
        client_ca: None,
    })))
    .await;
    assert!(
        err.starts_with(&format!("TLS key {}: ", garbage.display())),
        "{err}"
    );
    // A key that does not belong to the certificate.
    let (_, other_key) = make_cert(&dir.path().join("other"));
    let err = bind_err(tcp_opts(Some(TlsFiles {
        cert,
        key: other_key,
        client_ca: None,
    })))
    .await;
    assert!(err.contains("do not make a usable identity"), "{err}");
}

#[tokio::test]
async fn tls_over_tcp_serves() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = make_cert(dir.path());
    let bound = bind(tcp_opts(Some(TlsFiles {
        cert,
        key,
        client_ca: None,
    })))
    .await
    .unwrap();
    let addr = bound.local_addr().unwrap();
    let api = Arc::new(TestApi {
        hub: Hub::new(10, 4),
        processes: Vec::new(),
        roles: Roles::default(),
    });
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(bound.serve(api, async move {
        let _ = stopped.await;
    }));
    let ca = std::fs::read(dir.path().join("ca.pem")).unwrap();
    let tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(ca))
        .domain_name("localhost");
    let channel = Endpoint::from_shared(format!("https://{addr}"))
        .unwrap()
        .tls_config(tls)
        .unwrap()
        .connect()
        .await
        .unwrap();
    let info = CollectorClient::new(channel)
        .get_info(GetInfoRequest {})
        .await
        .unwrap();
    assert_eq!(info.into_inner().version, "test");
    let _ = stop.send(());
    task.await.unwrap().unwrap();
}

/// A CA (`dir/ca.pem`) and a server certificate for `localhost` signed by
/// it, made with the openssl command-line tool.  Returns (cert, key).
pub(super) fn make_cert(dir: &Path) -> (PathBuf, PathBuf) {
    std::fs::create_dir_all(dir).unwrap();
    let p = |name: &str| dir.join(name).display().to_string();
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let steps: [Vec<String>; 3] = [
        ["req", "-x509"]
            .iter()
            .chain(&ec)
            .map(ToString::to_string)
            .chain(
                [
                    "-keyout",
                    &p("ca.key"),
                    "-out",
                    &p("ca.pem"),
                    "-days",
                    "1",
                    "-subj",
                    "/CN=perch test CA",
                ]
                .map(String::from),
            )
            .collect(),
        ["req"]
            .iter()
            .chain(&ec)
            .map(ToString::to_string)
            .chain(
                [
                    "-keyout",
                    &p("key.pem"),
                    "-out",
                    &p("cert.csr"),
                    "-subj",
                    "/CN=localhost",
                ]
                .map(String::from),
            )
            .collect(),
        [
            "x509",
            "-req",
            "-in",
            &p("cert.csr"),
            "-CA",
            &p("ca.pem"),
            "-CAkey",
            &p("ca.key"),
            "-CAcreateserial",
            "-out",
            &p("cert.pem"),
            "-days",
            "1",
            "-extfile",
            &p("ext.cnf"),
        ]
        .map(String::from)
        .to_vec(),
    ];
    for args in steps {
        let out = Command::new("openssl")
            .args(&args)
            .output()
            .expect("the openssl tool is needed for TLS tests");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    (dir.join("cert.pem"), dir.join("key.pem"))
}
