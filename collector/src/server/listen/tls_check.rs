//! The server certificate, checked at start-up for what TLS clients would
//! refuse later with an opaque error: a CA certificate used as a server's
//! own (`openssl req -x509` makes CA:TRUE certificates by default; rustls
//! clients then fail with `CaUsedAsEndEntity`), and no subjectAltName
//! (clients match the host against it, not against the CN).
use std::path::Path;

use perch_client::tls::{pem_has_alt_names, pem_is_ca};

use super::ServeError;

/// How to make a certificate clients accept, for the messages.
pub const RECIPE: &str = "make one with CA:FALSE and the names clients connect to, e.g. \
    `openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 365 \
    -keyout key.pem -out cert.pem -subj /CN=HOST -addext basicConstraints=critical,CA:FALSE \
    -addext subjectAltName=DNS:HOST -addext extendedKeyUsage=serverAuth` (clients then trust \
    cert.pem with --tls-ca), or sign one with your own CA (README, \"Remote access\")";

/// Refuses a CA certificate as the server's own, saying why and how to
/// make a proper one; warns when it names no host.
pub(super) fn server_certificate(pem: &[u8], path: &Path) -> Result<(), ServeError> {
    if pem_is_ca(pem) {
        return Err(ServeError::tls_file(
            path,
            "certificate",
            format!(
                "it is a CA certificate (basicConstraints CA:TRUE, what `openssl req -x509` \
                 makes unless told otherwise), and TLS clients refuse a CA certificate as a \
                 server's own (CaUsedAsEndEntity); {RECIPE}"
            ),
        ));
    }
    if pem_has_alt_names(pem) == Some(false) {
        tracing::warn!(
            path = %path.display(),
            "TLS certificate has no subjectAltName: clients will refuse it (NotValidForName); {RECIPE}"
        );
    }
    Ok(())
}
