//! The pure core: `analyze` on nodes of 100, 1,000 and 10,000 channels, and the dust engine
//! alone (`dust::channel_dust` per channel).
//!
//! Target (docs/performance.md): analyze at 10,000 channels with about ten pending HTLCs per
//! channel in at most 20 ms on the 2-core reference machine, growing linearly with channels
//! and HTLCs.
//!
//! Run: `cargo bench --bench analyze` (add `-- --quick` for a faster, rougher run). Nodes are
//! generated only for the benchmarks the filter selects.

mod common;

use std::cell::OnceCell;
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use dustwatch::analyze::analyze;
use dustwatch::dust::{channel_dust, DustParams};
use dustwatch::model::NodeSnapshot;
use dustwatch::plan::PlanDigest;
use dustwatch::settings::AnalysisSettings;

use common::{quick, snapshot, BUSY, SATURATED};

fn analyze_by_size(c: &mut Criterion) {
    let settings = AnalysisSettings::default();
    let mut group = c.benchmark_group("analyze");
    for channels in [100, 1_000, 10_000] {
        let snap = OnceCell::new();
        group.throughput(Throughput::Elements(channels as u64));
        group.bench_function(BenchmarkId::new("busy_10_htlcs", channels), |b| {
            let snap = snap.get_or_init(|| snapshot(channels, Some(&BUSY)));
            b.iter(|| analyze(black_box(snap), &settings, None))
        });
    }
    group.finish();
}

fn analyze_by_htlcs(c: &mut Criterion) {
    let settings = AnalysisSettings::default();
    let mut group = c.benchmark_group("analyze_10000");
    let cases = [
        ("generator_htlcs", None),
        ("busy_10_htlcs", Some(&BUSY)),
        ("busy_and_5pct_at_483", Some(&SATURATED)),
    ];
    for (name, load) in cases {
        let snap: OnceCell<NodeSnapshot> = OnceCell::new();
        let get = || snap.get_or_init(|| snapshot(10_000, load));
        // Throughput in HTLCs needs the node; it is only counted when the case is selected.
        group.bench_function(name, |b| {
            let snap = get();
            b.iter(|| analyze(black_box(snap), &settings, None))
        });
        if name == "busy_10_htlcs" {
            // What the daemon runs every cycle: with the previous plan's digest (changes,
            // recurring dust).
            let previous = OnceCell::new();
            group.bench_function("busy_10_htlcs_with_previous_plan", |b| {
                let snap = get();
                let previous =
                    previous.get_or_init(|| PlanDigest::of(&analyze(snap, &settings, None)));
                b.iter(|| analyze(black_box(snap), &settings, Some(previous)))
            });
        }
    }
    group.finish();
}

fn dust_engine(c: &mut Criterion) {
    let params = DustParams::from_settings(&AnalysisSettings::default(), None);
    let mut group = c.benchmark_group("channel_dust");
    for (name, load) in [
        ("busy_10_htlcs", &BUSY),
        ("busy_and_5pct_at_483", &SATURATED),
    ] {
        let snap: OnceCell<NodeSnapshot> = OnceCell::new();
        let get = || snap.get_or_init(|| snapshot(10_000, Some(load)));
        group.throughput(Throughput::Elements(10_000));
        group.bench_function(BenchmarkId::new("every_channel_of_10000", name), |b| {
            let snap = get();
            let height = snap.node.block_height;
            b.iter(|| {
                for ch in &snap.channels {
                    black_box(channel_dust(black_box(ch), height, &params));
                }
            })
        });
        if name == "busy_and_5pct_at_483" {
            group.throughput(Throughput::Elements(1));
            for want in [0, 10, 483] {
                group.bench_function(BenchmarkId::new("one_channel_htlcs", want), |b| {
                    let snap = get();
                    let ch = snap
                        .channels
                        .iter()
                        .find(|c| c.pending_htlcs.len() == want)
                        .expect("the node has a channel with that many HTLCs");
                    b.iter(|| channel_dust(black_box(ch), snap.node.block_height, &params))
                });
            }
        }
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = quick();
    targets = analyze_by_size, analyze_by_htlcs, dust_engine
}
criterion_main!(benches);
