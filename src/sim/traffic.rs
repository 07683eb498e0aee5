//! How busy the simulated node is: the rate both the generated history ([`super::scenario`])
//! and each tick ([`super::evolve`]) follow, so a node's past and present agree.

/// Attempts per tick at a new payment, invoice or forward (each succeeds with some
/// probability): busy enough that a demo node always has HTLCs in flight.
pub(super) fn traffic_attempts_per_tick(active_channels: usize) -> usize {
    1 + active_channels / 10
}

/// Settled forwards per tick on average: attempts × P(attempt) × P(forward) × P(settled).
pub(super) fn forwards_per_tick(active_channels: usize) -> f64 {
    traffic_attempts_per_tick(active_channels) as f64 * 0.6 * 0.6 * 0.8
}
