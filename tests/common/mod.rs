//! Helpers the integration tests share: a simulated LND in a temporary folder, the environment
//! that points the `dustwatch` binary at it, and what an interrupted plan write leaves behind.
//!
//! Each test binary that needs them declares `mod common;` and uses the part it needs.
#![allow(dead_code)]

use std::path::Path;

use dustwatch::sim::{SimConfig, SimHandle, SimNode};

/// A simulated node of `channels` channels from `seed`, its data (`tls.cert`, macaroons) in
/// `dir/lnd`.
pub async fn start_sim_in(dir: &Path, channels: usize, seed: u64) -> SimHandle {
    SimNode::start(SimConfig {
        channels,
        seed,
        data_dir: dir.join("lnd"),
        port: None,
    })
    .await
    .expect("simulator starts")
}

/// A simulated node in a temporary folder of its own, which lives as long as the returned
/// guard.
pub async fn start_sim(channels: usize, seed: u64) -> (SimHandle, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = start_sim_in(dir.path(), channels, seed).await;
    (node, dir)
}

/// The environment that points the binary at `sim`, logging at `rust_log`. Callers clear the
/// rest of the environment, so the developer's `DUSTWATCH_*` variables cannot interfere.
pub fn lnd_env(sim: &SimHandle, rust_log: &str) -> Vec<(String, String)> {
    vec![
        ("DUSTWATCH_LND__HOST".into(), "127.0.0.1".into()),
        ("DUSTWATCH_LND__PORT".into(), sim.addr().port().to_string()),
        (
            "DUSTWATCH_LND__TLS_CERT_PATH".into(),
            sim.cert_path().display().to_string(),
        ),
        (
            "DUSTWATCH_LND__MACAROON_PATH".into(),
            sim.macaroon_path().display().to_string(),
        ),
        ("RUST_LOG".into(), rust_log.into()),
    ]
}

/// Leftover temporary files of an interrupted plan write (`.plan-*`, `*.tmp`) in `dir`.
pub fn temp_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|name| name.starts_with(".plan-") || name.ends_with(".tmp"))
                .collect()
        })
        .unwrap_or_default()
}

/// Runs the `dustwatch` binary with `args`, logging warnings only, and waits for it.
pub fn dustwatch(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_dustwatch"))
        .args(args)
        .env("DUSTWATCH_LOG__LEVEL", "warn")
        .output()
        .expect("dustwatch runs")
}

/// Makes a named pipe at `path`.
pub fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("run mkfifo");
    assert!(status.success(), "mkfifo {}", path.display());
}

/// The macaroon is in `output` in no form: raw, hex (either case), base64 or Debug-printed.
/// `place` says where the output went ("in the logs", "on stderr").
pub fn assert_macaroon_absent(output: &[u8], macaroon: &[u8], place: &str) {
    use base64::Engine as _;
    assert!(!output.is_empty(), "nothing {place}");
    assert!(
        !output.windows(macaroon.len()).any(|w| w == macaroon),
        "raw macaroon bytes {place}"
    );
    let text = String::from_utf8_lossy(output).to_lowercase();
    for (form, needle) in [
        ("hex", hex::encode(macaroon)),
        (
            "base64",
            base64::engine::general_purpose::STANDARD.encode(macaroon),
        ),
        ("Debug", format!("{macaroon:?}")),
    ] {
        assert!(
            !text.contains(&needle.to_lowercase()),
            "the macaroon ({form}) is {place}"
        );
    }
}
