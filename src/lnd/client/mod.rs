//! The gRPC client for one LND node: pinned TLS, macaroon, timeouts, readiness, snapshots.
//!
//! Connection policy (design.md §7):
//! * TLS pins the configured `tls.cert` ([`PinnedCertVerifier`]); tonic's connector offers
//!   ALPN `h2` and insists the server picks it, as LND ≥ 0.21 requires.
//! * The channel connects lazily, so the daemon starts while LND is down; tonic reconnects by
//!   itself after a broken connection.
//! * No HTTP/2 keepalive pings are configured: LND's keepalive policy punishes idle pings.
//! * Every client stub accepts answers up to `max_message_bytes` (LND itself allows 200 MiB;
//!   tonic's 4 MiB default is too small for ListChannels on a big node).
//! * Every unary call has `request_timeout`, sent to LND as `grpc-timeout` too.
//! * The certificate and macaroon files are read when a connection is (re)built: on the first
//!   call, and after any failure other than LND answering "not ready" or an RPC-level error.
//!   So a replaced `tls.cert` or macaroon is picked up on the next attempt without a restart.
//!
//! The folder: `call` (one call's deadline and failure classification, the answers a snapshot
//! can do without), `events` (the channel-event and link-failure streams) and `whole` (the
//! codec ListChannels is decoded with).

mod call;
mod events;
mod whole;

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tonic::client::Grpc;
use tonic::codegen::http::uri::PathAndQuery;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, ClientTlsConfig, Endpoint};

use self::call::{note_missing, optional, CallPolicy};
use self::whole::WholeMessageCodec;
use crate::clock::unix_now;
use crate::lnd::convert::{self, SnapshotParts};
use crate::lnd::convert_flow;
use crate::lnd::error::{ErrorContext, LndError, LndState};
use crate::lnd::flow_store::{self, FlowStore, SharedFlowStore};
use crate::lnd::macaroon::MacaroonInterceptor;
use crate::lnd::pb;
use crate::lnd::pb::lightning_client::LightningClient;
use crate::lnd::pb::routerrpc::router_client::RouterClient;
use crate::lnd::pb::state_client::StateClient;
use crate::lnd::source::{ChannelEvents, HtlcLinkFailures, NodeSource};
use crate::lnd::tls::PinnedCertVerifier;
use crate::model::{ChanId, NodeSnapshot, SnapshotSource, SnapshotWarning};
use crate::settings::LndSettings;

/// Optional, possibly expensive parts of a snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientOptions {
    /// Ask GetChanInfo for each channel's routing policies (ours and the peer's) when the node
    /// has at most this many open channels; above it, one call per channel per cycle is too
    /// much load on LND and only our own fees (FeeReport) are read. 0 disables GetChanInfo.
    pub chan_info_max_channels: usize,
    /// GetChanInfo calls in flight at once.
    pub chan_info_concurrency: usize,
    /// `analysis.flow_window`: forwards of `max(flow_window, 30 days)` are kept between
    /// cycles (see [`FlowStore`]).
    pub flow_window: Duration,
    /// ForwardingHistory events asked for per call (LND answers at most 50,000).
    pub flow_page_size: u32,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            chan_info_max_channels: 250,
            chan_info_concurrency: 8,
            flow_window: Duration::from_secs(7 * 86_400),
            flow_page_size: DEFAULT_FLOW_PAGE_SIZE,
        }
    }
}

/// ForwardingHistory page: ~0.5 MB on the wire, 100 calls for a million forwards.
pub const DEFAULT_FLOW_PAGE_SIZE: u32 = 10_000;

/// Where a client reads "now" (unix seconds) for the snapshot time and the flow windows.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// HTTP/2 flow-control windows the client advertises. The protocol's default, 64 KiB, lets
/// LND send that much before it must wait a round trip for a window update: a 10,000-channel
/// ListChannels answer (~8 MB) would take over a hundred round trips, which is slow on
/// localhost and very slow to a node reached over Tor or a WAN. With windows this large one
/// answer flows without a stop; the answer size limit (`max_message_bytes`) still applies.
const STREAM_WINDOW_BYTES: u32 = 16 << 20;
const CONNECTION_WINDOW_BYTES: u32 = 32 << 20;

/// The channel with the macaroon added to every call.
pub(super) type AuthedChannel = InterceptedService<Channel, MacaroonInterceptor>;

/// The stubs of one (lazily connected) channel to LND.
#[derive(Clone)]
struct Connection {
    /// `State` answers without a macaroon, even while the wallet is locked.
    state: StateClient<Channel>,
    lightning: LightningClient<AuthedChannel>,
    /// `routerrpc.Router` on the same channel (HTLC events).
    router: RouterClient<AuthedChannel>,
    /// The same channel without a generated stub, for ListChannels (see [`list_channels`]).
    raw: Grpc<AuthedChannel>,
}

/// A client for one LND node. Cheap to create; it connects on first use.
pub struct LndClient {
    settings: LndSettings,
    options: ClientOptions,
    endpoint: Endpoint,
    domain_name: String,
    policy: CallPolicy,
    connection: Option<Connection>,
    /// The long window's forwards, kept across cycles (and, when shared, across clients).
    flow: SharedFlowStore,
    /// The system clock, or the simulator's when a demo drives one.
    clock: Clock,
    /// GetDebugInfo was unavailable and the log said so (said once per client).
    debug_info_missing_logged: bool,
}

impl fmt::Debug for LndClient {
    // Hand-written so that no credential can ever reach a log through `{:?}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LndClient")
            .field("address", &self.policy.ctx.address)
            .field("tls_cert_path", &self.settings.tls_cert_path)
            .field("macaroon_path", &self.settings.macaroon_path)
            .field("connected", &self.connection.is_some())
            .finish_non_exhaustive()
    }
}

impl LndClient {
    /// A client for the node `settings` describes, with default [`ClientOptions`].
    ///
    /// Only the address is checked here; files are read and the network is touched on the
    /// first call, so this succeeds while LND is down.
    pub fn new(settings: &LndSettings) -> Result<Self, LndError> {
        Self::with_options(settings, ClientOptions::default())
    }

    /// A client with explicit [`ClientOptions`] (how much GetChanInfo to ask per snapshot).
    pub fn with_options(settings: &LndSettings, options: ClientOptions) -> Result<Self, LndError> {
        let address = authority(&settings.host, settings.port);
        let endpoint = Endpoint::from_shared(format!("https://{address}"))
            .map_err(|e| LndError::InvalidAddress {
                address: address.clone(),
                reason: e.to_string(),
            })?
            .connect_timeout(settings.connect_timeout)
            .initial_stream_window_size(Some(STREAM_WINDOW_BYTES))
            .initial_connection_window_size(Some(CONNECTION_WINDOW_BYTES))
            .user_agent(concat!("dustwatch/", env!("CARGO_PKG_VERSION")))
            .map_err(|e| LndError::InvalidAddress {
                address: address.clone(),
                reason: e.to_string(),
            })?;
        let ctx = ErrorContext {
            address,
            cert_path: settings.tls_cert_path.clone(),
            macaroon_path: settings.macaroon_path.clone(),
            request_timeout: settings.request_timeout,
        };
        Ok(LndClient {
            settings: settings.clone(),
            endpoint,
            domain_name: settings.host.trim_matches(['[', ']']).to_string(),
            policy: CallPolicy { ctx },
            connection: None,
            flow: FlowStore::shared(options.flow_window),
            clock: Arc::new(unix_now),
            options,
            debug_info_missing_logged: false,
        })
    }

    /// A client for a node's settings (`lnd`, and `analysis.flow_window` for the flow store)
    /// that keeps forwards in `store`, which outlives this client: the daemon loop passes the
    /// same store to every client it builds for the node.
    pub fn with_flow_store(
        settings: &crate::settings::Settings,
        store: SharedFlowStore,
    ) -> Result<Self, LndError> {
        let options = ClientOptions {
            flow_window: settings.analysis.flow_window,
            ..ClientOptions::default()
        };
        flow_store::lock(&store).set_window(options.flow_window);
        let mut client = Self::with_options(&settings.lnd, options)?;
        client.flow = store;
        Ok(client)
    }

    /// Reads "now" from `clock` instead of the system clock: a simulated node's clock runs
    /// ahead of the wall clock, and its forwards carry its time.
    pub fn set_clock(&mut self, clock: Clock) {
        self.clock = clock;
    }

    /// `host:port` this client talks to.
    pub fn address(&self) -> &str {
        &self.policy.ctx.address
    }

    /// Asks `State/GetState` (no macaroon) whether LND serves every RPC yet.
    pub async fn state(&mut self) -> Result<LndState, LndError> {
        let mut conn = self.connection()?;
        let result = self
            .policy
            .unary(
                "GetState",
                conn.state
                    .get_state(self.policy.request(pb::GetStateRequest {})),
            )
            .await;
        let response = self.settle(result)?;
        Ok(LndState::from_wire(response.state))
    }

    /// Fails with [`LndError::NotReady`] unless LND reports `SERVER_ACTIVE`.
    pub async fn ensure_ready(&mut self) -> Result<(), LndError> {
        let state = self.state().await?;
        if state.is_ready() {
            Ok(())
        } else {
            Err(LndError::NotReady { state })
        }
    }

    /// One snapshot: GetState, then GetInfo, ListChannels, PendingChannels, FeeReport and
    /// WalletBalance concurrently, GetDebugInfo for the node's fee-exposure limit,
    /// GetChanInfo per channel on small nodes (see [`ClientOptions`]), and the forwards since
    /// the previous cycle (ForwardingHistory) for the snapshot's `flow`.
    ///
    /// A failed ForwardingHistory leaves `flow` at `None` (unknown) with a warning; the rest
    /// of the snapshot stands.
    pub async fn snapshot(&mut self) -> Result<NodeSnapshot, LndError> {
        self.ensure_ready().await?;
        let conn = self.connection()?;
        let result = self.fetch_parts(conn.clone()).await;
        let (parts, notes) = self.settle(result)?;
        if parts.debug_info.is_none() && !self.debug_info_missing_logged {
            self.debug_info_missing_logged = true;
            let why = notes
                .iter()
                .find(|n| n.message.contains("GetDebugInfo"))
                .map_or("", |n| n.message.as_str());
            tracing::warn!(
                lnd = %self.policy.ctx.address,
                reason = why,
                "LND does not tell its fee-exposure limit (GetDebugInfo needs LND 0.18 or later): \
                 using analysis.max_fee_exposure_sat; said once"
            );
        }
        let mut snapshot = convert::snapshot(parts);
        snapshot.warnings.extend(notes);
        let taken_at = snapshot.taken_at_unix;
        flow_store::lock(&self.flow).bind_to_node(&snapshot.node.identity_pubkey);
        match self.fetch_forwards(&conn, taken_at).await {
            Ok(()) => {
                let (flow, note) = flow_store::lock(&self.flow).snapshot_flow(taken_at);
                snapshot.flow = flow;
                snapshot.warnings.extend(note);
            }
            Err(err) => {
                tracing::warn!(error = %err, "forwarding flow unknown this cycle");
                snapshot.warnings.push(SnapshotWarning {
                    chan_id: None,
                    message: format!("forwarding flow unknown: {err}"),
                });
            }
        }
        snapshot.normalize();
        Ok(snapshot)
    }

    /// Forwards stored for the flow windows (for tests and diagnostics).
    pub fn stored_forwards(&self) -> usize {
        flow_store::lock(&self.flow).len()
    }

    /// Pages ForwardingHistory from the store's resume point to `end_unix` into the store,
    /// then prunes it to the long window. Pages are merged as they arrive, so memory holds
    /// the store and one page; a failure part-way keeps what arrived (the next fetch
    /// re-reads from the same resume point and the store skips what it has).
    async fn fetch_forwards(&mut self, conn: &Connection, end_unix: i64) -> Result<(), LndError> {
        let start_time = flow_store::lock(&self.flow).next_start(end_unix);
        let end_time = u64::try_from(end_unix).unwrap_or(0);
        let page_size = self.options.flow_page_size.clamp(1, 50_000);
        let mut ln = conn.lightning.clone();
        let mut index_offset = 0;
        loop {
            let request = self.policy.request(pb::ForwardingHistoryRequest {
                start_time,
                end_time,
                index_offset,
                num_max_events: page_size,
                peer_alias_lookup: false,
            });
            let page = self
                .policy
                .unary("ForwardingHistory", ln.forwarding_history(request))
                .await?;
            let returned = page.forwarding_events.len();
            flow_store::lock(&self.flow).merge(
                page.forwarding_events
                    .iter()
                    .map(convert_flow::forwarding_event),
            );
            // A short (or empty) page is the last; an offset that does not move would loop.
            if returned < page_size as usize || page.last_offset_index <= index_offset {
                break;
            }
            index_offset = page.last_offset_index;
        }
        let mut store = flow_store::lock(&self.flow);
        store.mark_fetched_through(end_time);
        store.prune(end_unix);
        Ok(())
    }

    /// Subscribes to channel events; see [`NodeSource::subscribe_channel_events`].
    ///
    /// Readiness is checked first, so "LND down / not ready" is returned here; the stream is
    /// then driven by a task ([`events::channel_events`]).
    pub async fn channel_events(&mut self) -> Result<ChannelEvents, LndError> {
        self.ensure_ready().await?;
        let lightning = self.connection()?.lightning;
        Ok(events::channel_events(lightning, self.policy.ctx.clone()))
    }

    /// Subscribes to HTLC events and passes on link failures only; driven by a task like
    /// [`LndClient::channel_events`] ([`events::link_failures`]).
    pub async fn link_failures(&mut self) -> Result<HtlcLinkFailures, LndError> {
        self.ensure_ready().await?;
        let router = self.connection()?.router;
        Ok(events::link_failures(router, self.policy.ctx.clone()))
    }

    /// Drops the current connection so the next call reads the certificate and macaroon files
    /// again and connects afresh.
    pub fn disconnect(&mut self) {
        self.connection = None;
    }

    /// Asks every question of one snapshot. GetInfo and ListChannels are required; the
    /// others degrade to `None` (with a snapshot warning) when this LND does not offer them or
    /// the macaroon does not allow them. A transient failure of any call fails the snapshot:
    /// the daemon retries the whole cycle rather than analyse a half-read node.
    async fn fetch_parts(
        &self,
        conn: Connection,
    ) -> Result<(SnapshotParts, Vec<SnapshotWarning>), LndError> {
        let taken_at_unix = (self.clock)();
        let ln = conn.lightning;
        let policy = &self.policy;
        let c2 = conn.raw;
        let (mut c1, mut c3, mut c4, mut c5, mut c6) =
            (ln.clone(), ln.clone(), ln.clone(), ln.clone(), ln.clone());
        let (info, channels, pending, fee_report, wallet, debug_info) = tokio::try_join!(
            policy.unary(
                "GetInfo",
                c1.get_info(policy.request(pb::GetInfoRequest {}))
            ),
            policy.unary(
                "ListChannels",
                list_channels(
                    c2,
                    policy.request(pb::ListChannelsRequest {
                        // Plans name peers by alias, as `lncli listchannels` does by default.
                        peer_alias_lookup: true,
                        ..Default::default()
                    })
                )
            ),
            optional(policy.unary(
                "PendingChannels",
                c3.pending_channels(policy.request(pb::PendingChannelsRequest::default()))
            )),
            optional(policy.unary(
                "FeeReport",
                c4.fee_report(policy.request(pb::FeeReportRequest {}))
            )),
            optional(policy.unary(
                "WalletBalance",
                c5.wallet_balance(policy.request(pb::WalletBalanceRequest::default()))
            )),
            optional(policy.unary(
                "GetDebugInfo",
                c6.get_debug_info(policy.request(pb::GetDebugInfoRequest {}))
            )),
        )?;
        let edges = self.edges(&ln, &channels).await?;

        let mut notes = Vec::new();
        let pending = note_missing(pending, &mut notes);
        let fee_report = note_missing(fee_report, &mut notes);
        let wallet = note_missing(wallet, &mut notes);
        let debug_info = note_missing(debug_info, &mut notes);
        let parts = SnapshotParts {
            taken_at_unix,
            source: SnapshotSource {
                kind: "lnd_grpc".into(),
                detail: policy.ctx.address.clone(),
            },
            info,
            channels,
            pending,
            fee_report,
            wallet,
            debug_info,
            edges,
        };
        Ok((parts, notes))
    }

    /// GetChanInfo for every channel, unless the node is too big (see [`ClientOptions`]).
    /// A channel the graph does not know (private, just opened) simply has no edge.
    async fn edges(
        &self,
        ln: &LightningClient<AuthedChannel>,
        channels: &pb::ListChannelsResponse,
    ) -> Result<BTreeMap<ChanId, pb::ChannelEdge>, LndError> {
        let mut edges = BTreeMap::new();
        let count = channels.channels.len();
        if count == 0 || count > self.options.chan_info_max_channels {
            return Ok(edges);
        }
        let permits = Arc::new(tokio::sync::Semaphore::new(
            self.options.chan_info_concurrency.max(1),
        ));
        let mut calls = tokio::task::JoinSet::new();
        for chan_id in channels.channels.iter().map(|c| c.chan_id) {
            let mut ln = ln.clone();
            let permits = Arc::clone(&permits);
            let policy = self.policy.clone();
            calls.spawn(async move {
                // The semaphore is never closed, so acquiring only waits for a free slot.
                let _permit = permits.acquire_owned().await;
                let request = policy.request(pb::ChanInfoRequest {
                    chan_id,
                    ..Default::default()
                });
                let edge = policy.unary("GetChanInfo", ln.get_chan_info(request)).await;
                (chan_id, edge)
            });
        }
        while let Some(joined) = calls.join_next().await {
            match joined {
                Ok((chan_id, Ok(edge))) => {
                    edges.insert(chan_id, edge);
                }
                Ok((_, Err(err))) if err.is_transient() => return Err(err),
                Ok((chan_id, Err(err))) => {
                    tracing::debug!(chan_id, error = %err, "no graph edge for the channel");
                }
                Err(join_error) => {
                    return Err(LndError::Rpc {
                        call: "GetChanInfo",
                        code: tonic::Code::Internal,
                        message: join_error.to_string(),
                    })
                }
            }
        }
        Ok(edges)
    }

    /// The current connection, building one (and reading the files) if there is none.
    fn connection(&mut self) -> Result<Connection, LndError> {
        if let Some(conn) = &self.connection {
            return Ok(conn.clone());
        }
        let conn = self.connect()?;
        self.connection = Some(conn.clone());
        Ok(conn)
    }

    fn connect(&self) -> Result<Connection, LndError> {
        let verifier = PinnedCertVerifier::from_pem_file(&self.settings.tls_cert_path)?;
        let macaroon = MacaroonInterceptor::from_file(&self.settings.macaroon_path)?;
        let tls = ClientTlsConfig::new()
            .domain_name(self.domain_name.clone())
            .timeout(self.settings.connect_timeout);
        let channel = self
            .endpoint
            .clone()
            .tls_config_with_verifier(tls, Arc::new(verifier))
            .map_err(|e| LndError::InvalidAddress {
                address: self.policy.ctx.address.clone(),
                reason: e.to_string(),
            })?
            .connect_lazy();
        let limit = self.settings.max_message_bytes;
        Ok(Connection {
            state: StateClient::new(channel.clone()).max_decoding_message_size(limit),
            router: RouterClient::with_interceptor(channel.clone(), macaroon.clone())
                .max_decoding_message_size(limit),
            raw: Grpc::new(InterceptedService::new(channel.clone(), macaroon.clone()))
                .max_decoding_message_size(limit),
            lightning: LightningClient::with_interceptor(channel, macaroon)
                .max_decoding_message_size(limit),
        })
    }

    /// Keeps the connection only when LND itself answered (not ready, or an RPC-level error):
    /// anything else may be fixed by new files or a fresh connection.
    fn settle<T>(&mut self, result: Result<T, LndError>) -> Result<T, LndError> {
        if let Err(err) = &result {
            if !matches!(err, LndError::NotReady { .. } | LndError::Rpc { .. }) {
                self.connection = None;
            }
        }
        result
    }
}

impl NodeSource for LndClient {
    fn fetch_snapshot(&mut self) -> impl Future<Output = Result<NodeSnapshot, LndError>> + Send {
        self.snapshot()
    }

    fn subscribe_channel_events(
        &mut self,
    ) -> impl Future<Output = Result<ChannelEvents, LndError>> + Send {
        self.channel_events()
    }

    fn subscribe_link_failures(
        &mut self,
    ) -> impl Future<Output = Result<HtlcLinkFailures, LndError>> + Send {
        self.link_failures()
    }
}

/// `host:port`, with an IPv6 literal in brackets.
/// ListChannels as the generated stub calls it, but decoded with [`WholeMessageCodec`]: the
/// answer is the node's biggest by far, and decoding it is most of a cycle's fetch.
async fn list_channels(
    mut grpc: Grpc<AuthedChannel>,
    mut request: tonic::Request<pb::ListChannelsRequest>,
) -> Result<tonic::Response<pb::ListChannelsResponse>, tonic::Status> {
    grpc.ready()
        .await
        .map_err(|e| tonic::Status::unknown(format!("Service was not ready: {e}")))?;
    request
        .extensions_mut()
        .insert(tonic::GrpcMethod::new("lnrpc.Lightning", "ListChannels"));
    let path = PathAndQuery::from_static("/lnrpc.Lightning/ListChannels");
    grpc.unary(request, path, WholeMessageCodec::default())
        .await
}

fn authority(host: &str, port: u16) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_hosts_are_bracketed() {
        assert_eq!(authority("localhost", 10009), "localhost:10009");
        assert_eq!(authority("10.0.0.2", 10009), "10.0.0.2:10009");
        assert_eq!(authority("::1", 10009), "[::1]:10009");
        assert_eq!(authority("[::1]", 10009), "[::1]:10009");
    }

    #[test]
    fn construction_checks_the_address_only() {
        let settings = LndSettings {
            host: "::1".into(),
            tls_cert_path: "/nonexistent/tls.cert".into(),
            ..LndSettings::default()
        };
        let client = LndClient::new(&settings).expect("files are read lazily");
        assert_eq!(client.address(), "[::1]:10009");
        assert_eq!(client.domain_name, "::1");

        let bad = LndSettings {
            host: "bad host name".into(),
            ..LndSettings::default()
        };
        let err = LndClient::new(&bad).expect_err("spaces are not a host");
        assert!(matches!(err, LndError::InvalidAddress { .. }), "{err:?}");
        assert!(err.to_string().contains("bad host name"), "{err}");
    }
}
