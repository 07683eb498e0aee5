//! The values a plan contributes to the metrics, derived once when the plan is observed.
//!
//! Pure: a [`Plan`] in, a [`PlanSeries`] out. Holding these small derived values instead of the
//! plan keeps the scrape cheap and the memory bounded (no action texts, no HTLC lists).
//!
//! Every label value that comes from an enum is one of a fixed, listed set ([`ACTION_KINDS`],
//! [`ALERT_CODES`], [`SEVERITIES`], ...), so the number of series per node depends only on its
//! number of channels. The index functions below match exhaustively: a new variant in the plan
//! types fails to compile here until it is listed.

use crate::model::ExposureLimitSource;
use crate::plan::{ActionKind, AlertCode, ChannelPlan, HealthStatus, Plan, Severity};

/// The two commitment transactions, in the order per-commitment arrays are indexed.
pub(super) const COMMITMENTS: [&str; 2] = ["local", "remote"];

pub(super) const HEALTH_STATUSES: [HealthStatus; 3] = [
    HealthStatus::Healthy,
    HealthStatus::AttentionNeeded,
    HealthStatus::Unhealthy,
];

/// States of channels that are not open, as the `state` label of `dustwatch_pending_channels`.
pub(super) const PENDING_STATES: [&str; 3] = ["opening", "waiting_close", "force_closing"];

pub(super) const ACTION_KINDS: [ActionKind; 8] = [
    ActionKind::Rebalance,
    ActionKind::SpliceIn,
    ActionKind::SpliceOut,
    ActionKind::RaiseMinHtlc,
    ActionKind::HoldOffForceClose,
    ActionKind::SetMaxFeeExposure,
    ActionKind::Close,
    ActionKind::UpdatePolicy,
];

pub(super) const ALERT_CODES: [AlertCode; 13] = [
    AlertCode::FeeExposureOverLimit,
    AlertCode::FeeExposureNearLimit,
    AlertCode::FeeSpikeOverLimit,
    AlertCode::HtlcExpiryCritical,
    AlertCode::HtlcExpirySoon,
    AlertCode::DustPendingForceCloseRisk,
    AlertCode::CommitFeeMismatch,
    AlertCode::ChannelInactive,
    AlertCode::ChainNotSynced,
    AlertCode::DustEngineWarning,
    AlertCode::SnapshotWarning,
    AlertCode::HtlcRefusedFeeExposureLikely,
    AlertCode::ChannelInactiveOverExposureLimit,
];

pub(super) const SEVERITIES: [Severity; 2] = [Severity::Warn, Severity::Error];

/// Position of `kind` in [`ACTION_KINDS`].
fn action_kind_index(kind: ActionKind) -> usize {
    match kind {
        ActionKind::Rebalance => 0,
        ActionKind::SpliceIn => 1,
        ActionKind::SpliceOut => 2,
        ActionKind::RaiseMinHtlc => 3,
        ActionKind::HoldOffForceClose => 4,
        ActionKind::SetMaxFeeExposure => 5,
        ActionKind::Close => 6,
        ActionKind::UpdatePolicy => 7,
    }
}

/// Position of `code` in [`ALERT_CODES`].
fn alert_code_index(code: AlertCode) -> usize {
    match code {
        AlertCode::FeeExposureOverLimit => 0,
        AlertCode::FeeExposureNearLimit => 1,
        AlertCode::FeeSpikeOverLimit => 2,
        AlertCode::HtlcExpiryCritical => 3,
        AlertCode::HtlcExpirySoon => 4,
        AlertCode::DustPendingForceCloseRisk => 5,
        AlertCode::CommitFeeMismatch => 6,
        AlertCode::ChannelInactive => 7,
        AlertCode::ChainNotSynced => 8,
        AlertCode::DustEngineWarning => 9,
        AlertCode::SnapshotWarning => 10,
        AlertCode::HtlcRefusedFeeExposureLikely => 11,
        AlertCode::ChannelInactiveOverExposureLimit => 12,
    }
}

/// Position of `severity` in [`SEVERITIES`].
fn severity_index(severity: Severity) -> usize {
    match severity {
        Severity::Warn => 0,
        Severity::Error => 1,
    }
}

/// Position of `status` in [`HEALTH_STATUSES`].
fn health_status_index(status: HealthStatus) -> usize {
    match status {
        HealthStatus::Healthy => 0,
        HealthStatus::AttentionNeeded => 1,
        HealthStatus::Unhealthy => 2,
    }
}

/// The `source` label of `dustwatch_max_fee_exposure_sat`: the plan's own name for it.
pub(super) fn exposure_limit_source_label(source: ExposureLimitSource) -> &'static str {
    match source {
        ExposureLimitSource::LndChannelMaxFeeExposure => "lnd_channel_max_fee_exposure",
        ExposureLimitSource::LndDustThreshold => "lnd_dust_threshold",
        ExposureLimitSource::Configured => "configured",
    }
}

/// One channel's values. Per-commitment arrays are indexed like [`COMMITMENTS`].
#[derive(Debug, Clone, PartialEq)]
pub(super) struct ChannelSeries {
    pub chan_id: String,
    pub peer_alias: String,
    /// The peer's public key (hex).
    pub peer: String,
    pub fee_exposure_sat: [u64; 2],
    pub trimmed_htlc_sat: [u64; 2],
    pub trimmed_htlcs: [u32; 2],
    pub exposure_headroom_sat: i64,
    pub exposure_ratio: f64,
    pub health_score: f64,
    /// The smallest `blocks_to_expiry` of the channel's HTLCs; `None` without HTLCs or
    /// without a block height (the series is then left out rather than faked).
    pub nearest_htlc_expiry_blocks: Option<i64>,
    pub force_close_fees_to_miners_sat: u64,
}

impl ChannelSeries {
    fn from_plan(channel: &ChannelPlan) -> Self {
        let local = &channel.dust.local_commitment;
        let remote = &channel.dust.remote_commitment;
        ChannelSeries {
            chan_id: channel.chan_id.to_string(),
            peer_alias: channel.peer_alias.to_string(),
            peer: channel.peer_pubkey.to_string(),
            fee_exposure_sat: [local.fee_exposure_sat, remote.fee_exposure_sat],
            trimmed_htlc_sat: [local.trimmed_htlc_sat, remote.trimmed_htlc_sat],
            trimmed_htlcs: [local.trimmed_htlc_count, remote.trimmed_htlc_count],
            exposure_headroom_sat: channel.dust.exposure_headroom_sat,
            exposure_ratio: channel.dust.exposure_ratio,
            health_score: channel.health.health_score,
            nearest_htlc_expiry_blocks: channel
                .htlcs
                .iter()
                .filter_map(|h| h.blocks_to_expiry)
                .min(),
            force_close_fees_to_miners_sat: channel.force_close.fees_to_miners_sat,
        }
    }
}

/// Everything one plan contributes: node totals and one [`ChannelSeries`] per open channel.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct PlanSeries {
    /// `source.taken_at_unix`: when the data behind the plan was read.
    pub taken_at_unix: i64,
    pub capacity_sat: u64,
    pub local_balance_sat: u64,
    pub remote_balance_sat: u64,
    pub dust_sat: u64,
    pub dust_ratio: f64,
    pub highest_fee_exposure_sat: u64,
    pub max_fee_exposure_sat: u64,
    pub exposure_limit_source: &'static str,
    pub recommended_max_fee_exposure_sat: u64,
    pub estimated_recovery_sat: u64,
    pub average_health_score: f64,
    pub active_channels: u32,
    /// Indexed like [`HEALTH_STATUSES`].
    pub channels_by_status: [u32; 3],
    /// Indexed like [`PENDING_STATES`].
    pub pending_channels: [u32; 3],
    pub limbo_balance_sat: u64,
    /// Distinct actions of the plan (not only the top ten), indexed like [`ACTION_KINDS`].
    pub actions_by_kind: [u32; 8],
    /// `[code][severity]`, indexed like [`ALERT_CODES`] and [`SEVERITIES`].
    pub alerts: [[u32; 2]; 13],
    /// In the plan's order (numeric channel id).
    pub channels: Vec<ChannelSeries>,
}

impl PlanSeries {
    pub fn from_plan(plan: &Plan) -> Self {
        let summary = &plan.summary;

        // Counted from the channels rather than copied from the summary, so the three
        // statuses always add up to the channel series that are exported next to them.
        let mut channels_by_status = [0u32; 3];
        for channel in &plan.channels {
            channels_by_status[health_status_index(channel.health.status)] += 1;
        }

        let mut actions_by_kind = [0u32; 8];
        for action in plan.all_actions() {
            actions_by_kind[action_kind_index(action.kind)] += 1;
        }

        let mut alerts = [[0u32; 2]; 13];
        for alert in &plan.alerts {
            alerts[alert_code_index(alert.code)][severity_index(alert.severity)] += 1;
        }

        PlanSeries {
            taken_at_unix: plan.source.taken_at_unix,
            capacity_sat: summary.total_capacity_sat,
            local_balance_sat: summary.total_local_balance_sat,
            remote_balance_sat: summary.total_remote_balance_sat,
            dust_sat: summary.total_dust_sat,
            dust_ratio: summary.dust_ratio,
            highest_fee_exposure_sat: summary.highest_fee_exposure_sat,
            max_fee_exposure_sat: plan.source.exposure_limit.max_fee_exposure_sat,
            exposure_limit_source: exposure_limit_source_label(plan.source.exposure_limit.source),
            recommended_max_fee_exposure_sat: summary.recommended_max_fee_exposure_sat,
            estimated_recovery_sat: summary.estimated_recovery_sat,
            average_health_score: summary.average_health_score,
            active_channels: summary.active_channels,
            channels_by_status,
            pending_channels: [
                summary.pending_channels.opening,
                summary.pending_channels.waiting_close,
                summary.pending_channels.force_closing,
            ],
            limbo_balance_sat: summary.pending_channels.limbo_balance_sat,
            actions_by_kind,
            alerts,
            channels: plan.channels.iter().map(ChannelSeries::from_plan).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_functions_agree_with_the_label_lists() {
        for (i, kind) in ACTION_KINDS.iter().enumerate() {
            assert_eq!(action_kind_index(*kind), i, "{kind:?}");
        }
        for (i, code) in ALERT_CODES.iter().enumerate() {
            assert_eq!(alert_code_index(*code), i, "{code:?}");
        }
        for (i, severity) in SEVERITIES.iter().enumerate() {
            assert_eq!(severity_index(*severity), i, "{severity:?}");
        }
        for (i, status) in HEALTH_STATUSES.iter().enumerate() {
            assert_eq!(health_status_index(*status), i, "{status:?}");
        }
    }

    #[test]
    fn exposure_limit_source_labels_are_the_plan_names() {
        for source in [
            ExposureLimitSource::LndChannelMaxFeeExposure,
            ExposureLimitSource::LndDustThreshold,
            ExposureLimitSource::Configured,
        ] {
            let json = serde_json::to_value(source).unwrap();
            assert_eq!(json.as_str(), Some(exposure_limit_source_label(source)));
        }
    }
}
