//! Certificates as TLS peers will judge them: a CA certificate
//! (basicConstraints CA:TRUE, what `openssl req -x509` makes unless told
//! otherwise) is refused as an end entity's, by rustls with the opaque
//! `CaUsedAsEndEntity`.  perchd checks its own certificate with this, and
//! `perch` its client certificate, to say so in words first.
use rustls_pki_types::{CertificateDer, pem::PemObject as _};

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
