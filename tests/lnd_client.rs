//! Black-box tests of `dustwatch::lnd::client` over real TLS, mostly against the simulated LND
//! (`dustwatch::sim`), which behaves like LND v0.21 on the wire: CA:TRUE self-signed
//! certificate, ALPN `h2` required, macaroon checks with LND's messages, State service.
//!
//! Every server here presents an LND-like certificate, so the tests would fail with a WebPKI
//! verifier: they prove the pinning, not just "TLS works". Deterministic: no sleeps; the
//! time-dependent faults run on paused tokio time.

use std::path::{Path, PathBuf};
use std::time::Duration;

use std::sync::{Arc, Mutex};

use dustwatch::lnd::client::{ClientOptions, LndClient};
use dustwatch::lnd::error::{LndError, LndState};
use dustwatch::lnd::source::{ChannelEventKind, NodeSource};
use dustwatch::model::ExposureLimitSource;
use dustwatch::settings::LndSettings;
use dustwatch::sim::{ChannelEvent, SimConfig, SimHandle, SimNode};
use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
use tokio::net::TcpListener;
use tokio_stream::StreamExt as _;

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

// ---------- against the simulator ----------

async fn start_sim(channels: usize) -> (SimHandle, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = SimNode::start(SimConfig {
        channels,
        seed: 11,
        data_dir: dir.path().to_path_buf(),
        port: None,
    })
    .await
    .expect("simulator starts");
    (node, dir)
}

fn sim_settings(node: &SimHandle) -> LndSettings {
    LndSettings {
        host: "localhost".into(),
        ..settings(node.addr().port(), node.cert_path(), node.macaroon_path())
    }
}

fn sim_client(node: &SimHandle) -> LndClient {
    LndClient::new(&sim_settings(node)).expect("client")
}

fn macaroon_hex(node: &SimHandle) -> String {
    hex::encode(std::fs::read(node.macaroon_path()).expect("macaroon file"))
}

#[tokio::test]
async fn snapshot_over_pinned_tls_has_the_simulated_node() {
    let (node, _dir) = start_sim(24).await;
    let mut client = sim_client(&node);
    assert_eq!(
        client.state().await.expect("GetState"),
        LndState::ServerActive
    );

    let snapshot = client.fetch_snapshot().await.expect("snapshot");
    let expected = node.state();
    assert_eq!(snapshot.channels.len(), expected.channels.len());
    assert_eq!(snapshot.channels.len(), 24);
    assert_eq!(snapshot.node.identity_pubkey, expected.identity_pubkey);
    assert_eq!(snapshot.source.kind, "lnd_grpc");
    assert_eq!(
        snapshot.source.detail,
        format!("localhost:{}", node.addr().port())
    );
    assert!(snapshot.wallet.is_some(), "WalletBalance read");
    let limit = snapshot.node_exposure_limit.expect("GetDebugInfo read");
    assert_eq!(limit.source, ExposureLimitSource::LndChannelMaxFeeExposure);
    // A small node gets GetChanInfo: the peers' policies are known.
    assert!(
        snapshot.channels.iter().any(|c| c.remote_policy.is_some()),
        "GetChanInfo policies present"
    );
    assert!(snapshot.channels.iter().all(|c| c.local_policy.is_some()));
    assert!(
        snapshot.channels.iter().all(|c| !c.peer_alias.is_empty()),
        "peer aliases looked up"
    );
    assert!(
        snapshot
            .warnings
            .iter()
            .all(|w| !w.message.contains("left out")),
        "{:?}",
        snapshot.warnings
    );
}

#[tokio::test]
async fn older_lnd_exposure_key_and_skipped_chan_info() {
    let (node, _dir) = start_sim(5).await;
    node.set_debug_config("channel-max-fee-exposure", None);
    node.set_debug_config("dust-threshold", Some("300000"));
    let options = ClientOptions {
        chan_info_max_channels: 4,
        ..ClientOptions::default()
    };
    let mut client = LndClient::with_options(&sim_settings(&node), options).expect("client");
    let snapshot = client.fetch_snapshot().await.expect("snapshot");
    let limit = snapshot.node_exposure_limit.expect("dust-threshold read");
    assert_eq!(limit.sat, 300_000);
    assert_eq!(limit.source, ExposureLimitSource::LndDustThreshold);
    // Above the GetChanInfo limit only FeeReport is read: our fees, no peer policies.
    assert!(snapshot.channels.iter().all(|c| c.remote_policy.is_none()));
    assert!(snapshot.channels.iter().all(|c| c.local_policy.is_some()));
}

#[tokio::test]
async fn a_different_pinned_certificate_fails_clearly() {
    let (node, dir) = start_sim(3).await;
    let (other_pem, _) = lnd_like_cert();
    let other = dir.path().join("other-tls.cert");
    std::fs::write(&other, other_pem).expect("write");
    let mut client = LndClient::new(&LndSettings {
        tls_cert_path: other.clone(),
        ..sim_settings(&node)
    })
    .expect("client");

    let err = client.fetch_snapshot().await.expect_err("pin mismatch");
    match &err {
        LndError::TlsPinMismatch { cert_path, .. } => assert_eq!(cert_path, &other),
        e => panic!("expected TlsPinMismatch, got {e:?}"),
    }
    assert!(!err.is_transient());
    assert!(err.to_string().contains("other-tls.cert"), "{err}");

    // The operator copies the right certificate over the pinned file: the same client recovers,
    // because a failed connection is rebuilt from the files on the next call.
    std::fs::copy(node.cert_path(), &other).expect("copy the right cert");
    client
        .fetch_snapshot()
        .await
        .expect("recovered with the right certificate");
}

#[tokio::test]
async fn a_rejected_macaroon_is_bad_macaroon_naming_the_file_and_is_reread() {
    let (node, _dir) = start_sim(3).await;
    let mut client = sim_client(&node);
    client.fetch_snapshot().await.expect("first snapshot");

    node.rotate_macaroon();
    let err = client
        .fetch_snapshot()
        .await
        .expect_err("old macaroon refused");
    match &err {
        LndError::BadMacaroon { macaroon_path, .. } => {
            assert_eq!(macaroon_path, node.macaroon_path())
        }
        e => panic!("expected BadMacaroon, got {e:?}"),
    }
    assert!(!err.is_transient());
    assert!(
        err.to_string()
            .contains(&node.macaroon_path().display().to_string()),
        "{err}"
    );

    // A re-baked macaroon file is read on the next attempt, without a new client.
    node.rotate_macaroon_and_file().expect("new macaroon file");
    client
        .fetch_snapshot()
        .await
        .expect("new macaroon accepted");
}

#[tokio::test(start_paused = true)]
async fn a_locked_wallet_is_transient_not_ready_until_unlocked() {
    let (node, _dir) = start_sim(3).await;
    let mut client = sim_client(&node);
    node.lock_wallet_for(Duration::from_secs(30));
    let err = client.fetch_snapshot().await.expect_err("locked");
    assert!(
        matches!(
            err,
            LndError::NotReady {
                state: LndState::Locked
            }
        ),
        "{err:?}"
    );
    assert!(err.is_transient());

    node.starting_up_for(Duration::from_secs(30));
    let err = client.fetch_snapshot().await.expect_err("starting");
    assert!(
        matches!(
            err,
            LndError::NotReady {
                state: LndState::Unlocked
            }
        ),
        "{err:?}"
    );

    tokio::time::advance(Duration::from_secs(31)).await;
    client.fetch_snapshot().await.expect("unlocked");
}

#[tokio::test(start_paused = true)]
async fn a_slow_node_times_out_transiently() {
    let (node, _dir) = start_sim(3).await;
    let mut client = sim_client(&node);
    client.state().await.expect("connected");
    node.set_delay(Duration::from_secs(3600));
    let err = client.fetch_snapshot().await.expect_err("too slow");
    assert!(
        matches!(
            err,
            LndError::Timeout {
                call: "GetState",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_transient());
    node.set_delay(Duration::ZERO);
    client.fetch_snapshot().await.expect("fast again");
}

#[tokio::test]
async fn list_channels_beyond_four_mib_is_received() {
    let (node, _dir) = start_sim(10).await;
    let size = node.grow_list_channels_past(5 * 1024 * 1024);
    assert!(size > 4 * 1024 * 1024);
    let channels = node.with_state(|n| n.channels.len());
    assert!(channels >= 10_000, "{channels} channels");

    let mut client = sim_client(&node);
    let snapshot = client.fetch_snapshot().await.expect("big snapshot");
    assert_eq!(snapshot.channels.len(), channels);

    // With tonic's default 4 MiB limit the same answer is refused: the setting is what matters.
    let mut small = LndClient::new(&LndSettings {
        max_message_bytes: 4 * 1024 * 1024,
        ..sim_settings(&node)
    })
    .expect("client");
    let err = small.fetch_snapshot().await.expect_err("over the limit");
    assert!(
        matches!(
            err,
            LndError::AnswerTooLarge {
                call: "ListChannels",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("max_message_bytes"), "{err}");
}

#[tokio::test]
async fn a_stopped_node_is_transient_and_the_same_client_recovers_after_restart() {
    let (node, _dir) = start_sim(4).await;
    let mut client = sim_client(&node);
    client.fetch_snapshot().await.expect("before the stop");

    node.stop().await;
    let err = client.fetch_snapshot().await.expect_err("node down");
    assert!(err.is_transient(), "{err:?}");

    node.restart().await.expect("restart on the same port");
    let snapshot = client.fetch_snapshot().await.expect("recovered");
    assert_eq!(snapshot.channels.len(), 4);
}

#[tokio::test]
async fn channel_events_arrive_as_kinds() {
    let (node, _dir) = start_sim(4).await;
    let mut client = sim_client(&node);
    let mut events = client.subscribe_channel_events().await.expect("subscribed");
    // The subscription is made by a task; wait for the node to see it before emitting.
    while node.event_subscribers() == 0 {
        tokio::task::yield_now().await;
    }
    let chan_point = node.with_state(|n| n.channels[0].channel_point.to_string());
    node.emit_event(ChannelEvent::Inactive {
        channel_point: chan_point,
    });
    let kind = events.next().await.expect("an event").expect("no error");
    assert_eq!(kind, ChannelEventKind::Inactive);

    node.stop().await;
    match events.next().await {
        None => {}
        Some(Err(err)) => assert!(err.is_transient(), "{err:?}"),
        Some(Ok(kind)) => panic!("unexpected event {kind:?} after the stop"),
    }
}

/// Everything a tracing subscriber writes, at TRACE level, from every crate.
#[derive(Clone, Default)]
struct CapturedLogs(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for CapturedLogs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for CapturedLogs {
    type Writer = CapturedLogs;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

impl CapturedLogs {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("log buffer")).into_owned()
    }
}

#[tokio::test]
async fn the_macaroon_never_appears_in_logs_or_debug_output() {
    let logs = CapturedLogs::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(logs.clone())
        .with_ansi(false)
        .finish();
    // Current-thread runtime: the simulator, the client and hyper's connection task all run
    // on this thread, so this thread-local subscriber sees all of their events.
    let _guard = tracing::subscriber::set_default(subscriber);

    let (node, _dir) = start_sim(3).await;
    let secret = macaroon_hex(&node);
    let mut client = sim_client(&node);
    let snapshot = client.fetch_snapshot().await.expect("snapshot");
    tracing::info!(?client, "client after a snapshot");
    node.rotate_macaroon();
    let err = client.fetch_snapshot().await.expect_err("rejected");
    tracing::warn!(error = %err, debug = ?err, "rejected");

    let debug = format!("{client:?} {client:#?} {err:?} {err} {snapshot:?}");
    assert!(!debug.contains(&secret), "macaroon hex in Debug output");
    let captured = logs.text();
    assert!(
        captured.contains("client after a snapshot"),
        "the capture works"
    );
    assert!(!captured.contains(&secret), "macaroon hex in the logs");
    assert!(!captured.to_uppercase().contains(&secret.to_uppercase()));
}
