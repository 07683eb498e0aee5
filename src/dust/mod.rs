//! The dust engine: BOLT 3 trimming, commitment fees, LND's fee exposure, fee-spike what-ifs,
//! force-close cost and HTLC expiry. Pure functions, no I/O; every amount uses saturating
//! arithmetic, because LND values can be absurd and one bad channel must not take the others
//! down.
//!
//! * [`fees`]: BOLT 3 weights and fees (`feerate * weight / 1000`, rounded down), trim thresholds.
//! * [`commitment`]: the pure BOLT 3 commitment builder on explicit inputs
//!   ([`build_commitment`]), which the BOLT 3 test vectors check.
//! * [`channel_view`]: one commitment of an LND channel ([`commitment_dust`]): LND's net
//!   balances turned back into BOLT 3 inputs.
//! * [`exposure`]: LND's fee exposure, headroom and the fee-spike what-if.
//! * [`force_close`]: force-close cost against a cooperative close.
//! * [`expiry`]: per-HTLC trimming and blocks to expiry.
//!
//! [`channel_dust`] puts it all together for one channel.

pub mod channel_view;
pub mod commitment;
pub mod expiry;
pub mod exposure;
pub mod fees;
pub mod force_close;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

use serde::Serialize;

pub use channel_view::{commitment_dust, CommitmentDust, Side};
pub use commitment::{
    build_commitment, BuiltCommitment, CommitmentHtlc, CommitmentInput, CommitmentOutputs,
};
pub use expiry::{blocks_to_expiry, expiry_level, ExpiryLevel, HtlcView};
pub use exposure::{
    exceeds_limit, exposure_headroom_sat, exposure_ratio, spiked_feerate, FeeSpike,
};
pub use fees::{
    commitment_base_fee_sat, commitment_base_weight, fee_for_weight, has_zero_fee_htlcs,
    htlc_success_fee_sat, htlc_timeout_fee_sat, trim_thresholds, TrimThresholds,
};
pub use force_close::{coop_close_fee_sat, ForceCloseCost};

use crate::model::{Channel, ExposureLimitSource, NodeExposureLimit};
use crate::settings::AnalysisSettings;

/// Parameters of the dust engine, resolved from settings and what the node reported.
#[derive(Debug, Clone, PartialEq)]
pub struct DustParams {
    /// LND's `channel-max-fee-exposure` (or older `dust-threshold`) in satoshi.
    pub max_fee_exposure_sat: u64,
    /// The node's own limit when it reported one, else `Configured`.
    pub exposure_limit_source: ExposureLimitSource,
    /// LND's `max-commit-fee-rate-anchors` in sat/kw.
    pub anchor_commit_feerate_cap_per_kw: u64,
    pub fee_spike_multipliers: Vec<f64>,
    /// Dust limit assumed for a side whose constraints the source did not report.
    pub fallback_dust_limit_sat: u64,
    pub htlc_expiry_warn_blocks: u32,
    pub htlc_expiry_critical_blocks: u32,
}

impl DustParams {
    /// The node's own exposure limit (GetDebugInfo) wins over `analysis.max_fee_exposure_sat`,
    /// since it is what LND actually enforces; the source says which one was used.
    pub fn from_settings(a: &AnalysisSettings, node_limit: Option<NodeExposureLimit>) -> Self {
        let (max_fee_exposure_sat, exposure_limit_source) = match node_limit {
            Some(limit) => (limit.sat, limit.source),
            None => (a.max_fee_exposure_sat, ExposureLimitSource::Configured),
        };
        DustParams {
            max_fee_exposure_sat,
            exposure_limit_source,
            anchor_commit_feerate_cap_per_kw: a.anchor_commit_feerate_cap_per_kw,
            fee_spike_multipliers: a.fee_spike_multipliers.clone(),
            fallback_dust_limit_sat: a.fallback_dust_limit_sat,
            htlc_expiry_warn_blocks: a.htlc_expiry_warn_blocks,
            htlc_expiry_critical_blocks: a.htlc_expiry_critical_blocks,
        }
    }
}

impl Default for DustParams {
    /// The parameters that follow from the default settings and no node-reported limit.
    fn default() -> Self {
        DustParams::from_settings(&AnalysisSettings::default(), None)
    }
}

/// Our local commitment rebuilt at the current feerate does not cost what LND says it costs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommitFeeMismatch {
    /// dustwatch's `capacity − Σ outputs` of the local commitment.
    pub computed_sat: u64,
    /// LND's `commit_fee`.
    pub reported_sat: u64,
}

/// Everything the engine says about one channel.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChannelDust {
    pub local: CommitmentDust,
    pub remote: CommitmentDust,
    pub max_fee_exposure_sat: u64,
    /// `limit − max(local, remote exposure)`; negative when over.
    pub exposure_headroom_sat: i64,
    /// `max(local, remote exposure) / limit` (see [`exposure_ratio`] for a zero limit).
    pub exposure_ratio: f64,
    pub fee_spike: Vec<FeeSpike>,
    pub force_close: ForceCloseCost,
    pub htlcs: Vec<HtlcView>,
    /// Set when the local commitment's `fees_to_miners_sat` differs from LND's `commit_fee`:
    /// LND computes `commit_fee` as capacity minus the outputs of this very commitment, so a
    /// difference means our model of the channel or LND's data is off.
    pub commit_fee_mismatch: Option<CommitFeeMismatch>,
    /// Assumptions made for missing or unknown data (unknown commitment type, fallback dust
    /// limit, unknown initiator), in words.
    pub warnings: Vec<String>,
}

impl ChannelDust {
    /// The larger of the two commitments' fee exposure: what LND checks against its limit.
    pub fn max_fee_exposure_now_sat(&self) -> u64 {
        self.local
            .fee_exposure_sat
            .max(self.remote.fee_exposure_sat)
    }
}

/// Analyses one channel: both commitments at the current feerate (`fee_per_kw`, LND's local
/// commitment feerate, used for both), fee exposure and headroom, the fee-spike what-ifs, the
/// force-close cost, per-HTLC trimming and expiry, and the `commit_fee` cross-check.
pub fn channel_dust(ch: &Channel, block_height: Option<u32>, params: &DustParams) -> ChannelDust {
    let assumptions = channel_view::resolve_assumptions(ch, params);
    let inputs = channel_view::SideInputs::new(ch, &assumptions);
    let local = channel_view::build_side(ch, &assumptions, &inputs, Side::Local, ch.fee_per_kw);
    let remote = channel_view::build_side(ch, &assumptions, &inputs, Side::Remote, ch.fee_per_kw);

    let worst_exposure = local.fee_exposure_sat.max(remote.fee_exposure_sat);
    let limit = params.max_fee_exposure_sat;
    let fee_spike = exposure::fee_spikes(ch, &assumptions, &local, &remote, params);
    let force_close = force_close::force_close_cost(ch, assumptions.commitment_type, &local);
    let htlcs = expiry::htlc_views(
        ch,
        block_height,
        &local,
        &remote,
        params.htlc_expiry_warn_blocks,
        params.htlc_expiry_critical_blocks,
    );
    let commit_fee_mismatch =
        (local.fees_to_miners_sat != ch.commit_fee_sat).then_some(CommitFeeMismatch {
            computed_sat: local.fees_to_miners_sat,
            reported_sat: ch.commit_fee_sat,
        });

    ChannelDust {
        max_fee_exposure_sat: limit,
        exposure_headroom_sat: exposure_headroom_sat(limit, worst_exposure),
        exposure_ratio: exposure_ratio(limit, worst_exposure),
        fee_spike,
        force_close,
        htlcs,
        commit_fee_mismatch,
        warnings: assumptions.warnings,
        local,
        remote,
    }
}
