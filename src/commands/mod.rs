//! The commands behind the CLI, one module each, and [`dispatch`], which runs the command
//! `cli` parsed. Every command is an edge: it gathers input (files, LND, the simulator), calls
//! the pure core, and writes output.
//!
//! * [`error`]: [`AppError`], why a command failed, and its exit code;
//! * [`output`]: [`write_output`], stdout that tolerates a closed pipe;
//! * one module per command: [`run`] (the daemon), [`once`], [`analyze_offline`], [`demo`],
//!   [`check_config`], [`plans`] (`plan show`, `plan diff`), [`sim`].

pub mod analyze_offline;
pub mod check_config;
pub mod demo;
pub mod error;
pub mod once;
pub mod output;
pub mod plans;
pub mod run;
pub mod sim;

use std::io::Write;

pub use error::{error_report, AppError};
pub use output::write_output;

use crate::cli::{Command, PlanCommand};
use crate::config::LoadedConfig;

/// Runs `command` with the loaded configuration, writing its normal output to `stdout`.
///
/// Commands that connect to LND check its certificate and macaroon first, so a missing file is
/// a configuration error (78) before anything else happens.
pub async fn dispatch(
    command: Command,
    config: LoadedConfig,
    stdout: &mut (dyn Write + Send),
) -> Result<(), AppError> {
    if command.connects_to_lnd() {
        config.check_lnd_files()?;
    }
    match command {
        Command::CheckConfig => check_config::run(&config, stdout),
        Command::Run => run::run(config).await,
        Command::Once => once::run(&config.settings, stdout).await,
        Command::Analyze(args) => analyze_offline::run(&args, &config.settings, stdout),
        Command::Demo(args) => demo::run(&args, &config.settings, stdout).await,
        Command::Plan(PlanCommand::Show { target, channel }) => {
            plans::show(target.as_deref(), channel, &config.settings, stdout)
        }
        Command::Plan(PlanCommand::Diff { old, new }) => plans::diff_files(&old, &new, stdout),
        Command::Sim(args) => sim::run(&args).await,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use clap::Parser;

    use super::*;
    use crate::cli::{exit, Cli};
    use crate::config::{load, ConfigFile};

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("dustwatch").chain(args.iter().copied()))
    }

    fn defaults_without_file() -> LoadedConfig {
        let dir = tempfile::tempdir().expect("tempdir");
        load(
            &ConfigFile::Default(dir.path().join("absent.toml")),
            &BTreeMap::new(),
        )
        .expect("defaults")
    }

    #[tokio::test]
    async fn commands_without_lnd_do_not_need_its_files() {
        // The default macaroon path does not exist here; analyze must not care: it fails on
        // its own input file instead (exit 65), naming it.
        let config = defaults_without_file();
        let cli = parse(&["analyze", "--listchannels", "/nonexistent/x.json"]).expect("parses");
        let err = dispatch(cli.command, config, &mut Vec::new())
            .await
            .expect_err("the input file is missing");
        assert!(matches!(err, AppError::Input(_)), "{err:?}");
        assert!(err.to_string().contains("/nonexistent/x.json"), "{err}");
    }

    #[tokio::test]
    async fn commands_with_lnd_check_its_files_first() {
        let dir = tempfile::tempdir().expect("tempdir");
        let env: BTreeMap<String, String> = [(
            "DUSTWATCH_LND__TLS_CERT_PATH".to_string(),
            dir.path().join("absent.cert").display().to_string(),
        )]
        .into();
        let config =
            load(&ConfigFile::Default(dir.path().join("absent.toml")), &env).expect("loads");
        let err = dispatch(Command::Once, config, &mut Vec::new())
            .await
            .expect_err("files missing");
        assert_eq!(err.exit_code(), exit::CONFIG, "{err}");
        assert!(err.to_string().contains("lnd.tls_cert_path"), "{err}");
    }

    #[tokio::test]
    async fn check_config_prints_the_effective_config() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cert = dir.path().join("tls.cert");
        let macaroon = dir.path().join("readonly.macaroon");
        let pem = rcgen::generate_simple_self_signed(vec!["localhost".to_string()])
            .expect("certificate")
            .cert
            .pem();
        std::fs::write(&cert, pem).expect("cert");
        std::fs::write(&macaroon, "m").expect("macaroon");
        let env: BTreeMap<String, String> = [
            ("DUSTWATCH_LND__TLS_CERT_PATH", cert.display().to_string()),
            (
                "DUSTWATCH_LND__MACAROON_PATH",
                macaroon.display().to_string(),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let config =
            load(&ConfigFile::Default(dir.path().join("absent.toml")), &env).expect("loads");
        let mut out = Vec::new();
        dispatch(Command::CheckConfig, config, &mut out)
            .await
            .expect("valid");
        let text = String::from_utf8(out).expect("utf-8");
        assert!(text.contains("[lnd]"), "{text}");
        assert!(text.contains(&macaroon.display().to_string()), "{text}");
        assert!(text.contains("DUSTWATCH_LND__MACAROON_PATH"), "{text}");
    }
}
