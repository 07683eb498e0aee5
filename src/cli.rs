//! The command line: clap types, exit codes, and [`dispatch`], which runs one command.
//!
//! `main` parses ([`Cli`]), loads the configuration, initialises logging and calls [`dispatch`];
//! everything it needs to decide an exit code is [`AppError::exit_code`]. Commands implemented in
//! other modules are wired in [`dispatch`], one match arm each.

use std::error::Error as StdError;
use std::io::Write;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::commands;
use crate::config::{ConfigError, LoadedConfig};
use crate::logging::LoggingError;

/// Exit codes (sysexits.h), the contract with systemd and scripts.
pub mod exit {
    pub const OK: u8 = 0;
    /// Bad command line (EX_USAGE).
    pub const USAGE: u8 = 64;
    /// An input file (`lncli` JSON, a plan file) is unreadable or malformed (EX_DATAERR).
    pub const DATA: u8 = 65;
    /// `once` could not reach LND (EX_UNAVAILABLE). The daemon never exits for this.
    pub const UNAVAILABLE: u8 = 69;
    /// A bug or an unfinished command (EX_SOFTWARE).
    pub const SOFTWARE: u8 = 70;
    /// Bad configuration (EX_CONFIG); the systemd unit sets `RestartPreventExitStatus=78`.
    pub const CONFIG: u8 = 78;
}

/// Watches an LND node's channels for dust, fee exposure and force-close risk, and plans what
/// to do about it. Read-only towards LND: it never moves funds.
#[derive(Debug, Clone, PartialEq, Parser)]
#[command(name = "dustwatch", version, propagate_version = true)]
#[command(
    after_help = "Exit codes: 0 ok, 64 usage, 65 bad input file, 69 LND unreachable (once), 70 internal, 78 configuration."
)]
pub struct Cli {
    /// Configuration file [default: /etc/dustwatch/dustwatch.toml; built-in defaults if absent]
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, PartialEq, Subcommand)]
pub enum Command {
    /// Run the daemon: poll LND, write plans, log alerts, serve metrics
    Run,
    /// Run one cycle against LND, print a summary and write the plan
    Once,
    /// Analyze `lncli` JSON output offline (no node needed)
    Analyze(AnalyzeArgs),
    /// Run the daemon against an embedded simulated LND (no setup needed)
    Demo(DemoArgs),
    /// Validate the configuration and print the effective settings (secrets redacted)
    CheckConfig,
    /// Read plan files
    #[command(subcommand)]
    Plan(PlanCommand),
    /// Serve a simulated LND over gRPC for testing
    Sim(SimArgs),
}

/// `dustwatch analyze`: inputs are files saved from `lncli`.
#[derive(Debug, Clone, PartialEq, Args)]
pub struct AnalyzeArgs {
    /// `lncli listchannels` output
    #[arg(long, value_name = "FILE")]
    pub listchannels: PathBuf,
    /// `lncli getinfo` output (block height for HTLC expiry)
    #[arg(long, value_name = "FILE")]
    pub getinfo: Option<PathBuf>,
    /// `lncli pendingchannels` output
    #[arg(long, value_name = "FILE")]
    pub pendingchannels: Option<PathBuf>,
    /// `lncli feereport` output (fee policies for rebalance budgets)
    #[arg(long, value_name = "FILE")]
    pub feereport: Option<PathBuf>,
    /// `lncli fwdinghistory --start_time -30d --max_events 50000` output (forwarding flow;
    /// without it every flow-based judgement is unknown)
    #[arg(long, value_name = "FILE")]
    pub fwdinghistory: Option<PathBuf>,
    /// Print the plan as JSON instead of a table
    #[arg(long)]
    pub json: bool,
    /// Also write the plan files into this directory
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// `dustwatch demo`.
#[derive(Debug, Clone, PartialEq, Args)]
pub struct DemoArgs {
    /// Where to write plans [default: a temporary directory]
    #[arg(long, value_name = "DIR")]
    pub plan_dir: Option<PathBuf>,
    /// Stop after this many cycles [default: run until interrupted]
    #[arg(long, value_name = "N")]
    pub cycles: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Subcommand)]
pub enum PlanCommand {
    /// Show a plan file, or the latest plan in a directory [default: output.plan_dir]
    Show {
        #[arg(value_name = "FILE|DIR")]
        target: Option<PathBuf>,
    },
    /// Show what changed between two plan files
    Diff {
        #[arg(value_name = "A")]
        old: PathBuf,
        #[arg(value_name = "B")]
        new: PathBuf,
    },
}

/// `dustwatch sim`.
#[derive(Debug, Clone, PartialEq, Args)]
pub struct SimArgs {
    /// Number of simulated channels
    #[arg(long, value_name = "N")]
    pub channels: usize,
    /// Seed for the deterministic channel generator
    #[arg(long, value_name = "S")]
    pub seed: u64,
    /// Where the simulator writes its TLS certificate and macaroon
    #[arg(long, value_name = "D")]
    pub data_dir: PathBuf,
    /// gRPC port on 127.0.0.1 [default: any free port]
    #[arg(long, value_name = "P")]
    pub port: Option<u16>,
    /// Instead of serving, write the generated node as `lncli` JSON (listchannels.json,
    /// getinfo.json, pendingchannels.json, feereport.json) into this directory and exit
    #[arg(long, value_name = "DIR")]
    pub dump_lncli: Option<PathBuf>,
}

impl Command {
    /// The command's name as typed, for messages.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Run => "run",
            Command::Once => "once",
            Command::Analyze(_) => "analyze",
            Command::Demo(_) => "demo",
            Command::CheckConfig => "check-config",
            Command::Plan(PlanCommand::Show { .. }) => "plan show",
            Command::Plan(PlanCommand::Diff { .. }) => "plan diff",
            Command::Sim(_) => "sim",
        }
    }

    /// Whether the command talks to LND, and so needs its certificate and macaroon.
    pub fn connects_to_lnd(&self) -> bool {
        matches!(self, Command::Run | Command::Once | Command::CheckConfig)
    }
}

/// The exit code for a command line clap rejected: 0 for `--help`/`--version` (clap reports
/// those as "errors" printed to stdout), 64 for real usage errors.
pub fn usage_exit_code(err: &clap::Error) -> u8 {
    if err.use_stderr() {
        exit::USAGE
    } else {
        exit::OK
    }
}

/// Why a command failed; [`AppError::exit_code`] turns it into the process's exit code.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Config(#[from] ConfigError),

    #[error(transparent)]
    Logging(#[from] LoggingError),

    /// A command line that parsed but cannot be carried out as given.
    #[error("{0}")]
    Usage(String),

    /// An input file the command was given cannot be used; the message names the file.
    #[error("{0}")]
    Input(#[source] Box<dyn StdError + Send + Sync>),

    /// `once` could not reach LND.
    #[error("cannot reach LND: {0}")]
    LndUnreachable(#[source] Box<dyn StdError + Send + Sync>),

    /// Writing the command's output failed (e.g. stdout closed).
    #[error("cannot write output: {0}")]
    Output(#[from] std::io::Error),

    /// Anything else: a bug or an environment problem the command cannot classify.
    #[error("{0}")]
    Internal(#[source] Box<dyn StdError + Send + Sync>),
}

impl AppError {
    pub fn exit_code(&self) -> u8 {
        match self {
            AppError::Config(_) => exit::CONFIG,
            AppError::Logging(err) if err.is_config_error() => exit::CONFIG,
            AppError::Logging(_) => exit::SOFTWARE,
            AppError::Usage(_) => exit::USAGE,
            AppError::Input(_) => exit::DATA,
            AppError::LndUnreachable(_) => exit::UNAVAILABLE,
            AppError::Output(_) | AppError::Internal(_) => exit::SOFTWARE,
        }
    }
}

/// `err` and its sources on one line, skipping a source whose text its parent already shows
/// (most of our messages embed their cause).
pub fn error_report(err: &(dyn StdError + 'static)) -> String {
    let mut report = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !report.contains(&text) {
            report.push_str(": ");
            report.push_str(&text);
        }
        source = cause.source();
    }
    report
}

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
        Command::CheckConfig => check_config(&config, stdout),
        Command::Run => commands::run::run(config).await,
        Command::Once => commands::once::run(&config.settings, stdout).await,
        Command::Analyze(args) => commands::analyze_offline::run(&args, &config.settings, stdout),
        Command::Demo(args) => commands::demo::run(&args, &config.settings, stdout).await,
        Command::Plan(PlanCommand::Show { target }) => {
            commands::plans::show(target.as_deref(), &config.settings, stdout)
        }
        Command::Plan(PlanCommand::Diff { old, new }) => {
            commands::plans::diff_files(&old, &new, stdout)
        }
        Command::Sim(args) => commands::sim::run(&args).await,
    }
}

/// `dustwatch check-config`: the configuration loaded and validated (else `main` never got
/// here) and LND's files are readable; print the effective settings.
fn check_config(config: &LoadedConfig, stdout: &mut (dyn Write + Send)) -> Result<(), AppError> {
    let mut text = config.render()?;
    text.push('\n');
    text.push_str(&config.describe_lnd_paths());
    text.push_str("# configuration is valid; LND's certificate and macaroon are readable\n");
    write_output(stdout, &text)
}

/// Writes a command's output. A closed pipe (`dustwatch … | head`) is the reader's choice, not
/// a failure, so it ends the output quietly.
pub fn write_output(stdout: &mut (dyn Write + Send), text: &str) -> Result<(), AppError> {
    // Reports embed LND's strings (aliases, versions, messages): no raw control characters.
    let text = crate::escape::escape_report(text);
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        result => Ok(result?),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use clap::CommandFactory;

    use super::*;
    use crate::config::{load, ConfigFile};

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("dustwatch").chain(args.iter().copied()))
    }

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn parses_every_subcommand() {
        assert_eq!(parse(&["run"]).expect("run").command, Command::Run);
        assert_eq!(parse(&["once"]).expect("once").command, Command::Once);
        assert_eq!(
            parse(&["check-config"]).expect("cc").command,
            Command::CheckConfig
        );

        let cli = parse(&[
            "analyze",
            "--listchannels",
            "lc.json",
            "--getinfo",
            "gi.json",
            "--pendingchannels",
            "pc.json",
            "--feereport",
            "fr.json",
            "--json",
            "--out",
            "plans",
        ])
        .expect("analyze");
        assert_eq!(
            cli.command,
            Command::Analyze(AnalyzeArgs {
                listchannels: "lc.json".into(),
                getinfo: Some("gi.json".into()),
                pendingchannels: Some("pc.json".into()),
                feereport: Some("fr.json".into()),
                fwdinghistory: None,
                json: true,
                out: Some("plans".into()),
            })
        );

        let cli = parse(&["demo", "--plan-dir", "/tmp/p", "--cycles", "3"]).expect("demo");
        assert_eq!(
            cli.command,
            Command::Demo(DemoArgs {
                plan_dir: Some("/tmp/p".into()),
                cycles: Some(3)
            })
        );

        assert_eq!(
            parse(&["plan", "show"]).expect("plan show").command,
            Command::Plan(PlanCommand::Show { target: None })
        );
        assert_eq!(
            parse(&["plan", "diff", "a.json", "b.json"])
                .expect("diff")
                .command,
            Command::Plan(PlanCommand::Diff {
                old: "a.json".into(),
                new: "b.json".into()
            })
        );

        let cli = parse(&[
            "sim",
            "--channels",
            "10",
            "--seed",
            "7",
            "--data-dir",
            "d",
            "--port",
            "10019",
        ])
        .expect("sim");
        assert_eq!(
            cli.command,
            Command::Sim(SimArgs {
                channels: 10,
                seed: 7,
                data_dir: "d".into(),
                port: Some(10019),
                dump_lncli: None,
            })
        );
    }

    #[test]
    fn config_flag_is_global() {
        let before = parse(&["--config", "a.toml", "check-config"]).expect("before");
        let after = parse(&["check-config", "--config", "a.toml"]).expect("after");
        assert_eq!(before.config, Some(PathBuf::from("a.toml")));
        assert_eq!(before, after);
    }

    #[test]
    fn required_arguments_are_enforced() {
        for args in [
            &["analyze"][..],
            &["sim", "--channels", "1", "--seed", "1"],
            &["plan", "diff", "a"],
            &["demo", "--cycles", "many"],
            &[],
            &["frobnicate"],
        ] {
            let err = parse(args).expect_err("rejected");
            assert_eq!(usage_exit_code(&err), exit::USAGE, "{args:?}: {err}");
        }
    }

    #[test]
    fn help_and_version_exit_zero() {
        for args in [&["--help"][..], &["--version"], &["plan", "--help"]] {
            let err = parse(args).expect_err("clap reports help as an error");
            assert_eq!(usage_exit_code(&err), exit::OK, "{args:?}");
        }
    }

    #[test]
    fn exit_codes_follow_the_contract() {
        assert_eq!(AppError::Internal("bug".into()).exit_code(), exit::SOFTWARE);
        assert_eq!(AppError::Input("bad file".into()).exit_code(), exit::DATA);
        assert_eq!(AppError::Usage("x".into()).exit_code(), exit::USAGE);
        assert_eq!(
            AppError::LndUnreachable("connection refused".into()).exit_code(),
            exit::UNAVAILABLE
        );
        let config = ConfigError::FileNotFound { path: "/x".into() };
        assert_eq!(AppError::from(config).exit_code(), exit::CONFIG);
    }

    #[test]
    fn error_report_adds_only_new_causes() {
        let inner = std::io::Error::other("socket closed");
        let err = AppError::Internal(Box::new(inner));
        assert_eq!(error_report(&err), "socket closed");
        let err = AppError::LndUnreachable(Box::new(std::io::Error::other("refused")));
        assert_eq!(error_report(&err), "cannot reach LND: refused");
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
