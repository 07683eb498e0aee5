//! Where the CPU time of a polling cycle goes, against the cycle target (the client's CPU per
//! cycle at 10,000 busy channels ≤ 80 ms, at 1,000 ≤ 10 ms).
//!
//! The cycle benchmark (`benches/cycle.rs`) measures wall time with the simulator in the same
//! process, so it cannot tell the simulator's work from the client's. This tool runs the
//! simulator (10,000 busy channels, ~10 pending HTLCs each, as the benchmark's node) in a child
//! process of its own and runs the cycle without the plan write (snapshot over TLS, analyse
//! against the previous plan's digest, digest the plan) `CYCLES` times, then prints per cycle:
//! the client's CPU time for the fetch (with the conversion) and for analyse + digest (with
//! freeing the plan and the snapshot), how much of it the kernel took, the simulator's CPU time
//! for answering, the wall time, and the decode floor (the CPU time of decoding the
//! ListChannels answer alone, in the same run).
//!
//! CPU times are read from /proc (Linux, 10 ms ticks: use enough cycles, 40 by default).
//!
//! ```text
//! cargo bench --bench cycle_cpu -- 40
//! CYCLE_CPU_CHANNELS=1000 cargo bench --bench cycle_cpu -- 200
//! ```

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::Instant;

use dustwatch::analyze::analyze;
use dustwatch::lnd::client::LndClient;
use dustwatch::lnd::pb;
use dustwatch::plan::PlanDigest;
use dustwatch::settings::{AnalysisSettings, LndSettings};
use dustwatch::sim::{answers, SimConfig, SimNode};
use prost::Message as _;

mod common;

use common::{BUSY, SEED};

/// The node's channel count: `CYCLE_CPU_CHANNELS` (10,000 when unset); the serving child
/// inherits it.
fn channels() -> usize {
    std::env::var("CYCLE_CPU_CHANNELS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000)
}
/// Decodes measured for the floor: enough for ~0.3 s of CPU, so 10 ms ticks hardly matter.
fn decode_runs() -> usize {
    (300_000 / channels().max(1)).max(30)
}

/// CPU time of a process (all its threads), in ms.
struct CpuTimes {
    user: f64,
    system: f64,
}

/// User + system CPU time of process `pid` ("self" for this one) in ms.
fn cpu_ms(pid: &str) -> f64 {
    let times = cpu_times_ms(pid);
    times.user + times.system
}

/// The CPU times of process `pid` ("self" for this one), from /proc/PID/stat.
fn cpu_times_ms(pid: &str) -> CpuTimes {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("/proc/PID/stat");
    // Fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .expect("a stat line")
        .1
        .split_whitespace()
        .collect();
    let ticks = |i: usize| fields[i].parse::<f64>().expect("a tick count");
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name; the kernel
    // counts them in USER_HZ ticks, 100 a second on Linux.
    CpuTimes {
        user: ticks(11) * 10.0,
        system: ticks(12) * 10.0,
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// The child: serves the node until its standard input closes, after printing its port.
fn serve(dir: &str) {
    let rt = runtime();
    let node = rt
        .block_on(SimNode::start(SimConfig {
            channels: channels(),
            seed: SEED,
            data_dir: dir.into(),
            port: None,
        }))
        .expect("simulator starts");
    node.add_htlc_load(&BUSY);
    println!("{}", node.addr().port());
    std::io::stdout().flush().expect("stdout");
    let mut line = String::new();
    // Returns when the parent closes the pipe (or exits).
    let _ = std::io::stdin().read_line(&mut line);
    rt.block_on(node.shutdown());
}

/// The decode floor: the CPU time of decoding the same node's ListChannels answer alone
/// (prost, one thread, from one slice), the mean of [`decode_runs`] runs. CPU time, not wall
/// time, so a loaded machine does not inflate it.
fn decode_floor_ms() -> f64 {
    let (sim, _) = common::node(channels(), Some(&BUSY));
    let bytes = answers::snapshot_parts(&sim.node, false)
        .channels
        .encode_to_vec();
    let before = cpu_ms("thread-self");
    let runs = decode_runs();
    for _ in 0..runs {
        let answer = pb::ListChannelsResponse::decode(bytes.as_slice()).expect("decode");
        drop(answer);
    }
    (cpu_ms("thread-self") - before) / runs as f64
}

fn start_child(dir: &std::path::Path) -> (Child, BufReader<ChildStdout>, u16) {
    let mut child = Command::new(std::env::current_exe().expect("own path"))
        .arg("serve")
        .arg(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("simulator process starts");
    let mut out = BufReader::new(child.stdout.take().expect("piped stdout"));
    let mut port = String::new();
    out.read_line(&mut port).expect("the simulator's port");
    let port = port.trim().parse().expect("a port number");
    (child, out, port)
}

fn main() {
    // `cargo bench` adds `--bench`; flags are not ours.
    let args: Vec<String> = std::env::args().filter(|a| !a.starts_with("--")).collect();
    if args.get(1).map(String::as_str) == Some("serve") {
        serve(&args[2]);
        return;
    }
    let cycles: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(40);
    let floor = decode_floor_ms();

    let dir = tempfile::tempdir().expect("temp dir");
    let (mut child, _out, port) = start_child(dir.path());
    let sim_pid = child.id().to_string();
    let rt = runtime();
    let mut client = LndClient::new(&LndSettings {
        host: "127.0.0.1".into(),
        port,
        tls_cert_path: dir.path().join("tls.cert"),
        macaroon_path: dir.path().join("readonly.macaroon"),
        ..LndSettings::default()
    })
    .expect("client");
    let settings = AnalysisSettings::default();
    // A first cycle connects and makes the digest the others are analysed against.
    let snapshot = rt.block_on(client.snapshot()).expect("snapshot");
    let mut previous = Some(PlanDigest::of(&analyze(&snapshot, &settings, None)));
    drop(snapshot);

    let (mut fetch_cpu, mut analyze_cpu, mut analysis_wall) = (0.0, 0.0, 0.0);
    let system_before = cpu_times_ms("self").system;
    let sim_before = cpu_ms(&sim_pid);
    let started = Instant::now();
    for _ in 0..cycles {
        let c0 = cpu_ms("self");
        let snapshot = rt.block_on(client.snapshot()).expect("snapshot");
        let c1 = cpu_ms("self");
        let analysis_started = Instant::now();
        let plan = analyze(&snapshot, &settings, previous.as_ref());
        analysis_wall += analysis_started.elapsed().as_secs_f64() * 1e3;
        previous = Some(PlanDigest::of(&plan));
        drop(plan);
        drop(snapshot);
        let c2 = cpu_ms("self");
        fetch_cpu += c1 - c0;
        analyze_cpu += c2 - c1;
    }
    let client_system = (cpu_times_ms("self").system - system_before) / cycles as f64;
    let wall = started.elapsed().as_secs_f64() * 1e3 / cycles as f64;
    let sim_cpu = (cpu_ms(&sim_pid) - sim_before) / cycles as f64;
    drop(child.stdin.take());
    let _ = child.wait();

    let n = cycles as f64;
    let (fetch_cpu, analyze_cpu, analysis_wall) =
        (fetch_cpu / n, analyze_cpu / n, analysis_wall / n);
    let client = fetch_cpu + analyze_cpu;
    println!(
        "{} channels, {cycles} cycles without the plan write, per cycle:",
        channels()
    );
    println!("  decode floor                 {floor:6.1} ms");
    println!("  wall time                    {wall:6.1} ms");
    println!("    of which analyse           {analysis_wall:6.1} ms");
    println!("  client CPU, fetch            {fetch_cpu:6.1} ms");
    println!("  client CPU, analyse + digest {analyze_cpu:6.1} ms");
    println!("  client CPU in the kernel     {client_system:6.1} ms (of the two above: page faults, sockets, wake-ups)");
    println!("  simulator CPU, answering     {sim_cpu:6.1} ms");
    println!("  client CPU in all            {client:6.1} ms (the target: ≤ 80 ms at 10,000 channels, ≤ 10 ms at 1,000)");
    // Other processes' load inflates CPU time too (shared caches, cores): report it beside.
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load: Vec<&str> = load.split_whitespace().take(3).collect();
    println!("  load average                 {}", load.join(" "));
}
