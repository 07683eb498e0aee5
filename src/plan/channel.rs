//! A channel's section of the plan ([`ChannelPlan`]): health, dust per commitment, HTLC rows,
//! force-close cost, fee-rate memory and recommendations.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::ids;
use super::{Action, ChannelFlowReport};
use crate::model::{ChanId, CommitmentType, ExposureLimitSource, Initiator};

/// Everything the plan says about one open channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelPlan {
    #[serde(with = "ids::chan_id")]
    pub chan_id: ChanId,
    /// Shared with the snapshot the plan was made from (see [`crate::model::Channel`]).
    pub channel_point: Arc<str>,
    pub peer_pubkey: Arc<str>,
    pub peer_alias: Arc<str>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub active: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub private: bool,
    pub initiator: Initiator,
    pub commitment_type: CommitmentType,
    pub capacity_sat: u64,
    pub local_balance_sat: u64,
    pub remote_balance_sat: u64,
    pub commit_fee_sat: u64,
    pub health: Health,
    pub dust: DustReport,
    /// Parallel to the channel's pending HTLCs, sorted by `htlc_index`. A plan file lists only
    /// the rows with something to say ([`HtlcReport::has_something_to_say`]).
    #[serde(
        default,
        skip_serializing_if = "no_htlc_to_list",
        serialize_with = "serialize_listed_htlcs"
    )]
    pub htlcs: Vec<HtlcReport>,
    pub force_close: ForceCloseReport,
    pub recommendations: Recommendations,
    /// Caveats of the dust engine for this channel (assumed values, unknown types).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Forwarding flow in the window (absent when the snapshot had no forwarding history).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flow: Option<ChannelFlowReport>,
    /// Observations with no countable benefit, so not actions (e.g. an advertised `max_htlc`
    /// above what the channel can send).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// The channel's own fee rate and what fee-change hysteresis remembers of it across cycles
    /// (absent when the snapshot had no local policy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fee_rate: Option<FeeRateMemory>,
}

/// A channel's own fee rate as a plan saw it: the memory that keeps fee changes from being
/// re-recommended within `analysis.fee_change_cooldown` and their targets from flapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeeRateMemory {
    /// `local_policy.fee_rate_ppm` in the snapshot (a negative rate reads as 0).
    pub ppm: u64,
    /// Snapshot time (unix seconds) of the first plan that saw `ppm` differ from the previous
    /// plan's, carried forward while it stays the same; absent when no change was ever seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed_at_unix: Option<i64>,
    /// The fee rate this plan's `fee_up` action on the channel sets; absent without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_ppm: Option<u64>,
}

/// The channel's health (design.md section 4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Health {
    /// `min(local, remote) / max(local, remote)`, 0 when both are 0. Filled back on read.
    #[serde(default, skip_serializing)]
    pub balance_ratio: f64,
    /// `local / (local + remote)`, 0 when both are 0. Filled back on read.
    #[serde(default, skip_serializing)]
    pub local_ratio: f64,
    /// `max(local, remote commitment trimmed HTLC sat) / capacity`. Filled back on read.
    #[serde(default, skip_serializing)]
    pub dust_ratio: f64,
    /// Daily turnover divided by the target turnover, capped at 1.
    #[serde(default, skip_serializing_if = "is_zero_f64")]
    pub utilization: f64,
    /// `(sent + received) / capacity / lifetime days`, uncapped (0 without lifetime).
    #[serde(default, skip_serializing_if = "is_zero_f64")]
    pub daily_turnover: f64,
    /// `uptime / lifetime`; `None` when LND has not monitored the channel yet (lifetime 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uptime_ratio: Option<f64>,
    #[serde(default, skip_serializing_if = "is_zero_f64")]
    pub health_score: f64,
    pub status: HealthStatus,
    /// In the fixed order of [`Issue`]'s variants.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub issues: Vec<Issue>,
}

impl Health {
    /// The prototype's implementation priority: unhealthy 10, attention_needed 7, healthy with
    /// issues 5, healthy without issues 3. Higher means "work on this channel first".
    pub fn implementation_priority(&self) -> u8 {
        match self.status {
            HealthStatus::Unhealthy => 10,
            HealthStatus::AttentionNeeded => 7,
            HealthStatus::Healthy if !self.issues.is_empty() => 5,
            HealthStatus::Healthy => 3,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthStatus {
    Healthy,
    AttentionNeeded,
    Unhealthy,
}

impl HealthStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            HealthStatus::Healthy => "healthy",
            HealthStatus::AttentionNeeded => "attention_needed",
            HealthStatus::Unhealthy => "unhealthy",
        }
    }

    /// The score's band as the text report words it: the bands are not the attention list (a
    /// channel can score low with nothing to do), so people read `fair`/`poor`, not a verdict.
    pub fn score_band(self) -> &'static str {
        match self {
            HealthStatus::Healthy => "healthy",
            HealthStatus::AttentionNeeded => "fair",
            HealthStatus::Unhealthy => "poor",
        }
    }
}

/// A named problem of a channel. The declaration order is the order issues are listed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Issue {
    Imbalanced,
    HighDustRatio,
    Underutilized,
    Overutilized,
    Inactive,
    FeeExposureNearLimit,
    HtlcExpirySoon,
    UneconomicalLocalBalance,
    LowUptime,
}

impl Issue {
    pub fn as_str(self) -> &'static str {
        match self {
            Issue::Imbalanced => "imbalanced",
            Issue::HighDustRatio => "high_dust_ratio",
            Issue::Underutilized => "underutilized",
            Issue::Overutilized => "overutilized",
            Issue::Inactive => "inactive",
            Issue::FeeExposureNearLimit => "fee_exposure_near_limit",
            Issue::HtlcExpirySoon => "htlc_expiry_soon",
            Issue::UneconomicalLocalBalance => "uneconomical_local_balance",
            Issue::LowUptime => "low_uptime",
        }
    }
}

/// Dust and fee exposure of both commitment transactions (design.md section 3). A plan file
/// writes the peer's commitment as its differences from ours (see `dust_doc`).
#[derive(Debug, Clone, PartialEq)]
pub struct DustReport {
    pub local_commitment: CommitmentReport,
    pub remote_commitment: CommitmentReport,
    /// The limit this channel was checked against (same for every channel of a plan). Written
    /// once, in `source.exposure_limit`: a v2 plan file leaves both out of the channel.
    pub max_fee_exposure_sat: u64,
    pub exposure_limit_source: ExposureLimitSource,
    /// Limit minus the larger of the two commitments' exposure; negative when over the limit.
    /// Filled back on read.
    pub exposure_headroom_sat: i64,
    /// Larger exposure divided by the limit. Filled back on read.
    pub exposure_ratio: f64,
    /// One entry per configured feerate multiplier, in configuration order. A plan file lists
    /// only the rows that exceed the limit.
    pub fee_spike: Vec<FeeSpikeReport>,
    /// Present when our computed fees to miners differ from LND's `commit_fee`.
    pub commit_fee_mismatch: Option<CommitFeeMismatchReport>,
}

/// One commitment transaction as it would look if broadcast now.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CommitmentReport {
    #[serde(default, skip_serializing_if = "is_zero_u64")]
    pub dust_limit_sat: u64,
    #[serde(default, skip_serializing_if = "is_zero_u64")]
    pub feerate_per_kw: u64,
    /// An HTLC the commitment's owner offered is trimmed below this amount.
    #[serde(default, skip_serializing_if = "is_zero_u64")]
    pub offered_trim_threshold_sat: u64,
    /// An HTLC the commitment's owner receives is trimmed below this amount.
    #[serde(default, skip_serializing_if = "is_zero_u64")]
    pub received_trim_threshold_sat: u64,
    #[serde(default, skip_serializing_if = "is_zero_u64")]
    pub base_fee_sat: u64,
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    pub trimmed_htlc_count: u32,
    #[serde(default, skip_serializing_if = "is_zero_u64")]
    pub trimmed_htlc_sat: u64,
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    pub untrimmed_htlc_count: u32,
    #[serde(default, skip_serializing_if = "is_false")]
    pub to_local_trimmed: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub to_remote_trimmed: bool,
    #[serde(default, skip_serializing_if = "is_zero_u8")]
    pub anchor_outputs: u8,
    #[serde(default, skip_serializing_if = "is_zero_u64")]
    pub absent_anchor_sat: u64,
    #[serde(default, skip_serializing_if = "is_zero_u64")]
    pub fees_to_miners_sat: u64,
    /// `trimmed_htlc_sat + base_fee_sat`: what LND compares with `channel-max-fee-exposure`.
    /// Filled back on read.
    #[serde(default, skip_serializing)]
    pub fee_exposure_sat: u64,
}

/// Both commitments recomputed at a higher feerate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeeSpikeReport {
    #[serde(default, skip_serializing_if = "is_zero_f64")]
    pub multiplier: f64,
    #[serde(default, skip_serializing_if = "is_zero_u64")]
    pub feerate_per_kw: u64,
    /// True when LND's anchor feerate cap limited the feerate.
    #[serde(default, skip_serializing_if = "is_false")]
    pub capped: bool,
    #[serde(default, skip_serializing_if = "is_zero_u64")]
    pub local_trimmed_htlc_sat: u64,
    #[serde(default, skip_serializing_if = "is_zero_u64")]
    pub remote_trimmed_htlc_sat: u64,
    #[serde(default, skip_serializing_if = "is_zero_u64")]
    pub local_fee_exposure_sat: u64,
    #[serde(default, skip_serializing_if = "is_zero_u64")]
    pub remote_fee_exposure_sat: u64,
    #[serde(default, skip_serializing_if = "is_false")]
    pub exceeds_limit: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitFeeMismatchReport {
    pub computed_sat: u64,
    pub reported_sat: u64,
}

/// A pending HTLC and where it is dust.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HtlcReport {
    pub htlc_index: u64,
    #[serde(default, skip_serializing_if = "is_false")]
    pub incoming: bool,
    pub amount_sat: u64,
    pub expiration_height: u32,
    /// `expiration_height - block_height`; `None` without a block height. Filled back on read.
    #[serde(default, skip_serializing)]
    pub blocks_to_expiry: Option<i64>,
    #[serde(default = "expiry_ok", skip_serializing_if = "is_expiry_ok")]
    pub expiry: ExpiryStatus,
    #[serde(default, skip_serializing_if = "is_false")]
    pub trimmed_on_local: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub trimmed_on_remote: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExpiryStatus {
    Ok,
    Warn,
    Critical,
    Unknown,
}

/// What a force close of our commitment would cost now, next to a cooperative close.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForceCloseReport {
    /// Our commitment's `fees_to_miners_sat`. Filled back on read, as are `total_sat` and
    /// `extra_cost_vs_coop_sat`.
    #[serde(default, skip_serializing)]
    pub fees_to_miners_sat: u64,
    #[serde(default, skip_serializing_if = "is_zero_u64")]
    pub anchor_sat: u64,
    #[serde(default, skip_serializing_if = "is_zero_u64")]
    pub second_level_fees_sat: u64,
    #[serde(default, skip_serializing)]
    pub total_sat: u64,
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    pub csv_delay_blocks: u32,
    #[serde(default, skip_serializing_if = "is_zero_u64")]
    pub coop_close_fee_sat: u64,
    #[serde(default, skip_serializing)]
    pub extra_cost_vs_coop_sat: u64,
}

/// The per-channel recommendation (the prototype's, made real).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recommendations {
    /// 10 unhealthy, 7 attention_needed, 5 healthy with issues, 3 healthy without issues.
    #[serde(default, skip_serializing_if = "is_zero_u8")]
    pub implementation_priority: u8,
    /// Every action that involves this channel, best first (see [`sort_actions`]). A plan file
    /// names them by id (`action_ids`); the actions are in the plan's top-level `actions`.
    #[serde(
        rename = "action_ids",
        alias = "actions",
        default,
        skip_serializing_if = "Vec::is_empty",
        serialize_with = "super::action::serialize_action_ids",
        deserialize_with = "super::action::deserialize_action_list"
    )]
    pub actions: Vec<Action>,
    /// `max(local, remote commitment trimmed HTLC sat)`: the dust this channel holds now.
    /// Filled back on read, as are the ratio and the sums over the actions below.
    #[serde(default, skip_serializing)]
    pub dust_at_stake_sat: u64,
    /// `min(dust_at_stake_sat, Σ positive dust_impact_sat of the actions)`.
    #[serde(default, skip_serializing_if = "is_zero_u64")]
    pub dust_recoverable_sat: u64,
    /// `dust_recoverable_sat / dust_at_stake_sat` (0 without dust).
    #[serde(default, skip_serializing)]
    pub dust_optimization_potential: f64,
    #[serde(default, skip_serializing)]
    pub expected_cost_sat: u64,
    #[serde(default, skip_serializing)]
    pub expected_benefit_sat: u64,
    /// `expected_cost_sat / expected_benefit_sat`; `None` when there is no benefit to divide by.
    #[serde(default, skip_serializing)]
    pub cost_benefit_ratio: Option<f64>,
}

impl HtlcReport {
    /// A row a plan file lists: the HTLC is dust on a commitment, or its expiry is near (or
    /// unknown). A row left out is an HTLC with an output on both commitments that expires in
    /// time.
    pub fn has_something_to_say(&self) -> bool {
        self.trimmed_on_local || self.trimmed_on_remote || self.expiry != ExpiryStatus::Ok
    }
}

fn no_htlc_to_list(htlcs: &[HtlcReport]) -> bool {
    !htlcs.iter().any(HtlcReport::has_something_to_say)
}

fn serialize_listed_htlcs<S: serde::Serializer>(
    htlcs: &[HtlcReport],
    s: S,
) -> Result<S::Ok, S::Error> {
    s.collect_seq(htlcs.iter().filter(|h| h.has_something_to_say()))
}

fn expiry_ok() -> ExpiryStatus {
    ExpiryStatus::Ok
}

fn is_expiry_ok(expiry: &ExpiryStatus) -> bool {
    *expiry == ExpiryStatus::Ok
}

fn is_zero_u64(n: &u64) -> bool {
    *n == 0
}

fn is_zero_u32(n: &u32) -> bool {
    *n == 0
}

fn is_zero_u8(n: &u8) -> bool {
    *n == 0
}

fn is_zero_f64(n: &f64) -> bool {
    *n == 0.0
}

fn is_false(b: &bool) -> bool {
    !*b
}
