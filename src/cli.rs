//! The command line, parsed: clap types ([`Cli`]) and the exit codes (sysexits.h). It only
//! parses; `commands::dispatch` runs what was parsed.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

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
        /// Show this one channel in full (its dust, HTLCs, force-close cost, actions, alerts)
        #[arg(long, value_name = "ID")]
        channel: Option<u64>,
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

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

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
            Command::Plan(PlanCommand::Show {
                target: None,
                channel: None
            })
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
}
