//! The analyzer: one pure function from a [`NodeSnapshot`] to a [`Plan`].
//!
//! No I/O and no clock: the plan's time is the snapshot's, and every list is ordered by a total
//! order, so the same snapshot, settings and previous plan always give the same bytes.
//!
//! Per channel the dust engine ([`crate::dust`]) says what is trimmed and what a force close
//! costs; [`health`] scores the channel. Then each recommender looks at the whole node:
//! * [`rebalance`] pairs channels with surplus local balance with channels short of it;
//! * [`policy`] suggests fee and `max_htlc` changes where no rebalance pair helps;
//! * [`splice`] suggests capacity changes, with the LND route since LND cannot splice;
//! * [`dust_strategy`] raises `min_htlc` above the trim threshold, warns against force closes
//!   while dust is pending and fits `channel-max-fee-exposure` to the node;
//! * [`close`] recommends closing dead weight, with cooperative vs force-close cost.
//!
//! [`alerts`] turns what needs attention now into coded alerts, and this module assembles the
//! plan: the per-channel sections (`sections`), the node's top actions and which section lists
//! which (`node_actions`), the summary (`summary`), and the changes since the previous plan
//! (`changes`). `parallel` holds the per-channel passes on every core.
//!
//! # The previous plan is a digest
//!
//! design.md §1 names the signature `analyze(&NodeSnapshot, &Settings, previous: Option<&Plan>)`.
//! Here `previous` is an `Option<&PlanDigest>` ([`crate::plan::digest`]): the analyzer only ever
//! read the previous plan's action ids, `generated_at`, the channels whose HTLC rows showed
//! outgoing dust and each channel's `fee_rate` memory, and a 10,000-channel plan is ~60 MB in
//! memory (~100 MB of JSON) against a digest of a few MB. So the daemon keeps the digest between cycles and streams it from
//! `latest.json` at start, never holding the previous plan itself; a caller that has a plan
//! passes [`PlanDigest::of`] it. The output is the same bytes as with the whole plan.

pub mod alerts;
mod changes;
pub mod close;
pub mod dust_strategy;
pub mod flow;
pub mod health;
pub mod link_failures;
mod names;
mod node_actions;
mod observations;
mod parallel;
pub mod policy;
pub mod rebalance;
mod report;
mod sections;
pub mod splice;
mod summary;
#[cfg(test)]
pub(crate) mod testkit;
#[cfg(test)]
mod tests;

use rayon::prelude::*;
use std::time::{Duration, UNIX_EPOCH};

use crate::dust::{channel_dust, ChannelDust, DustParams};
use crate::model::{ChanId, Channel, ForwardingFlow, NodeSnapshot};
use crate::plan::render::group_thousands;
use crate::plan::Wording;
use crate::plan::{
    action_id, first_with_ids_in, Action, ActionKind, ChanIds, ChannelPlan, Complexity,
    ExposureLimit, Health, HtlcExpiryThresholds, LndSupport, Plan, PlanDigest, PlanSource,
    SourceWarning, PRIORITY_ACTIONS_LIMIT, SCHEMA_VERSION,
};
use crate::settings::AnalysisSettings;
use changes::changes;
use flow::{channel_age_secs, FlowFacts};
use node_actions::{advisories_leave_room, NodeActions, Routes};
pub(crate) use parallel::par_filter_map;
use sections::{channel_plans, FeeContext};
use summary::{
    alert_counts, count, keep_dust_worthwhile, keep_worthwhile, one_answer_to_demand, share,
    summarize,
};

/// The latest instant `humantime` formats as RFC 3339 (9999-12-31T23:59:59Z).
const MAX_RFC3339_UNIX: u64 = 253_402_300_799;

/// One channel with what the dust engine and the health scoring said about it.
pub struct ChannelView<'a> {
    pub channel: &'a Channel,
    pub dust: ChannelDust,
    pub health: Health,
    pub implementation_priority: u8,
    /// Age from the funding block; `None` when the block height or the scid's height is unknown.
    pub age_secs: Option<u64>,
    /// Windowed forwarding flow; `None` when the snapshot has no forwarding history.
    pub flow: Option<FlowFacts>,
    /// In the node's top half by windowed flow (sat routed in + out): never closed on uptime
    /// alone. Set by the analysis once every channel's flow is known.
    pub top_half_by_flow: bool,
    /// What a sat of the node's local balance earned per day in the window (Σ fees earned /
    /// Σ local balance / window days): what capital freed by a close would earn redeployed.
    /// `None` without forwarding history. Set by the analysis like `top_half_by_flow`.
    pub capital_yield_per_day: Option<f64>,
}

impl<'a> ChannelView<'a> {
    /// A channel without forwarding history (flow unknown).
    pub fn new(
        channel: &'a Channel,
        block_height: Option<u32>,
        params: &DustParams,
        settings: &AnalysisSettings,
    ) -> Self {
        Self::with_flow(channel, block_height, params, settings, None)
    }

    pub fn with_flow(
        channel: &'a Channel,
        block_height: Option<u32>,
        params: &DustParams,
        settings: &AnalysisSettings,
        flow: Option<&ForwardingFlow>,
    ) -> Self {
        let dust = channel_dust(channel, block_height, params);
        let age_secs = channel_age_secs(channel.chan_id, block_height);
        let flow = flow.map(|f| FlowFacts::of(f, channel.chan_id, age_secs));
        let health = health::assess_with_flow(channel, &dust, settings, flow.as_ref(), age_secs);
        let implementation_priority = health::implementation_priority(&health);
        ChannelView {
            channel,
            dust,
            health,
            implementation_priority,
            age_secs,
            flow,
            top_half_by_flow: false,
            capital_yield_per_day: None,
        }
    }

    /// Sat routed in and out in the window (0 without history).
    pub fn routed_msat(&self) -> u64 {
        self.flow.map_or(0, |f| {
            f.window
                .routed_in_msat
                .saturating_add(f.window.routed_out_msat)
        })
    }

    pub fn chan_id(&self) -> ChanId {
        self.channel.chan_id
    }
}

/// An action with the fields every recommender must decide left at neutral values: the id,
/// channels and implementation priority are derived from `views` so they are always consistent.
pub(crate) fn new_action(
    kind: ActionKind,
    views: &[&ChannelView<'_>],
    bucket: Option<&str>,
) -> Action {
    // Inline for the one or two channels an action names: no allocation.
    let chan_ids: ChanIds = views.iter().map(|v| v.chan_id()).collect();
    Action {
        id: action_id(kind, &chan_ids, bucket),
        kind,
        chan_ids,
        priority: 1,
        implementation_priority: views
            .iter()
            .map(|v| v.implementation_priority)
            .max()
            .unwrap_or(0),
        amount_sat: None,
        expected_cost_sat: 0,
        expected_benefit_sat: 0,
        dust_impact_sat: 0,
        complexity: Complexity::Low,
        lnd_support: LndSupport::Native,
        wording: Wording::default(),
    }
}

/// `ceil(amount · ppm / 1e6)` in sat, saturating.
pub(crate) fn ppm_of(amount_sat: u64, ppm: u64) -> u64 {
    let product = u128::from(amount_sat) * u128::from(ppm);
    u64::try_from(product.div_ceil(1_000_000)).unwrap_or(u64::MAX)
}

/// On-chain fee of `weight` at `feerate_per_kw`, rounded down as BOLT 3 does.
pub(crate) fn weight_fee(feerate_per_kw: u64, weight: u64) -> u64 {
    feerate_per_kw.saturating_mul(weight) / 1000
}

/// The snapshot's time as RFC 3339 UTC with seconds (negative or absurd times are clamped).
pub fn rfc3339(unix: i64) -> String {
    let secs = u64::try_from(unix).unwrap_or(0).min(MAX_RFC3339_UNIX);
    humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(secs)).to_string()
}

/// Analyses one node snapshot into a plan.
///
/// `previous` is the digest of the last plan for the same node: it decides the `changes`
/// section and lets the dust strategies see dust that recurs across cycles.
pub fn analyze(
    snapshot: &NodeSnapshot,
    settings: &AnalysisSettings,
    previous: Option<&PlanDigest>,
) -> Plan {
    // The analysis makes a dozen parallel calls with serial work between them. Called from a
    // thread outside rayon's pool (the daemon's async runtime, a benchmark), each call would be
    // handed to the pool and waited for, and the serial parts would run outside it while the
    // pool's threads spin for work on the same cores; so the whole analysis moves to the pool
    // once (a no-op on a pool thread).
    rayon::scope(|_| analyze_on_pool(snapshot, settings, previous))
}

fn analyze_on_pool(
    snapshot: &NodeSnapshot,
    settings: &AnalysisSettings,
    previous: Option<&PlanDigest>,
) -> Plan {
    let params = DustParams::from_settings(settings, snapshot.node_exposure_limit);
    let block_height = snapshot.node.block_height;
    // Channels are independent until the recommenders pair them: each is assessed on whichever
    // core is free (rayon keeps the order, so the plan does not depend on the scheduling).
    let mut views: Vec<ChannelView<'_>> = snapshot
        .channels
        .par_iter()
        .map(|ch| {
            ChannelView::with_flow(ch, block_height, &params, settings, snapshot.flow.as_ref())
        })
        .collect();
    mark_top_half_by_flow(&mut views);
    mark_capital_yield(&mut views);

    // The recommenders and the alerts only read the views. Rebalance matching (and the policy
    // suggestions that depend on it) is one serial pass over the node, so it runs next to the
    // per-channel ones instead of before them.
    let (
        (mut rebalance_and_policy, left_out),
        (mut dust, mut splice, mut close, alerts, mut summary),
    ) = rayon::join(
        || {
            let mut rebalanced = rebalance::recommend(&views, settings, previous);
            let mut actions = std::mem::take(&mut rebalanced.actions);
            actions.extend(policy::recommend(
                &views,
                settings,
                &rebalanced,
                previous,
                snapshot.taken_at_unix,
            ));
            (actions, rebalanced.left_out)
        },
        || {
            let ((dust, splice), (close, (alerts, summary))) = rayon::join(
                || {
                    rayon::join(
                        || dust_strategy::recommend(&views, settings, &params, previous),
                        || splice::recommend(&views, settings, snapshot.wallet.as_ref()),
                    )
                },
                || {
                    rayon::join(
                        || close::recommend(&views, settings),
                        || {
                            rayon::join(
                                || alerts::collect(snapshot, &views, settings),
                                || summarize(snapshot, &views),
                            )
                        },
                    )
                },
            );
            (dust, splice, close, alerts, summary)
        },
    );
    // The same order as one recommender after the other: rebalance, policy, splice, dust
    // strategies, close (the sorts below break ties by this position).
    summary.rebalance_actions_left_out = left_out;
    summary.actions_below_min_benefit =
        keep_worthwhile(&mut rebalance_and_policy, settings, previous)
            + keep_worthwhile(&mut splice, settings, previous)
            + keep_worthwhile(&mut close, settings, previous)
            + keep_dust_worthwhile(&mut dust.actions, &views, settings);
    one_answer_to_demand(&mut splice, &rebalance_and_policy);
    let actions = NodeActions::new([rebalance_and_policy, splice, dust.actions, close]);

    // The node-wide order and the channel sections only read the actions, and each section
    // puts its few actions in the same order itself: so the ids' sort, `changes` and picking
    // the top actions run next to the routing and the sections instead of before them. The
    // node-wide list itself is never reordered: only its top actions are kept.
    let ((top, recommended_actions, changes), channels) = rayon::join(
        || {
            let (top, ids_now) =
                first_with_ids_in(actions.len(), |p| actions.get(p), PRIORITY_ACTIONS_LIMIT);
            let top = advisories_leave_room(top, &actions);
            (top, count(ids_now.len()), changes(&ids_now, previous))
        },
        || {
            let routes = Routes::new(&views, &actions);
            let fees = FeeContext {
                previous,
                now_unix: snapshot.taken_at_unix,
            };
            channel_plans(views, &actions, &routes, &params, settings, fees)
        },
    );
    // What the sections' own actions keep from miners (a sum of non-negative amounts, so
    // saturating in any order gives the same total).
    let recovery = channels
        .par_iter()
        .map(|c| c.recommendations.dust_recoverable_sat)
        .reduce(|| 0, u64::saturating_add);
    summary.optimization_potential = share(recovery, summary.total_dust_sat);
    summary.estimated_recovery_sat = recovery;
    // A channel needs attention with an issue left after the split or an action: what the text
    // report lists; notes-only channels have neither but notes.
    let needs_attention =
        |c: &ChannelPlan| !c.health.issues.is_empty() || !c.recommendations.actions.is_empty();
    summary.channels_needing_attention =
        count(channels.iter().filter(|c| needs_attention(c)).count());
    summary.channels_with_notes_only = count(
        channels
            .iter()
            .filter(|c| !needs_attention(c) && !c.notes.is_empty())
            .count(),
    );
    summary.recommended_max_fee_exposure_sat = dust.recommended_limit_sat;
    summary.alerts = alert_counts(&alerts);
    summary.recommended_actions = recommended_actions;
    let priority_actions = top.iter().map(|&i| actions.get(i).clone()).collect();
    // The sections hold their own copies: the node-wide lists are freed on every core.
    actions.free();

    Plan {
        schema_version: SCHEMA_VERSION,
        generated_at: rfc3339(snapshot.taken_at_unix),
        source: PlanSource {
            kind: snapshot.source.kind.clone(),
            detail: snapshot.source.detail.clone(),
            taken_at_unix: snapshot.taken_at_unix,
            node_pubkey: snapshot.node.identity_pubkey.clone(),
            node_alias: snapshot.node.alias.clone(),
            lnd_version: snapshot.node.version.clone(),
            network: snapshot.node.network.clone(),
            block_height,
            synced_to_chain: snapshot.node.synced_to_chain,
            exposure_limit: ExposureLimit {
                max_fee_exposure_sat: params.max_fee_exposure_sat,
                source: params.exposure_limit_source,
            },
            warnings: snapshot
                .warnings
                .iter()
                .map(|w| SourceWarning {
                    chan_id: w.chan_id,
                    message: w.message.clone(),
                })
                .collect(),
            htlc_expiry: Some(HtlcExpiryThresholds {
                warn_blocks: settings.htlc_expiry_warn_blocks,
                critical_blocks: settings.htlc_expiry_critical_blocks,
            }),
        },
        summary,
        channels,
        priority_actions,
        alerts,
        changes,
    }
}

/// Marks the channels whose windowed flow is at least the node's (upper) median (none without
/// history, and none that routed nothing).
fn mark_top_half_by_flow(views: &mut [ChannelView<'_>]) {
    if views.is_empty() || views.iter().all(|v| v.flow.is_none()) {
        return;
    }
    let mut routed: Vec<u64> = views.iter().map(ChannelView::routed_msat).collect();
    routed.sort_unstable();
    let median = routed[routed.len() / 2];
    for view in views.iter_mut() {
        let mine = view.routed_msat();
        view.top_half_by_flow = mine > 0 && mine >= median;
    }
}

/// Sets every view's `capital_yield_per_day`: the node's windowed fee income per sat of local
/// balance per day (none without history or without local balance).
fn mark_capital_yield(views: &mut [ChannelView<'_>]) {
    let Some(window_secs) = views.iter().find_map(|v| v.flow.map(|f| f.window_secs)) else {
        return;
    };
    let (fees_msat, local_sat) = views.iter().fold((0u64, 0u64), |(fees, local), v| {
        (
            fees.saturating_add(v.flow.map_or(0, |f| f.window.fee_earned_msat)),
            local.saturating_add(v.channel.local_balance_sat),
        )
    });
    if local_sat == 0 || window_secs == 0 {
        return;
    }
    let per_day = fees_msat as f64 / 1000.0 / local_sat as f64 / (window_secs as f64 / 86_400.0);
    for view in views.iter_mut() {
        view.capital_yield_per_day = Some(per_day);
    }
}
