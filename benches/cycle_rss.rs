//! Memory over many polling cycles: runs the daemon's cycle (`daemon::run_cycle`: snapshot over
//! gRPC, analyse against the previous plan's digest, write the plan, log alert transitions)
//! `CYCLES` times against the LND the configuration points at, keeping the digest of the
//! previous plan (not the plan) between cycles, as the daemon does, and prints the process's
//! VmRSS and VmHWM (from /proc/self/status) as it goes, and the cycle times at the end. Flat VmRSS from the warm-up (cycle 10: the digest is held from cycle 2 on and the
//! allocator has settled) to the last cycle means no growth. The simulator keeps ticking, so its
//! node changes a little (channels open and close): the channel and HTLC counts are printed next
//! to the memory figures.
//!
//! ```text
//! dustwatch sim --channels 10000 --seed 1 --data-dir /tmp/dw/sim --port 19735 &
//! export DUSTWATCH_LND__HOST=127.0.0.1 DUSTWATCH_LND__PORT=19735 \
//!        DUSTWATCH_LND__TLS_CERT_PATH=/tmp/dw/sim/tls.cert \
//!        DUSTWATCH_LND__MACAROON_PATH=/tmp/dw/sim/readonly.macaroon \
//!        DUSTWATCH_OUTPUT__PLAN_DIR=/dev/shm/dw-plans
//! cargo bench --bench cycle_rss -- 1000
//! ```
//!
//! The CPU figure is the whole process's per cycle after the warm-up: with it, allocator
//! settings (`MALLOC_ARENA_MAX`, `MALLOC_MMAP_THRESHOLD_`) can be compared for memory and CPU.
//!
//! The configuration is read like `dustwatch once` reads it (`--config`-less: the default file
//! if present, then `DUSTWATCH_*` variables); only the first node is used.

use std::time::Instant;

use dustwatch::config::{self, ConfigFile, ProcessEnv};
use dustwatch::daemon::run_cycle;
use dustwatch::lnd::client::LndClient;
use dustwatch::plan::PlanDigest;
use dustwatch::sink::plan_file::PlanFileWriter;

/// The cycle whose VmRSS is the baseline for growth.
const WARM_UP_CYCLES: u32 = 10;

/// CPU time of the whole process so far (user + system, every thread, living or exited), in
/// clock ticks of 10 ms (Linux's `USER_HZ`).
fn cpu_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The fields after the command name (which is in parentheses and may hold spaces):
    // utime and stime are the 14th and 15th of the line, the 12th and 13th after it.
    stat.rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().skip(11).take(2))
        .into_iter()
        .flatten()
        .filter_map(|ticks| ticks.parse::<u64>().ok())
        .sum()
}

/// VmRSS and VmHWM in MiB.
fn memory() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kib| kib.parse::<u64>().ok())
            .map_or(0, |kib| kib / 1024)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // `cargo bench` adds `--bench`; flags are not ours.
    let cycles: u32 = match std::env::args().skip(1).find(|a| !a.starts_with("--")) {
        Some(arg) => arg.parse()?,
        None => 1_000,
    };
    let loaded = config::load(&ConfigFile::from_flag(None), &ProcessEnv)?;
    let (name, settings) = loaded
        .settings
        .node_settings()
        .into_iter()
        .next()
        .ok_or_else(|| anyhow::anyhow!("no node configured"))?;
    let mut client = LndClient::new(&settings.lnd)?;
    let writer = PlanFileWriter::from_settings(&settings.output);
    let (rss, hwm) = memory();
    println!("start: VmRSS {rss} MiB, VmHWM {hwm} MiB");
    let mut previous: Option<PlanDigest> = None;
    let started = Instant::now();
    let mut warm = None;
    let mut warm_ticks = 0;
    let mut times = Vec::with_capacity(cycles as usize);
    for cycle in 1..=cycles {
        let cycle_started = Instant::now();
        let report = run_cycle(&mut client, &settings, &writer, previous.as_ref(), &name).await?;
        if let Some(err) = report.write_error {
            anyhow::bail!("cycle {cycle}: plan not written: {err}");
        }
        let channels = report.plan.channels.len();
        let htlcs: usize = report.plan.channels.iter().map(|c| c.htlcs.len()).sum();
        previous = Some(PlanDigest::of(&report.plan));
        drop(report);
        times.push(cycle_started.elapsed().as_secs_f64() * 1000.0);
        let (rss, hwm) = memory();
        if cycle == WARM_UP_CYCLES {
            warm = Some(rss);
            warm_ticks = cpu_ticks();
        }
        if cycle <= 3 || cycle == WARM_UP_CYCLES || cycle % 100 == 0 || cycle == cycles {
            println!(
                "cycle {cycle:>5}: {channels} channels, {htlcs} HTLCs, VmRSS {rss} MiB, VmHWM {hwm} MiB, {:.0} ms per cycle so far",
                started.elapsed().as_secs_f64() * 1000.0 / f64::from(cycle)
            );
        }
    }
    let (rss, hwm) = memory();
    times.sort_by(f64::total_cmp);
    if let (Some(min), Some(max)) = (times.first(), times.last()) {
        let median = times[times.len() / 2];
        println!("cycle time: min {min:.1} ms, median {median:.1} ms, max {max:.1} ms");
    }
    match warm {
        Some(warm) => {
            println!(
                "end: VmRSS {rss} MiB, at cycle {WARM_UP_CYCLES} {warm} MiB: growth {} MiB; VmHWM {hwm} MiB",
                rss as i64 - warm as i64
            );
            if cycles > WARM_UP_CYCLES {
                let ms = (cpu_ticks() - warm_ticks) as f64 * 10.0;
                println!(
                    "CPU after the warm-up: {:.0} ms per cycle (user + sys, whole process)",
                    ms / f64::from(cycles - WARM_UP_CYCLES)
                );
            }
        }
        None => println!("end: VmRSS {rss} MiB, VmHWM {hwm} MiB"),
    }
    Ok(())
}
