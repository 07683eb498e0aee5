//! Disk writes and journal lines of the daemon over simulated hours, as README and
//! docs/performance.md report them.
//!
//! Starts the simulator in this process (the generator's node, seed 1, as `dustwatch sim`
//! serves it) and runs the daemon's cycle (`daemon::run_cycle_writing`, with the daemon's
//! write rule and default settings) once per simulator tick: each tick is one simulated minute,
//! the default poll interval, so `CYCLES` cycles are `CYCLES` simulated minutes. The process's
//! `write_bytes` (/proc/self/io: what reached the block layer, plan files and all) is read
//! before and after (the plan directory should be on a disk, not tmpfs, for it to count), and
//! the plan directory's size at the end. Journal lines are the INFO-and-above events the cycles
//! log (a counting subscriber at the default level) plus the cycle lines the daemon logs at INFO
//! (a cycle with alert transitions, and hourly).
//!
//! ```text
//! cargo bench --bench footprint -- 1000 1440 /var/tmp/dw-footprint
//! ```
//!
//! Arguments: channels (default 1,000), cycles (default 1,440: 24 simulated hours) and the
//! plan directory (default `./footprint-plans`, emptied first).

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use dustwatch::daemon::{run_cycle_writing, WriteWhen, WrittenPlan};
use dustwatch::lnd::client::LndClient;
use dustwatch::plan::PlanDigest;
use dustwatch::settings::Settings;
use dustwatch::sim::{SimConfig, SimNode};
use dustwatch::sink::plan_file::PlanFileWriter;

/// Counts events at INFO and above, as the journal would hold them at the default level.
struct LineCounter(Arc<AtomicU64>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for LineCounter {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        if *event.metadata().level() <= tracing::Level::INFO {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
}

fn write_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/io")
        .unwrap_or_default()
        .lines()
        .find_map(|line| line.strip_prefix("write_bytes: "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

fn dir_bytes(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    use tracing_subscriber::layer::SubscriberExt;
    // `cargo bench` adds `--bench`; flags are not ours.
    let mut args = std::env::args().skip(1).filter(|a| !a.starts_with("--"));
    let channels: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1_000);
    let cycles: u32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(1_440);
    let plan_dir = PathBuf::from(args.next().unwrap_or_else(|| "footprint-plans".to_owned()));
    let _ = std::fs::remove_dir_all(&plan_dir);

    let lines = Arc::new(AtomicU64::new(0));
    let subscriber = tracing_subscriber::registry().with(LineCounter(Arc::clone(&lines)));
    tracing::subscriber::set_global_default(subscriber)?;

    let sim_dir = tempfile::tempdir()?;
    let sim = SimNode::start(SimConfig {
        channels,
        seed: 1,
        data_dir: sim_dir.path().join("lnd"),
        port: None,
    })
    .await?;
    let mut settings = Settings::default();
    settings.lnd.host = "127.0.0.1".into();
    settings.lnd.port = sim.addr().port();
    settings.lnd.tls_cert_path = sim.cert_path().to_path_buf();
    settings.lnd.macaroon_path = sim.macaroon_path().to_path_buf();
    settings.lnd.request_timeout = Duration::from_secs(120);
    settings.output.plan_dir = plan_dir.clone();
    let writer = PlanFileWriter::from_settings(&settings.output);
    let mut client = LndClient::new(&settings.lnd)?;

    let mut previous: Option<PlanDigest> = None;
    let mut last_written: Option<WrittenPlan> = None;
    let (mut written, mut transitions, mut resolved, mut warnings) = (0u32, 0usize, 0usize, 0usize);
    let mut cycle_lines = 0u64;
    // Why plans were written: cycles with actions new or gone, with logged transitions, with
    // resolved HTLC alerts only.
    let (mut by_actions, mut by_transitions, mut by_resolved) = (0u32, 0u32, 0u32);
    let mut last_cycle_line_unix: Option<i64> = None;
    // Actions new or gone per kind, over all cycles after the first.
    let mut churn = std::collections::BTreeMap::new();
    let mut first_unix = None;
    // Lines after the first cycle, which raises every alert there is: the steady state.
    let mut first_cycle_lines = 0u64;
    let before = write_bytes();
    for cycle in 0..cycles {
        sim.tick();
        // Snapshots carry the wall clock, which runs far faster here than one minute a cycle:
        // the written plan ages one simulated minute per cycle, so `output.plan_refresh`
        // counts simulated time.
        if let Some(written) = &mut last_written {
            written.at_unix -= 60;
        }
        let when = WriteWhen::Changed {
            last_written: last_written.as_ref(),
        };
        let report = run_cycle_writing(
            &mut client,
            &settings,
            &writer,
            previous.as_ref(),
            "n",
            when,
        )
        .await?;
        let at = report.plan.source.taken_at_unix;
        first_unix.get_or_insert(at);
        let changed = report
            .plan
            .changes
            .new
            .iter()
            .chain(&report.plan.changes.resolved);
        for id in changed.filter(|_| cycle > 0) {
            let kind = id.split(':').next().unwrap_or_default().to_owned();
            *churn.entry(kind).or_insert(0u32) += 1;
        }
        let actions_changed =
            !report.plan.changes.new.is_empty() || !report.plan.changes.resolved.is_empty();
        by_actions += u32::from(actions_changed);
        by_transitions += u32::from(report.journal.logged > 0);
        by_resolved += u32::from(report.journal.logged == 0 && report.journal.htlcs_resolved > 0);
        if report.written {
            written += 1;
            last_written = Some(WrittenPlan::of(&report.plan));
        }
        transitions += report.journal.logged;
        resolved += report.journal.htlcs_resolved;
        warnings += report.journal.warnings_changed;
        // The daemon's cycle line: INFO with transitions, or when the last was an hour ago.
        if report.journal.logged > 0 || last_cycle_line_unix.is_none_or(|t| at - t >= 3600) {
            cycle_lines += 1;
            last_cycle_line_unix = Some(at);
        }
        if cycle == 0 {
            first_cycle_lines = lines.load(Ordering::Relaxed) + cycle_lines;
        }
        previous = Some(PlanDigest::of(&report.plan));
    }
    let wrote = write_bytes() - before;
    let hours = f64::from(cycles) / 60.0;
    let journal = lines.load(Ordering::Relaxed) + cycle_lines;
    let steady_per_hour =
        (journal - first_cycle_lines) as f64 / (f64::from(cycles.saturating_sub(1)) / 60.0);
    println!(
        "{channels} channels, {cycles} cycles ({hours:.1} simulated hours from {:?}): \
         {written} plans written ({by_actions} cycles with actions new or gone, \
         {by_transitions} with alert transitions, {by_resolved} with resolved HTLC alerts only), \
         {:.1} MB written, plan directory {:.1} MB; \
         journal {journal} lines ({first_cycle_lines} in the first cycle; {steady_per_hour:.0} \
         per hour after it: {transitions} alert transitions, \
         {cycle_lines} cycle lines; {resolved} resolved HTLC alerts and {warnings} channel \
         warning changes counted, not logged)",
        first_unix,
        wrote as f64 / 1e6,
        dir_bytes(&plan_dir) as f64 / 1e6,
    );
    println!("actions new or gone, by kind: {churn:?}");
    if let Ok(latest) = std::fs::metadata(plan_dir.join("latest.json")) {
        println!(
            "latest.json: {} bytes, {:.0} per channel",
            latest.len(),
            latest.len() as f64 / channels as f64
        );
    }
    Ok(())
}
