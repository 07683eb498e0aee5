//! `dustwatch run`: the daemon under systemd (or in a terminal).
//!
//! One daemon loop per configured node (`[[nodes]]`, or the single `[lnd]` node), all in one
//! task, each with its own LND client, backoff and plan directory, so a node that is down only
//! delays itself. Signals fan out: SIGHUP reloads every node, SIGTERM stops every node.

use futures_util::future::join_all;
use tokio::sync::{mpsc, watch};

use super::error::AppError;
use crate::config::{ConfigError, InvalidValue, LoadedConfig, ProcessEnv};
use crate::daemon::notify::SystemdNotifier;
use crate::daemon::{self, signals, Control, LoopOutputs, Progress};
use crate::lnd::client::LndClient;
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
    for (name, settings) in nodes {
        let (reload_tx, reload_rx) = mpsc::channel(1);
        reload_txs.push(reload_tx);
        let mut stop = stop_rx.clone();
        let shutdown = async move {
            let _ = stop.wait_for(|stopped| *stopped).await;
        };
        let (progress, _) = watch::channel(Progress::default());
        let config = &config;
        let reload_name = name.clone();
        loops.push(daemon::run(
            settings,
            |s: &Settings| LndClient::new(&s.lnd),
            move || reload_node(config, &reload_name),
            Control {
                shutdown,
                reload: reload_rx,
            },
            &SystemdNotifier,
            LoopOutputs {
                node: name,
                progress,
                metrics: metrics.as_ref().map(|(m, _)| m.clone()),
            },
        ));
    }

    let forward_signals = async move {
        let Control {
            shutdown,
            mut reload,
        } = control;
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                request = reload.recv() => match request {
                    // A node whose queue is full has a reload pending already.
                    Some(()) => reload_txs.iter().for_each(|tx| { let _ = tx.try_send(()); }),
                    None => {
                        (&mut shutdown).await;
                        break;
                    }
                },
            }
        }
        let _ = stop_tx.send(true);
    };
    tokio::join!(forward_signals, join_all(loops));

    if let Some((_, stop)) = metrics {
        let _ = stop.send(());
    }
    Ok(())
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
async fn start_metrics(
    config: &LoadedConfig,
) -> Result<Option<(Metrics, tokio::sync::oneshot::Sender<()>)>, AppError> {
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
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(metrics::serve(listener, registry.clone(), async move {
        let _ = stopped.await;
    }));
    Ok(Some((registry, stop)))
}
