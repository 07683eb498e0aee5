//! `dustwatch check-config`: validate the configuration and print the effective settings.

use std::io::Write;

use super::error::AppError;
use super::output::write_output;
use crate::config::LoadedConfig;

/// `dustwatch check-config`: the configuration loaded and validated (else `main` never got
/// here) and LND's files are readable; print the effective settings.
pub fn run(config: &LoadedConfig, stdout: &mut (dyn Write + Send)) -> Result<(), AppError> {
    let mut text = config.render()?;
    text.push('\n');
    text.push_str(&config.describe_lnd_paths());
    text.push_str("# configuration is valid; LND's certificate and macaroon are readable\n");
    write_output(stdout, &text)
}
