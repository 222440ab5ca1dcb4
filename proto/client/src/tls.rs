//! Certificates as TLS peers will judge them: a CA certificate
//! (basicConstraints CA:TRUE, what `openssl req -x509` makes unless told
//! otherwise) is refused as an end entity's, by rustls with the opaque
//! `CaUsedAsEndEntity`.  perchd checks its own certificate with this, and
//! `perch` its client certificate, to say so in words first; and the
//! client certificate perch presents, read and checked.
use std::path::PathBuf;

use rustls_pki_types::{CertificateDer, pem::PemObject as _};
use tonic::transport::Identity;

use crate::connect::{ClientCert, ConnectError, os_reason};

/// Whether the first certificate in `pem` is a CA certificate.  Anything
/// that is not a readable certificate is not (TLS reports that itself).
#[must_use]
pub fn pem_is_ca(pem: &[u8]) -> bool {
    CertificateDer::pem_slice_iter(pem)
        .next()
        .and_then(Result::ok)
        .and_then(|der| {
            x509_parser::parse_x509_certificate(der.as_ref())
                .ok()
                .map(|(_, cert)| cert.is_ca())
        })
        .unwrap_or(false)
}

/// Whether the first certificate in `pem` names a subject alternative
/// name (`None` when it cannot be read).
#[must_use]
pub fn pem_has_alt_names(pem: &[u8]) -> Option<bool> {
    let der = CertificateDer::pem_slice_iter(pem).next()?.ok()?;
    let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref()).ok()?;
    Some(cert.subject_alternative_name().ok().flatten().is_some())
}

/// The client certificate and key, read and checked: a CA certificate
/// (what `openssl req -x509` makes by default) is refused by perchd as a
/// client's, so it is refused here first, with how to make a proper one.
pub(crate) async fn client_identity(c: &ClientCert) -> Result<Identity, ConnectError> {
    let read = |what: &'static str, path: &PathBuf| {
        let path = path.clone();
        async move {
            tokio::fs::read(&path)
                .await
                .map_err(|e| ConnectError::TlsClient {
                    what,
                    path,
                    reason: os_reason(&e),
                })
        }
    };
    let cert = read("certificate", &c.cert).await?;
    let key = read("key", &c.key).await?;
    if pem_is_ca(&cert) {
        return Err(ConnectError::TlsClient {
            what: "certificate",
            path: c.cert.clone(),
            reason: "it is a CA certificate (basicConstraints CA:TRUE, what `openssl req -x509` \
                     makes unless told otherwise), which perchd refuses as a client's \
                     (CaUsedAsEndEntity); have the CA in perchd's --tls-client-ca sign a client \
                     certificate with basicConstraints=CA:FALSE and extendedKeyUsage=clientAuth \
                     (README, \"Remote access\")"
                .to_owned(),
        });
    }
    Ok(Identity::from_pem(cert, key))
}

/// rustls' names for certificate problems, said so the user knows what to
/// change.
pub(crate) fn explain(reason: &str) -> String {
    if reason.contains("CaUsedAsEndEntity") {
        format!(
            "{reason}: the collector's certificate is a CA certificate (basicConstraints \
             CA:TRUE); it needs one with CA:FALSE (README, \"Remote access\")"
        )
    } else {
        reason.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_not_a_ca() {
        assert!(!pem_is_ca(b"not PEM"));
        assert!(!pem_is_ca(b""));
        assert_eq!(pem_has_alt_names(b"nothing"), None);
    }
}
