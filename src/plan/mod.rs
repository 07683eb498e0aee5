//! The plan document (schema v3): what dustwatch found and recommends for one node at one instant.
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
//! alerts), [`render`] (tables for humans), [`diff`] (`plan diff`). The document's parts live
//! in `channel` (a channel's section), `action` (an action and its id), `command`, `alert`, and
//! `order` (the node-wide action order); how the file lays them out, leaving out what follows
//! from the rest of the plan, in `document`, `channel_doc`, `dust_doc`, `alert_doc` and
//! `derived`.

mod action;
mod alert;
mod alert_doc;
pub mod alert_text;
mod channel;
mod channel_doc;
mod command;
mod derived;
pub mod diff;
pub mod digest;
mod document;
mod dust_doc;
pub mod flow;
pub mod ids;
mod order;
pub mod render;
pub mod render_channel;
pub mod text;

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::model::{ChanId, ExposureLimitSource};

pub use action::{action_id, Action, ActionKind, Complexity, LndSupport};
pub use alert::{Alert, AlertCode, Severity};
pub use channel::{
    ChannelPlan, CommitFeeMismatchReport, CommitmentReport, DustReport, ExpiryStatus,
    FeeRateMemory, FeeSpikeReport, ForceCloseReport, Health, HealthStatus, HtlcReport, Issue,
    Recommendations,
};
pub use command::{Alternative, Command};
pub use diff::{diff, render_diff, PlanDiff};
pub use digest::PlanDigest;
pub use flow::{ChannelFlowReport, FlowFigures};
pub use ids::ChanIds;
pub use order::{action_order, first_with_ids, sort_actions, sort_order};
pub(crate) use order::{apply_order, first_with_ids_in};
pub use render::render_table;
pub use render_channel::render_channel;
pub use text::{ActionText, Text, Wording};

/// The schema version this build writes; it reads this one and [`OLDEST_READABLE_VERSION`].
pub const SCHEMA_VERSION: u32 = 3;

/// The oldest schema version `plan show`, `plan diff` and the start-up digest read.
pub const OLDEST_READABLE_VERSION: u32 = 1;

/// How many actions `priority_actions` holds at most.
pub const PRIORITY_ACTIONS_LIMIT: usize = 10;

/// One plan document (the whole JSON file). Written as schema v3 and read from v1, v2 or v3
/// by `document` (v2 lists each action once and channels name them by id; v3 also leaves out
/// what follows from the rest of the plan).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "document::PlanRecord")]
pub struct Plan {
    /// [`SCHEMA_VERSION`] for plans this build makes; the version of the file for a plan read
    /// (it is written as [`SCHEMA_VERSION`] whatever it was read as).
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
    /// The thresholds HTLC expiries were judged against; `None` in plans read from files
    /// before schema v3, which did not write them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub htlc_expiry: Option<HtlcExpiryThresholds>,
}

/// `analysis.htlc_expiry_warn_blocks` and `htlc_expiry_critical_blocks` as the plan used them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HtlcExpiryThresholds {
    pub warn_blocks: u32,
    pub critical_blocks: u32,
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
    /// Channels with observations (notes) but no issue or action: nothing pays to do there yet.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub channels_with_notes_only: u32,
    /// Channels with an issue or an action: the text report's CHANNELS NEEDING ATTENTION.
    /// Not `channels_by_status.attention_needed`, which is a band of the health score.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub channels_needing_attention: u32,
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
        "plan has schema_version {found}, but this dustwatch reads schema_version 1 to {supported} only"
    )]
    UnsupportedSchemaVersion { found: String, supported: u32 },
    #[error("plan does not match schema v{supported}: {source}")]
    Invalid {
        supported: u32,
        #[source]
        source: serde_json::Error,
    },
}

/// Reads a plan document of schema v1, v2 or v3, refusing any other version.
///
/// The version is checked before the body, so a future plan fails with "schema_version 4 …"
/// rather than with whatever field happens to differ first.
pub fn read_plan(text: &str) -> Result<Plan, PlanError> {
    check_version(text)?;
    serde_json::from_str(text).map_err(|source| PlanError::Invalid {
        supported: SCHEMA_VERSION,
        source,
    })
}

/// Checks that `text` is a JSON object whose `schema_version` this build reads, and returns it.
fn check_version(text: &str) -> Result<u32, PlanError> {
    #[derive(Deserialize)]
    struct VersionProbe {
        schema_version: Option<serde_json::Value>,
    }
    let probe: VersionProbe = serde_json::from_str(text).map_err(PlanError::Json)?;
    match probe.schema_version {
        None => Err(PlanError::MissingSchemaVersion),
        Some(serde_json::Value::Number(n))
            if n.as_u64().is_some_and(|v| {
                (u64::from(OLDEST_READABLE_VERSION)..=u64::from(SCHEMA_VERSION)).contains(&v)
            }) =>
        {
            // Within 1..=SCHEMA_VERSION, so it fits.
            Ok(n.as_u64()
                .and_then(|v| u32::try_from(v).ok())
                .unwrap_or(SCHEMA_VERSION))
        }
        Some(other) => Err(PlanError::UnsupportedSchemaVersion {
            found: other.to_string(),
            supported: SCHEMA_VERSION,
        }),
    }
}

/// A channel id as the plan writes it (decimal string, like `lncli`).
pub fn chan_id_string(chan_id: ChanId) -> String {
    chan_id.to_string()
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
        let err = read_plan(r#"{"schema_version": 4}"#).unwrap_err();
        assert!(matches!(err, PlanError::UnsupportedSchemaVersion { .. }));
        assert!(err.to_string().contains("schema_version 4"), "{err}");
        let err = read_plan(r#"{"schema_version": 0}"#).unwrap_err();
        assert!(matches!(err, PlanError::UnsupportedSchemaVersion { .. }));
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
