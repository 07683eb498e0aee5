//! Alerts: what needs an operator's eyes now, with a stable [`AlertCode`] and a [`Severity`].

use serde::{Deserialize, Serialize};

use super::ids;
use super::text::Text;
use crate::model::ChanId;

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
    /// `null` in v1 for a node-wide alert; v2 leaves it out.
    #[serde(
        with = "ids::opt_chan_id",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub chan_id: Option<ChanId>,
    /// Written out when read (see [`Text`]).
    pub message: Text,
    /// The amount the alert is about (exposure, HTLC sum, computed fee), when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount_sat: Option<u64>,
    /// The limit or reference value it is compared with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit_sat: Option<u64>,
    /// The HTLC concerned (the soonest to expire for expiry alerts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub htlc_index: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocks_to_expiry: Option<i64>,
}
