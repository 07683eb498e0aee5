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
//! With `CYCLE_CPU_TICK=1` the simulator ticks once between two cycles (a simulated minute:
//! HTLCs come and go, now and then a block) and tops the busy load up again, as a live busy
//! node moves between two polls (the tick is the simulator's time, not the client's); the tool
//! then also prints the share of channels whose record changed in anything but LND's
//! `lifetime`/`uptime` counters. `CYCLE_CPU_CHANNELS` sets the node's size and
//! `CYCLE_CPU_LOAD=generator` leaves out the busy load (the generator's own 1.6 HTLCs a
//! channel: a quieter node).
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
use dustwatch::model::Channel;
use dustwatch::plan::PlanDigest;
use dustwatch::settings::{AnalysisSettings, LndSettings};
use dustwatch::sim::{answers, HtlcLoad, SimConfig, SimNode};
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
/// The extra HTLCs on the node: the busy load unless `CYCLE_CPU_LOAD=generator`.
fn load() -> Option<&'static HtlcLoad> {
    match std::env::var("CYCLE_CPU_LOAD").as_deref() {
        Ok("generator") => None,
        _ => Some(&BUSY),
    }
}

/// Whether the simulator ticks between cycles (`CYCLE_CPU_TICK=1`).
fn ticking() -> bool {
    std::env::var("CYCLE_CPU_TICK").is_ok_and(|v| v == "1")
}

/// The channels, with LND's `lifetime` and `uptime` counters (which move every second) zeroed.
fn records(channels: &[Channel]) -> Vec<Channel> {
    channels
        .iter()
        .map(|c| Channel {
            lifetime_secs: 0,
            uptime_secs: 0,
            ..c.clone()
        })
        .collect()
}

/// How many of `now`'s channels differ from `before`'s (sorted by id, as snapshots are).
fn changed(before: &[Channel], now: &[Channel]) -> usize {
    now.iter()
        .filter(|c| {
            before
                .binary_search_by_key(&c.chan_id, |b| b.chan_id)
                .map_or(true, |i| before[i] != **c)
        })
        .count()
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
    if let Some(load) = load() {
        node.add_htlc_load(load);
    }
    println!("{}", node.addr().port());
    std::io::stdout().flush().expect("stdout");
    // A line asks for a tick, answered when done; the loop ends when the parent closes the
    // pipe (or exits).
    let mut line = String::new();
    while std::io::stdin().read_line(&mut line).is_ok_and(|n| n > 0) {
        line.clear();
        node.tick();
        // Traffic alone would drain the busy load within minutes (and expiring HTLCs close
        // channels): it is topped up again, as a busy node stays busy.
        if let Some(load) = load() {
            node.add_htlc_load(load);
        }
        println!("ticked");
        std::io::stdout().flush().expect("stdout");
    }
    rt.block_on(node.shutdown());
}

/// The decode floor: the CPU time of decoding the same node's ListChannels answer alone
/// (prost, one thread, from one slice), the mean of [`decode_runs`] runs. CPU time, not wall
/// time, so a loaded machine does not inflate it.
fn decode_floor_ms() -> f64 {
    let (sim, _) = common::node(channels(), load());
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
    let (mut child, mut out, port) = start_child(dir.path());
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
    let ticking = ticking();
    // A first cycle connects and makes the digest the others are analysed against.
    let snapshot = rt.block_on(client.snapshot()).expect("snapshot");
    let mut previous = Some(PlanDigest::of(&analyze(&snapshot, &settings, None)));
    let mut before = ticking.then(|| records(&snapshot.channels));
    drop(snapshot);
    let mut tick = |stdin: &mut std::process::ChildStdin| {
        if ticking {
            writeln!(stdin, "tick").expect("asks for a tick");
            let mut answer = String::new();
            out.read_line(&mut answer).expect("the tick's answer");
        }
    };
    let stdin = child.stdin.as_mut().expect("piped stdin");

    let (mut fetch_cpu, mut analyze_cpu, mut analysis_wall) = (0.0, 0.0, 0.0);
    let (mut changed_channels, mut channels_seen) = (0, 0);
    let mut system_cpu = 0.0;
    let sim_before = cpu_ms(&sim_pid);
    let mut wall = 0.0;
    for _ in 0..cycles {
        tick(stdin);
        let started = Instant::now();
        let system_before = cpu_times_ms("self").system;
        let c0 = cpu_ms("self");
        let snapshot = rt.block_on(client.snapshot()).expect("snapshot");
        let c1 = cpu_ms("self");
        let analysis_started = Instant::now();
        let plan = analyze(&snapshot, &settings, previous.as_ref());
        analysis_wall += analysis_started.elapsed().as_secs_f64() * 1e3;
        let now = before.as_ref().map(|_| records(&snapshot.channels));
        previous = Some(PlanDigest::of(&plan));
        drop(plan);
        drop(snapshot);
        let c2 = cpu_ms("self");
        fetch_cpu += c1 - c0;
        analyze_cpu += c2 - c1;
        system_cpu += cpu_times_ms("self").system - system_before;
        wall += started.elapsed().as_secs_f64() * 1e3;
        if let (Some(before), Some(now)) = (before.as_mut(), now) {
            changed_channels += changed(before, &now);
            channels_seen += now.len();
            *before = now;
        }
    }
    let client_system = system_cpu / cycles as f64;
    let wall = wall / cycles as f64;
    let sim_cpu = (cpu_ms(&sim_pid) - sim_before) / cycles as f64;
    drop(child.stdin.take());
    let _ = child.wait();

    let n = cycles as f64;
    let (fetch_cpu, analyze_cpu, analysis_wall) =
        (fetch_cpu / n, analyze_cpu / n, analysis_wall / n);
    let client = fetch_cpu + analyze_cpu;
    println!(
        "{} channels ({}), {cycles} cycles without the plan write, {}, per cycle:",
        channels(),
        if load().is_some() {
            "busy"
        } else {
            "generator node"
        },
        if ticking {
            "the node ticking a simulated minute between cycles"
        } else {
            "the node still"
        },
    );
    if ticking {
        println!(
            "  channels changed             {:6.1} % (in anything but lifetime and uptime)",
            100.0 * changed_channels as f64 / channels_seen.max(1) as f64
        );
    }
    println!("  decode floor                 {floor:6.1} ms");
    println!("  wall time                    {wall:6.1} ms");
    println!("    of which analyse           {analysis_wall:6.1} ms");
    println!("  client CPU, fetch            {fetch_cpu:6.1} ms");
    println!("  client CPU, analyse + digest {analyze_cpu:6.1} ms");
    println!("  client CPU in the kernel     {client_system:6.1} ms (of the two above: page faults, sockets, wake-ups)");
    println!("  simulator CPU, answering     {sim_cpu:6.1} ms (and ticking)");
    println!("  client CPU in all            {client:6.1} ms (the target: ≤ 80 ms at 10,000 channels, ≤ 10 ms at 1,000)");
    // Other processes' load inflates CPU time too (shared caches, cores): report it beside.
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load: Vec<&str> = load.split_whitespace().take(3).collect();
    println!("  load average                 {}", load.join(" "));
}
