//! `dustwatch sim`: a simulated LND on 127.0.0.1 for trying dustwatch (or any LND tool).

use super::error::AppError;
use crate::cli::SimArgs;
use crate::sim::lncli_dump::dump_scenario;
use crate::sim::{run_standalone, ScenarioConfig, SimConfig, DEFAULT_MAX_FEE_EXPOSURE_SAT};

/// Serves until Ctrl-C; prints where the certificate and macaroon are. With `--dump-lncli DIR`
/// it writes the generated node as `lncli` JSON instead, prints the files and exits.
pub async fn run(args: &SimArgs) -> Result<(), AppError> {
    if let Some(dir) = &args.dump_lncli {
        let scenario = ScenarioConfig {
            channels: args.channels,
            seed: args.seed,
            start_unix: crate::clock::unix_now(),
            max_fee_exposure_sat: DEFAULT_MAX_FEE_EXPOSURE_SAT,
        };
        let files =
            dump_scenario(&scenario, None, dir).map_err(|e| AppError::Internal(Box::new(e)))?;
        println!(
            "lncli JSON of a {}-channel simulated node (seed {}):\n  {}\n  {}\n  {}\n  {}\n  {}",
            args.channels,
            args.seed,
            files.listchannels.display(),
            files.getinfo.display(),
            files.pendingchannels.display(),
            files.feereport.display(),
            files.fwdinghistory.display()
        );
        return Ok(());
    }
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
