//! `dustwatch run`: the daemon under systemd (or in a terminal).
//!
//! One daemon loop per configured node (`[[nodes]]`, or the single `[lnd]` node), all in one
//! task, each with its own LND client, backoff and plan directory, so a node that is down only
//! delays itself. Signals fan out: SIGHUP reloads every node, SIGTERM stops every node.
//!
//! What a reload applies beyond the nodes' own settings: `log.level` (unless `RUST_LOG` is
//! set) and a changed `metrics.listen` address (the endpoint moves; removing the key stops it).
//! Turning the endpoint on, `log.format` and the set of nodes take a restart, which the log
//! says when they change.

use std::net::SocketAddr;

use futures_util::future::join_all;
use tokio::sync::{mpsc, oneshot, watch};

use super::error::AppError;
use crate::config::{ConfigError, InvalidValue, LoadedConfig, ProcessEnv};
use crate::daemon::notify::SystemdNotifier;
use crate::daemon::watchdog::{self, Heartbeat};
use crate::daemon::{self, signals, Control, LoopOutputs, Progress};
use crate::lnd::client::LndClient;
use crate::lnd::flow_store::FlowStore;
use crate::logging::{self, LevelChange};
use crate::settings::Settings;
use crate::sink::metrics::{self, Metrics};

/// Runs until SIGTERM/SIGINT. SIGHUP reloads the configuration file and environment; a reload
/// that fails validation (or whose certificate/macaroon files are missing) keeps the old one.
/// With `[metrics] listen` set, serves Prometheus metrics until shutdown.
pub async fn run(config: LoadedConfig) -> Result<(), AppError> {
    let control = signals::install().map_err(|e| AppError::Internal(Box::new(e)))?;
    let metrics = start_metrics(&config).await?;
    let nodes = config.settings.node_settings();

    let (stop_tx, stop_rx) = watch::channel(false);
    let mut reload_txs = Vec::with_capacity(nodes.len());
    let mut loops = Vec::with_capacity(nodes.len());
    let mut heartbeats = Vec::with_capacity(nodes.len());
    for (name, settings) in nodes {
        let heartbeat = Heartbeat::default();
        heartbeats.push((
            name.clone(),
            heartbeat.clone(),
            watchdog::wedged_after(&settings.lnd),
        ));
        let (reload_tx, reload_rx) = mpsc::channel(1);
        reload_txs.push(reload_tx);
        let mut stop = stop_rx.clone();
        let shutdown = async move {
            let _ = stop.wait_for(|stopped| *stopped).await;
        };
        let (progress, _) = watch::channel(Progress::default());
        let config = &config;
        let reload_name = name.clone();
        // One forwarding-history store per node, kept across reconnects and reloads.
        let store = FlowStore::shared(settings.analysis.flow_window);
        loops.push(daemon::run(
            settings,
            move |s: &Settings| LndClient::with_flow_store(s, store.clone()),
            move || reload_node(config, &reload_name),
            Control {
                shutdown,
                reload: reload_rx,
            },
            &SystemdNotifier,
            LoopOutputs {
                node: name,
                progress,
                metrics: metrics.as_ref().map(|endpoint| endpoint.registry.clone()),
                heartbeat,
            },
        ));
    }

    let forward_signals = async {
        let mut metrics = metrics;
        let mut current = config.settings.clone();
        let Control {
            shutdown,
            mut reload,
        } = control;
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                request = reload.recv() => match request {
                    Some(()) => {
                        reload_process_settings(&config, &mut current, &mut metrics).await;
                        // A node whose queue is full has a reload pending already.
                        reload_txs.iter().for_each(|tx| { let _ = tx.try_send(()); });
                    }
                    None => {
                        (&mut shutdown).await;
                        break;
                    }
                },
            }
        }
        let _ = stop_tx.send(true);
        metrics
    };
    // Pings on its own timer while no loop is wedged (see `daemon::watchdog`).
    let pinging = async {
        if let Some(interval) = watchdog::systemd_watchdog_interval() {
            let mut stop = stop_rx.clone();
            let stopped = async move {
                let _ = stop.wait_for(|stopped| *stopped).await;
            };
            watchdog::run(heartbeats, interval, &SystemdNotifier, stopped).await;
        }
    };
    let (metrics, _, ()) = tokio::join!(forward_signals, join_all(loops), pinging);

    if let Some(endpoint) = metrics {
        let _ = endpoint.stop.send(());
    }
    Ok(())
}

/// The running metrics endpoint.
struct MetricsEndpoint {
    registry: Metrics,
    address: SocketAddr,
    stop: oneshot::Sender<()>,
}

/// Serves `registry` on `listener` in its own task until the returned sender fires.
fn spawn_endpoint(listener: tokio::net::TcpListener, registry: Metrics) -> oneshot::Sender<()> {
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(metrics::serve(listener, registry, async move {
        let _ = stopped.await;
    }));
    stop
}

/// Applies the process-wide keys of a reloaded configuration: `log.level` and a changed
/// `metrics.listen`; says which changed keys take a restart. A configuration that does not
/// load changes nothing here (each node's reload reports why).
async fn reload_process_settings(
    config: &LoadedConfig,
    current: &mut Settings,
    endpoint: &mut Option<MetricsEndpoint>,
) {
    let Ok(fresh) = config.reload(&ProcessEnv) else {
        return;
    };
    let fresh = fresh.settings;
    if fresh.log.level != current.log.level {
        match logging::reload_level(&fresh.log) {
            Some(Ok(LevelChange::Applied)) => {
                tracing::info!(level = %fresh.log.level, "reload: log.level applied");
            }
            Some(Ok(LevelChange::OverriddenByRustLog)) => tracing::warn!(
                level = %fresh.log.level,
                "reload: log.level changed, but RUST_LOG is set and wins over it"
            ),
            Some(Err(err)) => tracing::error!(error = %err, "reload: cannot apply log.level"),
            None => {}
        }
    }
    if fresh.log.format != current.log.format {
        tracing::warn!("reload: log.format changed; it takes effect after a restart");
    }
    if fresh.metrics.listen != current.metrics.listen {
        reload_metrics_listen(&fresh, endpoint).await;
    }
    *current = fresh;
}

/// Moves the metrics endpoint to a changed `metrics.listen`, or stops it when the key is gone.
/// The new address is bound before the old endpoint stops, so a bad or busy address keeps the
/// old one serving.
async fn reload_metrics_listen(fresh: &Settings, endpoint: &mut Option<MetricsEndpoint>) {
    let address = match metrics::listen_address(&fresh.metrics) {
        Ok(address) => address,
        Err(err) => {
            tracing::error!(error = %err, "reload: keeping the metrics endpoint as it was");
            return;
        }
    };
    match (endpoint.take(), address) {
        (Some(running), Some(address)) if running.address == address => *endpoint = Some(running),
        (Some(running), Some(address)) => match metrics::bind(address).await {
            Ok(listener) => {
                let _ = running.stop.send(());
                tracing::info!(%address, "reload: metrics endpoint moved (metrics.listen)");
                *endpoint = Some(MetricsEndpoint {
                    stop: spawn_endpoint(listener, running.registry.clone()),
                    registry: running.registry,
                    address,
                });
            }
            Err(err) => {
                tracing::error!(error = %err, "reload: keeping the metrics endpoint on {}", running.address);
                *endpoint = Some(running);
            }
        },
        (Some(running), None) => {
            let _ = running.stop.send(());
            tracing::info!("reload: metrics.listen removed; metrics endpoint stopped");
        }
        (None, Some(address)) => tracing::warn!(
            %address,
            "reload: metrics.listen set; the metrics endpoint starts after a restart"
        ),
        (None, None) => {}
    }
}

/// Re-reads the configuration for one node. The node must still exist: adding or removing
/// nodes takes a restart (the loops are per node), which the error says.
fn reload_node(config: &LoadedConfig, name: &str) -> Result<Settings, String> {
    let fresh = config.reload(&ProcessEnv).map_err(|e| e.to_string())?;
    fresh.check_lnd_files().map_err(|e| e.to_string())?;
    fresh
        .settings
        .node_settings()
        .into_iter()
        .find(|(node, _)| node == name)
        .map(|(_, settings)| settings)
        .ok_or_else(|| {
            format!("node `{name}` is no longer in the configuration; restart dustwatch to change the set of nodes")
        })
}

/// Binds the metrics endpoint when configured; a bad or busy address is a configuration
/// error (exit 78), found before the daemon reports READY.
async fn start_metrics(config: &LoadedConfig) -> Result<Option<MetricsEndpoint>, AppError> {
    const KEY: &str = "metrics.listen";
    let invalid = |e: metrics::MetricsError| {
        AppError::Config(ConfigError::Invalid {
            problems: vec![InvalidValue {
                key: KEY.into(),
                origin: config.origin(KEY),
                reason: e.to_string(),
            }],
        })
    };
    let Some(address) = metrics::listen_address(&config.settings.metrics).map_err(invalid)? else {
        return Ok(None);
    };
    let listener = metrics::bind(address).await.map_err(invalid)?;
    tracing::info!(%address, "serving Prometheus metrics at /metrics");
    let registry = Metrics::new();
    Ok(Some(MetricsEndpoint {
        stop: spawn_endpoint(listener, registry.clone()),
        registry,
        address,
    }))
}
