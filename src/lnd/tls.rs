//! TLS towards LND: trust exactly the certificate in the configured `tls.cert`.
//!
//! LND generates a self-signed certificate that is marked `CA:TRUE`. A WebPKI verifier rejects
//! such a certificate when the server presents it as its own (end-entity) certificate, so the
//! usual "add it as a root" approach fails. Instead [`PinnedCertVerifier`] compares the server's
//! certificate byte for byte with the pinned one(s), and then still verifies the handshake
//! signatures with the pinned certificate's public key, so a server that merely *presents* the
//! certificate without holding its private key is refused.
//!
//! What the pin does not check, on purpose: host names (the pin already names the one server we
//! trust) and validity dates (LND regenerates an expired certificate itself, which changes the
//! bytes, so an old pin fails anyway and says so).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, OtherError, SignatureScheme};

/// Why the pinned certificate file could not be turned into a verifier.
#[derive(Debug, thiserror::Error)]
pub enum PinLoadError {
    #[error("cannot read LND's TLS certificate {path}: {source}")]
    Unreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("LND's TLS certificate {path} is not valid PEM: {reason}")]
    BadPem { path: PathBuf, reason: String },
    #[error(
        "LND's TLS certificate {path} contains no PEM certificate (expected a `tls.cert` file)"
    )]
    NoCertificate { path: PathBuf },
}

/// The error the verifier hands to rustls when the server's certificate is not the pinned one.
///
/// It travels inside rustls' `CertificateError::Other` through tokio-rustls, hyper and tonic;
/// [`find_pin_mismatch`] digs it out again so the caller gets `TlsPinMismatch`, not a generic
/// transport error.
#[derive(Debug, thiserror::Error)]
#[error("server certificate is not the pinned certificate {cert_path}")]
pub struct PinMismatch {
    pub cert_path: PathBuf,
}

/// A rustls server-certificate verifier that accepts exactly the pinned certificate(s).
///
/// Invariant: `pinned` is non-empty (construction fails otherwise), so the verifier can never
/// degrade into "accept anything".
#[derive(Debug)]
pub struct PinnedCertVerifier {
    pinned: Vec<CertificateDer<'static>>,
    cert_path: PathBuf,
    algorithms: WebPkiSupportedAlgorithms,
}

impl PinnedCertVerifier {
    /// Reads and pins every certificate in the PEM file at `path` (LND writes one; a file with
    /// several is accepted and any of them may be presented).
    pub fn from_pem_file(path: &Path) -> Result<Self, PinLoadError> {
        let pem = std::fs::read(path).map_err(|source| PinLoadError::Unreadable {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_pem(&pem, path)
    }

    /// Pins the certificates in `pem`; `path` only names the source in errors.
    pub fn from_pem(pem: &[u8], path: &Path) -> Result<Self, PinLoadError> {
        let pinned = CertificateDer::pem_slice_iter(pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| PinLoadError::BadPem {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })?;
        if pinned.is_empty() {
            return Err(PinLoadError::NoCertificate {
                path: path.to_path_buf(),
            });
        }
        Ok(PinnedCertVerifier {
            pinned,
            cert_path: path.to_path_buf(),
            algorithms: rustls::crypto::ring::default_provider().signature_verification_algorithms,
        })
    }

    /// The file the pinned certificates came from.
    pub fn cert_path(&self) -> &Path {
        &self.cert_path
    }

    fn is_pinned(&self, presented: &CertificateDer<'_>) -> bool {
        self.pinned
            .iter()
            .any(|pin| pin.as_ref() == presented.as_ref())
    }
}

impl ServerCertVerifier for PinnedCertVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if self.is_pinned(end_entity) {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(CertificateError::Other(
                OtherError(Arc::new(PinMismatch {
                    cert_path: self.cert_path.clone(),
                })),
            )))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// Finds a [`PinMismatch`] anywhere in an error's source chain.
///
/// `std::io::Error::source` skips the error it wraps, and tokio-rustls reports handshake
/// failures as an `io::Error` around the `rustls::Error`, so the walk looks inside
/// `io::Error`s explicitly.
pub fn find_pin_mismatch<'a>(
    error: &'a (dyn std::error::Error + 'static),
) -> Option<&'a PinMismatch> {
    let mut next = Some(error);
    while let Some(err) = next {
        if let Some(found) = as_pin_mismatch(err) {
            return Some(found);
        }
        if let Some(inner) = err
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            let inner: &(dyn std::error::Error + 'static) = inner;
            if let Some(found) = find_pin_mismatch(inner) {
                return Some(found);
            }
        }
        next = err.source();
    }
    None
}

fn as_pin_mismatch<'a>(err: &'a (dyn std::error::Error + 'static)) -> Option<&'a PinMismatch> {
    if let Some(found) = err.downcast_ref::<PinMismatch>() {
        return Some(found);
    }
    match err.downcast_ref::<rustls::Error>() {
        Some(rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(other)))) => {
            other.downcast_ref::<PinMismatch>()
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};

    /// An LND-like certificate: self-signed, CA:TRUE, `localhost` SAN, ECDSA P-256.
    fn lnd_like_cert() -> (rcgen::Certificate, KeyPair) {
        let mut params =
            CertificateParams::new(vec!["localhost".to_string()]).expect("valid SAN list");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let key = KeyPair::generate().expect("key generation");
        let cert = params.self_signed(&key).expect("self-signing");
        (cert, key)
    }

    fn verify(
        verifier: &PinnedCertVerifier,
        cert: &CertificateDer<'_>,
    ) -> Result<(), rustls::Error> {
        verifier
            .verify_server_cert(
                cert,
                &[],
                &ServerName::try_from("localhost").expect("valid name"),
                &[],
                UnixTime::now(),
            )
            .map(|_| ())
    }

    #[test]
    fn accepts_exactly_the_pinned_certificate() {
        let (pinned, _) = lnd_like_cert();
        let (other, _) = lnd_like_cert();
        let verifier =
            PinnedCertVerifier::from_pem(pinned.pem().as_bytes(), Path::new("/x/tls.cert"))
                .expect("pin");
        verify(&verifier, pinned.der()).expect("pinned cert accepted");

        let err = verify(&verifier, other.der()).expect_err("other cert refused");
        let err: &(dyn std::error::Error + 'static) = &err;
        let mismatch = find_pin_mismatch(err).expect("the refusal is a pin mismatch");
        assert_eq!(mismatch.cert_path, Path::new("/x/tls.cert"));
    }

    #[test]
    fn any_certificate_of_a_multi_certificate_pem_is_accepted() {
        let (first, _) = lnd_like_cert();
        let (second, _) = lnd_like_cert();
        let (third, _) = lnd_like_cert();
        let pem = format!("{}{}", first.pem(), second.pem());
        let verifier =
            PinnedCertVerifier::from_pem(pem.as_bytes(), Path::new("both.pem")).expect("pin");
        verify(&verifier, first.der()).expect("first accepted");
        verify(&verifier, second.der()).expect("second accepted");
        verify(&verifier, third.der()).expect_err("third refused");
    }

    #[test]
    fn a_file_without_certificates_is_an_error_naming_it() {
        let (_, key) = lnd_like_cert();
        let err = PinnedCertVerifier::from_pem(key.serialize_pem().as_bytes(), Path::new("k.pem"))
            .expect_err("a key is not a certificate");
        assert!(matches!(err, PinLoadError::NoCertificate { .. }));
        assert!(err.to_string().contains("k.pem"), "{err}");
    }

    #[test]
    fn a_missing_file_is_an_error_naming_it() {
        let err = PinnedCertVerifier::from_pem_file(Path::new("/nonexistent/dustwatch/tls.cert"))
            .expect_err("missing file");
        assert!(matches!(err, PinLoadError::Unreadable { .. }));
        assert!(
            err.to_string().contains("/nonexistent/dustwatch/tls.cert"),
            "{err}"
        );
    }

    #[test]
    fn mismatch_is_found_through_an_io_error_wrapper() {
        let rustls_err = rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(
            Arc::new(PinMismatch {
                cert_path: PathBuf::from("c.pem"),
            }),
        )));
        let io = std::io::Error::new(std::io::ErrorKind::InvalidData, rustls_err);
        let status = tonic::Status::from_error(Box::new(io));
        let status: &(dyn std::error::Error + 'static) = &status;
        assert!(find_pin_mismatch(status).is_some());

        let unrelated = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let unrelated: &(dyn std::error::Error + 'static) = &unrelated;
        assert!(find_pin_mismatch(unrelated).is_none());
    }

    /// Runs a real TLS handshake over an in-memory pipe: a server presenting `cert` and signing
    /// with `key`, a client using `verifier`. Returns the client's result.
    async fn handshake(
        cert: CertificateDer<'static>,
        key: &KeyPair,
        verifier: Arc<PinnedCertVerifier>,
        version: &'static rustls::SupportedProtocolVersion,
    ) -> std::io::Result<()> {
        use rustls::pki_types::PrivateKeyDer;
        use rustls::sign::{CertifiedKey, SingleCertAndKey};

        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let key_der = PrivateKeyDer::try_from(key.serialize_der()).expect("pkcs8 key");
        let signing_key = rustls::crypto::ring::sign::any_supported_type(&key_der).expect("key");
        let resolver = SingleCertAndKey::from(CertifiedKey::new(vec![cert], signing_key));
        let server = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&[version])
            .expect("protocol versions")
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(resolver));
        let client = rustls::ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&[version])
            .expect("protocol versions")
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();

        let (client_io, server_io) = tokio::io::duplex(64 * 1024);
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server));
        let connector = tokio_rustls::TlsConnector::from(Arc::new(client));
        let name = ServerName::try_from("localhost").expect("valid name");
        let (client_result, _server_result) = tokio::join!(
            connector.connect(name, client_io),
            acceptor.accept(server_io)
        );
        client_result.map(|_| ())
    }

    const VERSIONS: [&rustls::SupportedProtocolVersion; 2] =
        [&rustls::version::TLS12, &rustls::version::TLS13];

    #[tokio::test]
    async fn handshake_with_the_pinned_ca_certificate_succeeds() {
        let (cert, key) = lnd_like_cert();
        for version in VERSIONS {
            let verifier = Arc::new(
                PinnedCertVerifier::from_pem(cert.pem().as_bytes(), Path::new("tls.cert"))
                    .expect("pin"),
            );
            handshake(cert.der().clone(), &key, verifier, version)
                .await
                .unwrap_or_else(|e| panic!("{version:?}: {e}"));
        }
    }

    #[tokio::test]
    async fn handshake_with_another_certificate_is_a_pin_mismatch() {
        let (pinned, _) = lnd_like_cert();
        let (other, other_key) = lnd_like_cert();
        for version in VERSIONS {
            let verifier = Arc::new(
                PinnedCertVerifier::from_pem(pinned.pem().as_bytes(), Path::new("tls.cert"))
                    .expect("pin"),
            );
            let err = handshake(other.der().clone(), &other_key, verifier, version)
                .await
                .expect_err("other certificate refused");
            let err: &(dyn std::error::Error + 'static) = &err;
            assert!(find_pin_mismatch(err).is_some(), "{version:?}: {err}");
        }
    }

    #[tokio::test]
    async fn presenting_the_pinned_certificate_without_its_key_fails() {
        let (pinned, _pinned_key) = lnd_like_cert();
        let (_, impostor_key) = lnd_like_cert();
        for version in VERSIONS {
            let verifier = Arc::new(
                PinnedCertVerifier::from_pem(pinned.pem().as_bytes(), Path::new("tls.cert"))
                    .expect("pin"),
            );
            let err = handshake(pinned.der().clone(), &impostor_key, verifier, version)
                .await
                .expect_err("a signature by another key is refused");
            // The certificate itself matched: this is a signature failure, not a pin mismatch.
            let tls_error = err
                .get_ref()
                .and_then(|e| e.downcast_ref::<rustls::Error>());
            assert!(
                matches!(
                    tls_error,
                    Some(rustls::Error::InvalidCertificate(
                        CertificateError::BadSignature
                    ))
                ),
                "{version:?}: {err}"
            );
            let err: &(dyn std::error::Error + 'static) = &err;
            assert!(find_pin_mismatch(err).is_none(), "{version:?}: {err}");
        }
    }
}
