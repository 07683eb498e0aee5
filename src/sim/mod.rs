//! A simulated LND node that speaks LND's gRPC on the wire, for the demo and for tests.
//!
//! What a client sees is what it would see from LND v0.21:
//! * TLS with a self-signed ECDSA P-256 certificate marked CA:TRUE (`tls.cert` in the data dir,
//!   key in `tls.key`), ALPN `h2` required ([`tls`]);
//! * a `readonly.macaroon` whose lowercase hex goes in the `macaroon` metadata, refused with
//!   LND's messages ([`macaroon`]);
//! * `lnrpc.State/GetState` without a macaroon, and the read-only Lightning calls dustwatch
//!   uses: GetInfo, GetDebugInfo, ListChannels, PendingChannels, ChannelBalance, WalletBalance,
//!   FeeReport, GetChanInfo, SubscribeChannelEvents, ForwardingHistory (`service`, `wire`,
//!   [`forwards`]).
//!
//! Behind it, a seeded, believable node ([`scenario`]) that evolves on [`SimHandle::tick`]
//! ([`evolve`]) while keeping every channel consistent with BOLT 3 ([`accounting`]). Tests
//! inject faults through the handle: a locked or starting wallet, slow answers, a server that
//! goes away and comes back on the same port, a rotated macaroon, a ListChannels answer bigger
//! than tonic's default 4 MiB limit.
//!
//! The rest of the folder: [`state`] (the node at one instant), `traffic` (how busy it is),
//! `server` (one generation of the listener), [`answers`] (a cycle's answers without the
//! network), `random` (the seeded draws generator and evolution share), [`load`] (extra HTLCs
//! for benchmarks), [`faults`] (switches tests flip), [`lncli_dump`] (the node as `lncli`
//! JSON), [`testing`] (client helpers for tests).
//!
//! ```no_run
//! # async fn demo() -> Result<(), dustwatch::sim::SimError> {
//! use dustwatch::sim::{SimConfig, SimNode};
//! let node = SimNode::start(SimConfig {
//!     channels: 50,
//!     seed: 7,
//!     data_dir: "/tmp/dustwatch-sim".into(),
//!     port: None,
//! })
//! .await?;
//! println!("LND-like node at {}, cert {}", node.addr(), node.cert_path().display());
//! node.tick();
//! node.shutdown().await;
//! # Ok(()) }
//! ```

pub mod accounting;
pub mod answers;
pub mod evolve;
pub mod faults;
pub mod forwards;
mod history;
pub mod lncli_dump;
pub mod load;
pub mod macaroon;
mod random;
pub mod router;
pub mod scenario;
mod server;
mod service;
pub mod state;
pub mod testing;
pub mod tls;
mod traffic;
mod wire;

use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use prost::Message as _;
use rustls::ServerConfig;
use tokio::sync::{broadcast, watch};

pub use faults::RpcState;
pub use lncli_dump::{dump_lncli, DumpedFiles};
pub use load::{HtlcLoad, LoadReport};
pub use scenario::{ScenarioConfig, Simulation, DEFAULT_MAX_FEE_EXPOSURE_SAT};
pub use state::{ChannelEvent, NodeState};

use server::Generation;
use service::{lock, Shared};

/// How often the standalone simulator ticks.
pub const DEFAULT_TICK_INTERVAL: Duration = Duration::from_secs(5);

/// Everything that can go wrong starting or restarting the simulator.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("simulator: {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("simulator: cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("simulator: TLS: {0}")]
    Tls(String),
    #[error("simulator: already running on {0}")]
    AlreadyRunning(SocketAddr),
}

/// What to simulate and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimConfig {
    /// Open channels at start.
    pub channels: usize,
    /// Seed of the scenario: the same seed gives the same node.
    pub seed: u64,
    /// Where `tls.cert`, `tls.key` and `readonly.macaroon` are written (created if missing;
    /// an existing certificate and macaroon are reused, as LND does).
    pub data_dir: PathBuf,
    /// Port on 127.0.0.1; `None` picks a free one.
    pub port: Option<u16>,
}

/// Starts simulated nodes.
pub struct SimNode;

impl SimNode {
    /// Generates the scenario, writes the TLS pair and macaroon, and starts serving.
    pub async fn start(config: SimConfig) -> Result<SimHandle, SimError> {
        std::fs::create_dir_all(&config.data_dir).map_err(|source| SimError::Io {
            path: config.data_dir.clone(),
            source,
        })?;
        let identity = tls::TlsIdentity::load_or_create(&config.data_dir)?;
        let tls_config = identity.server_config()?;
        let (macaroon_path, macaroon_bytes) = macaroon::load_or_create(&config.data_dir)?;
        let start_unix = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        let mut sim = Simulation::generate(&ScenarioConfig {
            channels: config.channels,
            seed: config.seed,
            start_unix,
            max_fee_exposure_sat: DEFAULT_MAX_FEE_EXPOSURE_SAT,
        });
        let listener = server::bind(SocketAddr::from((
            Ipv4Addr::LOCALHOST,
            config.port.unwrap_or(0),
        )))
        .await?;
        let addr = listener.local_addr().map_err(|source| SimError::Bind {
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, config.port.unwrap_or(0))),
            source,
        })?;
        let node_config = &mut sim.node.config;
        node_config.insert("rpclisten".into(), addr.to_string());
        node_config.insert("lnddir".into(), config.data_dir.display().to_string());
        node_config.insert(
            "tlscertpath".into(),
            identity.cert_path.display().to_string(),
        );
        node_config.insert("tlskeypath".into(), identity.key_path.display().to_string());
        let (events, _) = broadcast::channel(service::EVENT_BUFFER);
        let (htlc_events, _) = broadcast::channel(service::EVENT_BUFFER);
        let (_, stopped) = watch::channel(false);
        let shared = Arc::new(Shared {
            sim: Mutex::new(sim),
            faults: Mutex::new(faults::Faults::default()),
            macaroon: Mutex::new(macaroon_bytes),
            events,
            htlc_events,
            listen: addr.to_string(),
            stopped: Mutex::new(stopped),
            forwarding_queries: Mutex::new(Vec::new()),
        });
        let generation = Generation::start(listener, tls_config.clone(), shared.clone());
        Ok(SimHandle {
            shared,
            addr,
            data_dir: config.data_dir,
            identity,
            macaroon_path,
            tls_config,
            generation: tokio::sync::Mutex::new(Some(generation)),
        })
    }
}

/// A running (or stopped) simulated node: where to reach it, how to move it, how to break it.
pub struct SimHandle {
    shared: Arc<Shared>,
    addr: SocketAddr,
    data_dir: PathBuf,
    identity: tls::TlsIdentity,
    macaroon_path: PathBuf,
    tls_config: Arc<ServerConfig>,
    generation: tokio::sync::Mutex<Option<Generation>>,
}

impl SimHandle {
    /// `127.0.0.1:<port>`; the same across stop/restart.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The node's `tls.cert` (PEM), to be pinned by clients.
    pub fn cert_path(&self) -> &Path {
        &self.identity.cert_path
    }

    pub fn key_path(&self) -> &Path {
        &self.identity.key_path
    }

    /// The certificate in PEM, as in `tls.cert`.
    pub fn cert_pem(&self) -> &str {
        &self.identity.cert_pem
    }

    /// `readonly.macaroon`: the bytes whose hex clients send.
    pub fn macaroon_path(&self) -> &Path {
        &self.macaroon_path
    }

    /// Advances the simulation one tick and sends the resulting channel events to every
    /// subscriber; returns the events.
    pub fn tick(&self) -> Vec<ChannelEvent> {
        let events = lock(&self.shared.sim).tick();
        for event in &events {
            // No subscribers is fine: events are not queued for later.
            let _ = self.shared.events.send(event.clone());
        }
        events
    }

    /// Sends a channel event to subscribers without changing the node (for tests of the
    /// event path that must not wait for the simulation to produce one).
    pub fn emit_event(&self, event: ChannelEvent) {
        let _ = self.shared.events.send(event);
    }

    /// Number of SubscribeChannelEvents streams currently open.
    pub fn event_subscribers(&self) -> usize {
        self.shared.events.receiver_count()
    }

    /// Reads the node's state (as the RPCs would report it now).
    pub fn with_state<R>(&self, read: impl FnOnce(&NodeState) -> R) -> R {
        read(&lock(&self.shared.sim).node)
    }

    /// The simulated clock (unix seconds), readable from anywhere (a demo client's clock).
    pub fn clock(&self) -> Arc<dyn Fn() -> i64 + Send + Sync> {
        let shared = self.shared.clone();
        Arc::new(move || lock(&shared.sim).node.now_unix)
    }

    /// A copy of the node's state.
    pub fn state(&self) -> NodeState {
        self.with_state(NodeState::clone)
    }

    // ----- faults -----

    /// The wallet is locked for `duration` (tokio time): Lightning calls get LND's
    /// "wallet locked" error and GetState says LOCKED.
    pub fn lock_wallet_for(&self, duration: Duration) {
        lock(&self.shared.faults).force_state(RpcState::Locked, Some(duration));
    }

    /// The wallet is locked until [`SimHandle::clear_rpc_state`].
    pub fn lock_wallet(&self) {
        lock(&self.shared.faults).force_state(RpcState::Locked, None);
    }

    /// Unlocked but still starting for `duration`: "the RPC server is in the process of
    /// starting up" and GetState UNLOCKED.
    pub fn starting_up_for(&self, duration: Duration) {
        lock(&self.shared.faults).force_state(RpcState::Unlocked, Some(duration));
    }

    /// Any RPC state, for `duration` or (with `None`) until cleared.
    pub fn set_rpc_state(&self, state: RpcState, duration: Option<Duration>) {
        lock(&self.shared.faults).force_state(state, duration);
    }

    /// Back to SERVER_ACTIVE.
    pub fn clear_rpc_state(&self) {
        lock(&self.shared.faults).clear_state();
    }

    /// What GetState would answer now.
    pub fn rpc_state(&self) -> RpcState {
        lock(&self.shared.faults).state_now()
    }

    /// Every answer (GetState included) waits this long first (tokio time, so paused-time
    /// tests control it). Zero turns it off.
    pub fn set_delay(&self, delay: Duration) {
        lock(&self.shared.faults).delay = delay;
    }

    /// The node starts expecting a new macaroon; `readonly.macaroon` keeps the old bytes, so
    /// clients using the file now get "signature mismatch".
    pub fn rotate_macaroon(&self) {
        *lock(&self.shared.macaroon) = macaroon::mint();
    }

    /// A new macaroon, also written to `readonly.macaroon` (an operator re-baking it).
    pub fn rotate_macaroon_and_file(&self) -> Result<(), SimError> {
        let fresh = macaroon::mint();
        tls::write_file(&self.macaroon_path, &fresh, 0o644)?;
        *lock(&self.shared.macaroon) = fresh;
        Ok(())
    }

    /// Expects the macaroon in `readonly.macaroon` again.
    pub fn restore_macaroon(&self) -> Result<(), SimError> {
        let bytes = std::fs::read(&self.macaroon_path).map_err(|source| SimError::Io {
            path: self.macaroon_path.clone(),
            source,
        })?;
        *lock(&self.shared.macaroon) = bytes;
        Ok(())
    }

    /// Opens `count` more channels (generated like the initial ones, without events).
    pub fn add_channels(&self, count: usize) {
        let mut sim = lock(&self.shared.sim);
        for _ in 0..count {
            let ch = sim.new_open_channel(None);
            let pos = sim
                .node
                .channels
                .partition_point(|c| c.chan_id < ch.chan_id);
            sim.node.channels.insert(pos, ch);
        }
    }

    /// Adds channels until an unfiltered ListChannels answer encodes to more than `bytes`
    /// (e.g. 4 MiB, tonic's default receive limit); returns the encoded size reached.
    pub fn grow_list_channels_past(&self, bytes: usize) -> usize {
        loop {
            let (size, channels) = self.with_state(|node| {
                let request = crate::lnd::pb::ListChannelsRequest::default();
                (
                    wire::list_channels(node, &request).encoded_len(),
                    node.channels.len(),
                )
            });
            if size > bytes {
                return size;
            }
            if channels == 0 {
                // Nothing to measure a channel's size by yet.
                self.add_channels(100);
                continue;
            }
            let per_channel = (size / channels).max(1);
            self.add_channels((bytes - size) / per_channel + 1);
        }
    }

    /// Sets a key of GetDebugInfo's config map (e.g. `channel-max-fee-exposure`, or
    /// `dust-threshold` to look like an older LND); `None` removes it.
    pub fn set_debug_config(&self, key: &str, value: Option<&str>) {
        let mut sim = lock(&self.shared.sim);
        match value {
            Some(v) => sim.node.config.insert(key.to_string(), v.to_string()),
            None => sim.node.config.remove(key),
        };
    }

    /// The ForwardingHistory requests the node has answered, in order (the newest 10,000 at
    /// least).
    pub fn forwarding_queries(&self) -> Vec<forwards::ForwardingQuery> {
        lock(&self.shared.forwarding_queries).clone()
    }

    /// With `true`, ForwardingHistory answers Unimplemented (an LND without the call).
    pub fn set_forwarding_history_unimplemented(&self, unimplemented: bool) {
        lock(&self.shared.faults).forwarding_history_unimplemented = unimplemented;
    }

    /// Sets the node's alias and version and every channel's peer alias, as a hostile peer (or
    /// a compromised LND) could: for tests of how text output and logs treat LND's strings.
    pub fn set_untrusted_strings(&self, node_alias: &str, version: &str, peer_alias: &str) {
        let mut sim = lock(&self.shared.sim);
        sim.node.alias = node_alias.to_string();
        sim.node.version = version.to_string();
        for ch in &mut sim.node.channels {
            ch.peer_alias = peer_alias.into();
        }
    }

    // ----- lifecycle -----

    /// True while the node accepts connections.
    pub async fn is_running(&self) -> bool {
        self.generation.lock().await.is_some()
    }

    /// Stops serving: the port closes and every connection (streams included) is cut, so
    /// clients see Unavailable. State and faults are kept for [`SimHandle::restart`].
    pub async fn stop(&self) {
        if let Some(generation) = self.generation.lock().await.take() {
            generation.stop().await;
        }
    }

    /// Serves again on the same address with the same certificate.
    pub async fn restart(&self) -> Result<(), SimError> {
        let mut slot = self.generation.lock().await;
        if slot.is_some() {
            return Err(SimError::AlreadyRunning(self.addr));
        }
        let listener = server::bind(self.addr).await?;
        *slot = Some(Generation::start(
            listener,
            self.tls_config.clone(),
            self.shared.clone(),
        ));
        Ok(())
    }

    /// Stops serving for good.
    pub async fn shutdown(self) {
        self.stop().await;
    }

    /// Where to point a client, for humans.
    pub fn connection_summary(&self) -> String {
        format!(
            "simulated LND listening on {}\n  tls.cert:          {}\n  readonly.macaroon: {}",
            self.addr,
            self.cert_path().display(),
            self.macaroon_path().display()
        )
    }
}

/// Runs a simulator until `shutdown` completes, ticking every [`DEFAULT_TICK_INTERVAL`];
/// prints where its certificate and macaroon are. Backs `dustwatch sim`.
pub async fn run_standalone(
    config: SimConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<(), SimError> {
    run_standalone_with_interval(config, DEFAULT_TICK_INTERVAL, shutdown).await
}

/// [`run_standalone`] with a chosen tick interval.
pub async fn run_standalone_with_interval(
    config: SimConfig,
    tick_interval: Duration,
    shutdown: impl Future<Output = ()>,
) -> Result<(), SimError> {
    let node = SimNode::start(config).await?;
    println!("{}", node.connection_summary());
    let (channels, height) = node.with_state(|n| (n.channels.len(), n.block_height));
    println!("  {channels} channels, block height {height}, ticking every {tick_interval:?}");
    let mut interval = tokio::time::interval(tick_interval);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            _ = interval.tick() => {
                let events = node.tick();
                if !events.is_empty() {
                    tracing::debug!(events = events.len(), "simulator: tick");
                }
            }
        }
    }
    node.shutdown().await;
    Ok(())
}
