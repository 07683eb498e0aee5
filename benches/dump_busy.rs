//! Writes the benchmarks' busy node (seed 1, ten pending HTLCs per channel on average) as
//! `lncli` JSON, the input of the offline-analyze measurement in docs/performance.md:
//! `cargo bench --bench dump_busy -- 10000 DIR`, then
//! `dustwatch analyze --listchannels DIR/listchannels.json --getinfo DIR/getinfo.json …`.

use std::path::PathBuf;

use dustwatch::sim::lncli_dump::dump_scenario;
use dustwatch::sim::ScenarioConfig;

mod common;

fn main() -> anyhow::Result<()> {
    // `cargo bench` adds `--bench`; flags are not ours.
    let mut args = std::env::args().skip(1).filter(|a| !a.starts_with("--"));
    let channels: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let dir = PathBuf::from(args.next().unwrap_or_else(|| "busy-lncli".to_owned()));
    std::fs::create_dir_all(&dir)?;
    let config = ScenarioConfig {
        channels,
        seed: common::SEED,
        start_unix: common::START_UNIX,
        max_fee_exposure_sat: dustwatch::sim::DEFAULT_MAX_FEE_EXPOSURE_SAT,
    };
    let files = dump_scenario(&config, Some(&common::BUSY), &dir)?;
    eprintln!("{files:?}");
    Ok(())
}
