//! Writes the benchmarks' busy node (seed 1, ten pending HTLCs per channel on average) as
//! `lncli` JSON, the input of the offline-analyze measurement in docs/performance.md:
//! `cargo bench --bench dump_busy -- 10000 DIR [HTLCS_PER_CHANNEL]`, then
//! `dustwatch analyze --listchannels DIR/listchannels.json --getinfo DIR/getinfo.json …`.
//! `HTLCS_PER_CHANNEL` (default 10) sets the mean load: 8.1 is issue 20's node (81,000 pending
//! HTLCs on 10,000 channels).

use std::path::PathBuf;

use dustwatch::sim::HtlcLoad;

mod common;

fn main() -> anyhow::Result<()> {
    // `cargo bench` adds `--bench`; flags are not ours.
    let mut args = std::env::args().skip(1).filter(|a| !a.starts_with("--"));
    let channels: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let dir = PathBuf::from(args.next().unwrap_or_else(|| "busy-lncli".to_owned()));
    let load = match args.next() {
        Some(mean) => HtlcLoad {
            mean_per_channel: mean.parse()?,
            ..common::BUSY
        },
        None => common::BUSY,
    };
    let (sim, report) = common::node(channels, Some(&load));
    let files = sim.dump_lncli(&dir)?;
    let bytes = std::fs::metadata(&files.listchannels)?.len();
    eprintln!("{load:?}: {report:?}; listchannels {bytes} bytes; {files:?}");
    Ok(())
}
