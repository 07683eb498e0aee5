//! Using dustwatch as a library: a plan for a node from files saved with `lncli`, no node
//! connection needed.
//!
//! ```text
//! lncli listchannels > node/listchannels.json    # and getinfo, pendingchannels, feereport
//! cargo run --example analyze_lncli -- node
//! ```
//!
//! (`dustwatch sim --channels 40 --seed 21 --data-dir /tmp/sim --dump-lncli node` writes such a
//! folder for a simulated node.) The files other than `listchannels.json` are optional; without
//! `getinfo.json` the block height, and so HTLC expiry, is unknown.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use dustwatch::analyze::analyze;
use dustwatch::plan::render::render_table;
use dustwatch::settings::AnalysisSettings;
use dustwatch::snapshot::lncli::{snapshot_from_files, LncliFiles};

/// `dir/name` when that file exists.
fn optional(dir: &Path, name: &str) -> Option<PathBuf> {
    Some(dir.join(name)).filter(|path| path.exists())
}

fn main() -> anyhow::Result<()> {
    let dir = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| ".".into()));
    let files = LncliFiles {
        listchannels: dir.join("listchannels.json"),
        getinfo: optional(&dir, "getinfo.json"),
        pendingchannels: optional(&dir, "pendingchannels.json"),
        feereport: optional(&dir, "feereport.json"),
    };
    // The snapshot's time is the plan's time; the analysis itself never reads a clock.
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let snapshot = snapshot_from_files(&files, i64::try_from(now)?)?;
    for warning in &snapshot.warnings {
        eprintln!("warning: {}", warning.message);
    }

    // Pure: the same snapshot and settings always give the same plan. `None`: no previous plan
    // to compare with, so every action counts as new.
    let plan = analyze(&snapshot, &AnalysisSettings::default(), None);

    print!("{}", render_table(&plan));
    println!("\nThe plan is plain data, e.g. its three most urgent actions:");
    for action in plan.priority_actions.iter().take(3) {
        println!(
            "  {:?} on {:?}: benefit {} sat for a cost of {} sat",
            action.kind, action.chan_ids, action.expected_benefit_sat, action.expected_cost_sat
        );
    }
    Ok(())
}
