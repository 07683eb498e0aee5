//! The simulated LND, black-box: over TLS with the pinned certificate, as a client sees it,
//! plus the scenario generator's invariants over many seeds (no server needed for those).
//!
//! Deterministic: no sleeps; time-dependent faults run on paused tokio time and the node
//! moves only when a test calls `tick()`.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use dustwatch::dust::{self, DustParams, Side};
use dustwatch::lnd::pb;
use dustwatch::lnd::pb::lightning_client::LightningClient;
use dustwatch::lnd::pb::state_client::StateClient;
use dustwatch::model::CommitmentType;
use dustwatch::settings::AnalysisSettings;
use dustwatch::sim::accounting::check_consistency;
use dustwatch::sim::state::PendingStage;
use dustwatch::sim::testing::{connect, pinned_cert, pinned_endpoint};
use dustwatch::sim::{
    ChannelEvent, NodeState, RpcState, ScenarioConfig, SimConfig, SimHandle, SimNode, Simulation,
};
use proptest::prelude::*;
use tokio::io::AsyncWriteExt;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use tonic::{Code, Request, Status};

mod common;

use common::start_sim;

// ---------- helpers ----------

const START_UNIX: i64 = 1_760_000_000;

fn scenario(channels: usize, seed: u64) -> Simulation {
    Simulation::generate(&ScenarioConfig {
        channels,
        seed,
        start_unix: START_UNIX,
        max_fee_exposure_sat: 500_000,
    })
}

fn params() -> DustParams {
    DustParams::from_settings(&AnalysisSettings::default(), None)
}

/// Every invariant a generated or evolved node keeps; returns all violations.
fn node_problems(node: &NodeState) -> Vec<String> {
    let p = params();
    let mut problems: Vec<String> = node
        .channels
        .iter()
        .flat_map(|ch| check_consistency(ch, &p))
        .collect();
    let ids: Vec<u64> = node.channels.iter().map(|c| c.chan_id).collect();
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    sorted.dedup();
    if ids != sorted {
        problems.push("channels not sorted by unique chan_id".into());
    }
    for ch in &node.channels {
        let local = ch.local_constraints.expect("constraints");
        let remote = ch.remote_constraints.expect("constraints");
        for d in [local.dust_limit_sat, remote.dust_limit_sat] {
            if !(354..=1000).contains(&d) {
                problems.push(format!("channel {}: dust limit {d}", ch.chan_id));
            }
        }
        if ch.uptime_secs > ch.lifetime_secs {
            problems.push(format!("channel {}: uptime > lifetime", ch.chan_id));
        }
        if ch.commitment_type.has_anchors() && ch.fee_per_kw > 2_500 {
            problems.push(format!(
                "channel {}: anchor feerate above LND's cap",
                ch.chan_id
            ));
        }
        if ch.fee_per_kw < 253 {
            problems.push(format!("channel {}: feerate below the floor", ch.chan_id));
        }
    }
    problems
}

fn macaroon_hex(node: &SimHandle) -> String {
    hex::encode(std::fs::read(node.macaroon_path()).expect("macaroon file"))
}

type Lnd = LightningClient<InterceptedService<Channel, MacaroonAuth>>;

/// Puts a macaroon (hex) in every call's metadata, as LND's clients do.
#[derive(Clone)]
struct MacaroonAuth(Option<String>);

impl tonic::service::Interceptor for MacaroonAuth {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        if let Some(hex) = &self.0 {
            let value = hex.parse().map_err(|_| Status::internal("macaroon hex"))?;
            request.metadata_mut().insert("macaroon", value);
        }
        Ok(request)
    }
}

async fn channel_to(node: &SimHandle) -> Channel {
    connect(node.addr(), node.cert_pem().as_bytes())
        .await
        .expect("connects over TLS with the pinned certificate")
}

async fn client(node: &SimHandle, macaroon: Option<String>) -> Lnd {
    LightningClient::with_interceptor(channel_to(node).await, MacaroonAuth(macaroon))
}

async fn authed(node: &SimHandle) -> Lnd {
    client(node, Some(macaroon_hex(node))).await
}

fn assert_unknown(result: Result<impl std::fmt::Debug, Status>, message: &str) {
    let status = result.expect_err("the call must fail");
    assert_eq!(status.code(), Code::Unknown, "{status:?}");
    assert_eq!(status.message(), message);
}

// ---------- the generator, no server ----------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn every_generated_node_is_consistent(seed in any::<u64>(), channels in 0usize..80) {
        let sim = scenario(channels, seed);
        prop_assert_eq!(sim.node.channels.len(), channels);
        let problems = node_problems(&sim.node);
        prop_assert!(problems.is_empty(), "seed {}: {:?}", seed, problems);
    }

    #[test]
    fn evolution_keeps_every_channel_consistent(seed in any::<u64>()) {
        let mut sim = scenario(30, seed);
        for tick in 0..120 {
            sim.tick();
            let problems = node_problems(&sim.node);
            prop_assert!(problems.is_empty(), "seed {} tick {}: {:?}", seed, tick, problems);
        }
    }
}

#[test]
fn the_same_seed_gives_the_same_node_and_the_same_future() {
    let (mut a, mut b) = (scenario(40, 11), scenario(40, 11));
    assert_eq!(a.node, b.node);
    for _ in 0..50 {
        assert_eq!(a.tick(), b.tick());
    }
    assert_eq!(a.node, b.node);
    assert_ne!(scenario(40, 12).node, scenario(40, 11).node);
}

#[test]
fn a_generated_node_is_believable() {
    let sim = scenario(600, 2024);
    let node = &sim.node;
    let p = params();
    let types: BTreeSet<String> = node
        .channels
        .iter()
        .map(|c| format!("{:?}", c.commitment_type))
        .collect();
    for ct in [
        CommitmentType::Legacy,
        CommitmentType::StaticRemoteKey,
        CommitmentType::Anchors,
        CommitmentType::SimpleTaproot,
        CommitmentType::SimpleTaprootFinal,
    ] {
        assert!(
            types.contains(&format!("{ct:?}")),
            "no {ct:?} channel in {types:?}"
        );
    }
    let height = node.block_height;
    let htlcs: Vec<_> = node
        .channels
        .iter()
        .flat_map(|c| &c.pending_htlcs)
        .collect();
    assert!(htlcs.len() > 100, "{} HTLCs", htlcs.len());
    assert!(htlcs.iter().any(|h| h.incoming) && htlcs.iter().any(|h| !h.incoming));
    assert!(
        htlcs.iter().any(|h| h.expiration_height <= height + 12),
        "no HTLC near expiry"
    );
    let trimmed: u32 = node
        .channels
        .iter()
        .map(|c| dust::commitment_dust(c, Side::Local, c.fee_per_kw, &p).trimmed_htlc_count)
        .sum();
    assert!(trimmed > 20, "only {trimmed} dust HTLCs");
    assert!(node.channels.iter().any(|c| !c.active));
    assert!(node.channels.iter().any(|c| c.private));
    assert!(node.channels.iter().any(|c| c.local_balance_sat == 0));
    assert!(
        node.channels.iter().any(|c| c.capacity_sat > 16_777_215),
        "no wumbo channel"
    );
    let limits: BTreeSet<u64> = node
        .channels
        .iter()
        .filter_map(|c| c.remote_constraints.map(|r| r.dust_limit_sat))
        .collect();
    assert!(
        limits.contains(&354) && limits.contains(&1000),
        "{limits:?}"
    );
    assert!(node
        .channels
        .iter()
        .all(|c| c.local_policy.is_some() && c.remote_policy.is_some()));
    assert!(node.channels.iter().any(|c| c.total_satoshis_sent > 0));
    let stages: BTreeSet<&str> = node
        .pending
        .iter()
        .map(|p| match p.stage {
            PendingStage::Opening { .. } => "opening",
            PendingStage::WaitingClose { .. } => "waiting_close",
            PendingStage::ForceClosing { .. } => "force_closing",
        })
        .collect();
    assert_eq!(stages.len(), 3, "{stages:?}");
    assert!(node.fees_earned_sat(30 * 86_400) > 0);
    assert_eq!(
        node.config
            .get("channel-max-fee-exposure")
            .map(String::as_str),
        Some("500000")
    );
}

#[test]
fn ticks_move_the_node() {
    let mut sim = scenario(80, 5);
    let before = sim.node.clone();
    let mut events = Vec::new();
    for _ in 0..400 {
        events.extend(sim.tick());
    }
    let after = &sim.node;
    assert!(after.block_height > before.block_height, "blocks advance");
    assert_eq!(after.now_unix, before.now_unix + 400 * 60);
    assert_ne!(after.fee_estimate_per_kw, before.fee_estimate_per_kw);
    let sum = |n: &NodeState| n.channels.iter().map(|c| c.local_balance_sat).sum::<u64>();
    assert_ne!(sum(after), sum(&before), "balances shift");
    assert!(
        events.iter().any(|e| matches!(
            e,
            ChannelEvent::Active { .. } | ChannelEvent::Inactive { .. }
        )),
        "peers come and go: {events:?}"
    );
    assert!(
        events.iter().any(|e| matches!(e, ChannelEvent::Open(_))),
        "pending opens confirm"
    );
    // Every opened channel is then listed.
    for e in &events {
        if let ChannelEvent::Open(ch) = e {
            if after.channel(ch.chan_id).is_none() {
                assert!(
                    after
                        .pending
                        .iter()
                        .any(|p| p.channel_point.as_str() == &*ch.channel_point),
                    "opened channel {} vanished",
                    ch.chan_id
                );
            }
        }
    }
}

// ---------- on the wire ----------

#[tokio::test]
async fn every_rpc_answers_like_lnd() {
    let (node, _dir) = start_sim(40, 3).await;
    let state = node.state();
    let mut lnd = authed(&node).await;

    let info = lnd
        .get_info(pb::GetInfoRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(info.identity_pubkey, state.identity_pubkey);
    assert_eq!(info.block_height, state.block_height);
    assert_eq!(
        info.num_active_channels as usize,
        state.num_active_channels()
    );
    assert_eq!(
        info.num_inactive_channels as usize,
        state.num_inactive_channels()
    );
    assert_eq!(info.num_pending_channels as usize, state.num_pending_open());
    assert!(info.synced_to_chain);

    let list = lnd
        .list_channels(pb::ListChannelsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(list.channels.len(), 40);
    let p = params();
    for (wire, model) in list.channels.iter().zip(&state.channels) {
        assert_eq!(wire.chan_id, model.chan_id);
        assert_eq!(wire.local_balance as u64, model.local_balance_sat);
        assert_eq!(wire.commit_fee as u64, model.commit_fee_sat);
        assert_eq!(wire.pending_htlcs.len(), model.pending_htlcs.len());
        assert!(wire.local_constraints.is_some() && wire.remote_constraints.is_some());
        // The wire numbers keep the invariant too: LND's commit_fee is what BOLT 3 gives.
        let dust = dust::commitment_dust(model, Side::Local, model.fee_per_kw, &p);
        assert_eq!(wire.commit_fee as u64, dust.fees_to_miners_sat);
    }
    let active = lnd
        .list_channels(pb::ListChannelsRequest {
            active_only: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(active.channels.len(), state.num_active_channels());

    let pending = lnd
        .pending_channels(pb::PendingChannelsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        pending.pending_open_channels.len(),
        state.num_pending_open()
    );
    assert!(!pending.pending_force_closing_channels.is_empty());
    assert_eq!(pending.total_limbo_balance as u64, state.total_limbo_sat());

    let balance = lnd
        .channel_balance(pb::ChannelBalanceRequest {})
        .await
        .unwrap()
        .into_inner();
    let local: u64 = state.channels.iter().map(|c| c.local_balance_sat).sum();
    assert_eq!(balance.local_balance.unwrap().sat, local);

    let wallet = lnd
        .wallet_balance(pb::WalletBalanceRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(wallet.confirmed_balance as u64, state.wallet.confirmed_sat);

    let fees = lnd
        .fee_report(pb::FeeReportRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(fees.channel_fees.len(), 40);
    assert!(fees.month_fee_sum >= fees.week_fee_sum && fees.week_fee_sum >= fees.day_fee_sum);

    let first = &state.channels[0];
    let edge = lnd
        .get_chan_info(pb::ChanInfoRequest {
            chan_id: first.chan_id,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(edge.channel_id, first.chan_id);
    assert_eq!(edge.capacity as u64, first.capacity_sat);
    assert!(edge.node1_pub < edge.node2_pub);
    assert!([&edge.node1_pub, &edge.node2_pub].contains(&&state.identity_pubkey));
    assert_unknown(
        lnd.get_chan_info(pb::ChanInfoRequest {
            chan_id: 42,
            ..Default::default()
        })
        .await,
        "edge not found",
    );

    let debug = lnd
        .get_debug_info(pb::GetDebugInfoRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        debug
            .config
            .get("channel-max-fee-exposure")
            .map(String::as_str),
        Some("500000")
    );
    node.set_debug_config("channel-max-fee-exposure", None);
    node.set_debug_config("dust-threshold", Some("250000"));
    let debug = lnd
        .get_debug_info(pb::GetDebugInfoRequest {})
        .await
        .unwrap()
        .into_inner();
    assert!(!debug.config.contains_key("channel-max-fee-exposure"));
    assert_eq!(
        debug.config.get("dust-threshold").map(String::as_str),
        Some("250000")
    );

    // The State service needs no macaroon.
    let mut state_client = StateClient::new(channel_to(&node).await);
    let got = state_client
        .get_state(pb::GetStateRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got.state, pb::WalletState::ServerActive as i32);
    node.shutdown().await;
}

#[tokio::test]
async fn ticks_show_up_on_the_wire() {
    let (node, _dir) = start_sim(20, 8).await;
    let mut lnd = authed(&node).await;
    let before = lnd
        .get_info(pb::GetInfoRequest {})
        .await
        .unwrap()
        .into_inner();
    for _ in 0..200 {
        node.tick();
    }
    let after = lnd
        .get_info(pb::GetInfoRequest {})
        .await
        .unwrap()
        .into_inner();
    assert!(after.block_height > before.block_height);
    assert_eq!(
        after.best_header_timestamp,
        before.best_header_timestamp + 200 * 60
    );
    assert_eq!(after.block_height, node.state().block_height);
}

#[tokio::test]
async fn the_default_webpki_verifier_refuses_lnds_ca_certificate() {
    let (node, _dir) = start_sim(1, 1).await;
    // Trusting the certificate as a root, the usual way, fails: it is CA:TRUE and is
    // presented as the end-entity certificate. This is the trap pinning avoids.
    let endpoint = tonic::transport::Endpoint::from_shared(format!("https://{}", node.addr()))
        .unwrap()
        .tls_config(
            tonic::transport::ClientTlsConfig::new()
                .domain_name("localhost")
                .ca_certificate(tonic::transport::Certificate::from_pem(node.cert_pem())),
        )
        .unwrap();
    let err = endpoint
        .connect()
        .await
        .expect_err("webpki must refuse a CA as end entity");
    let chain = format!("{err:?}");
    assert!(chain.contains("CaUsedAsEndEntity"), "{chain}");
    // Pinned, it works.
    let mut lnd = authed(&node).await;
    lnd.get_info(pb::GetInfoRequest {}).await.unwrap();
}

#[tokio::test]
async fn a_different_certificate_is_refused_by_the_pin() {
    let (node, _dir) = start_sim(1, 1).await;
    let (other, _other_dir) = start_sim(1, 2).await;
    let err = connect(node.addr(), other.cert_pem().as_bytes())
        .await
        .expect_err("pinned to another node's certificate");
    assert!(format!("{err:?}").contains("PinMismatch"), "{err:?}");
}

#[tokio::test]
async fn macaroon_failures_use_lnds_messages() {
    let (node, _dir) = start_sim(5, 4).await;
    let mut none = client(&node, None).await;
    assert_unknown(
        none.get_info(pb::GetInfoRequest {}).await,
        "expected 1 macaroon, got 0",
    );
    let mut wrong = client(&node, Some("00".repeat(64))).await;
    assert_unknown(
        wrong
            .list_channels(pb::ListChannelsRequest::default())
            .await,
        "verification failed: signature mismatch after caveat verification",
    );
    let mut not_hex = client(&node, Some("xyz".into())).await;
    assert_unknown(
        not_hex.get_info(pb::GetInfoRequest {}).await,
        "encoding/hex: invalid byte: U+0078 'x'",
    );
    // Streams are guarded too.
    assert_unknown(
        none.subscribe_channel_events(pb::ChannelEventSubscription {})
            .await,
        "expected 1 macaroon, got 0",
    );

    let mut lnd = authed(&node).await;
    lnd.get_info(pb::GetInfoRequest {}).await.unwrap();
    // Rotated: the file on disk is now stale.
    node.rotate_macaroon();
    assert_unknown(
        lnd.get_info(pb::GetInfoRequest {}).await,
        "verification failed: signature mismatch after caveat verification",
    );
    node.restore_macaroon().unwrap();
    lnd.get_info(pb::GetInfoRequest {}).await.unwrap();
    // Re-baked into the file: a client that re-reads the file gets in again.
    node.rotate_macaroon_and_file().unwrap();
    assert!(lnd.get_info(pb::GetInfoRequest {}).await.is_err());
    let mut fresh = authed(&node).await;
    fresh.get_info(pb::GetInfoRequest {}).await.unwrap();
}

#[tokio::test]
async fn a_client_without_alpn_h2_is_refused_at_the_handshake() {
    let (node, _dir) = start_sim(1, 1).await;
    let verifier = Arc::new(pinned_cert(node.cert_pem().as_bytes()).unwrap());
    let tls = |alpn: Vec<Vec<u8>>| {
        let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(verifier.clone())
        .with_no_client_auth();
        config.alpn_protocols = alpn;
        tokio_rustls::TlsConnector::from(Arc::new(config))
    };
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();

    let tcp = tokio::net::TcpStream::connect(node.addr()).await.unwrap();
    let err = tls(Vec::new())
        .connect(name.clone(), tcp)
        .await
        .expect_err("no ALPN must be refused");
    assert!(
        format!("{err:?}").contains("NoApplicationProtocol"),
        "{err:?}"
    );

    let tcp = tokio::net::TcpStream::connect(node.addr()).await.unwrap();
    let err = tls(vec![b"http/1.1".to_vec()])
        .connect(name.clone(), tcp)
        .await
        .expect_err("ALPN without h2 must be refused");
    assert!(
        format!("{err:?}").contains("NoApplicationProtocol"),
        "{err:?}"
    );

    // Control: the same client offering h2 completes the handshake and negotiates it.
    let tcp = tokio::net::TcpStream::connect(node.addr()).await.unwrap();
    let mut stream = tls(vec![b"h2".to_vec()]).connect(name, tcp).await.unwrap();
    assert_eq!(stream.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    stream.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_locked_wallet_refuses_calls_until_it_unlocks() {
    let (node, _dir) = start_sim(3, 9).await;
    let mut lnd = authed(&node).await;
    let mut state = StateClient::new(channel_to(&node).await);
    node.lock_wallet_for(Duration::from_secs(30));
    let got = state
        .get_state(pb::GetStateRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got.state, pb::WalletState::Locked as i32);
    assert_unknown(
        lnd.get_info(pb::GetInfoRequest {}).await,
        "wallet locked, unlock it to enable full RPC access",
    );
    // The state check comes before the macaroon check, as in LND.
    let mut no_macaroon = client(&node, None).await;
    assert_unknown(
        no_macaroon.get_info(pb::GetInfoRequest {}).await,
        "wallet locked, unlock it to enable full RPC access",
    );
    tokio::time::advance(Duration::from_secs(30)).await;
    assert_eq!(node.rpc_state(), RpcState::ServerActive);
    lnd.get_info(pb::GetInfoRequest {}).await.unwrap();

    node.starting_up_for(Duration::from_secs(10));
    let got = state
        .get_state(pb::GetStateRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got.state, pb::WalletState::Unlocked as i32);
    assert_unknown(
        lnd.list_channels(pb::ListChannelsRequest::default()).await,
        "the RPC server is in the process of starting up, but not yet ready to accept calls",
    );
    node.set_rpc_state(RpcState::WaitingToStart, None);
    let got = state
        .get_state(pb::GetStateRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got.state, pb::WalletState::WaitingToStart as i32);
    assert_unknown(
        lnd.get_info(pb::GetInfoRequest {}).await,
        "waiting to start, RPC services not available",
    );
    node.clear_rpc_state();
    lnd.get_info(pb::GetInfoRequest {}).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn slow_answers_follow_tokio_time() {
    let (node, _dir) = start_sim(3, 10).await;
    let mut lnd = authed(&node).await;
    node.set_delay(Duration::from_secs(30));
    let timed_out =
        tokio::time::timeout(Duration::from_secs(5), lnd.get_info(pb::GetInfoRequest {})).await;
    assert!(
        timed_out.is_err(),
        "a 30 s answer does not arrive within 5 s"
    );

    let started = tokio::time::Instant::now();
    let answer = tokio::time::timeout(Duration::from_secs(60), lnd.get_info(pb::GetInfoRequest {}))
        .await
        .expect("arrives within 60 s");
    answer.unwrap();
    assert!(started.elapsed() >= Duration::from_secs(30));

    node.set_delay(Duration::ZERO);
    let started = tokio::time::Instant::now();
    lnd.get_info(pb::GetInfoRequest {}).await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[tokio::test]
async fn a_stopped_node_is_unavailable_and_comes_back_on_the_same_port() {
    let (node, _dir) = start_sim(5, 12).await;
    let addr = node.addr();
    let cert = node.cert_pem().to_string();
    let mut lnd = authed(&node).await;
    lnd.get_info(pb::GetInfoRequest {}).await.unwrap();
    let mut events = lnd
        .subscribe_channel_events(pb::ChannelEventSubscription {})
        .await
        .unwrap()
        .into_inner();

    node.stop().await;
    assert!(!node.is_running().await);
    // A call racing the dying connection may be cancelled with it; once the client has
    // seen the connection go, every call is Unavailable (nothing listens any more).
    let mut codes = Vec::new();
    for _ in 0..3 {
        let status = lnd.get_info(pb::GetInfoRequest {}).await.unwrap_err();
        codes.push(status.code());
        if status.code() == Code::Unavailable {
            break;
        }
        assert_eq!(status.code(), Code::Cancelled, "{status:?}");
    }
    assert_eq!(codes.last(), Some(&Code::Unavailable), "{codes:?}");
    let status = lnd.get_info(pb::GetInfoRequest {}).await.unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    // The open stream is cut, like a dying LND's.
    assert!(!matches!(events.message().await, Ok(Some(_))));
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "port closed"
    );

    node.restart().await.unwrap();
    assert_eq!(node.addr(), addr);
    assert_eq!(std::fs::read_to_string(node.cert_path()).unwrap(), cert);
    // The same client reconnects by itself.
    lnd.get_info(pb::GetInfoRequest {}).await.unwrap();
    assert!(matches!(
        node.restart().await,
        Err(dustwatch::sim::SimError::AlreadyRunning(a)) if a == addr
    ));
}

#[tokio::test]
async fn restart_with_a_chosen_port_and_the_same_data_dir_keeps_cert_and_macaroon() {
    let dir = tempfile::tempdir().unwrap();
    let config = |port| SimConfig {
        channels: 2,
        seed: 1,
        data_dir: dir.path().to_path_buf(),
        port,
    };
    let first = SimNode::start(config(None)).await.unwrap();
    let port = first.addr().port();
    let cert = first.cert_pem().to_string();
    let macaroon = macaroon_hex(&first);
    first.shutdown().await;
    let second = SimNode::start(config(Some(port))).await.unwrap();
    assert_eq!(second.addr().port(), port);
    assert_eq!(second.cert_pem(), cert);
    assert_eq!(macaroon_hex(&second), macaroon);
    let mut lnd = client(&second, Some(macaroon)).await;
    lnd.get_info(pb::GetInfoRequest {}).await.unwrap();
}

#[tokio::test]
async fn a_list_channels_answer_beyond_four_mib_needs_a_bigger_receive_limit() {
    let (node, _dir) = start_sim(0, 13).await;
    let size = node.grow_list_channels_past(4 * 1024 * 1024 + 64 * 1024);
    let count = node.with_state(|n| n.channels.len());
    assert!(
        size > 4 * 1024 * 1024 && count >= 5_000,
        "{size} bytes, {count} channels"
    );

    let mut default_limit = authed(&node).await;
    let status = default_limit
        .list_channels(pb::ListChannelsRequest::default())
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::OutOfRange, "{status:?}");

    let mut big = authed(&node)
        .await
        .max_decoding_message_size(200 * 1024 * 1024);
    let list = big
        .list_channels(pb::ListChannelsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(list.channels.len(), count);
}

#[tokio::test]
async fn channel_events_reach_subscribers() {
    let (node, _dir) = start_sim(60, 14).await;
    let mut lnd = authed(&node).await;
    let mut stream = lnd
        .subscribe_channel_events(pb::ChannelEventSubscription {})
        .await
        .unwrap()
        .into_inner();
    // The subscription is registered once the handler ran; wait for it explicitly.
    while node.event_subscribers() == 0 {
        tokio::task::yield_now().await;
    }
    let mut sent = Vec::new();
    while sent.len() < 3 {
        sent.extend(node.tick());
    }
    for event in &sent {
        let update = stream.message().await.unwrap().expect("an event");
        use pb::channel_event_update::{Channel as Payload, UpdateType};
        let kind = UpdateType::try_from(update.r#type).unwrap();
        match (event, update.channel.expect("payload")) {
            (ChannelEvent::Open(ch), Payload::OpenChannel(wire)) => {
                assert_eq!(kind, UpdateType::OpenChannel);
                assert_eq!(wire.chan_id, ch.chan_id);
            }
            (ChannelEvent::Closed(s), Payload::ClosedChannel(wire)) => {
                assert_eq!(kind, UpdateType::ClosedChannel);
                assert_eq!(wire.chan_id, s.chan_id);
            }
            (ChannelEvent::Active { channel_point }, Payload::ActiveChannel(cp))
            | (ChannelEvent::Inactive { channel_point }, Payload::InactiveChannel(cp))
            | (ChannelEvent::FullyResolved { channel_point }, Payload::FullyResolvedChannel(cp)) => {
                let Some(pb::channel_point::FundingTxid::FundingTxidBytes(mut txid)) =
                    cp.funding_txid
                else {
                    panic!("txid bytes expected");
                };
                txid.reverse();
                assert_eq!(
                    format!("{}:{}", hex::encode(txid), cp.output_index),
                    *channel_point
                );
            }
            (ChannelEvent::PendingOpen { .. }, Payload::PendingOpenChannel(_)) => {
                assert_eq!(kind, UpdateType::PendingOpenChannel);
            }
            (sent, got) => panic!("sent {sent:?}, got {got:?}"),
        }
    }
}

#[tokio::test(start_paused = true)]
async fn standalone_mode_ticks_on_its_interval_and_stops_on_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let config = SimConfig {
        channels: 4,
        seed: 15,
        data_dir: dir.path().to_path_buf(),
        port: Some(port),
    };
    let runner = tokio::spawn(dustwatch::sim::run_standalone_with_interval(
        config,
        Duration::from_secs(5),
        async move {
            let _ = stop_rx.await;
        },
    ));
    // Files appear once the node has started.
    let macaroon_path = dir.path().join("readonly.macaroon");
    while !macaroon_path.exists() {
        tokio::task::yield_now().await;
    }
    let cert = loop {
        match std::fs::read(dir.path().join("tls.cert")) {
            Ok(pem) if !pem.is_empty() => break pem,
            _ => tokio::task::yield_now().await,
        }
    };
    let addr: std::net::SocketAddr = ([127, 0, 0, 1], port).into();
    let channel = pinned_endpoint(addr, &cert)
        .unwrap()
        .connect()
        .await
        .unwrap();
    let hex = hex::encode(std::fs::read(&macaroon_path).unwrap());
    let mut lnd = LightningClient::with_interceptor(channel, MacaroonAuth(Some(hex)));
    let before = lnd
        .get_info(pb::GetInfoRequest {})
        .await
        .unwrap()
        .into_inner();
    let mut after = before.clone();
    for _ in 0..10 {
        tokio::time::advance(Duration::from_secs(5)).await;
        // A round trip lets the runner take its due tick before the next advance.
        after = lnd
            .get_info(pb::GetInfoRequest {})
            .await
            .unwrap()
            .into_inner();
    }
    // Ten intervals of five seconds: ten ticks of one simulated minute (plus, at most, the
    // interval's immediate first tick if it came after `before`).
    let ticks = (after.best_header_timestamp - before.best_header_timestamp) / 60;
    assert!((10..=11).contains(&ticks), "{ticks} ticks");
    stop_tx.send(()).unwrap();
    runner.await.unwrap().unwrap();
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

/// The whole read path: the simulator's answers, converted by `lnd::convert`, give back the
/// node the simulator holds, and the dust engine finds LND's commit fee on every channel.
#[tokio::test]
async fn the_wire_answers_convert_back_to_the_simulated_node() {
    use dustwatch::lnd::convert;
    use dustwatch::model::{ExposureLimitSource, SnapshotSource};
    let (node, _dir) = start_sim(60, 16).await;
    for _ in 0..30 {
        node.tick();
    }
    let state = node.state();
    let mut lnd = authed(&node).await;
    let channels = lnd
        .list_channels(pb::ListChannelsRequest {
            peer_alias_lookup: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let mut edges = std::collections::BTreeMap::new();
    for ch in &channels.channels {
        let edge = lnd
            .get_chan_info(pb::ChanInfoRequest {
                chan_id: ch.chan_id,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        edges.insert(ch.chan_id, edge);
    }
    let snapshot = convert::snapshot(convert::SnapshotParts {
        taken_at_unix: state.now_unix,
        source: SnapshotSource {
            kind: "simulator".into(),
            detail: node.addr().to_string(),
        },
        info: lnd
            .get_info(pb::GetInfoRequest {})
            .await
            .unwrap()
            .into_inner(),
        channels,
        pending: Some(
            lnd.pending_channels(pb::PendingChannelsRequest::default())
                .await
                .unwrap()
                .into_inner(),
        ),
        fee_report: Some(
            lnd.fee_report(pb::FeeReportRequest {})
                .await
                .unwrap()
                .into_inner(),
        ),
        wallet: Some(
            lnd.wallet_balance(pb::WalletBalanceRequest::default())
                .await
                .unwrap()
                .into_inner(),
        ),
        debug_info: Some(
            lnd.get_debug_info(pb::GetDebugInfoRequest {})
                .await
                .unwrap()
                .into_inner(),
        ),
        edges,
    });
    assert!(snapshot.warnings.is_empty(), "{:?}", snapshot.warnings);
    assert_eq!(snapshot.node.block_height, Some(state.block_height));
    assert_eq!(snapshot.wallet, Some(state.wallet));
    let limit = snapshot.node_exposure_limit.expect("GetDebugInfo limit");
    assert_eq!(limit.sat, 500_000);
    assert_eq!(limit.source, ExposureLimitSource::LndChannelMaxFeeExposure);
    assert_eq!(snapshot.pending_channels.len(), state.pending.len());
    assert_eq!(snapshot.channels, state.channels);
    let p = DustParams::from_settings(&AnalysisSettings::default(), Some(limit));
    for ch in &snapshot.channels {
        let report = dust::channel_dust(ch, snapshot.node.block_height, &p);
        assert_eq!(report.commit_fee_mismatch, None, "channel {}", ch.chan_id);
    }
}
