//! The plan document, schema v1: what dustwatch found and recommends for one node at one instant.
//!
//! A plan is a public interface: operators read the files and scripts parse them. Every field is
//! documented in `docs/plan-schema.md` (a test walks a serialized plan and fails when a field is
//! missing from that document). The schema only changes compatibly: new fields may be added,
//! nothing is renamed or removed without a new `schema_version`.
//!
//! Conventions the types keep:
//! * amounts are integers whose name ends in `_sat` or `_msat`; ratios are `f64` rounded to 4 decimals;
//! * channel ids are strings (uint64 as `lncli` prints them), so JSON consumers never lose precision
//!   (in memory they are numbers: see [`ids`]);
//! * every list has a deterministic order (documented per field), so two plans of the same
//!   snapshot are byte-identical.
//!
//! Plans are read back (`plan show`, `plan diff`) with [`read_plan`], which rejects any other
//! `schema_version` with a clear error instead of guessing. The next cycle needs only a
//! [`PlanDigest`] of the previous plan, which [`digest`] streams from a file with the same checks.
//!
//! Also here: [`ids`] (channel and action ids in memory), [`text`] (the words of actions and
//! alerts), [`render`] (tables for humans), [`diff`] (`plan diff`).

pub mod diff;
pub mod digest;
pub mod flow;
pub mod ids;
pub mod render;
pub mod text;

use std::borrow::Cow;
use std::cmp::{Ordering, Reverse};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::model::{ChanId, CommitmentType, ExposureLimitSource, Initiator};

pub use diff::{diff, render_diff, PlanDiff};
pub use digest::PlanDigest;
pub use flow::{ChannelFlowReport, FlowFigures};
pub use ids::ChanIds;
pub use render::render_table;
pub use text::{ActionText, Text, Wording};

/// The schema version this build writes and reads.
pub const SCHEMA_VERSION: u32 = 1;

/// How many actions `priority_actions` holds at most.
pub const PRIORITY_ACTIONS_LIMIT: usize = 10;

/// One plan document (the whole JSON file).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// Always [`SCHEMA_VERSION`] for plans this build writes.
    pub schema_version: u32,
    /// RFC 3339 UTC time of the snapshot the plan was computed from (not the wall clock).
    pub generated_at: String,
    pub source: PlanSource,
    pub summary: Summary,
    /// One entry per open channel, sorted by numeric channel id.
    pub channels: Vec<ChannelPlan>,
    /// The most urgent actions across the node, best first (see [`sort_actions`]).
    pub priority_actions: Vec<Action>,
    /// Sorted by severity (errors first), then code, channel id and HTLC index.
    pub alerts: Vec<Alert>,
    pub changes: Changes,
}

/// Where the data came from and which node it describes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanSource {
    /// `lnd_grpc`, `lncli_json` or `simulator`.
    pub kind: String,
    /// Host:port for gRPC, file names for lncli JSON.
    pub detail: String,
    pub taken_at_unix: i64,
    pub node_pubkey: String,
    pub node_alias: String,
    pub lnd_version: String,
    pub network: String,
    /// `None` when the source had no block height (offline analysis without `getinfo`).
    pub block_height: Option<u32>,
    pub synced_to_chain: bool,
    /// The fee-exposure limit every channel was checked against, and where it came from.
    pub exposure_limit: ExposureLimit,
    /// Oddities the snapshot producer reported (clamped values, unreadable channels).
    pub warnings: Vec<SourceWarning>,
}

/// The fee-exposure limit in force (LND's `channel-max-fee-exposure`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExposureLimit {
    pub max_fee_exposure_sat: u64,
    pub source: ExposureLimitSource,
}

/// A warning from the snapshot producer, kept in the plan so it is not lost.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceWarning {
    #[serde(with = "ids::opt_chan_id", default)]
    pub chan_id: Option<ChanId>,
    pub message: String,
}

/// Node-wide totals: the prototype's dust summary plus counts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub total_channels: u32,
    pub active_channels: u32,
    pub total_capacity_sat: u64,
    pub total_local_balance_sat: u64,
    pub total_remote_balance_sat: u64,
    /// Σ over channels of `max(local, remote commitment trimmed HTLC sat)`.
    pub total_dust_sat: u64,
    /// `total_dust_sat / total_capacity_sat` (0 without capacity).
    pub dust_ratio: f64,
    /// The highest fee exposure of any channel's local or remote commitment now.
    pub highest_fee_exposure_sat: u64,
    #[serde(with = "ids::opt_highest_fee_exposure_chan_id", default)]
    pub highest_fee_exposure_chan_id: Option<ChanId>,
    /// The `channel-max-fee-exposure` value that fits this node's channels (see dust strategies).
    pub recommended_max_fee_exposure_sat: u64,
    /// `estimated_recovery_sat / total_dust_sat` (0 without dust).
    pub optimization_potential: f64,
    /// Σ over channels of `dust_recoverable_sat`.
    pub estimated_recovery_sat: u64,
    /// Number of distinct actions in the plan (a rebalance shared by two channels counts once).
    pub recommended_actions: u32,
    /// Mean health score over channels (0 without channels).
    pub average_health_score: f64,
    pub channels_by_status: StatusCounts,
    pub alerts: AlertCounts,
    pub pending_channels: PendingCounts,
    /// Why flow-based judgements are unknown (absent when the snapshot had forwarding history).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flow_unknown: Option<String>,
    /// Rebalances that paid for themselves but were left out by `analysis.max_rebalance_actions`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub rebalance_actions_left_out: u32,
    /// Actions left out because their net benefit was below `analysis.min_action_benefit_sat`
    /// or their cost (fund-protecting actions are never left out).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub actions_below_min_benefit: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StatusCounts {
    pub healthy: u32,
    pub attention_needed: u32,
    pub unhealthy: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AlertCounts {
    pub warn: u32,
    pub error: u32,
}

/// Channels that are not open (yet or any more), from LND's PendingChannels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PendingCounts {
    pub opening: u32,
    pub waiting_close: u32,
    pub force_closing: u32,
    /// Funds of force-closing channels not yet back in the wallet.
    pub limbo_balance_sat: u64,
}

/// Everything the plan says about one open channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelPlan {
    #[serde(with = "ids::chan_id")]
    pub chan_id: ChanId,
    /// Shared with the snapshot the plan was made from (see [`crate::model::Channel`]).
    pub channel_point: Arc<str>,
    pub peer_pubkey: Arc<str>,
    pub peer_alias: Arc<str>,
    pub active: bool,
    pub private: bool,
    pub initiator: Initiator,
    pub commitment_type: CommitmentType,
    pub capacity_sat: u64,
    pub local_balance_sat: u64,
    pub remote_balance_sat: u64,
    pub commit_fee_sat: u64,
    pub health: Health,
    pub dust: DustReport,
    /// Parallel to the channel's pending HTLCs, sorted by `htlc_index`.
    pub htlcs: Vec<HtlcReport>,
    pub force_close: ForceCloseReport,
    pub recommendations: Recommendations,
    /// Caveats of the dust engine for this channel (assumed values, unknown types).
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
    /// `min(local, remote) / max(local, remote)`, 0 when both are 0.
    pub balance_ratio: f64,
    /// `local / (local + remote)`, 0 when both are 0.
    pub local_ratio: f64,
    /// `max(local, remote commitment trimmed HTLC sat) / capacity`.
    pub dust_ratio: f64,
    /// Daily turnover divided by the target turnover, capped at 1.
    pub utilization: f64,
    /// `(sent + received) / capacity / lifetime days`, uncapped (0 without lifetime).
    pub daily_turnover: f64,
    /// `uptime / lifetime`; `None` when LND has not monitored the channel yet (lifetime 0).
    pub uptime_ratio: Option<f64>,
    pub health_score: f64,
    pub status: HealthStatus,
    /// In the fixed order of [`Issue`]'s variants.
    pub issues: Vec<Issue>,
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

/// Dust and fee exposure of both commitment transactions (design.md section 3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DustReport {
    pub local_commitment: CommitmentReport,
    pub remote_commitment: CommitmentReport,
    /// The limit this channel was checked against (same for every channel of a plan).
    pub max_fee_exposure_sat: u64,
    pub exposure_limit_source: ExposureLimitSource,
    /// Limit minus the larger of the two commitments' exposure; negative when over the limit.
    pub exposure_headroom_sat: i64,
    /// Larger exposure divided by the limit.
    pub exposure_ratio: f64,
    /// One entry per configured feerate multiplier, in configuration order.
    pub fee_spike: Vec<FeeSpikeReport>,
    /// Present when our computed fees to miners differ from LND's `commit_fee`.
    pub commit_fee_mismatch: Option<CommitFeeMismatchReport>,
}

/// One commitment transaction as it would look if broadcast now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommitmentReport {
    pub dust_limit_sat: u64,
    pub feerate_per_kw: u64,
    /// An HTLC the commitment's owner offered is trimmed below this amount.
    pub offered_trim_threshold_sat: u64,
    /// An HTLC the commitment's owner receives is trimmed below this amount.
    pub received_trim_threshold_sat: u64,
    pub base_fee_sat: u64,
    pub trimmed_htlc_count: u32,
    pub trimmed_htlc_sat: u64,
    pub untrimmed_htlc_count: u32,
    pub to_local_trimmed: bool,
    pub to_remote_trimmed: bool,
    pub anchor_outputs: u8,
    pub absent_anchor_sat: u64,
    pub fees_to_miners_sat: u64,
    /// `trimmed_htlc_sat + base_fee_sat`: what LND compares with `channel-max-fee-exposure`.
    pub fee_exposure_sat: u64,
}

/// Both commitments recomputed at a higher feerate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeeSpikeReport {
    pub multiplier: f64,
    pub feerate_per_kw: u64,
    /// True when LND's anchor feerate cap limited the feerate.
    pub capped: bool,
    pub local_trimmed_htlc_sat: u64,
    pub remote_trimmed_htlc_sat: u64,
    pub local_fee_exposure_sat: u64,
    pub remote_fee_exposure_sat: u64,
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
    pub incoming: bool,
    pub amount_sat: u64,
    pub expiration_height: u32,
    /// `expiration_height - block_height`; `None` without a block height.
    pub blocks_to_expiry: Option<i64>,
    pub expiry: ExpiryStatus,
    pub trimmed_on_local: bool,
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
    pub fees_to_miners_sat: u64,
    pub anchor_sat: u64,
    pub second_level_fees_sat: u64,
    pub total_sat: u64,
    pub csv_delay_blocks: u32,
    pub coop_close_fee_sat: u64,
    pub extra_cost_vs_coop_sat: u64,
}

/// The per-channel recommendation (the prototype's, made real).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recommendations {
    /// 10 unhealthy, 7 attention_needed, 5 healthy with issues, 3 healthy without issues.
    pub implementation_priority: u8,
    /// Every action that involves this channel, best first (see [`sort_actions`]).
    pub actions: Vec<Action>,
    /// `max(local, remote commitment trimmed HTLC sat)`: the dust this channel holds now.
    pub dust_at_stake_sat: u64,
    /// `min(dust_at_stake_sat, Σ positive dust_impact_sat of the actions)`.
    pub dust_recoverable_sat: u64,
    /// `dust_recoverable_sat / dust_at_stake_sat` (0 without dust).
    pub dust_optimization_potential: f64,
    pub expected_cost_sat: u64,
    pub expected_benefit_sat: u64,
    /// `expected_cost_sat / expected_benefit_sat`; `None` when there is no benefit to divide by.
    pub cost_benefit_ratio: Option<f64>,
}

/// What an action does. `snake_case` names are part of the schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    Rebalance,
    SpliceIn,
    SpliceOut,
    RaiseMinHtlc,
    HoldOffForceClose,
    SetMaxFeeExposure,
    Close,
    UpdatePolicy,
}

impl ActionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::Rebalance => "rebalance",
            ActionKind::SpliceIn => "splice_in",
            ActionKind::SpliceOut => "splice_out",
            ActionKind::RaiseMinHtlc => "raise_min_htlc",
            ActionKind::HoldOffForceClose => "hold_off_force_close",
            ActionKind::SetMaxFeeExposure => "set_max_fee_exposure",
            ActionKind::Close => "close",
            ActionKind::UpdatePolicy => "update_policy",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Complexity {
    Low,
    Medium,
    High,
}

/// How LND can carry an action out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LndSupport {
    /// An `lncli` command does it.
    Native,
    /// LND cannot do it directly; an external tool (bos, Loop) or a workaround can.
    ExternalTool,
    /// The protocol feature does not exist in LND (splicing); the action names the LND route instead.
    NotSupported,
    /// A change to `lnd.conf` and a restart.
    Config,
    /// Nothing to run: a warning about what not to do.
    Advisory,
}

/// A command line that carries an action (or an alternative) out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Command {
    /// `lncli`, `bos`, `loop` or `lnd.conf`.
    pub tool: String,
    pub line: String,
    pub purpose: String,
}

/// Another way to reach the same goal, with its own cost.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alternative {
    pub description: String,
    pub cost_sat: u64,
    pub cost_formula: String,
    pub commands: Vec<Command>,
}

/// One recommended action.
///
/// Its words (formulas, rationale, commands, alternatives) are held as a [`Wording`], written
/// out when read: see [`text`] for why. The JSON form is flat, as schema v1 documents it; the
/// two impls below keep that field order.
#[derive(Debug, Clone, PartialEq)]
pub struct Action {
    /// Stable across runs for the same situation: `<kind>:<scope>[:<bucket>]` (see docs/plan-schema.md).
    /// Shared, not copied, by the clones of the action and by [`Changes`].
    pub id: Arc<str>,
    pub kind: ActionKind,
    /// Channels involved; for a rebalance `[source, sink]`.
    pub chan_ids: ChanIds,
    /// 1 (can wait) to 10 (act now).
    pub priority: u8,
    /// The highest `implementation_priority` of the channels involved.
    pub implementation_priority: u8,
    /// The amount moved, added or removed, when the action has one.
    pub amount_sat: Option<u64>,
    pub expected_cost_sat: u64,
    pub expected_benefit_sat: u64,
    /// Positive: dust sat kept from miners or out of fee exposure; negative: dust sat the action burns.
    pub dust_impact_sat: i64,
    pub complexity: Complexity,
    pub lnd_support: LndSupport,
    /// `cost_formula`, `benefit_formula`, `prerequisites`, `rationale`, `lnd_note`, `commands`
    /// and `alternatives`.
    pub wording: Wording,
}

impl Action {
    /// The action's words (built now when they are described rather than written).
    pub fn text(&self) -> Cow<'_, ActionText> {
        self.wording.text()
    }
}

/// An action as schema v1 lays it out, borrowing from the action and its text.
#[derive(Serialize)]
struct ActionView<'a> {
    id: &'a str,
    kind: ActionKind,
    chan_ids: ids::ChanIdsView<'a>,
    priority: u8,
    implementation_priority: u8,
    amount_sat: Option<u64>,
    expected_cost_sat: u64,
    expected_benefit_sat: u64,
    cost_formula: &'a str,
    benefit_formula: &'a str,
    dust_impact_sat: i64,
    complexity: Complexity,
    prerequisites: &'a [String],
    rationale: &'a str,
    lnd_support: LndSupport,
    lnd_note: Option<&'a str>,
    commands: &'a [Command],
    alternatives: &'a [Alternative],
}

impl Serialize for Action {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let text = self.text();
        ActionView {
            id: &self.id,
            kind: self.kind,
            chan_ids: ids::ChanIdsView(&self.chan_ids),
            priority: self.priority,
            implementation_priority: self.implementation_priority,
            amount_sat: self.amount_sat,
            expected_cost_sat: self.expected_cost_sat,
            expected_benefit_sat: self.expected_benefit_sat,
            cost_formula: &text.cost_formula,
            benefit_formula: &text.benefit_formula,
            dust_impact_sat: self.dust_impact_sat,
            complexity: self.complexity,
            prerequisites: &text.prerequisites,
            rationale: &text.rationale,
            lnd_support: self.lnd_support,
            lnd_note: text.lnd_note.as_deref(),
            commands: &text.commands,
            alternatives: &text.alternatives,
        }
        .serialize(serializer)
    }
}

/// An action as read from a plan file (every field of schema v1 is required).
#[derive(Deserialize)]
struct ActionRecord {
    id: Arc<str>,
    kind: ActionKind,
    #[serde(deserialize_with = "ids::deserialize_chan_ids")]
    chan_ids: ChanIds,
    priority: u8,
    implementation_priority: u8,
    amount_sat: Option<u64>,
    expected_cost_sat: u64,
    expected_benefit_sat: u64,
    cost_formula: String,
    benefit_formula: String,
    dust_impact_sat: i64,
    complexity: Complexity,
    prerequisites: Vec<String>,
    rationale: String,
    lnd_support: LndSupport,
    lnd_note: Option<String>,
    commands: Vec<Command>,
    alternatives: Vec<Alternative>,
}

impl<'de> Deserialize<'de> for Action {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let r = ActionRecord::deserialize(deserializer)?;
        Ok(Action {
            id: r.id,
            kind: r.kind,
            chan_ids: r.chan_ids,
            priority: r.priority,
            implementation_priority: r.implementation_priority,
            amount_sat: r.amount_sat,
            expected_cost_sat: r.expected_cost_sat,
            expected_benefit_sat: r.expected_benefit_sat,
            dust_impact_sat: r.dust_impact_sat,
            complexity: r.complexity,
            lnd_support: r.lnd_support,
            wording: Wording::written(ActionText {
                cost_formula: r.cost_formula,
                benefit_formula: r.benefit_formula,
                prerequisites: r.prerequisites,
                rationale: r.rationale,
                lnd_note: r.lnd_note,
                commands: r.commands,
                alternatives: r.alternatives,
            }),
        })
    }
}

/// Severity of an alert: `warn` needs a look, `error` needs action before LND acts on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Warn,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Warn => "warn",
            Severity::Error => "error",
        }
    }
}

/// Stable alert codes (the `alert` field of log events and metric labels use these names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertCode {
    FeeExposureOverLimit,
    FeeExposureNearLimit,
    FeeSpikeOverLimit,
    HtlcExpiryCritical,
    HtlcExpirySoon,
    DustPendingForceCloseRisk,
    CommitFeeMismatch,
    ChannelInactive,
    ChainNotSynced,
    DustEngineWarning,
    SnapshotWarning,
    HtlcRefusedFeeExposureLikely,
    ChannelInactiveOverExposureLimit,
}

impl AlertCode {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertCode::FeeExposureOverLimit => "fee_exposure_over_limit",
            AlertCode::FeeExposureNearLimit => "fee_exposure_near_limit",
            AlertCode::FeeSpikeOverLimit => "fee_spike_over_limit",
            AlertCode::HtlcExpiryCritical => "htlc_expiry_critical",
            AlertCode::HtlcExpirySoon => "htlc_expiry_soon",
            AlertCode::DustPendingForceCloseRisk => "dust_pending_force_close_risk",
            AlertCode::CommitFeeMismatch => "commit_fee_mismatch",
            AlertCode::ChannelInactive => "channel_inactive",
            AlertCode::ChainNotSynced => "chain_not_synced",
            AlertCode::DustEngineWarning => "dust_engine_warning",
            AlertCode::SnapshotWarning => "snapshot_warning",
            AlertCode::HtlcRefusedFeeExposureLikely => "htlc_refused_fee_exposure_likely",
            AlertCode::ChannelInactiveOverExposureLimit => "channel_inactive_over_exposure_limit",
        }
    }
}

/// Something that needs an operator's eyes now (also emitted as a log event and a metric).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    pub code: AlertCode,
    pub severity: Severity,
    #[serde(with = "ids::opt_chan_id", default)]
    pub chan_id: Option<ChanId>,
    /// Written out when read (see [`Text`]).
    pub message: Text,
    /// The amount the alert is about (exposure, HTLC sum, computed fee), when it has one.
    pub amount_sat: Option<u64>,
    /// The limit or reference value it is compared with.
    pub limit_sat: Option<u64>,
    /// The HTLC concerned (the soonest to expire for expiry alerts).
    pub htlc_index: Option<u64>,
    pub blocks_to_expiry: Option<i64>,
}

/// Action ids compared with the previous plan (all actions, not only the top ten).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Changes {
    /// `generated_at` of the previous plan; `None` when there was none (every action is then new).
    pub previous_generated_at: Option<String>,
    /// Each list sorted by id. The ids are shared with the actions (and the previous digest).
    pub new: Vec<Arc<str>>,
    pub resolved: Vec<Arc<str>>,
    pub unchanged: Vec<Arc<str>>,
}

/// Why a plan file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("plan is not valid JSON: {0}")]
    Json(#[source] serde_json::Error),
    /// Reading the document failed part way ([`PlanDigest::from_reader`] reads a stream).
    #[error("cannot read the plan: {0}")]
    Read(#[source] std::io::Error),
    #[error("plan has no `schema_version` field: it is not a dustwatch plan")]
    MissingSchemaVersion,
    #[error(
        "plan has schema_version {found}, but this dustwatch reads schema_version {supported} only"
    )]
    UnsupportedSchemaVersion { found: String, supported: u32 },
    #[error("plan does not match schema v{supported}: {source}")]
    Invalid {
        supported: u32,
        #[source]
        source: serde_json::Error,
    },
}

/// Reads a plan document, refusing any schema version other than [`SCHEMA_VERSION`].
///
/// The version is checked before the body, so a future plan fails with "schema_version 2 …"
/// rather than with whatever field happens to differ first.
pub fn read_plan(text: &str) -> Result<Plan, PlanError> {
    #[derive(Deserialize)]
    struct VersionProbe {
        schema_version: Option<serde_json::Value>,
    }
    let probe: VersionProbe = serde_json::from_str(text).map_err(PlanError::Json)?;
    match probe.schema_version {
        None => return Err(PlanError::MissingSchemaVersion),
        Some(serde_json::Value::Number(n)) if n.as_u64() == Some(u64::from(SCHEMA_VERSION)) => {}
        Some(other) => {
            return Err(PlanError::UnsupportedSchemaVersion {
                found: other.to_string(),
                supported: SCHEMA_VERSION,
            })
        }
    }
    serde_json::from_str(text).map_err(|source| PlanError::Invalid {
        supported: SCHEMA_VERSION,
        source,
    })
}

/// A channel id as the plan writes it (decimal string, like `lncli`).
pub fn chan_id_string(chan_id: ChanId) -> String {
    chan_id.to_string()
}

/// Builds a stable action id: `<kind>:<scope>` or `<kind>:<scope>:<bucket>`.
///
/// `scope` is the channel ids joined by `>` (ordered: source before sink for a rebalance), or
/// `node` for node-wide actions. `bucket` is a coarse, qualitative label (a reason or a
/// direction), never an amount, so the id survives the small changes of every cycle.
///
/// Every action of a big node gets an id, so it is written into a buffer the thread keeps
/// (channel ids by `itoa`, which writes digits without checking them as UTF-8 again) and copied
/// once into the shared string: one allocation per action, no formatting machinery.
pub fn action_id(kind: ActionKind, chan_ids: &[ChanId], bucket: Option<&str>) -> Arc<str> {
    thread_local! {
        /// Room for any id of one or two channel ids and a bucket; it grows for longer ones.
        static ID: std::cell::RefCell<String> = std::cell::RefCell::new(String::with_capacity(128));
    }
    let write = |id: &mut String| {
        id.clear();
        id.push_str(kind.as_str());
        id.push(':');
        if chan_ids.is_empty() {
            id.push_str("node");
        }
        let mut digits = itoa::Buffer::new();
        for (i, chan_id) in chan_ids.iter().enumerate() {
            if i > 0 {
                id.push('>');
            }
            id.push_str(digits.format(*chan_id));
        }
        if let Some(bucket) = bucket {
            id.push(':');
            id.push_str(bucket);
        }
        Arc::from(id.as_str())
    };
    ID.with(|id| match id.try_borrow_mut() {
        Ok(mut id) => write(&mut id),
        // Only if building an id ever built another on the same thread: a buffer of its own.
        Err(_) => write(&mut String::new()),
    })
}

/// The total order of actions: priority (high first), then implementation priority (high
/// first), then id (ascending) so that ties never depend on input order.
pub fn action_order(a: &Action, b: &Action) -> Ordering {
    (
        Reverse(a.priority),
        Reverse(a.implementation_priority),
        &a.id,
    )
        .cmp(&(
            Reverse(b.priority),
            Reverse(b.implementation_priority),
            &b.id,
        ))
}

/// Sorts `actions` by [`action_order`], stably.
///
/// Actions are large, and a comparison sort moves each element O(log n) times; so the
/// positions are sorted ([`sort_order`]) and every action then moves once into place.
pub fn sort_actions(actions: &mut [Action]) {
    let order = sort_order(actions);
    apply_order(actions, order);
}

/// The positions of `actions` in [`action_order`], ties kept in input order.
pub fn sort_order(actions: &[Action]) -> Vec<usize> {
    // The keys are gathered into one contiguous list first, so comparisons do not chase every
    // action; the position breaks ties, which makes the unstable sort give the stable order.
    let mut keys: Vec<(Reverse<u8>, Reverse<u8>, &str, usize)> = actions
        .iter()
        .enumerate()
        .map(|(i, a)| {
            (
                Reverse(a.priority),
                Reverse(a.implementation_priority),
                &*a.id,
                i,
            )
        })
        .collect();
    keys.sort_unstable();
    keys.into_iter().map(|(_, _, _, i)| i).collect()
}

/// The positions of the first `n` actions in the order of [`sort_actions`], in that order, and
/// the distinct ids of all of them, sorted (byte order): what a plan needs of its node-wide
/// list (its top actions, and the ids for `changes`), with the ids sorted once for both. Only
/// those `n` are put in order, after a selection; reading only, it can run while other work
/// reads the same actions.
///
/// The ids are sorted first (ties by position); each action's place in that order then stands
/// in for its id and position in the total order, so the second step compares integers only.
pub fn first_with_ids(actions: &[Action], n: usize) -> (Vec<usize>, Vec<Arc<str>>) {
    first_with_ids_in(actions.len(), |i| &actions[i], n)
}

/// [`first_with_ids`] over `len` actions that `at` gives by position (`0..len`), so a list
/// held in parts needs no copy into one.
pub(crate) fn first_with_ids_in<'a>(
    len: usize,
    at: impl Fn(usize) -> &'a Action,
    n: usize,
) -> (Vec<usize>, Vec<Arc<str>>) {
    // The first 24 bytes of each id, zero-padded, as big-endian numbers lead the key: they
    // order two ids as their bytes do wherever they differ (a shorter id that is a prefix of
    // the other is padded with bytes no greater than the other's), and they differ for most
    // pairs, so most comparisons are of integers and only the rest compare the whole strings.
    let mut by_id: Vec<(u128, u64, usize)> = (0..len)
        .map(|i| {
            let bytes = at(i).id.as_bytes();
            let (mut high, mut low) = ([0u8; 16], [0u8; 8]);
            let n = bytes.len().min(16);
            high[..n].copy_from_slice(&bytes[..n]);
            let rest = &bytes[n..];
            let m = rest.len().min(8);
            low[..m].copy_from_slice(&rest[..m]);
            (u128::from_be_bytes(high), u64::from_be_bytes(low), i)
        })
        .collect();
    // Integer keys first (the position breaks ties); then ids sharing their first 24 bytes
    // are put in order by their whole text, which is rare. The stable sort is for its use of
    // runs: each recommender lists its actions by channel, so the ids arrive in long ascending
    // runs.
    by_id.sort();
    for run in by_id.chunk_by_mut(|a, b| (a.0, a.1) == (b.0, b.1)) {
        if run.len() > 1 {
            run.sort_by(|a, b| at(a.2).id.cmp(&at(b.2).id).then(a.2.cmp(&b.2)));
        }
    }
    let mut ids: Vec<Arc<str>> = Vec::with_capacity(by_id.len());
    // Priorities above the place in id order: one integer per action. A place is below
    // `usize::MAX`, which fits the low 64 bits.
    let mut keys: Vec<u128> = vec![0; len];
    for (place, &(_, _, i)) in by_id.iter().enumerate() {
        let a = at(i);
        if ids.last() != Some(&a.id) {
            ids.push(Arc::clone(&a.id));
        }
        keys[i] = (u128::from(u8::MAX - a.priority) << 72)
            | (u128::from(u8::MAX - a.implementation_priority) << 64)
            | place as u128;
    }
    if n < keys.len() {
        // The `n` smallest keys first (in any order), then only those are sorted.
        keys.select_nth_unstable(n);
        keys.truncate(n);
    }
    keys.sort_unstable();
    // The low 64 bits hold the place in id order, whose action is `by_id[place].2`.
    let order: Vec<usize> = keys
        .into_iter()
        .map(|key| by_id[(key as u64) as usize].2)
        .collect();
    (order, ids)
}

/// Rearranges `items` so that position `k` holds what was at `order[k]` (`order` is a
/// permutation of the positions), following each cycle of the permutation with swaps.
pub(crate) fn apply_order<T>(items: &mut [T], mut order: Vec<usize>) {
    for start in 0..items.len() {
        let mut current = start;
        // `order[current] == current` marks a position already holding its final item.
        while order[current] != start && order[current] != current {
            let next = order[current];
            items.swap(current, next);
            order[current] = current;
            current = next;
        }
        order[current] = current;
    }
}

/// A big node's plan holds a few hundred thousand heap blocks (HTLC rows, actions and their
/// words, alerts); freeing them one after the other took ~3.7 ms at 10,000 channels, as long
/// as a fifth of the analysis. The channel sections, which hold most of them, are freed on
/// every core, while one core also frees the node-wide lists (alerts, the ids of `changes`).
/// Dropping still returns only when everything is freed.
impl Drop for Plan {
    fn drop(&mut self) {
        use rayon::prelude::*;
        /// Below this many sections the hand-over to the thread pool costs more than it saves.
        const PARALLEL_FROM: usize = 256;
        if self.channels.len() >= PARALLEL_FROM {
            let channels = std::mem::take(&mut self.channels);
            let node_wide = (
                std::mem::take(&mut self.priority_actions),
                std::mem::take(&mut self.alerts),
                std::mem::take(&mut self.changes),
            );
            rayon::join(
                move || channels.into_par_iter().with_min_len(64).for_each(drop),
                move || drop(node_wide),
            );
        }
    }
}

impl Plan {
    /// Every distinct action of the plan (actions shared by channels appear once), sorted by id.
    pub fn all_actions(&self) -> Vec<&Action> {
        let mut seen = std::collections::BTreeMap::new();
        for channel in &self.channels {
            for action in &channel.recommendations.actions {
                seen.entry(&*action.id).or_insert(action);
            }
        }
        seen.into_values().collect()
    }
}

/// Rounds a ratio to 4 decimals for the plan; non-finite values become 0 so the JSON stays valid.
pub fn ratio(value: f64) -> f64 {
    if value.is_finite() {
        (value * 10_000.0).round() / 10_000.0
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_ids_name_kind_scope_and_bucket() {
        assert_eq!(
            &*action_id(ActionKind::Rebalance, &[7, 3], None),
            "rebalance:7>3"
        );
        assert_eq!(
            &*action_id(ActionKind::Close, &[5], Some("idle")),
            "close:5:idle"
        );
        assert_eq!(
            &*action_id(ActionKind::SetMaxFeeExposure, &[], Some("raise")),
            "set_max_fee_exposure:node:raise"
        );
        // Digits as `Display` writes them, at both ends of the range and at every length.
        assert_eq!(
            &*action_id(ActionKind::Rebalance, &[0, u64::MAX], Some("x")),
            format!("rebalance:0>{}:x", u64::MAX)
        );
        let mut n = 1u64;
        for _ in 0..20 {
            for m in [n - 1, n, n + 7, n.saturating_mul(9)] {
                assert_eq!(
                    &*action_id(ActionKind::Close, &[m, m / 7], None),
                    format!("close:{m}>{}", m / 7)
                );
            }
            n = n.saturating_mul(10);
        }
        // Longer than the thread's buffer was made for: still whole, and the next id is not
        // left with any of it.
        let bucket = "b".repeat(200);
        assert_eq!(
            &*action_id(ActionKind::UpdatePolicy, &[1, 2, 3], Some(&bucket)),
            format!("update_policy:1>2>3:{bucket}")
        );
        assert_eq!(&*action_id(ActionKind::Close, &[4], None), "close:4");
    }

    #[test]
    fn read_plan_rejects_other_schema_versions() {
        let err = read_plan(r#"{"schema_version": 2}"#).unwrap_err();
        assert!(matches!(err, PlanError::UnsupportedSchemaVersion { .. }));
        assert!(err.to_string().contains("schema_version 2"), "{err}");
        let err = read_plan(r#"{"schema_version": "1"}"#).unwrap_err();
        assert!(matches!(err, PlanError::UnsupportedSchemaVersion { .. }));
        let err = read_plan(r#"{"generated_at": "x"}"#).unwrap_err();
        assert!(matches!(err, PlanError::MissingSchemaVersion));
        let err = read_plan("not json").unwrap_err();
        assert!(matches!(err, PlanError::Json(_)));
        let err = read_plan(r#"{"schema_version": 1, "channels": 3}"#).unwrap_err();
        assert!(matches!(err, PlanError::Invalid { .. }));
    }

    #[test]
    fn moving_items_into_sorted_positions_follows_every_cycle() {
        // Every permutation of five positions (a fixed point, 2-, 3- and 5-cycles among them).
        let mut order: Vec<usize> = (0..5).collect();
        let mut seen = 0;
        loop {
            let mut items: Vec<char> = "abcde".chars().collect();
            let want: Vec<char> = order.iter().map(|&i| items[i]).collect();
            apply_order(&mut items, order.clone());
            assert_eq!(items, want, "order {order:?}");
            seen += 1;
            // Next permutation in lexicographic order.
            let Some(i) = (0..4).rev().find(|&i| order[i] < order[i + 1]) else {
                break;
            };
            let j = (i + 1..5).rev().find(|&j| order[j] > order[i]).unwrap();
            order.swap(i, j);
            order[i + 1..].reverse();
        }
        assert_eq!(seen, 120);
    }

    fn action(id: &str, priority: u8, implementation_priority: u8) -> Action {
        Action {
            id: id.into(),
            kind: ActionKind::Close,
            chan_ids: ChanIds::new(),
            priority,
            implementation_priority,
            amount_sat: None,
            expected_cost_sat: 0,
            expected_benefit_sat: 0,
            dust_impact_sat: 0,
            complexity: Complexity::Low,
            lnd_support: LndSupport::Native,
            wording: Wording::default(),
        }
    }

    #[test]
    fn actions_sort_by_priority_then_implementation_priority_then_id() {
        let mut actions = vec![
            action("d", 3, 1),
            action("b", 9, 1),
            action("a", 3, 1),
            action("c", 9, 7),
            action("e", 3, 2),
        ];
        sort_actions(&mut actions);
        let ids: Vec<&str> = actions.iter().map(|a| a.id.as_ref()).collect();
        assert_eq!(ids, ["c", "b", "e", "a", "d"]);
    }

    #[test]
    fn sorting_with_ids_gives_the_same_order_and_the_sorted_distinct_ids() {
        // Ties on both priorities, a repeated id (kept apart by `amount_sat`) and ids whose
        // byte order differs from their length order.
        let mut actions = Vec::new();
        for (i, (id, p, ip)) in [
            ("rebalance:10>2", 4, 7),
            ("close:9", 4, 7),
            ("rebalance:1>2", 4, 7),
            ("close:9", 4, 7),
            ("splice_in:3", 6, 3),
            ("close:10", 4, 9),
            ("a", 1, 1),
            ("close:9", 6, 3),
            // The same first 24 bytes: ordered by the rest.
            ("hold_off_force_close:9870", 2, 2),
            ("hold_off_force_close:987", 2, 2),
            ("hold_off_force_close:98", 2, 2),
            ("hold_off_force_close:9870:b", 2, 2),
            ("hold_off_force_close:9870:a", 2, 2),
        ]
        .into_iter()
        .enumerate()
        {
            let mut a = action(id, p, ip);
            a.amount_sat = Some(i as u64);
            actions.push(a);
        }
        let mut want = actions.clone();
        sort_actions(&mut want);
        let (order, ids) = first_with_ids(&actions, actions.len());
        apply_order(&mut actions, order);
        assert_eq!(actions, want);
        let order: Vec<Option<u64>> = actions.iter().map(|a| a.amount_sat).collect();
        assert_eq!(
            order,
            [7, 4, 5, 1, 3, 0, 2, 10, 9, 8, 12, 11, 6].map(Some),
            "repeated ids keep their input order"
        );
        let ids: Vec<&str> = ids.iter().map(|id| &**id).collect();
        assert_eq!(
            ids,
            [
                "a",
                "close:10",
                "close:9",
                "hold_off_force_close:98",
                "hold_off_force_close:987",
                "hold_off_force_close:9870",
                "hold_off_force_close:9870:a",
                "hold_off_force_close:9870:b",
                "rebalance:10>2",
                "rebalance:1>2",
                "splice_in:3"
            ]
        );
        assert_eq!(first_with_ids(&[], 3), (Vec::new(), Vec::new()));

        // The first n alone: the same positions as the whole order's first n, the same ids.
        let (order, all_ids) = first_with_ids(&want, want.len());
        assert_eq!(order, (0..want.len()).collect::<Vec<_>>());
        for n in [0, 1, 3, 7, want.len() - 1, want.len(), want.len() + 5] {
            let (first, ids) = first_with_ids(&want, n);
            assert_eq!(first, order[..n.min(order.len())], "n = {n}");
            assert_eq!(ids, all_ids);
        }
        let shuffled: Vec<Action> = [5, 0, 12, 3, 8, 1, 10, 6, 2, 11, 4, 9, 7]
            .iter()
            .map(|&i| want[i].clone())
            .collect();
        let (first, _) = first_with_ids(&shuffled, 4);
        let picked: Vec<&Action> = first.iter().map(|&i| &shuffled[i]).collect();
        assert_eq!(picked, want[..4].iter().collect::<Vec<_>>());
    }

    #[test]
    fn ratio_rounds_and_sanitizes() {
        assert_eq!(ratio(0.123_456), 0.1235);
        assert_eq!(ratio(f64::NAN), 0.0);
        assert_eq!(ratio(f64::INFINITY), 0.0);
    }
}
