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
