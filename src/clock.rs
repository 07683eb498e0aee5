//! The wall clock, read only at the edges (snapshots, metrics stamps, the simulator's start):
//! the analyzer never reads it.

use std::time::{SystemTime, UNIX_EPOCH};

/// Unix seconds now; 0 if the clock is before 1970, `i64::MAX` past the year 292 billion.
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
