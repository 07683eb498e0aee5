//! The `dustwatch` binary: parse the command line, load the configuration, start logging, run
//! the command, and turn the outcome into an exit code. Everything else lives in the library.

use std::process::ExitCode;

use clap::Parser;

use dustwatch::cli::{self, Cli};
use dustwatch::commands::{self, AppError};
use dustwatch::config::{self, ConfigFile, ProcessEnv};
use dustwatch::logging;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            // Help and version go to stdout, usage errors to stderr; clap knows which.
            let _ = err.print();
            return ExitCode::from(cli::usage_exit_code(&err));
        }
    };
    match run(cli).await {
        Ok(()) => ExitCode::from(cli::exit::OK),
        Err(err) => {
            eprintln!("dustwatch: error: {}", commands::error_report(&err));
            ExitCode::from(err.exit_code())
        }
    }
}

async fn run(cli: Cli) -> Result<(), AppError> {
    let config = config::load(&ConfigFile::from_flag(cli.config), &ProcessEnv)?;
    let rust_log = std::env::var("RUST_LOG").ok();
    logging::init(&config.settings.log, rust_log.as_deref())?;
    commands::dispatch(cli.command, config, &mut std::io::stdout()).await
}
