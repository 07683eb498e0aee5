//! Black-box tests of the `dustwatch` binary: exit codes and what the operator sees.
//!
//! Every run clears the environment, so a `DUSTWATCH_*` or `RUST_LOG` variable in the developer's
//! shell cannot change the outcome, and passes `--config` so `/etc` is never read.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const CONFIG_ERROR: i32 = 78;
const USAGE: i32 = 64;
const DATA_ERROR: i32 = 65;

/// Bytes that stand in for a macaroon; they must never show up in any output.
const MACAROON_BYTES: &[u8] = b"\x02\x01\x03lnd-secret-macaroon-root-key";

struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Self {
        Fixture {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes `text` as `dustwatch.toml` and returns its path.
    fn config(&self, text: &str) -> PathBuf {
        let path = self.path("dustwatch.toml");
        std::fs::write(&path, text).expect("write config");
        path
    }

    /// A complete, valid config whose LND files exist (the macaroon holds [`MACAROON_BYTES`]).
    fn good_config(&self) -> PathBuf {
        let cert = self.path("tls.cert");
        let macaroon = self.path("readonly.macaroon");
        std::fs::write(&cert, self_signed_pem()).expect("cert");
        std::fs::write(&macaroon, MACAROON_BYTES).expect("macaroon");
        self.config(&lnd_section(
            &cert,
            &macaroon,
            "[poll]\ninterval = \"30s\"\n",
        ))
    }
}

/// A real self-signed certificate in PEM, as check-config now parses LND's.
fn self_signed_pem() -> String {
    rcgen::generate_simple_self_signed(vec!["localhost".to_string()])
        .expect("certificate")
        .cert
        .pem()
}

fn lnd_section(cert: &Path, macaroon: &Path, rest: &str) -> String {
    format!(
        "[lnd]\nhost = \"127.0.0.1\"\ntls_cert_path = {:?}\nmacaroon_path = {:?}\n\n{rest}",
        cert.display().to_string(),
        macaroon.display().to_string()
    )
}

fn dustwatch(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dustwatch"))
        .args(args)
        .env_clear()
        .envs(env.iter().copied())
        .output()
        .expect("run dustwatch")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn assert_exit(out: &Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{}",
        stdout(out),
        stderr(out)
    );
}

#[test]
fn help_exits_zero_and_lists_commands() {
    let out = dustwatch(&["--help"], &[]);
    assert_exit(&out, 0);
    let text = stdout(&out);
    for command in [
        "run",
        "once",
        "analyze",
        "demo",
        "check-config",
        "plan",
        "sim",
    ] {
        assert!(text.contains(command), "help lacks {command}:\n{text}");
    }
}

#[test]
fn version_exits_zero() {
    let out = dustwatch(&["--version"], &[]);
    assert_exit(&out, 0);
    assert!(stdout(&out).contains(env!("CARGO_PKG_VERSION")));
}

#[test]
fn bad_flag_is_usage_error() {
    let out = dustwatch(&["check-config", "--no-such-flag"], &[]);
    assert_exit(&out, USAGE);
    assert!(stderr(&out).contains("--no-such-flag"), "{}", stderr(&out));
}

#[test]
fn missing_subcommand_is_usage_error() {
    assert_exit(&dustwatch(&[], &[]), USAGE);
}

#[test]
fn check_config_on_good_file_prints_redacted_effective_config() {
    let fx = Fixture::new();
    let config = fx.good_config();
    let out = dustwatch(
        &[
            "--config",
            config.to_str().expect("utf-8 path"),
            "check-config",
        ],
        &[("DUSTWATCH_LND__PORT", "10010")],
    );
    assert_exit(&out, 0);
    let text = stdout(&out);
    // The effective values from every layer …
    assert!(text.contains("host = \"127.0.0.1\""), "{text}");
    assert!(text.contains("port = 10010"), "{text}");
    assert!(text.contains("interval = \"30s\""), "{text}");
    assert!(text.contains("DUSTWATCH_LND__PORT"), "{text}");
    // … the macaroon's path, which is not secret …
    let macaroon = fx.path("readonly.macaroon");
    assert!(text.contains(&macaroon.display().to_string()), "{text}");
    // … and never its contents, raw or hex, in any output.
    let hex = hex::encode(MACAROON_BYTES);
    for output in [text.as_str(), stderr(&out).as_str()] {
        assert!(!output.contains("lnd-secret-macaroon"), "{output}");
        assert!(!output.contains(&hex), "{output}");
    }
    // The output is itself a usable config file.
    let printed = fx.path("printed.toml");
    std::fs::write(&printed, &text).expect("write printed config");
    let again = dustwatch(
        &[
            "--config",
            printed.to_str().expect("utf-8 path"),
            "check-config",
        ],
        &[],
    );
    assert_exit(&again, 0);
    assert!(stdout(&again).contains("port = 10010"));
}

#[test]
fn bad_toml_names_file_and_line() {
    let fx = Fixture::new();
    let config = fx.config("[lnd]\nhost = \"h\"\nport = = 1\n");
    let out = dustwatch(
        &["--config", config.to_str().expect("utf-8"), "check-config"],
        &[],
    );
    assert_exit(&out, CONFIG_ERROR);
    let err = stderr(&out);
    assert!(err.contains(&config.display().to_string()), "{err}");
    assert!(err.contains("line 3"), "{err}");
}

#[test]
fn unknown_key_names_key_and_line() {
    let fx = Fixture::new();
    let config =
        fx.config("# dustwatch\n\n[analysis.health]\nbalance_weight = 0.4\nbalnce_weight = 0.4\n");
    let out = dustwatch(
        &["--config", config.to_str().expect("utf-8"), "check-config"],
        &[],
    );
    assert_exit(&out, CONFIG_ERROR);
    let err = stderr(&out);
    assert!(err.contains("analysis.health.balnce_weight"), "{err}");
    assert!(err.contains("line 5"), "{err}");
    assert!(err.contains(&config.display().to_string()), "{err}");
}

#[test]
fn wrong_type_names_key_and_line() {
    let fx = Fixture::new();
    let config = fx.config("[output]\nkeep_plans = \"many\"\n");
    let out = dustwatch(
        &["--config", config.to_str().expect("utf-8"), "check-config"],
        &[],
    );
    assert_exit(&out, CONFIG_ERROR);
    let err = stderr(&out);
    assert!(err.contains("output.keep_plans"), "{err}");
    assert!(err.contains("line 2"), "{err}");
}

#[test]
fn missing_explicit_config_is_config_error() {
    let fx = Fixture::new();
    let absent = fx.path("absent.toml");
    let out = dustwatch(
        &["--config", absent.to_str().expect("utf-8"), "check-config"],
        &[],
    );
    assert_exit(&out, CONFIG_ERROR);
    assert!(stderr(&out).contains(&absent.display().to_string()));
}

#[test]
fn bad_env_value_names_the_variable() {
    let fx = Fixture::new();
    let config = fx.good_config();
    let out = dustwatch(
        &["--config", config.to_str().expect("utf-8"), "check-config"],
        &[("DUSTWATCH_POLL__INTERVAL", "whenever")],
    );
    assert_exit(&out, CONFIG_ERROR);
    let err = stderr(&out);
    assert!(err.contains("DUSTWATCH_POLL__INTERVAL"), "{err}");
    assert!(err.contains("whenever"), "{err}");
}

#[test]
fn invalid_value_names_key_and_where_it_was_set() {
    let fx = Fixture::new();
    let config = fx.good_config();
    let out = dustwatch(
        &["--config", config.to_str().expect("utf-8"), "check-config"],
        &[("DUSTWATCH_ANALYSIS__HEALTH__ATTENTION_ABOVE", "0.9")],
    );
    assert_exit(&out, CONFIG_ERROR);
    let err = stderr(&out);
    assert!(err.contains("analysis.health.healthy_above"), "{err}");
}

#[test]
fn missing_macaroon_names_key_and_path() {
    let fx = Fixture::new();
    let cert = fx.path("tls.cert");
    std::fs::write(&cert, "cert").expect("cert");
    let macaroon = fx.path("nowhere/readonly.macaroon");
    let config = fx.config(&lnd_section(&cert, &macaroon, ""));
    let out = dustwatch(
        &["--config", config.to_str().expect("utf-8"), "check-config"],
        &[],
    );
    assert_exit(&out, CONFIG_ERROR);
    let err = stderr(&out);
    assert!(err.contains("lnd.macaroon_path"), "{err}");
    assert!(err.contains(&macaroon.display().to_string()), "{err}");
    assert!(err.contains("line 4"), "where it was set: {err}");
}

#[test]
fn offline_commands_do_not_need_lnd_files() {
    let fx = Fixture::new();
    let config = fx.config(&lnd_section(
        &fx.path("absent.cert"),
        &fx.path("absent.macaroon"),
        "",
    ));
    let config = config.to_str().expect("utf-8");
    for args in [
        &["analyze", "--listchannels", "listchannels.json"][..],
        &["plan", "diff", "a.json", "b.json"],
    ] {
        let mut full = vec!["--config", config];
        full.extend_from_slice(args);
        let out = dustwatch(&full, &[]);
        // They fail on their own missing input files (EX_DATAERR), never on LND's files.
        assert_exit(&out, DATA_ERROR);
        let err = stderr(&out);
        assert!(
            err.contains(".json"),
            "{args:?}: names the input file: {err}"
        );
        assert!(!err.contains("macaroon"), "{args:?}: {err}");
    }
}

#[test]
fn invalid_rust_log_is_config_error() {
    let fx = Fixture::new();
    let config = fx.good_config();
    let out = dustwatch(
        &["--config", config.to_str().expect("utf-8"), "check-config"],
        &[("RUST_LOG", "dustwatch=loud")],
    );
    assert_exit(&out, CONFIG_ERROR);
    assert!(stderr(&out).contains("RUST_LOG"), "{}", stderr(&out));
}

#[test]
fn journald_without_journal_warns_and_still_works() {
    let fx = Fixture::new();
    let config = fx.good_config();
    let out = dustwatch(
        &["--config", config.to_str().expect("utf-8"), "check-config"],
        &[("DUSTWATCH_LOG__FORMAT", "journald")],
    );
    assert_exit(&out, 0);
    // The journal's socket path is fixed, so the fallback can only be seen on machines without
    // one (containers, CI); elsewhere the warning goes to the journal itself.
    if !Path::new("/run/systemd/journal/socket").exists() {
        assert!(stderr(&out).contains("journal"), "{}", stderr(&out));
    }
}

/// Runs `command` with LND's files replaced by `cert` and `macaroon` contents.
fn with_lnd_files(fx: &Fixture, cert: &[u8], macaroon: &[u8], command: &str) -> Output {
    let cert_path = fx.path("tls.cert");
    let macaroon_path = fx.path("readonly.macaroon");
    std::fs::write(&cert_path, cert).expect("cert");
    std::fs::write(&macaroon_path, macaroon).expect("macaroon");
    let config = fx.config(&lnd_section(&cert_path, &macaroon_path, ""));
    dustwatch(&["--config", config.to_str().expect("utf-8"), command], &[])
}

#[test]
fn a_certificate_file_without_a_pem_certificate_is_a_config_error() {
    let fx = Fixture::new();
    for (cert, says) in [
        (
            &b"-----BEGIN CERTIFICATE-----\n"[..],
            "not a PEM certificate file",
        ),
        (b"hello, not a certificate\n", "holds no PEM certificate"),
        (
            b"-----BEGIN CERTIFICATE-----\naGVsbG8=\n-----END CERTIFICATE-----\n",
            "does not parse",
        ),
        (
            &[0x30, 0x82, 0xff, 0xfe, 0x00][..],
            "not a PEM certificate file",
        ),
    ] {
        for command in ["check-config", "once"] {
            let out = with_lnd_files(&fx, cert, MACAROON_BYTES, command);
            assert_exit(&out, CONFIG_ERROR);
            let err = stderr(&out);
            assert!(
                err.contains("lnd.tls_cert_path") && err.contains(says),
                "{command} with {cert:?}: {err}"
            );
        }
    }
}

#[test]
fn an_empty_macaroon_is_a_config_error() {
    let fx = Fixture::new();
    for command in ["check-config", "once", "run"] {
        let out = with_lnd_files(&fx, self_signed_pem().as_bytes(), b"", command);
        assert_exit(&out, CONFIG_ERROR);
        let err = stderr(&out);
        assert!(
            err.contains("lnd.macaroon_path") && err.contains("is empty"),
            "{command}: {err}"
        );
    }
}

#[test]
fn an_invalid_node_name_is_reported_where_it_was_set() {
    let fx = Fixture::new();
    let config = fx.config("[[nodes]]\nname = \"alpha\"\n\n[[nodes]]\nname = \"../etc\"\n");
    let out = dustwatch(
        &["--config", config.to_str().expect("utf-8"), "check-config"],
        &[],
    );
    assert_exit(&out, CONFIG_ERROR);
    let err = stderr(&out);
    assert!(err.contains("nodes[1].name"), "{err}");
    assert!(err.contains("line 5"), "where it was set: {err}");
    assert!(!err.contains("built-in default"), "{err}");
}
