//! BOLT 3 weights and the fees derived from them.
//!
//! Every fee here is `feerate_per_kw * weight / 1000`, rounded down (BOLT 3 "Fee Calculation"),
//! computed in `u128` so no feerate or weight LND could report overflows; a result that does
//! not fit a `u64` saturates.

use serde::Serialize;

use crate::model::CommitmentType;

/// Value of each anchor output (BOLT 3 "`to_local_anchor` and `to_remote_anchor` Output
/// (option_anchors)"); the initiator pays both.
pub const ANCHOR_OUTPUT_SAT: u64 = 330;

/// Weight one untrimmed HTLC output adds to a commitment transaction (BOLT 3 "Fee
/// Calculation"; LND `input.HTLCWeight`). A P2WSH and a P2TR output have the same size, so
/// this holds for the taproot types too.
pub const HTLC_OUTPUT_WEIGHT: u64 = 172;

/// Expected weight of an HTLC-timeout transaction (BOLT 3 "Fee Calculation"; LND
/// `input.HtlcTimeoutWeight`).
pub const HTLC_TIMEOUT_WEIGHT: u64 = 663;

/// Expected weight of an HTLC-success transaction (BOLT 3 "Fee Calculation"; LND
/// `input.HtlcSuccessWeight`).
pub const HTLC_SUCCESS_WEIGHT: u64 = 703;

/// Base weight of a commitment without anchors (BOLT 3 "Fee Calculation"; LND `input.CommitWeight`).
pub const COMMITMENT_WEIGHT_NO_ANCHORS: u64 = 724;

/// Base weight of an anchor commitment: two more P2WSH outputs than the legacy one (BOLT 3
/// "Fee Calculation" with option_anchors; LND `input.AnchorCommitWeight`).
pub const COMMITMENT_WEIGHT_ANCHORS: u64 = 1124;

/// Base weight of a simple-taproot commitment: LND `input.TaprootCommitWeight` in
/// `input/size.go`, which LND documents as 968 weight. It is
/// `(4 + 1 + 41 + 3 + 2·P2TR output + 2·P2TR anchor output + 4) · 4` non-witness weight plus
/// the 2-byte witness header and one 66-byte MuSig2 key-path witness. LND's
/// `lnwallet.CommitWeight` returns it for every channel type with `IsTaproot()`, which covers the
/// staging, the overlay (tapscript-root) and the final taproot feature bits alike.
pub const COMMITMENT_WEIGHT_TAPROOT: u64 = 968;

/// Weight of a cooperative close: one 2-of-2 input and up to two outputs, about 700 weight.
pub const COOP_CLOSE_WEIGHT: u64 = 700;

/// LND's `input.HtlcTimeoutWeightConfirmed`: the HTLC-timeout transaction of anchor channels
/// (its input script carries an extra `1 OP_CSV OP_DROP`).
const HTLC_TIMEOUT_WEIGHT_ANCHORS: u64 = 666;
/// LND's `input.HtlcSuccessWeightConfirmed` (see [`HTLC_TIMEOUT_WEIGHT_ANCHORS`]).
const HTLC_SUCCESS_WEIGHT_ANCHORS: u64 = 706;
/// LND's `input.TaprootHtlcTimeoutWeight`.
const HTLC_TIMEOUT_WEIGHT_TAPROOT: u64 = 645;
/// LND's `input.TaprootHtlcSuccessWeight`.
const HTLC_SUCCESS_WEIGHT_TAPROOT: u64 = 705;

/// `feerate_per_kw * weight / 1000`, rounded down (BOLT 3 "Fee Calculation"; LND
/// `SatPerKWeight.FeeForWeight`). Saturates at `u64::MAX` instead of overflowing.
///
/// When the product fits a `u64` (any feerate below ~10^13 sat/kw) it is divided in `u64`,
/// which gives the same quotient as the `u128` path without a 128-bit division.
pub fn fee_for_weight(feerate_per_kw: u64, weight: u64) -> u64 {
    match feerate_per_kw.checked_mul(weight) {
        Some(product) => product / 1000,
        None => {
            let fee = u128::from(feerate_per_kw) * u128::from(weight) / 1000;
            u64::try_from(fee).unwrap_or(u64::MAX)
        }
    }
}

/// True when the commitment type pre-signs its HTLC-timeout/success transactions with zero
/// fee (`option_anchors_zero_fee_htlc_tx`, and every taproot type; LND `ZeroHtlcTxFee() ||
/// IsTaproot()`), so trimming does not depend on the feerate.
///
/// `ANCHORS` channels opened before LND 0.12 used 666/706-weight HTLC transactions with a fee,
/// but the RPC reports them as `ANCHORS` too and cannot tell them apart: dustwatch treats every
/// `ANCHORS` channel as zero-fee. `UNKNOWN` (a type newer than dustwatch) is treated as anchors,
/// since every type LND added after anchors has zero-fee HTLCs.
pub fn has_zero_fee_htlcs(commitment_type: CommitmentType) -> bool {
    commitment_type.has_anchors()
}

/// Fee of the HTLC-timeout transaction that trimming accounts for: `feerate * 663 / 1000`
/// (BOLT 3 "Fee Calculation"), 0 for zero-fee-HTLC types (LND `lnwallet.HtlcTimeoutFee`).
pub fn htlc_timeout_fee_sat(commitment_type: CommitmentType, feerate_per_kw: u64) -> u64 {
    if has_zero_fee_htlcs(commitment_type) {
        0
    } else {
        fee_for_weight(feerate_per_kw, HTLC_TIMEOUT_WEIGHT)
    }
}

/// Fee of the HTLC-success transaction that trimming accounts for: `feerate * 703 / 1000`
/// (BOLT 3 "Fee Calculation"), 0 for zero-fee-HTLC types (LND `lnwallet.HtlcSuccessFee`).
pub fn htlc_success_fee_sat(commitment_type: CommitmentType, feerate_per_kw: u64) -> u64 {
    if has_zero_fee_htlcs(commitment_type) {
        0
    } else {
        fee_for_weight(feerate_per_kw, HTLC_SUCCESS_WEIGHT)
    }
}

/// Weight of a commitment with no HTLC outputs, by type (LND `lnwallet.CommitWeight`):
/// 724 without anchors, 1124 with anchors (and for `UNKNOWN`), 968 for taproot types.
pub fn commitment_base_weight(commitment_type: CommitmentType) -> u64 {
    match commitment_type {
        CommitmentType::Legacy | CommitmentType::StaticRemoteKey => COMMITMENT_WEIGHT_NO_ANCHORS,
        CommitmentType::Anchors | CommitmentType::ScriptEnforcedLease | CommitmentType::Unknown => {
            COMMITMENT_WEIGHT_ANCHORS
        }
        CommitmentType::SimpleTaproot
        | CommitmentType::SimpleTaprootOverlay
        | CommitmentType::SimpleTaprootFinal => COMMITMENT_WEIGHT_TAPROOT,
    }
}

/// Expected commitment weight: base weight + 172 per untrimmed HTLC (BOLT 3 "Fee Calculation").
pub fn commitment_weight(commitment_type: CommitmentType, untrimmed_htlcs: u64) -> u64 {
    commitment_base_weight(commitment_type)
        .saturating_add(HTLC_OUTPUT_WEIGHT.saturating_mul(untrimmed_htlcs))
}

/// The base commitment fee: `feerate * (base weight + 172 * untrimmed HTLCs) / 1000`, rounded
/// down (BOLT 3 "Fee Calculation"). This is the uncapped amount the initiator owes; LND stores
/// the same number as the commitment's `CommitFee` and uses it for fee exposure.
pub fn commitment_base_fee_sat(
    commitment_type: CommitmentType,
    feerate_per_kw: u64,
    untrimmed_htlcs: u64,
) -> u64 {
    fee_for_weight(
        feerate_per_kw,
        commitment_weight(commitment_type, untrimmed_htlcs),
    )
}

/// Trim thresholds for the owner of a commitment: an HTLC the owner OFFERED is trimmed if
/// `amount < offered_sat`, an HTLC the owner RECEIVES is trimmed if `amount < received_sat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TrimThresholds {
    pub offered_sat: u64,
    pub received_sat: u64,
}

impl TrimThresholds {
    /// Whether an HTLC of `amount_sat` is trimmed; `offered_by_owner` says which threshold applies.
    pub fn is_trimmed(&self, offered_by_owner: bool, amount_sat: u64) -> bool {
        let threshold = if offered_by_owner {
            self.offered_sat
        } else {
            self.received_sat
        };
        amount_sat < threshold
    }
}

/// BOLT 3 "Trimmed Outputs": an offered HTLC is trimmed when `amount - timeout_fee <
/// dust_limit`, a received one when `amount - success_fee < dust_limit`. Written as
/// `amount < dust_limit + fee` so it never underflows (LND `lnwallet.HtlcIsDust` computes the
/// same in signed arithmetic). `dust_limit_sat` is the limit of the commitment's OWNER.
pub fn trim_thresholds(
    commitment_type: CommitmentType,
    dust_limit_sat: u64,
    feerate_per_kw: u64,
) -> TrimThresholds {
    TrimThresholds {
        offered_sat: dust_limit_sat
            .saturating_add(htlc_timeout_fee_sat(commitment_type, feerate_per_kw)),
        received_sat: dust_limit_sat
            .saturating_add(htlc_success_fee_sat(commitment_type, feerate_per_kw)),
    }
}

/// Weights of the second-level transactions as they are actually broadcast, for pricing a
/// force close (not for trimming).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecondLevelWeights {
    pub timeout: u64,
    pub success: u64,
}

/// What an HTLC-timeout/success transaction weighs when it goes on chain. Zero-fee-HTLC types
/// still pay a fee for it: LND's sweeper attaches a wallet input to the pre-signed
/// `SIGHASH_SINGLE|ANYONECANPAY` transaction. LND prices those with
/// `HtlcTimeoutWeightConfirmed`/`HtlcSuccessWeightConfirmed` (666/706) for anchors and
/// `TaprootHtlcTimeoutWeight`/`TaprootHtlcSuccessWeight` (645/705) for taproot; legacy types
/// use BOLT 3's 663/703. The extra wallet input is not counted.
pub fn second_level_weights(commitment_type: CommitmentType) -> SecondLevelWeights {
    match commitment_type {
        CommitmentType::Legacy | CommitmentType::StaticRemoteKey => SecondLevelWeights {
            timeout: HTLC_TIMEOUT_WEIGHT,
            success: HTLC_SUCCESS_WEIGHT,
        },
        CommitmentType::Anchors | CommitmentType::ScriptEnforcedLease | CommitmentType::Unknown => {
            SecondLevelWeights {
                timeout: HTLC_TIMEOUT_WEIGHT_ANCHORS,
                success: HTLC_SUCCESS_WEIGHT_ANCHORS,
            }
        }
        CommitmentType::SimpleTaproot
        | CommitmentType::SimpleTaprootOverlay
        | CommitmentType::SimpleTaprootFinal => SecondLevelWeights {
            timeout: HTLC_TIMEOUT_WEIGHT_TAPROOT,
            success: HTLC_SUCCESS_WEIGHT_TAPROOT,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dust::tests::ALL_TYPES;

    #[test]
    fn bolt3_fee_example() {
        // BOLT 3 "Fee Calculation" example: feerate 5000 → timeout fee 3315, success fee 3515.
        assert_eq!(
            htlc_timeout_fee_sat(CommitmentType::StaticRemoteKey, 5000),
            3315
        );
        assert_eq!(
            htlc_success_fee_sat(CommitmentType::StaticRemoteKey, 5000),
            3515
        );
        // Two untrimmed HTLCs: weight 724 + 2*172 = 1068 → fee 5340.
        assert_eq!(
            commitment_base_fee_sat(CommitmentType::Legacy, 5000, 2),
            5340
        );
    }

    #[test]
    fn second_level_fees_by_type() {
        for ct in ALL_TYPES {
            let zero = !matches!(ct, CommitmentType::Legacy | CommitmentType::StaticRemoteKey);
            assert_eq!(has_zero_fee_htlcs(ct), zero, "{ct:?}");
            let timeout = htlc_timeout_fee_sat(ct, 10_000);
            let success = htlc_success_fee_sat(ct, 10_000);
            if zero {
                assert_eq!((timeout, success), (0, 0), "{ct:?}");
            } else {
                assert_eq!((timeout, success), (6630, 7030), "{ct:?}");
            }
        }
    }

    #[test]
    fn base_weights_by_type() {
        assert_eq!(commitment_base_weight(CommitmentType::Legacy), 724);
        assert_eq!(commitment_base_weight(CommitmentType::StaticRemoteKey), 724);
        assert_eq!(commitment_base_weight(CommitmentType::Anchors), 1124);
        assert_eq!(
            commitment_base_weight(CommitmentType::ScriptEnforcedLease),
            1124
        );
        assert_eq!(commitment_base_weight(CommitmentType::Unknown), 1124);
        assert_eq!(commitment_base_weight(CommitmentType::SimpleTaproot), 968);
        assert_eq!(
            commitment_base_weight(CommitmentType::SimpleTaprootOverlay),
            968
        );
        assert_eq!(
            commitment_base_weight(CommitmentType::SimpleTaprootFinal),
            968
        );
        assert_eq!(commitment_weight(CommitmentType::Anchors, 3), 1124 + 516);
    }

    #[test]
    fn thresholds_add_fee_to_dust_limit() {
        let t = trim_thresholds(CommitmentType::StaticRemoteKey, 546, 647);
        // 647 * 663 / 1000 = 428.961 → 428; 647 * 703 / 1000 = 454.841 → 454.
        assert_eq!(
            t,
            TrimThresholds {
                offered_sat: 974,
                received_sat: 1000
            }
        );
        assert!(!t.is_trimmed(false, 1000));
        assert!(t.is_trimmed(false, 999));
        assert!(t.is_trimmed(true, 973));
        let anchors = trim_thresholds(CommitmentType::Anchors, 546, 1_000_000);
        assert_eq!(
            anchors,
            TrimThresholds {
                offered_sat: 546,
                received_sat: 546
            }
        );
    }

    #[test]
    fn fees_saturate() {
        assert_eq!(fee_for_weight(u64::MAX, u64::MAX), u64::MAX);
        assert_eq!(fee_for_weight(u64::MAX, 1000), u64::MAX);
        assert_eq!(
            fee_for_weight(u64::MAX, 999),
            u64::MAX / 1000 * 999 + (u64::MAX % 1000) * 999 / 1000
        );
        let t = trim_thresholds(CommitmentType::Legacy, u64::MAX, u64::MAX);
        assert_eq!(t.offered_sat, u64::MAX);
    }
}
