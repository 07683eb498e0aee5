//! A full polling cycle against the in-process simulator over pinned TLS: fetch through
//! `LndClient` (GetState, then GetInfo, ListChannels, PendingChannels, FeeReport, WalletBalance,
//! GetDebugInfo) + conversion + `analyze` (with the previous plan's digest, as the daemon runs
//! it) + `PlanFileWriter::write` + digesting the plan for the next cycle, at 1,000 and 10,000
//! channels with about ten pending HTLCs per channel, and the same cycle without the plan
//! write. Next to it, the parts: the protobuf decode of the 10,000-channel ListChannels answer
//! alone (the decode floor), its encode (the simulator's share of the cycle), the conversion,
//! the fetch, and the plan write. The cycle target is in CPU time: `benches/cycle_cpu.rs`.
//!
//! Run: `cargo bench --bench cycle` (add `-- --quick` for a faster, rougher run).

mod common;

use std::hint::black_box;
use std::path::Path;

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use dustwatch::analyze::analyze;
use dustwatch::lnd::client::LndClient;
use dustwatch::lnd::convert::{self, SnapshotParts};
use dustwatch::lnd::pb;
use dustwatch::plan::PlanDigest;
use dustwatch::settings::{AnalysisSettings, LndSettings};
use dustwatch::sim::{answers, SimConfig, SimHandle, SimNode};
use dustwatch::sink::plan_file::PlanFileWriter;
use prost::Message as _;
use tokio::runtime::Runtime;

use common::{quick, BUSY, SEED};

/// The daemon's runtime: `#[tokio::main]` on two cores is a two-worker multi-thread runtime.
fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// A simulated LND with `channels` busy channels, served from `dir`.
fn start_node(rt: &Runtime, channels: usize, dir: &Path) -> SimHandle {
    let node = rt
        .block_on(SimNode::start(SimConfig {
            channels,
            seed: SEED,
            data_dir: dir.join("lnd"),
            port: None,
        }))
        .expect("simulator starts");
    let report = node.add_htlc_load(&BUSY);
    eprintln!("simulator at {}: {report:?}", node.addr());
    node
}

fn client_for(node: &SimHandle) -> LndClient {
    let settings = LndSettings {
        host: "127.0.0.1".into(),
        port: node.addr().port(),
        tls_cert_path: node.cert_path().to_path_buf(),
        macaroon_path: node.macaroon_path().to_path_buf(),
        ..LndSettings::default()
    };
    LndClient::new(&settings).expect("client")
}

fn full_cycle(c: &mut Criterion) {
    let rt = runtime();
    let settings = AnalysisSettings::default();
    let mut group = c.benchmark_group("cycle");
    for channels in [1_000, 10_000] {
        let dir = tempfile::tempdir().expect("temp dir");
        let node = start_node(&rt, channels, dir.path());
        let mut client = client_for(&node);
        let writer = PlanFileWriter::new(dir.path().join("plans"), 3);
        let mut previous: Option<PlanDigest> = None;
        group.throughput(Throughput::Elements(channels as u64));
        group.bench_function(BenchmarkId::new("fetch_analyze_write", channels), |b| {
            b.iter(|| {
                let snapshot = rt.block_on(client.snapshot()).expect("snapshot");
                let plan = analyze(&snapshot, &settings, previous.as_ref());
                let written = writer.write(&plan, snapshot.taken_at_unix).expect("write");
                assert!(written.prune_failures.is_empty());
                previous = Some(PlanDigest::of(&plan));
            })
        });
        if channels == 10_000 {
            // The same cycle without the plan write: what the target compares with twice the
            // decode floor. Measured apart because the write (~95 % of the cycle, to disk)
            // varies between runs by more than that whole budget, so "cycle minus write" taken
            // from two benchmarks is mostly the disk's noise.
            group.bench_function(BenchmarkId::new("fetch_analyze_digest", channels), |b| {
                b.iter(|| {
                    let snapshot = rt.block_on(client.snapshot()).expect("snapshot");
                    let plan = analyze(&snapshot, &settings, previous.as_ref());
                    black_box(PlanDigest::of(&plan))
                })
            });
            group.bench_function(BenchmarkId::new("fetch_only", channels), |b| {
                b.iter(|| rt.block_on(client.snapshot()).expect("snapshot"))
            });
            let snapshot = rt.block_on(client.snapshot()).expect("snapshot");
            let plan = analyze(&snapshot, &settings, previous.as_ref());
            group.bench_function(BenchmarkId::new("plan_write_only", channels), |b| {
                b.iter(|| {
                    writer
                        .write(black_box(&plan), snapshot.taken_at_unix)
                        .expect("write")
                })
            });
        }
        rt.block_on(node.shutdown());
    }
    group.finish();
}

fn wire_floor(c: &mut Criterion) {
    let (sim, report) = common::node(10_000, Some(&BUSY));
    eprintln!("node: {report:?}");
    let parts = answers::snapshot_parts(&sim.node, false);
    let bytes = parts.channels.encode_to_vec();
    eprintln!(
        "ListChannels answer: {} channels, {} bytes",
        parts.channels.channels.len(),
        bytes.len()
    );
    let mut group = c.benchmark_group("list_channels_10000");
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.bench_function("decode", |b| {
        b.iter(|| pb::ListChannelsResponse::decode(black_box(bytes.as_slice())).expect("decode"))
    });
    group.bench_function("encode", |b| {
        b.iter(|| black_box(&parts.channels).encode_to_vec())
    });
    // The answers as the client holds them: ListChannels as decoded, not the simulator's
    // shared buffers.
    group.bench_function("convert_snapshot", |b| {
        b.iter_batched(
            || SnapshotParts {
                channels: pb::ListChannelsResponse::decode(bytes.as_slice()).expect("decode"),
                ..parts.clone()
            },
            convert::snapshot,
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = quick();
    targets = wire_floor, full_cycle
}
criterion_main!(benches);
