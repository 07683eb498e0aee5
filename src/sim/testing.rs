//! Client-side helpers for tests that talk to the simulator (or to any LND) over TLS.
//!
//! LND's certificate is self-signed and marked CA:TRUE, which the default webpki verifier
//! refuses as an end-entity certificate. [`PinnedCert`] accepts exactly one certificate (by
//! its DER bytes) and still verifies the handshake signatures with the ring provider, so a
//! server without the matching private key cannot impersonate the node.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};
use tonic::transport::{Channel, ClientTlsConfig, Endpoint};

use super::SimError;

/// Trusts exactly one certificate; everything else about the handshake is checked normally.
#[derive(Debug)]
pub struct PinnedCert {
    cert: CertificateDer<'static>,
    provider: Arc<CryptoProvider>,
}

impl PinnedCert {
    /// From the PEM of `tls.cert`.
    pub fn from_pem(pem: &[u8]) -> Result<Self, SimError> {
        let cert = CertificateDer::from_pem_slice(pem)
            .map_err(|e| SimError::Tls(format!("pinned certificate is not PEM: {e}")))?;
        Ok(PinnedCert {
            cert,
            provider: Arc::new(rustls::crypto::ring::default_provider()),
        })
    }
}

impl ServerCertVerifier for PinnedCert {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.cert.as_ref() {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::ApplicationVerificationFailure,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Why a test client could not connect.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error(transparent)]
    Setup(#[from] SimError),
    #[error("connecting: {0}")]
    Transport(#[from] tonic::transport::Error),
}

/// An endpoint for `addr` that pins `cert_pem` (SNI `localhost`, ALPN h2 as tonic offers it).
/// No HTTP/2 keepalive pings (LND's policy forbids them while idle) and no client-side
/// timers, so tests with paused tokio time decide every timeout themselves.
pub fn pinned_endpoint(addr: std::net::SocketAddr, cert_pem: &[u8]) -> Result<Endpoint, SimError> {
    let verifier = Arc::new(PinnedCert::from_pem(cert_pem)?);
    Endpoint::from_shared(format!("https://{addr}"))
        .map_err(|e| SimError::Tls(format!("endpoint for {addr}: {e}")))?
        .tls_config_with_verifier(ClientTlsConfig::new().domain_name("localhost"), verifier)
        .map_err(|e| SimError::Tls(format!("TLS config for {addr}: {e}")))
}

/// Connects to `addr` with the pinned certificate.
pub async fn connect(addr: std::net::SocketAddr, cert_pem: &[u8]) -> Result<Channel, ConnectError> {
    Ok(pinned_endpoint(addr, cert_pem)?.connect().await?)
}
