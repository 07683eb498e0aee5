//! LND's fee exposure: how close a channel is to the limit where LND starts failing HTLCs,
//! now and after a fee spike.
//!
//! LND (`htlcswitch/link.go`) sums, per commitment, the dust (trimmed) HTLCs and the commitment
//! fee, and refuses an HTLC or a fee update that would push either commitment's sum above
//! `channel-max-fee-exposure` (strictly greater). The fee it adds is the commitment's
//! `CommitFee`, which is the uncapped BOLT 3 base fee, without anchors.
//!
//! dustwatch reports each commitment's `trimmed HTLC sum + base fee` and the headroom left by
//! the larger of the two. LND's check for one more HTLC adds the LARGER of the two
//! commitments' fees to each dust sum, and uses the highest feerate of any unrevoked
//! commitment; while a fee update is in flight its sum can be slightly above ours.

use serde::Serialize;

use super::channel_view::{side_exposure_at, ChannelAssumptions, CommitmentDust};
use super::DustParams;
use crate::model::{Channel, CommitmentType};

/// `limit − exposure` in satoshi; negative when the exposure is over the limit.
pub fn exposure_headroom_sat(limit_sat: u64, exposure_sat: u64) -> i64 {
    let headroom = i128::from(limit_sat) - i128::from(exposure_sat);
    i64::try_from(headroom).unwrap_or(if headroom < 0 { i64::MIN } else { i64::MAX })
}

/// `exposure / limit`. A limit of 0 gives 1.0 when there is any exposure (never infinity) and
/// 0.0 when there is none.
pub fn exposure_ratio(limit_sat: u64, exposure_sat: u64) -> f64 {
    if limit_sat == 0 {
        if exposure_sat > 0 {
            1.0
        } else {
            0.0
        }
    } else {
        exposure_sat as f64 / limit_sat as f64
    }
}

/// Whether LND would refuse further HTLCs: exposure strictly above the limit (LND compares with `>`).
pub fn exceeds_limit(limit_sat: u64, exposure_sat: u64) -> bool {
    exposure_sat > limit_sat
}

/// The channel's exposure if the commitment feerate were multiplied by `multiplier`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FeeSpike {
    pub multiplier: f64,
    /// After LND's anchor cap.
    pub feerate_per_kw: u64,
    /// True when LND's anchor cap lowered the multiplied feerate.
    pub capped: bool,
    pub local_trimmed_htlc_sat: u64,
    pub remote_trimmed_htlc_sat: u64,
    pub local_fee_exposure_sat: u64,
    pub remote_fee_exposure_sat: u64,
    pub exceeds_limit: bool,
}

/// The feerate a spike of `multiplier` leads to, and whether LND's cap bound it.
///
/// `feerate × multiplier`, rounded down; a multiplier that is negative or NaN gives 0, a huge
/// one saturates. For anchor types (and `UNKNOWN`, analysed as anchors) LND caps the commitment
/// feerate at `max-commit-fee-rate-anchors` (default 10 sat/vB = 2,500 sat/kw): anchor channels
/// bump their fee with CPFP instead. The cap never takes the feerate below the current one (a
/// peer initiator may already sit above our cap). Note that the cap is LND's policy for the
/// updates it sends as initiator; a non-LND initiator may go higher.
pub fn spiked_feerate(
    commitment_type: CommitmentType,
    feerate_per_kw: u64,
    multiplier: f64,
    anchor_commit_feerate_cap_per_kw: u64,
) -> (u64, bool) {
    // `as` from f64 to u64 saturates and maps NaN to 0: total by construction.
    let raw = (feerate_per_kw as f64 * multiplier).floor() as u64;
    if commitment_type.has_anchors() {
        let cap = anchor_commit_feerate_cap_per_kw.max(feerate_per_kw);
        if raw > cap {
            return (cap, true);
        }
    }
    (raw, false)
}

/// Recomputes both commitments' exposure at each configured multiplier. For non-anchor types
/// the trim thresholds rise with the feerate, so more HTLCs become dust; for zero-fee-HTLC types
/// only the base fee grows, so `local` and `remote` (both commitments at the channel's current
/// feerate) give the trimmed sets (see [`side_exposure_at`]). The returned vector is the only
/// allocation.
pub(crate) fn fee_spikes(
    ch: &Channel,
    assumptions: &ChannelAssumptions,
    local: &CommitmentDust,
    remote: &CommitmentDust,
    params: &DustParams,
) -> Vec<FeeSpike> {
    params
        .fee_spike_multipliers
        .iter()
        .map(|&multiplier| {
            let (feerate_per_kw, capped) = spiked_feerate(
                assumptions.commitment_type,
                ch.fee_per_kw,
                multiplier,
                params.anchor_commit_feerate_cap_per_kw,
            );
            let (local_trimmed_htlc_sat, local_fee_exposure_sat) =
                side_exposure_at(ch, assumptions, local, feerate_per_kw);
            let (remote_trimmed_htlc_sat, remote_fee_exposure_sat) =
                side_exposure_at(ch, assumptions, remote, feerate_per_kw);
            let worst = local_fee_exposure_sat.max(remote_fee_exposure_sat);
            FeeSpike {
                multiplier,
                feerate_per_kw,
                capped,
                local_trimmed_htlc_sat,
                remote_trimmed_htlc_sat,
                local_fee_exposure_sat,
                remote_fee_exposure_sat,
                exceeds_limit: exceeds_limit(params.max_fee_exposure_sat, worst),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headroom_and_ratio() {
        assert_eq!(exposure_headroom_sat(500_000, 120_000), 380_000);
        assert_eq!(exposure_headroom_sat(500_000, 600_000), -100_000);
        assert_eq!(exposure_headroom_sat(u64::MAX, 0), i64::MAX);
        assert_eq!(exposure_headroom_sat(0, u64::MAX), i64::MIN);
        assert_eq!(exposure_ratio(500_000, 250_000), 0.5);
        assert_eq!(exposure_ratio(0, 0), 0.0);
        assert_eq!(exposure_ratio(0, 1), 1.0);
        assert!(!exceeds_limit(500_000, 500_000));
        assert!(exceeds_limit(500_000, 500_001));
    }
}
