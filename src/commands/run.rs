//! `dustwatch run`: the daemon under systemd (or in a terminal).

use tokio::sync::watch;

use crate::cli::AppError;
use crate::config::{LoadedConfig, ProcessEnv};
use crate::daemon::notify::SystemdNotifier;
use crate::daemon::{self, signals, Progress};
use crate::lnd::client::LndClient;

/// Runs until SIGTERM/SIGINT. SIGHUP reloads the configuration file and environment; a reload
/// that fails validation (or whose certificate/macaroon files are missing) keeps the old one.
pub async fn run(config: LoadedConfig) -> Result<(), AppError> {
    let control = signals::install().map_err(|e| AppError::Internal(Box::new(e)))?;
    let (progress, _) = watch::channel(Progress::default());
    let settings = config.settings.clone();
    let reload = || {
        let fresh = config.reload(&ProcessEnv).map_err(|e| e.to_string())?;
        fresh.check_lnd_files().map_err(|e| e.to_string())?;
        Ok(fresh.settings)
    };
    daemon::run(
        settings,
        |s: &crate::settings::Settings| LndClient::new(&s.lnd),
        reload,
        control,
        &SystemdNotifier,
        progress,
        "default",
    )
    .await;
    Ok(())
}
