//! `dustwatch run`: the daemon under systemd (or in a terminal).

use tokio::sync::watch;

use crate::cli::AppError;
use crate::config::{ConfigError, InvalidValue, LoadedConfig, ProcessEnv};
use crate::daemon::notify::SystemdNotifier;
use crate::daemon::{self, signals, LoopOutputs, Progress};
use crate::lnd::client::LndClient;
use crate::settings::Settings;
use crate::sink::metrics::{self, Metrics};

/// Runs until SIGTERM/SIGINT. SIGHUP reloads the configuration file and environment; a reload
/// that fails validation (or whose certificate/macaroon files are missing) keeps the old one.
/// With `[metrics] listen` set, serves Prometheus metrics until shutdown.
pub async fn run(config: LoadedConfig) -> Result<(), AppError> {
    let control = signals::install().map_err(|e| AppError::Internal(Box::new(e)))?;
    let settings = config.settings.clone();
    let metrics = start_metrics(&config).await?;
    let (progress, _) = watch::channel(Progress::default());
    let reload = || {
        let fresh = config.reload(&ProcessEnv).map_err(|e| e.to_string())?;
        fresh.check_lnd_files().map_err(|e| e.to_string())?;
        Ok(fresh.settings)
    };
    daemon::run(
        settings,
        |s: &Settings| LndClient::new(&s.lnd),
        reload,
        control,
        &SystemdNotifier,
        LoopOutputs {
            node: "default".into(),
            progress,
            metrics: metrics.as_ref().map(|(m, _)| m.clone()),
        },
    )
    .await;
    if let Some((_, stop)) = metrics {
        let _ = stop.send(());
    }
    Ok(())
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
