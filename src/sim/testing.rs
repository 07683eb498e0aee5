//! Client-side helpers for tests that talk to the simulator (or to any LND) over TLS.
//!
//! LND's certificate is self-signed and marked CA:TRUE, which the default webpki verifier
//! refuses as an end-entity certificate. Tests pin it exactly as the real client does, with
//! [`crate::lnd::tls::PinnedCertVerifier`] (re-exported here as [`PinnedCert`]): exactly one certificate is
//! trusted, and the handshake signatures are still verified, so a server without the matching
//! private key cannot impersonate the node.

use std::path::Path;
use std::sync::Arc;

use tonic::transport::{Channel, ClientTlsConfig, Endpoint};

pub use crate::lnd::tls::PinnedCertVerifier as PinnedCert;

use super::SimError;

/// Pins the certificate in `pem` (the simulator's `tls.cert`).
pub fn pinned_cert(pem: &[u8]) -> Result<PinnedCert, SimError> {
    PinnedCert::from_pem(pem, Path::new("tls.cert"))
        .map_err(|e| SimError::Tls(format!("pinned certificate: {e}")))
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
    let verifier = Arc::new(pinned_cert(cert_pem)?);
    Endpoint::from_shared(format!("https://{addr}"))
        .map_err(|e| SimError::Tls(format!("endpoint for {addr}: {e}")))?
        .tls_config_with_verifier(ClientTlsConfig::new().domain_name("localhost"), verifier)
        .map_err(|e| SimError::Tls(format!("TLS config for {addr}: {e}")))
}

/// Connects to `addr` with the pinned certificate.
pub async fn connect(addr: std::net::SocketAddr, cert_pem: &[u8]) -> Result<Channel, ConnectError> {
    Ok(pinned_endpoint(addr, cert_pem)?.connect().await?)
}
