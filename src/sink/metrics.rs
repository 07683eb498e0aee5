//! Prometheus metrics derived from the plan: the values lndmon cannot show because LND does not
//! compute them (fee exposure per commitment, headroom to `channel-max-fee-exposure`, dust per
//! commitment, health, HTLC expiry distance, force-close fees), plus the daemon's own cycle
//! outcome and LND's state. `docs/metrics.md` lists every metric with its labels.
//!
//! How it fits together:
//! * the poll loop calls [`Metrics::observe_plan`], [`Metrics::observe_cycle`] and
//!   [`Metrics::set_lnd_state`] with the node's name;
//! * [`serve`] answers `GET /metrics` with [`Metrics::encode`] (OpenMetrics text, written by
//!   `prometheus-client`).
//!
//! Files: `series` derives a plan's values once, `encode` keeps the per-node state and encodes
//! it on each scrape, `server` is the HTTP edge.
//!
//! Invariants:
//! * **Bounded cardinality.** `observe_plan` replaces all plan-derived series of that node at
//!   once, so a closed channel's series disappear with the next plan. Label values other than
//!   `node`, `chan_id` and `peer_alias` come from fixed lists.
//! * **Nodes are independent.** Observing one node never touches another node's series; several
//!   nodes share one [`Metrics`] and one endpoint, told apart by the `node` label.
//! * **A failed cycle keeps the last plan's series.** They stay visible with their
//!   `dustwatch_plan_timestamp_seconds`, and `dustwatch_last_cycle_success` says the data is stale.

mod encode;
mod series;
mod server;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyper::body::Bytes;

use prometheus_client::encoding::text;
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;

use crate::model::link_failures::{wire_failure_name, LinkFailure};
use crate::plan::Plan;
use crate::settings::MetricsSettings;

use encode::{LastCycle, Nodes};
use series::PlanSeries;

pub use encode::LND_STATES;
pub use server::{
    serve, serve_with_limits, ServeLimits, DRAIN_TIMEOUT, METRICS_PATH, OPENMETRICS_CONTENT_TYPE,
};

/// Why the metrics endpoint cannot start. Both variants name the configured address.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    #[error("metrics.listen = {value:?} is not an address like 127.0.0.1:9489: {source}")]
    InvalidListen {
        value: String,
        source: std::net::AddrParseError,
    },
    #[error("cannot listen for metrics on {address} (metrics.listen): {source}")]
    Bind {
        address: SocketAddr,
        source: std::io::Error,
    },
}

/// The address to serve metrics on, or `None` when the endpoint is off (the default).
///
/// Loopback is the intended setting (a Prometheus on the same host, or a reverse proxy). Any
/// other address is accepted, because the operator wrote it, but logged as a warning: the
/// endpoint has no authentication and shows channel ids, peer aliases and balances.
pub fn listen_address(settings: &MetricsSettings) -> Result<Option<SocketAddr>, MetricsError> {
    let Some(value) = &settings.listen else {
        return Ok(None);
    };
    let address: SocketAddr =
        value
            .trim()
            .parse()
            .map_err(|source| MetricsError::InvalidListen {
                value: value.clone(),
                source,
            })?;
    if !address.ip().is_loopback() {
        tracing::warn!(
            %address,
            "metrics.listen is not a loopback address: the unauthenticated metrics endpoint \
             (channel ids, peer aliases, balances) is reachable from the network; firewall it"
        );
    }
    Ok(Some(address))
}

/// Binds the metrics listener, with an error that names the address and the setting.
pub async fn bind(address: SocketAddr) -> Result<TcpListener, MetricsError> {
    TcpListener::bind(address)
        .await
        .map_err(|source| MetricsError::Bind { address, source })
}

/// The metrics of every node this daemon watches. Cheap to clone: clones share one state.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    nodes: Arc<Nodes>,
    registry: Registry,
    /// Bumped by every change, so [`Metrics::encode_shared`] knows when its copy is current.
    generation: AtomicU64,
    /// The last encoding and the generation it was made at, shared by every client.
    encoded: Mutex<Option<(u64, Bytes)>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let nodes: Vec<String> = self.inner.nodes.lock().keys().cloned().collect();
        f.debug_struct("Metrics").field("nodes", &nodes).finish()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// Metrics with no node observed yet (every family present, no samples).
    pub fn new() -> Self {
        let nodes = Arc::new(Nodes::default());
        let mut registry = Registry::default();
        registry.register_collector(Box::new(Arc::clone(&nodes)));
        Metrics {
            inner: Arc::new(Inner {
                nodes,
                registry,
                generation: AtomicU64::new(0),
                encoded: Mutex::new(None),
            }),
        }
    }

    /// Replaces every plan-derived series of `node` with the values of `plan`. Channels absent
    /// from `plan` (closed since the last one) lose their series; other nodes are untouched.
    pub fn observe_plan(&self, node: &str, plan: &Plan) {
        // Derived before taking the lock, so a scrape never waits for the derivation.
        let series = PlanSeries::from_plan(plan);
        let mut nodes = self.inner.nodes.lock();
        nodes.entry(node.to_string()).or_default().plan = Some(series);
        self.changed();
    }

    /// Records the outcome of one poll cycle of `node`: the last-cycle gauges and the
    /// `dustwatch_cycles_total{result}` counter.
    pub fn observe_cycle(&self, node: &str, duration: Duration, ok: bool, finished_at_unix: i64) {
        let mut nodes = self.inner.nodes.lock();
        let state = nodes.entry(node.to_string()).or_default();
        state.last_cycle = Some(LastCycle {
            duration_seconds: duration.as_secs_f64(),
            ok,
            finished_at_unix,
        });
        if ok {
            state.cycles_ok += 1;
        } else {
            state.cycles_failed += 1;
        }
        self.changed();
    }

    /// Records LND's state for `node`: one of [`LND_STATES`] (`lnrpc.WalletState` in snake
    /// case, or `unreachable`). Any other string is exported as its own series while it is
    /// the current state, so nothing is hidden and at most one extra series exists.
    pub fn set_lnd_state(&self, node: &str, state: &str) {
        let mut nodes = self.inner.nodes.lock();
        nodes.entry(node.to_string()).or_default().lnd_state = Some(state.to_string());
        self.changed();
    }

    /// Counts one HTLC link failure of `node`: by wire failure, and per channel when it is a
    /// forward refused the way fee-exposure refusals look (see [`crate::model::link_failures`]).
    pub fn observe_link_failure(&self, node: &str, failure: &LinkFailure) {
        let mut nodes = self.inner.nodes.lock();
        let state = nodes.entry(node.to_string()).or_default();
        *state
            .link_failures
            .entry(wire_failure_name(failure.wire_failure))
            .or_default() += 1;
        if failure.is_fee_exposure_shaped() {
            if let Some(chan_id) = failure.refusing_channel() {
                *state.refused_forwards.entry(chan_id).or_default() += 1;
            }
        }
    }

    /// Drops every series of `node` (for a node removed from the configuration).
    pub fn forget_node(&self, node: &str) {
        self.inner.nodes.lock().remove(node);
        self.changed();
    }

    /// Marks the shared encoding out of date. Called after the change is in place, so an
    /// encoding made concurrently is at worst re-made, never kept stale.
    fn changed(&self) {
        self.inner.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// The OpenMetrics text as one shared buffer: encoded once per change, and every scrape
    /// until the next change gets the same bytes (cloning [`Bytes`] shares them), so the number
    /// of clients does not multiply the memory a big node's 13 MB exposition takes.
    pub fn encode_shared(&self) -> Bytes {
        let mut encoded = match self.inner.encoded.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        let generation = self.inner.generation.load(Ordering::Acquire);
        if let Some((at, bytes)) = encoded.as_ref() {
            if *at == generation {
                return bytes.clone();
            }
        }
        // Dropped before encoding, so an old copy is not held twice while the new one is built.
        *encoded = None;
        let bytes = Bytes::from(self.encode());
        *encoded = Some((generation, bytes.clone()));
        bytes
    }

    /// The OpenMetrics text exposition of all nodes, ending with `# EOF`.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail, and every collector here only writes: an error
        // could only come from a bug in the encoder, which the tests would show.
        if let Err(err) = text::encode(&mut out, &self.inner.registry) {
            tracing::error!(error = %err, "encoding metrics failed");
        }
        out
    }
}

#[cfg(test)]
mod tests;
