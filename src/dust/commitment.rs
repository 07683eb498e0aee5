//! The pure BOLT 3 commitment builder: explicit inputs in, the commitment's outputs and fees out.
//!
//! This is the piece the BOLT 3 test vectors check directly (`tests/bolt3_vectors.rs`);
//! [`super::commitment_dust`] feeds it from an LND channel. It follows BOLT 3 "Commitment
//! Transaction Construction" step by step, in millisatoshi, rounding each output down to whole
//! satoshi as BOLT 3 requires, with saturating arithmetic throughout.

use serde::Serialize;

use super::fees::{
    commitment_base_fee_sat, commitment_weight, trim_thresholds, TrimThresholds, ANCHOR_OUTPUT_SAT,
};
use crate::model::CommitmentType;

/// One HTLC as the owner of a commitment sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommitmentHtlc {
    /// True when the commitment's owner offered it (an "offered HTLC output", HTLC-timeout);
    /// false when the owner receives it (a "received HTLC output", HTLC-success).
    pub offered_by_owner: bool,
    pub amount_msat: u64,
}

/// Everything BOLT 3 needs to build one commitment transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommitmentInput<'a> {
    pub commitment_type: CommitmentType,
    /// The dust limit of the commitment's OWNER (BOLT 3 trims with the owner's limit).
    pub dust_limit_sat: u64,
    pub feerate_per_kw: u64,
    /// Whether the owner of this commitment opened the channel (and so pays fee and anchors).
    pub owner_is_initiator: bool,
    /// The owner's balance BEFORE the base fee and anchors are taken out (BOLT 3's
    /// `to_local_msat` in Appendix C), not counting HTLCs.
    pub to_local_msat: u64,
    /// The other side's balance before fee and anchors, not counting HTLCs.
    pub to_remote_msat: u64,
    pub htlcs: &'a [CommitmentHtlc],
}

/// A commitment transaction as BOLT 3 builds it: its outputs and fees, and which HTLCs were
/// trimmed. The outputs' fields read through (`built.weight`), as this type is the outputs
/// plus one flag per HTLC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BuiltCommitment {
    #[serde(flatten)]
    pub outputs: CommitmentOutputs,
    /// Parallel to the input HTLCs: true when that HTLC has no output.
    pub trimmed: Vec<bool>,
}

impl std::ops::Deref for BuiltCommitment {
    type Target = CommitmentOutputs;

    fn deref(&self) -> &CommitmentOutputs {
        &self.outputs
    }
}

/// Builds one commitment transaction by BOLT 3 "Commitment Transaction Construction":
///
/// 1. trim HTLCs: offered ones with `amount < dust + timeout_fee`, received ones with
///    `amount < dust + success_fee` ("Trimmed Outputs"; amounts compared in whole satoshi,
///    which for integer thresholds is the same as comparing msat);
/// 2. base fee = `feerate * (base_weight + 172 * untrimmed) / 1000`, rounded down;
/// 3. subtract the base fee, then (option_anchors) 2 × 330 sat, from the initiator's
///    balance; if it cannot pay, all of its balance is taken ("Fee Payment");
/// 4. add the untrimmed HTLC outputs, each `amount_msat / 1000` rounded down;
/// 5. add `to_local`/`to_remote` (rounded down) unless below the owner's dust limit;
/// 6. option_anchors: add `to_local_anchor` if `to_local` exists or any HTLC is untrimmed,
///    and `to_remote_anchor` if `to_remote` exists or any HTLC is untrimmed.
///
/// Pure and total: any inputs give a result, never a panic or an overflow.
pub fn build_commitment(input: &CommitmentInput<'_>) -> BuiltCommitment {
    let terms = CommitmentTerms {
        commitment_type: input.commitment_type,
        dust_limit_sat: input.dust_limit_sat,
        feerate_per_kw: input.feerate_per_kw,
        owner_is_initiator: input.owner_is_initiator,
        to_local_msat: input.to_local_msat,
        to_remote_msat: input.to_remote_msat,
    };
    let mut trimmed = Vec::with_capacity(input.htlcs.len());
    let outputs = build_outputs(&terms, input.htlcs.iter().copied(), |t| trimmed.push(t));
    BuiltCommitment { outputs, trimmed }
}

/// A commitment's inputs apart from its HTLCs: [`CommitmentInput`] without the slice, for
/// [`build_outputs`], whose HTLCs come from an iterator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CommitmentTerms {
    pub commitment_type: CommitmentType,
    pub dust_limit_sat: u64,
    pub feerate_per_kw: u64,
    pub owner_is_initiator: bool,
    pub to_local_msat: u64,
    pub to_remote_msat: u64,
}

/// The HTLCs of one commitment summed after trimming (step 1 of [`build_commitment`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct HtlcTally {
    pub trimmed_count: u32,
    pub untrimmed_count: u32,
    /// Σ of the trimmed HTLCs' full amounts, saturating.
    pub trimmed_msat: u64,
    /// Σ of the untrimmed HTLC outputs, each rounded down to whole satoshi, saturating.
    pub untrimmed_sat: u64,
    /// Σ of every HTLC's amount, exact (no `u64` overflow is possible for up to 2^64 HTLCs).
    pub total_msat: u128,
}

impl HtlcTally {
    /// Trims `htlcs` with `thresholds` and sums them; `each` is told, in order, whether each
    /// HTLC is trimmed (the flags `BuiltCommitment::trimmed` holds). Allocates nothing.
    pub(crate) fn of(
        thresholds: &TrimThresholds,
        htlcs: impl IntoIterator<Item = CommitmentHtlc>,
        mut each: impl FnMut(bool),
    ) -> Self {
        let mut tally = HtlcTally::default();
        for htlc in htlcs {
            tally.total_msat += u128::from(htlc.amount_msat);
            let is_trimmed = htlc.is_trimmed(thresholds);
            if is_trimmed {
                tally.trimmed_count = tally.trimmed_count.saturating_add(1);
                tally.trimmed_msat = tally.trimmed_msat.saturating_add(htlc.amount_msat);
            } else {
                tally.untrimmed_count = tally.untrimmed_count.saturating_add(1);
                tally.untrimmed_sat = tally.untrimmed_sat.saturating_add(htlc.amount_msat / 1000);
            }
            each(is_trimmed);
        }
        tally
    }
}

impl CommitmentHtlc {
    /// Whether this HTLC has no output on a commitment with `thresholds`: its amount, rounded
    /// down to whole satoshi, is below the threshold for its direction (BOLT 3 "Trimmed
    /// Outputs"). The one trimming rule every builder here uses.
    pub fn is_trimmed(&self, thresholds: &TrimThresholds) -> bool {
        thresholds.is_trimmed(self.offered_by_owner, self.amount_msat / 1000)
    }
}

/// A commitment's outputs and fees: everything [`BuiltCommitment`] holds except the per-HTLC
/// flags, and what the dust engine builds per commitment without allocating.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CommitmentOutputs {
    pub thresholds: TrimThresholds,
    pub trimmed_htlc_count: u32,
    pub untrimmed_htlc_count: u32,
    /// Σ of the trimmed HTLCs' full amounts; all of it goes to fees.
    pub trimmed_htlc_msat: u64,
    /// Σ of the untrimmed HTLC outputs, each rounded down to whole satoshi.
    pub untrimmed_htlc_sat: u64,
    /// Expected weight: base weight + 172 per untrimmed HTLC.
    pub weight: u64,
    /// The base fee as BOLT 3 computes it, NOT capped at the initiator's balance (BOLT 3's
    /// "base commitment transaction fee" in the test vectors, LND's `CommitFee`).
    pub base_fee_sat: u64,
    /// What the initiator actually pays towards the base fee: the base fee, capped at its balance.
    pub base_fee_paid_msat: u64,
    /// The owner's balance after fee and anchors, rounded down; its output exists unless trimmed.
    pub to_local_sat: u64,
    pub to_remote_sat: u64,
    pub to_local_trimmed: bool,
    pub to_remote_trimmed: bool,
    /// Anchor outputs created (only for anchor types): the owner's (`to_local_anchor`) and the
    /// other side's (`to_remote_anchor`).
    pub to_local_anchor: bool,
    pub to_remote_anchor: bool,
    /// Σ of every output this commitment has.
    pub outputs_sat: u64,
    /// The channel value the inputs describe: Σ balances and HTLCs, rounded down to satoshi.
    pub funding_sat: u64,
    /// The actual fee if this commitment is broadcast: `funding_sat − outputs_sat` (BOLT 3's
    /// "actual commitment transaction fee": base fee, trimmed HTLCs and balances, absent
    /// anchors, and the sub-satoshi remainders of rounding outputs down).
    pub fees_to_miners_sat: u64,
}

impl CommitmentOutputs {
    /// Number of anchor outputs created: 0, 1 or 2.
    pub fn anchor_outputs(&self) -> u8 {
        u8::from(self.to_local_anchor) + u8::from(self.to_remote_anchor)
    }

    /// The anchor value paid by the initiator that goes to fees because that anchor output was
    /// not created (0 for types without anchors).
    pub fn absent_anchor_sat(&self, commitment_type: CommitmentType) -> u64 {
        if commitment_type.has_anchors() {
            u64::from(2 - self.anchor_outputs()) * ANCHOR_OUTPUT_SAT
        } else {
            0
        }
    }
}

/// [`build_commitment`] on HTLCs that come from an iterator (a channel's pending HTLCs seen
/// from one side, made on the fly), telling `each` whether each HTLC is trimmed. The dust
/// engine builds eight commitments per channel with it and keeps no per-HTLC vector.
pub(crate) fn build_outputs(
    terms: &CommitmentTerms,
    htlcs: impl IntoIterator<Item = CommitmentHtlc>,
    each: impl FnMut(bool),
) -> CommitmentOutputs {
    let ct = terms.commitment_type;
    let thresholds = trim_thresholds(ct, terms.dust_limit_sat, terms.feerate_per_kw);
    let tally = HtlcTally::of(&thresholds, htlcs, each);

    let untrimmed = u64::from(tally.untrimmed_count);
    let weight = commitment_weight(ct, untrimmed);
    let base_fee_sat = commitment_base_fee_sat(ct, terms.feerate_per_kw, untrimmed);
    let anchors_msat = if ct.has_anchors() {
        2 * ANCHOR_OUTPUT_SAT * 1000
    } else {
        0
    };

    // Step 3: the initiator pays the base fee first, then the anchors, as far as it can.
    let funder_msat = if terms.owner_is_initiator {
        terms.to_local_msat
    } else {
        terms.to_remote_msat
    };
    let base_fee_msat = base_fee_sat.saturating_mul(1000);
    let base_fee_paid_msat = base_fee_msat.min(funder_msat);
    let funder_after_msat = funder_msat
        .saturating_sub(base_fee_msat)
        .saturating_sub(anchors_msat);
    let (to_local_msat, to_remote_msat) = if terms.owner_is_initiator {
        (funder_after_msat, terms.to_remote_msat)
    } else {
        (terms.to_local_msat, funder_after_msat)
    };

    // Step 5: balance outputs, rounded down, trimmed below the owner's dust limit.
    let to_local_sat = to_local_msat / 1000;
    let to_remote_sat = to_remote_msat / 1000;
    let to_local_trimmed = to_local_sat < terms.dust_limit_sat;
    let to_remote_trimmed = to_remote_sat < terms.dust_limit_sat;

    // Step 6: anchors exist only next to something worth bumping.
    let any_htlc = tally.untrimmed_count > 0;
    let to_local_anchor = ct.has_anchors() && (!to_local_trimmed || any_htlc);
    let to_remote_anchor = ct.has_anchors() && (!to_remote_trimmed || any_htlc);

    let mut outputs_sat = tally.untrimmed_sat;
    if !to_local_trimmed {
        outputs_sat = outputs_sat.saturating_add(to_local_sat);
    }
    if !to_remote_trimmed {
        outputs_sat = outputs_sat.saturating_add(to_remote_sat);
    }
    let anchor_count = u64::from(to_local_anchor) + u64::from(to_remote_anchor);
    outputs_sat = outputs_sat.saturating_add(anchor_count * ANCHOR_OUTPUT_SAT);

    let funding_sat = funding_sat(terms.to_local_msat, terms.to_remote_msat, tally.total_msat);

    CommitmentOutputs {
        thresholds,
        trimmed_htlc_count: tally.trimmed_count,
        untrimmed_htlc_count: tally.untrimmed_count,
        trimmed_htlc_msat: tally.trimmed_msat,
        untrimmed_htlc_sat: tally.untrimmed_sat,
        weight,
        base_fee_sat,
        base_fee_paid_msat,
        to_local_sat,
        to_remote_sat,
        to_local_trimmed,
        to_remote_trimmed,
        to_local_anchor,
        to_remote_anchor,
        outputs_sat,
        funding_sat,
        fees_to_miners_sat: funding_sat.saturating_sub(outputs_sat),
    }
}

/// `(to_local + to_remote + Σ HTLCs) / 1000` rounded down, saturating at `u64::MAX`. The sum
/// is exact in `u128`; when it fits a `u64` (every real channel) the division is done in
/// `u64`, which gives the same quotient without a 128-bit division.
fn funding_sat(to_local_msat: u64, to_remote_msat: u64, htlc_total_msat: u128) -> u64 {
    let funding_msat = u128::from(to_local_msat) + u128::from(to_remote_msat) + htlc_total_msat;
    match u64::try_from(funding_msat) {
        Ok(msat) => msat / 1000,
        Err(_) => u64::try_from(funding_msat / 1000).unwrap_or(u64::MAX),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn htlc(offered_by_owner: bool, amount_sat: u64) -> CommitmentHtlc {
        CommitmentHtlc {
            offered_by_owner,
            amount_msat: amount_sat * 1000,
        }
    }

    #[test]
    fn bolt3_fee_calculation_example() {
        // BOLT 3 "Fee Calculation" example: feerate 5000, dust 546; offered 5000 and 1000 sat,
        // received 7000 and 800 sat. Only the 5000 offered and 7000 received survive:
        // weight 724 + 2*172 = 1068, base fee 5340.
        let htlcs = [
            htlc(true, 5000),
            htlc(true, 1000),
            htlc(false, 7000),
            htlc(false, 800),
        ];
        let built = build_commitment(&CommitmentInput {
            commitment_type: CommitmentType::StaticRemoteKey,
            dust_limit_sat: 546,
            feerate_per_kw: 5000,
            owner_is_initiator: true,
            to_local_msat: 500_000_000,
            to_remote_msat: 300_000_000,
            htlcs: &htlcs,
        });
        assert_eq!(built.trimmed, vec![false, true, false, true]);
        assert_eq!(built.weight, 1068);
        assert_eq!(built.base_fee_sat, 5340);
        assert_eq!(built.trimmed_htlc_msat, 1_800_000);
        assert_eq!(built.to_local_sat, 500_000 - 5340);
        assert_eq!(built.fees_to_miners_sat, 5340 + 1800);
        assert_eq!(built.anchor_outputs(), 0);
    }

    #[test]
    fn non_initiator_owner_keeps_its_balance() {
        let built = build_commitment(&CommitmentInput {
            commitment_type: CommitmentType::Anchors,
            dust_limit_sat: 354,
            feerate_per_kw: 1000,
            owner_is_initiator: false,
            to_local_msat: 100_000_000,
            to_remote_msat: 200_000_000,
            htlcs: &[],
        });
        assert_eq!(built.base_fee_sat, 1124);
        assert_eq!(built.to_local_sat, 100_000);
        assert_eq!(built.to_remote_sat, 200_000 - 1124 - 660);
        assert_eq!(built.anchor_outputs(), 2);
        assert_eq!(built.fees_to_miners_sat, 1124);
    }

    #[test]
    fn anchor_only_next_to_an_output_or_htlc() {
        // The owner has nothing: its balance output and its anchor are absent.
        let built = build_commitment(&CommitmentInput {
            commitment_type: CommitmentType::SimpleTaprootFinal,
            dust_limit_sat: 354,
            feerate_per_kw: 2500,
            owner_is_initiator: false,
            to_local_msat: 0,
            to_remote_msat: 1_000_000_000,
            htlcs: &[],
        });
        assert!(built.to_local_trimmed);
        assert!(!built.to_local_anchor);
        assert!(built.to_remote_anchor);
        assert_eq!(built.base_fee_sat, 2420); // 2500 * 968 / 1000
        assert_eq!(
            built.absent_anchor_sat(CommitmentType::SimpleTaprootFinal),
            330
        );
        assert_eq!(built.fees_to_miners_sat, 2420 + 330);

        // An untrimmed HTLC brings both anchors back.
        let htlcs = [htlc(false, 10_000)];
        let built = build_commitment(&CommitmentInput {
            htlcs: &htlcs,
            to_remote_msat: 990_000_000,
            ..CommitmentInput {
                commitment_type: CommitmentType::SimpleTaprootFinal,
                dust_limit_sat: 354,
                feerate_per_kw: 2500,
                owner_is_initiator: false,
                to_local_msat: 0,
                to_remote_msat: 0,
                htlcs: &[],
            }
        });
        assert_eq!(built.anchor_outputs(), 2);
    }

    #[test]
    fn initiator_that_cannot_pay_loses_everything() {
        let built = build_commitment(&CommitmentInput {
            commitment_type: CommitmentType::StaticRemoteKey,
            dust_limit_sat: 546,
            feerate_per_kw: 1_000_000,
            owner_is_initiator: true,
            to_local_msat: 500_000,
            to_remote_msat: 9_000_000,
            htlcs: &[],
        });
        assert_eq!(built.base_fee_sat, 724_000);
        assert_eq!(built.base_fee_paid_msat, 500_000);
        assert_eq!(built.to_local_sat, 0);
        assert!(built.to_local_trimmed);
        assert_eq!(built.fees_to_miners_sat, 500);
    }
}
