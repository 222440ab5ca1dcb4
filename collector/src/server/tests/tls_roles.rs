//! TLS callers: identified by a client certificate signed by the
//! configured client CA (its subject CN), served as viewers without one,
//! refused with one from another CA.
use std::{net::SocketAddr, path::Path, path::PathBuf, process::Command, sync::Arc};

use perch_proto::v1::{GetInfoRequest, GetInfoResponse, Role, collector_client::CollectorClient};
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity};

use super::{TestApi, listen::make_cert};
use crate::{
    hub::Hub,
    roles::{Principal, Roles},
    server::{ServeOptions, TlsFiles, bind},
};

fn openssl(args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .expect("the openssl tool is needed for TLS tests");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A client certificate for `cn` signed by the CA that `make_cert` made in
/// `dir`.  Returns (cert, key).
fn client_cert(dir: &Path, cn: &str) -> (PathBuf, PathBuf) {
    let p = |name: &str| dir.join(name).display().to_string();
    std::fs::write(
        dir.join("client.cnf"),
        "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n",
    )
    .unwrap();
    let (key, csr, cert) = (
        p(&format!("{cn}.key")),
        p(&format!("{cn}.csr")),
        p(&format!("{cn}.pem")),
    );
    openssl(&[
        "req",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        &key,
        "-out",
        &csr,
        "-subj",
        &format!("/CN={cn}"),
    ]);
    openssl(&[
        "x509",
        "-req",
        "-in",
        &csr,
        "-CA",
        &p("ca.pem"),
        "-CAkey",
        &p("ca.key"),
        "-CAcreateserial",
        "-out",
        &cert,
        "-days",
        "1",
        "-extfile",
        &p("client.cnf"),
    ]);
    (cert.into(), key.into())
}

async fn get_info(
    addr: SocketAddr,
    ca: &Path,
    client: Option<&(PathBuf, PathBuf)>,
) -> Result<GetInfoResponse, String> {
    let mut tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(std::fs::read(ca).unwrap()))
        .domain_name("localhost");
    if let Some((cert, key)) = client {
        tls = tls.identity(Identity::from_pem(
            std::fs::read(cert).unwrap(),
            std::fs::read(key).unwrap(),
        ));
    }
    let channel = Endpoint::from_shared(format!("https://{addr}"))
        .unwrap()
        .tls_config(tls)
        .unwrap()
        .connect()
        .await
        .map_err(|e| format!("connect: {e:?}"))?;
    CollectorClient::new(channel)
        .get_info(GetInfoRequest {})
        .await
        .map(tonic::Response::into_inner)
        .map_err(|e| format!("GetInfo: {e:?}"))
}

#[tokio::test]
async fn tls_callers_are_identified_by_their_client_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = make_cert(dir.path());
    let alice = client_cert(dir.path(), "alice");
    let bob = client_cert(dir.path(), "bob");
    // Someone else's CA issuing an "alice" certificate.
    let rogue = dir.path().join("rogue");
    make_cert(&rogue);
    let mallory = client_cert(&rogue, "alice");

    let bound = bind(ServeOptions {
        listen: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
        tls: Some(TlsFiles {
            cert,
            key,
            client_ca: Some(dir.path().join("ca.pem")),
        }),
        ..ServeOptions::default()
    })
    .await
    .unwrap();
    let addr = bound.local_addr().unwrap();
    let api = Arc::new(TestApi {
        hub: Hub::new(10, 4),
        processes: Vec::new(),
        roles: Roles {
            admin: vec![Principal::Cert("alice".into())],
            operator: Vec::new(),
        },
    });
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(bound.serve(api, async move {
        let _ = stopped.await;
    }));
    let ca = dir.path().join("ca.pem");

    let info = get_info(addr, &ca, Some(&alice)).await.unwrap();
    assert_eq!(info.caller, "cert CN=alice");
    assert_eq!(info.caller_role(), Role::Admin);

    let info = get_info(addr, &ca, Some(&bob)).await.unwrap();
    assert_eq!(info.caller, "cert CN=bob");
    assert_eq!(info.caller_role(), Role::Viewer);

    let info = get_info(addr, &ca, None).await.unwrap();
    assert!(
        info.caller.starts_with("tls 127.0.0.1:")
            && info.caller.ends_with(" (no client certificate)"),
        "{}",
        info.caller
    );
    assert_eq!(info.caller_role(), Role::Viewer);

    let refused = get_info(addr, &ca, Some(&mallory)).await;
    assert!(
        refused.is_err(),
        "a certificate from another CA: {refused:?}"
    );

    let _ = stop.send(());
    task.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_bad_client_ca_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = make_cert(dir.path());
    let garbage = dir.path().join("garbage.pem");
    std::fs::write(&garbage, "not a certificate").unwrap();
    let err = bind(ServeOptions {
        listen: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
        tls: Some(TlsFiles {
            cert,
            key,
            client_ca: Some(garbage.clone()),
        }),
        ..ServeOptions::default()
    })
    .await
    .unwrap_err()
    .to_string();
    assert_eq!(
        err,
        format!(
            "TLS client CA {}: no PEM certificate found",
            garbage.display()
        )
    );
}
