//! The words of the alerts whose message follows from their own figures and their channel's.
//!
//! The analyzer words these alerts with these functions, and a schema v3 plan file leaves such a
//! message out when rebuilding it from the alert and its channel gives the same words (see
//! `alert_doc`), so there is one wording, whether an alert is fresh or read back.

use super::render::group_thousands;

/// `fee_exposure_over_limit`.
pub fn exposure_over_limit(exposure_sat: u64, limit_sat: u64) -> String {
    format!(
        "fee exposure {} sat is over the {} sat limit: LND fails further HTLCs on this channel",
        group_thousands(exposure_sat),
        group_thousands(limit_sat)
    )
}

/// `fee_exposure_near_limit`; `ratio` is the channel's exposure ratio.
pub fn exposure_near_limit(exposure_sat: u64, ratio: f64, limit_sat: u64) -> String {
    format!(
        "fee exposure {} sat is {:.0}% of the {} sat limit",
        group_thousands(exposure_sat),
        ratio * 100.0,
        group_thousands(limit_sat)
    )
}

/// `fee_spike_over_limit`: the exposure at the first multiplier whose exposure passes the limit.
pub fn fee_spike_over_limit(
    multiplier: f64,
    feerate_per_kw: u64,
    spiked_sat: u64,
    limit_sat: u64,
) -> String {
    format!(
        "at {multiplier}× the feerate ({feerate_per_kw} sat/kw) fee exposure would be {} sat, over the {} sat limit",
        group_thousands(spiked_sat),
        group_thousands(limit_sat)
    )
}

/// The HTLCs of a channel at one expiry level or worse, as an alert tells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpiringHtlcs {
    pub count: usize,
    pub sum_sat: u64,
    /// The soonest to expire (the lowest index on a tie).
    pub first_index: u64,
    pub first_blocks: i64,
    /// The threshold they are within.
    pub within_blocks: u32,
    /// Our commitment's trimmed HTLC sum, which a force close gives to miners.
    pub dust_to_miners_sat: u64,
    /// Within the critical threshold but worth less than a force close costs: a warning.
    pub below_force_close_cost: bool,
}

/// `htlc_expiry_critical` and `htlc_expiry_soon`.
pub fn htlc_expiry(h: &ExpiringHtlcs) -> String {
    let dust = if h.dust_to_miners_sat > 0 {
        format!(
            "; {} sat of trimmed HTLCs on our commitment would go to miners in a force close",
            group_thousands(h.dust_to_miners_sat)
        )
    } else {
        String::new()
    };
    let (count, first, blocks, within) = (h.count, h.first_index, h.first_blocks, h.within_blocks);
    let sum = group_thousands(h.sum_sat);
    let below = if h.below_force_close_cost {
        "; worth less than a force close costs, so a warning"
    } else {
        ""
    };
    if count == 1 {
        format!("1 pending HTLC (#{first}, {sum} sat) expires in {blocks} blocks (threshold {within}){below}{dust}")
    } else {
        format!("{count} pending HTLCs ({sum} sat) expire soon, the first (#{first}) in {blocks} blocks (threshold {within}){below}{dust}")
    }
}

/// `dust_pending_force_close_risk` while the peer is offline.
pub fn dust_pending_peer_offline(trimmed_sat: u64) -> String {
    format!(
        "{} sat of trimmed HTLCs on our commitment would go to miners in a force close, and the peer is offline",
        group_thousands(trimmed_sat)
    )
}

/// `commit_fee_mismatch`.
pub fn commit_fee_mismatch(computed_sat: u64, reported_sat: u64) -> String {
    format!(
        "computed fees to miners {} sat differ from LND's commit_fee {} sat: the dust model or LND's data is off for this channel",
        group_thousands(computed_sat),
        group_thousands(reported_sat)
    )
}

/// `chain_not_synced`.
pub const CHAIN_NOT_SYNCED: &str =
    "LND is not synced to the chain: block heights and HTLC expiries may be stale";
