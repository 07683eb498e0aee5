//! `dustwatch sim`: a simulated LND on 127.0.0.1 for trying dustwatch (or any LND tool).

use crate::cli::{AppError, SimArgs};
use crate::sim::{run_standalone, SimConfig};

/// Serves until Ctrl-C; prints where the certificate and macaroon are.
pub async fn run(args: &SimArgs) -> Result<(), AppError> {
    let config = SimConfig {
        channels: args.channels,
        seed: args.seed,
        data_dir: args.data_dir.clone(),
        port: args.port,
    };
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    run_standalone(config, shutdown)
        .await
        .map_err(|e| AppError::Internal(Box::new(e)))
}
