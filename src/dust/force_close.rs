//! What a unilateral close of our commitment would cost now, against a cooperative close.

use serde::Serialize;

use super::channel_view::CommitmentDust;
use super::fees::{fee_for_weight, second_level_weights, ANCHOR_OUTPUT_SAT, COOP_CLOSE_WEIGHT};
use crate::model::{Channel, CommitmentType};

/// The cost of broadcasting our (local) commitment now.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ForceCloseCost {
    /// Of the local commitment now: `capacity − Σ outputs`.
    pub fees_to_miners_sat: u64,
    /// Our anchor output's value (spent to CPFP the commitment); 0 for non-anchor types or
    /// when our anchor is not created.
    pub anchor_sat: u64,
    /// Fees of the HTLC-timeout/success transactions of our untrimmed HTLCs at the current
    /// feerate, if every one resolves through its second-level transaction.
    pub second_level_fees_sat: u64,
    pub total_sat: u64,
    /// Blocks our `to_local` output stays locked (`local_constraints.csv_delay`; 0 if unknown).
    pub csv_delay_blocks: u32,
    /// One ~700-weight cooperative close at the current feerate.
    pub coop_close_fee_sat: u64,
    pub extra_cost_vs_coop_sat: u64,
}

/// Cooperative close fee: `feerate * 700 / 1000` (one funding input, up to two outputs).
pub fn coop_close_fee_sat(feerate_per_kw: u64) -> u64 {
    fee_for_weight(feerate_per_kw, COOP_CLOSE_WEIGHT)
}

/// Force-close cost of `local` (our commitment at the channel's current feerate):
///
/// * fees to miners of the commitment itself (base fee, trimmed HTLCs and balances, absent anchors);
/// * our anchor's 330 sat when it exists (anchor types): LND spends it in the CPFP sweep;
/// * for each untrimmed HTLC, its second-level transaction at the current feerate: HTLC-timeout
///   for the ones we offered, HTLC-success for the ones we received (BOLT 3 "HTLC-Timeout and
///   HTLC-Success Transactions"), weighed as in [`second_level_weights`] so that zero-fee-HTLC
///   types are charged the fee LND's sweeper adds;
/// * the CSV delay on `to_local`, reported next to it.
pub fn force_close_cost(
    ch: &Channel,
    commitment_type: CommitmentType,
    local: &CommitmentDust,
) -> ForceCloseCost {
    let weights = second_level_weights(commitment_type);
    let timeout_fee = fee_for_weight(ch.fee_per_kw, weights.timeout);
    let success_fee = fee_for_weight(ch.fee_per_kw, weights.success);
    let second_level_fees_sat = ch
        .pending_htlcs
        .iter()
        .filter(|htlc| !local.trims(htlc))
        .fold(0u64, |sum, htlc| {
            sum.saturating_add(if htlc.incoming {
                success_fee
            } else {
                timeout_fee
            })
        });
    let anchor_sat = if local.owner_anchor {
        ANCHOR_OUTPUT_SAT
    } else {
        0
    };
    let total_sat = local
        .fees_to_miners_sat
        .saturating_add(anchor_sat)
        .saturating_add(second_level_fees_sat);
    let coop_close_fee_sat = coop_close_fee_sat(ch.fee_per_kw);
    ForceCloseCost {
        fees_to_miners_sat: local.fees_to_miners_sat,
        anchor_sat,
        second_level_fees_sat,
        total_sat,
        csv_delay_blocks: ch.local_constraints.map_or(0, |c| c.csv_delay),
        coop_close_fee_sat,
        extra_cost_vs_coop_sat: total_sat.saturating_sub(coop_close_fee_sat),
    }
}
