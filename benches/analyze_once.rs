//! One `analyze` of a generated busy node, for instruction-count profiles that do not depend on
//! the machine's load: `cargo bench --bench analyze_once --no-run` prints the binary's path,
//! and `valgrind --tool=callgrind --toggle-collect='*analyze_and_drop*' <that path> 1000`
//! counts the analysis and the plan's drop only (`cargo bench --bench analyze_once -- 1000`
//! runs it plainly).
//!
//! Arguments: channel count (default 1,000), mean pending HTLCs per channel (default 10),
//! analysis threads (default: one per core) and runs (default 1; with more, the minimum and the
//! median are printed: a quick steady-state check next to `cargo bench`), then `previous` to
//! analyse with the previous plan's digest, as the daemon does from its second cycle on. The
//! analysis runs inside a rayon pool of that size, so with one thread every instruction of it
//! is under `analyze_and_drop` on one thread. It prints the node's channel and HTLC counts
//! first, so instruction counts can be set against both.

use std::hint::black_box;

use dustwatch::analyze::analyze;
use dustwatch::model::NodeSnapshot;
use dustwatch::plan::PlanDigest;
use dustwatch::settings::AnalysisSettings;
use dustwatch::sim::{answers, HtlcLoad};

mod common;

/// Kept out of line so a profiler can collect exactly this call.
#[inline(never)]
fn analyze_and_drop(
    snapshot: &NodeSnapshot,
    settings: &AnalysisSettings,
    previous: Option<&PlanDigest>,
) -> usize {
    let plan = analyze(black_box(snapshot), settings, previous);
    plan.channels.len()
}

fn main() {
    // `cargo bench` adds `--bench`; flags are not ours.
    let mut args = std::env::args().skip(1).filter(|a| !a.starts_with("--"));
    let channels: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1_000);
    let mean: f64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(10.0);
    let threads: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(0);
    let repeat: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1);
    let with_previous = args.next().is_some_and(|a| a == "previous");
    let load = HtlcLoad {
        mean_per_channel: mean,
        saturated_share: 0.0,
    };
    // The benchmarks' node (seed, start time), with this run's load.
    let (sim, report) = common::node(channels, Some(&load));
    let snapshot = answers::snapshot(&sim.node, false);
    common::describe(channels, Some(&load), report, &snapshot);
    let settings = AnalysisSettings::default();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("a thread pool");
    // Made before collection starts (the profile counts `analyze_and_drop` only).
    let previous = with_previous.then(|| PlanDigest::of(&analyze(&snapshot, &settings, None)));
    let mut times = Vec::with_capacity(repeat);
    for _ in 0..repeat.max(1) {
        let started = std::time::Instant::now();
        let n = pool.install(|| analyze_and_drop(&snapshot, &settings, previous.as_ref()));
        times.push(started.elapsed());
        eprintln!("analysed {n} channels in {:?}", started.elapsed());
    }
    times.sort();
    eprintln!(
        "min {:?}, median {:?} over {} runs",
        times[0],
        times[times.len() / 2],
        times.len()
    );
}
