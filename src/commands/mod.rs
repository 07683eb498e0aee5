//! The commands behind the CLI, one module each. Every command is an edge: it gathers input
//! (files, LND, the simulator), calls the pure core, and writes output; `cli::dispatch` only
//! picks the module.

pub mod analyze_offline;
pub mod demo;
pub mod once;
pub mod plans;
pub mod run;
pub mod sim;

use std::time::{SystemTime, UNIX_EPOCH};

/// Wall-clock unix seconds, read once per snapshot at the edge (the analyzer never reads it).
pub(crate) fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
