//! Real certificates for the TLS tests, made with the openssl tool in a
//! temp dir: a CA, a server certificate for localhost / 127.0.0.1 signed
//! by it, client certificates by common name, and the CA:TRUE self-signed
//! certificate that `openssl req -x509` makes by default.
use std::{
    path::{Path, PathBuf},
    process::Command,
};

/// Runs `openssl ARGS`, panicking with its stderr when it fails.
pub fn openssl(args: &[&str]) {
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

const EC: [&str; 5] = [
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
];

/// A CA and a server certificate it signed, in one directory.
pub struct Pki {
    pub dir: PathBuf,
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl Pki {
    /// Makes the CA and the server certificate (localhost, 127.0.0.1).
    #[must_use]
    pub fn make(dir: &Path) -> Self {
        std::fs::create_dir_all(dir).expect("mkdir");
        let p = |name: &str| dir.join(name).display().to_string();
        let mut ca = vec!["req", "-x509"];
        ca.extend(EC);
        let (ca_key, ca_pem) = (p("ca.key"), p("ca.pem"));
        ca.extend([
            "-keyout",
            &ca_key,
            "-out",
            &ca_pem,
            "-days",
            "1",
            "-subj",
            "/CN=perch e2e CA",
        ]);
        openssl(&ca);
        let me = Self {
            dir: dir.to_owned(),
            ca: dir.join("ca.pem"),
            cert: dir.join("server.pem"),
            key: dir.join("server.key"),
        };
        me.sign(
            "server",
            "localhost",
            "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n\
             extendedKeyUsage=serverAuth\n",
        );
        me
    }

    /// A client certificate for `cn`, signed by the CA: (cert, key).
    #[must_use]
    pub fn client(&self, cn: &str) -> (PathBuf, PathBuf) {
        self.sign(
            cn,
            cn,
            "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n",
        )
    }

    /// `name.pem` and `name.key`, subject CN `cn`, with extensions `ext`.
    fn sign(&self, name: &str, cn: &str, ext: &str) -> (PathBuf, PathBuf) {
        let p = |file: &str| self.dir.join(file).display().to_string();
        let (key, csr, cert, cnf) = (
            p(&format!("{name}.key")),
            p(&format!("{name}.csr")),
            p(&format!("{name}.pem")),
            p(&format!("{name}.cnf")),
        );
        std::fs::write(&cnf, ext).expect("write extensions");
        let subj = format!("/CN={cn}");
        let mut req = vec!["req"];
        req.extend(EC);
        req.extend(["-keyout", &key, "-out", &csr, "-subj", &subj]);
        openssl(&req);
        let (ca, ca_key) = (p("ca.pem"), p("ca.key"));
        openssl(&[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            &ca,
            "-CAkey",
            &ca_key,
            "-CAcreateserial",
            "-out",
            &cert,
            "-days",
            "1",
            "-extfile",
            &cnf,
        ]);
        (cert.into(), key.into())
    }
}

/// What `openssl req -x509 -newkey ... -subj /CN=cn` makes when told no
/// more: a self-signed certificate with basicConstraints CA:TRUE.
/// Returns (cert, key).
#[must_use]
pub fn default_self_signed(dir: &Path, cn: &str) -> (PathBuf, PathBuf) {
    let key = dir.join(format!("{cn}-selfsigned.key"));
    let cert = dir.join(format!("{cn}-selfsigned.pem"));
    let (k, c) = (key.display().to_string(), cert.display().to_string());
    let subj = format!("/CN={cn}");
    let mut args = vec!["req", "-x509"];
    args.extend(EC);
    args.extend(["-keyout", &k, "-out", &c, "-days", "1", "-subj", &subj]);
    openssl(&args);
    (cert, key)
}

/// A free TCP port on 127.0.0.1 (free when asked; perchd binds it next).
#[must_use]
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.1:0")
        .port()
}
