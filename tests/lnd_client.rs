//! Black-box tests of `dustwatch::lnd::client` over real TLS.
//!
//! Every server here presents an LND-like certificate (self-signed, CA:TRUE), so the tests would
//! fail with a WebPKI verifier: they prove the pinning, not just "TLS works".

use std::path::{Path, PathBuf};
use std::time::Duration;

use dustwatch::lnd::client::LndClient;
use dustwatch::lnd::error::LndError;
use dustwatch::settings::LndSettings;
use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
use tokio::net::TcpListener;

/// A self-signed CA:TRUE certificate with `localhost` SAN, as LND generates, and its key.
fn lnd_like_cert() -> (String, KeyPair) {
    let mut params = CertificateParams::new(vec!["localhost".to_string()]).expect("SANs");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let key = KeyPair::generate().expect("key");
    let cert = params.self_signed(&key).expect("self-signed");
    (cert.pem(), key)
}

/// Settings pointing at `127.0.0.1:port` with the given files and short timeouts.
fn settings(port: u16, cert: &Path, macaroon: &Path) -> LndSettings {
    LndSettings {
        host: "127.0.0.1".into(),
        port,
        tls_cert_path: cert.to_path_buf(),
        macaroon_path: macaroon.to_path_buf(),
        connect_timeout: Duration::from_secs(5),
        request_timeout: Duration::from_secs(10),
        ..LndSettings::default()
    }
}

/// Writes a fresh certificate and a macaroon file into `dir`.
fn write_credentials(dir: &Path) -> (PathBuf, PathBuf, KeyPair) {
    let (pem, key) = lnd_like_cert();
    let cert_path = dir.join("tls.cert");
    std::fs::write(&cert_path, pem).expect("write cert");
    let macaroon_path = dir.join("readonly.macaroon");
    std::fs::write(&macaroon_path, [0x02, 0x01, 0x03, 0x64, 0x77]).expect("write macaroon");
    (cert_path, macaroon_path, key)
}

/// A port on which nothing listens (bound, then released).
async fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    listener.local_addr().expect("addr").port()
}

#[tokio::test]
async fn lnd_down_is_transient_and_construction_does_not_need_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (cert, macaroon, _) = write_credentials(dir.path());
    let port = free_port().await;
    let mut client = LndClient::new(&settings(port, &cert, &macaroon)).expect("lazy client");
    let err = client.state().await.expect_err("nothing listens");
    assert!(matches!(err, LndError::Unreachable { .. }), "{err:?}");
    assert!(err.is_transient(), "{err}");
    assert!(
        err.to_string().contains(&format!("127.0.0.1:{port}")),
        "{err}"
    );
}

#[tokio::test]
async fn missing_files_are_named_on_first_use() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (cert, _macaroon, _) = write_credentials(dir.path());
    let port = free_port().await;

    let missing_cert = dir.path().join("no-such-tls.cert");
    let mut client =
        LndClient::new(&settings(port, &missing_cert, &dir.path().join("x"))).expect("lazy");
    let err = client.state().await.expect_err("no cert file");
    assert!(!err.is_transient());
    assert!(err.to_string().contains("no-such-tls.cert"), "{err}");

    let missing_macaroon = dir.path().join("no-such.macaroon");
    let mut client = LndClient::new(&settings(port, &cert, &missing_macaroon)).expect("lazy");
    let err = client.state().await.expect_err("no macaroon file");
    assert!(
        matches!(err, LndError::MacaroonUnreadable { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("no-such.macaroon"), "{err}");
}

/// The client must offer ALPN `h2` (LND ≥ 0.21 refuses clients that do not). A bare TLS
/// server records what the client offered in its ClientHello.
#[tokio::test]
async fn client_offers_alpn_h2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (cert, macaroon, _) = write_credentials(dir.path());
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.expect("accept");
        let acceptor =
            tokio_rustls::LazyConfigAcceptor::new(rustls::server::Acceptor::default(), tcp);
        let start = acceptor.await.expect("client hello");
        let hello = start.client_hello();
        let offered: Vec<Vec<u8>> = hello
            .alpn()
            .map(|protocols| protocols.map(<[u8]>::to_vec).collect())
            .unwrap_or_default();
        let sni = hello.server_name().map(str::to_string);
        (offered, sni)
    });

    let mut client = LndClient::new(&settings(port, &cert, &macaroon)).expect("client");
    // The server hangs up after reading the ClientHello, so the call itself fails.
    let err = client
        .state()
        .await
        .expect_err("no TLS server behind the ClientHello");
    assert!(err.is_transient(), "{err:?}");
    let (offered, _sni) = server.await.expect("server task");
    assert!(offered.iter().any(|p| p == b"h2"), "offered {offered:?}");
}
