//! Nodes the benchmarks measure, shared by the bench targets.
//!
//! Every node comes from the simulator's seeded generator (so its channels are consistent with
//! BOLT 3 as LND applies it) with extra pending HTLCs from [`HtlcLoad`]; the snapshot is what
//! the daemon would analyse after reading the node over gRPC ([`answers::snapshot`]).
#![allow(dead_code)] // Each bench target uses part of this module.

use std::time::Duration;

use criterion::Criterion;
use dustwatch::model::NodeSnapshot;
use dustwatch::sim::{answers, HtlcLoad, LoadReport, ScenarioConfig, Simulation};

/// The scenario seed of every benchmark node.
pub const SEED: u64 = 1;

/// A fixed "now", so the nodes are the same on every run.
pub const START_UNIX: i64 = 1_750_000_000;

/// The busy node of the issue: about ten pending HTLCs per channel.
pub const BUSY: HtlcLoad = HtlcLoad {
    mean_per_channel: 10.0,
    saturated_share: 0.0,
};

/// The busy node with 5 % of its channels at 483 pending HTLCs.
pub const SATURATED: HtlcLoad = HtlcLoad {
    mean_per_channel: 10.0,
    saturated_share: 0.05,
};

/// A generated node with `load` (or the generator's own HTLCs when `None`).
pub fn node(channels: usize, load: Option<&HtlcLoad>) -> (Simulation, Option<LoadReport>) {
    let mut sim = Simulation::generate(&ScenarioConfig {
        channels,
        seed: SEED,
        start_unix: START_UNIX,
        max_fee_exposure_sat: dustwatch::sim::DEFAULT_MAX_FEE_EXPOSURE_SAT,
    });
    let report = load.map(|l| sim.add_htlc_load(l));
    (sim, report)
}

/// The snapshot of [`node`], as the daemon reads it (GetChanInfo only on small nodes, as the
/// client does by default).
pub fn snapshot(channels: usize, load: Option<&HtlcLoad>) -> NodeSnapshot {
    let (sim, report) = node(channels, load);
    let snap = answers::snapshot(&sim.node, channels <= 250);
    describe(channels, load, report, &snap);
    snap
}

/// Prints what a node holds next to the benchmark figures.
pub fn describe(
    channels: usize,
    load: Option<&HtlcLoad>,
    report: Option<LoadReport>,
    snap: &NodeSnapshot,
) {
    let htlcs: usize = snap.channels.iter().map(|c| c.pending_htlcs.len()).sum();
    let saturated = snap
        .channels
        .iter()
        .filter(|c| c.pending_htlcs.len() == 483)
        .count();
    eprintln!(
        "node: {channels} channels, {htlcs} pending HTLCs ({:.2} per channel), {saturated} channels at 483; load {load:?}; report {report:?}",
        htlcs as f64 / channels.max(1) as f64
    );
}

/// Small, quick criterion settings: the machine is shared, and the figures are milliseconds.
pub fn quick() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .configure_from_args()
}
