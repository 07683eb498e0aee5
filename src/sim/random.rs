//! Seeded random draws shared by the scenario generator, the per-tick evolution and the
//! benchmark load: weighted choices, log-uniform sizes, ids and hashes, HTLCs, policies.
//!
//! Every draw takes the simulation's one `StdRng`, so a seed gives the same node and the same
//! evolution; changing the order or number of draws here changes every seeded scenario.

use rand::rngs::StdRng;
use rand::{Rng, RngCore};

use crate::model::{Htlc, PaymentHash, RoutingPolicy};

/// Largest channel without `option_support_large_channel` (wumbo).
pub(super) const MAX_NON_WUMBO_SAT: u64 = 16_777_215;

/// How long an HTLC has been around when it is generated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum HtlcAge {
    /// Just offered: its expiry is a full route's CLTV away.
    Fresh,
    /// Found in flight at some instant: some have been stuck for a while and are within a
    /// dozen blocks of expiry (force-close risk).
    InFlight,
}

/// One pending HTLC. Amounts come from [`random_htlc_amount`].
pub(super) fn random_htlc(
    rng: &mut StdRng,
    incoming: bool,
    amount_sat: u64,
    block_height: u32,
    htlc_index: u64,
    age: HtlcAge,
) -> Htlc {
    let blocks_left: u32 = match age {
        HtlcAge::Fresh => rng.random_range(40..=2016),
        HtlcAge::InFlight => match pick(rng, &[(0u8, 12), (1, 18), (2, 70)]) {
            0 => rng.random_range(1..=12),
            1 => rng.random_range(13..=144),
            _ => rng.random_range(145..=2016),
        },
    };
    Htlc {
        incoming,
        amount_sat,
        hash_lock: Some(random_hash(rng)),
        expiration_height: block_height + blocks_left,
        htlc_index,
        forwarding_channel: 0,
        forwarding_htlc_index: 0,
        locked_in: rng.random_bool(0.95),
    }
}

/// HTLC sizes: many dust-sized (below or around the trim thresholds), most small, some large.
pub(super) fn random_htlc_amount(rng: &mut StdRng, capacity_sat: u64) -> u64 {
    let amount = match pick(rng, &[(0u8, 30), (1, 40), (2, 25), (3, 5)]) {
        0 => rng.random_range(1..=1_500),
        1 => log_uniform(rng, 1_500, 50_000),
        2 => log_uniform(rng, 50_000, 500_000),
        _ => log_uniform(rng, 500_000, 2_000_000),
    };
    amount.min(capacity_sat / 8).max(1)
}

pub(super) fn random_capacity(rng: &mut StdRng) -> u64 {
    let raw = match pick(rng, &[(0u8, 15), (1, 40), (2, 30), (3, 12), (4, 3)]) {
        0 => log_uniform(rng, 20_000, 500_000),
        1 => log_uniform(rng, 500_000, 3_000_000),
        2 => log_uniform(rng, 3_000_000, 10_000_000),
        3 => log_uniform(rng, 10_000_000, MAX_NON_WUMBO_SAT),
        _ => log_uniform(rng, MAX_NON_WUMBO_SAT, 100_000_000),
    };
    // People open round amounts more often than not.
    if rng.random_bool(0.6) {
        (raw / 10_000).max(2) * 10_000
    } else {
        raw
    }
}

pub(super) fn random_policy(rng: &mut StdRng, capacity_sat: u64, active: bool) -> RoutingPolicy {
    let fee_rate_ppm = if rng.random_bool(0.05) {
        0
    } else {
        log_uniform(rng, 1, 2_500) as i64
    };
    let (inbound_fee_base_msat, inbound_fee_rate_ppm) = if rng.random_bool(0.1) {
        (
            0,
            -(rng.random_range(1..=fee_rate_ppm.clamp(1, 200)) as i32),
        )
    } else {
        (0, 0)
    };
    RoutingPolicy {
        fee_base_msat: pick(rng, &[(1000i64, 50), (0, 35), (1, 5), (100, 10)]),
        fee_rate_ppm,
        inbound_fee_base_msat,
        inbound_fee_rate_ppm,
        min_htlc_msat: Some(pick(rng, &[(1000u64, 70), (1, 20), (100_000, 10)])),
        max_htlc_msat: Some(capacity_sat * 990),
        time_lock_delta: Some(pick(rng, &[(80u32, 60), (40, 15), (144, 25)])),
        disabled: !active && rng.random_bool(0.8),
    }
}

/// Weighted choice.
pub(super) fn pick<T: Copy>(rng: &mut StdRng, options: &[(T, u32)]) -> T {
    let total: u32 = options.iter().map(|(_, w)| *w).sum();
    let mut roll = rng.random_range(0..total.max(1));
    for (value, weight) in options {
        if roll < *weight {
            return *value;
        }
        roll -= weight;
    }
    // Unreachable with a non-empty list; the first option is the neutral answer.
    options[0].0
}

/// Log-uniform integer in `[lo, hi]` (sizes spread over orders of magnitude).
pub(super) fn log_uniform(rng: &mut StdRng, lo: u64, hi: u64) -> u64 {
    (log_uniform_f(rng, lo as f64, hi as f64).round() as u64).clamp(lo, hi)
}

pub(super) fn log_uniform_f(rng: &mut StdRng, lo: f64, hi: f64) -> f64 {
    (rng.random_range(lo.ln()..=hi.ln())).exp()
}

/// A random payment hash. Draws the same 32 bytes from `rng` as `hex_bytes(rng, 32)` did
/// when the model held hashes as hex, so seeded scenarios are unchanged.
pub(super) fn random_hash(rng: &mut StdRng) -> PaymentHash {
    let mut bytes = [0u8; PaymentHash::LEN];
    rng.fill_bytes(&mut bytes);
    PaymentHash(bytes)
}

pub(super) fn hex_bytes(rng: &mut StdRng, n: usize) -> String {
    let mut bytes = vec![0u8; n];
    rng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// A compressed-pubkey-shaped id (02/03 prefix, 33 bytes hex). Not a curve point: nothing
/// in the simulator verifies signatures.
pub(super) fn pubkey(rng: &mut StdRng) -> String {
    let prefix = if rng.random_bool(0.5) { "02" } else { "03" };
    format!("{prefix}{}", hex_bytes(rng, 32))
}

/// Block hashes have leading zero bytes from proof of work.
pub(super) fn block_hash(rng: &mut StdRng) -> String {
    format!("00000000000000000{}", &hex_bytes(rng, 32)[17..])
}

pub(super) fn peer_alias(rng: &mut StdRng) -> String {
    const FIRST: [&str; 12] = [
        "silent", "amber", "rapid", "lunar", "stone", "north", "quiet", "bright", "iron", "coral",
        "misty", "solar",
    ];
    const SECOND: [&str; 12] = [
        "otter", "relay", "harbor", "falcon", "bridge", "node", "wharf", "lantern", "mill",
        "beacon", "ridge", "ferry",
    ];
    if rng.random_bool(0.05) {
        // Some peers never set an alias: LND shows the pubkey prefix.
        return String::new();
    }
    format!(
        "{}-{}-{}",
        FIRST[rng.random_range(0..FIRST.len())],
        SECOND[rng.random_range(0..SECOND.len())],
        rng.random_range(1..100)
    )
}
