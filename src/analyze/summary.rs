//! The plan's node-wide summary, and which actions are worth listing at all.

use crate::model::{ChanId, NodeSnapshot, PendingKind};
use crate::plan::{
    ratio, Action, ActionKind, AlertCounts, HealthStatus, PendingCounts, PlanDigest, Severity,
    StatusCounts, Summary,
};
use crate::settings::AnalysisSettings;

use super::{flow, health, policy, ChannelView};

/// `part / whole` rounded for the plan, 0 when `whole` is 0.
pub(super) fn share(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        ratio(part as f64 / whole as f64)
    }
}

/// The node-wide summary of what the views and the snapshot say. It runs beside the
/// recommenders, so what depends on their results is left at zero for the caller to set:
/// `recommended_actions` (the node-wide list's distinct ids), `estimated_recovery_sat` and
/// `optimization_potential` (the channel sections), `recommended_max_fee_exposure_sat` (the
/// dust strategies) and `alerts` ([`alert_counts`]).
///
/// One pass over the views: each is a few hundred bytes, and a pass per total would read all
/// of them again from memory for each.
pub(super) fn summarize(snapshot: &NodeSnapshot, views: &[ChannelView<'_>]) -> Summary {
    #[derive(Default)]
    struct Totals {
        capacity: u64,
        local: u64,
        remote: u64,
        dust: u64,
        active: usize,
        score: f64,
    }
    let mut totals = Totals::default();
    let mut by_status = StatusCounts::default();
    // The first channel with the highest exposure (views are sorted by chan_id).
    let mut highest: Option<(ChanId, u64)> = None;
    for v in views {
        let ch = v.channel;
        totals.capacity = totals.capacity.saturating_add(ch.capacity_sat);
        totals.local = totals.local.saturating_add(ch.local_balance_sat);
        totals.remote = totals.remote.saturating_add(ch.remote_balance_sat);
        totals.dust = totals
            .dust
            .saturating_add(health::dust_at_stake_sat(&v.dust));
        totals.active += usize::from(ch.active);
        totals.score += v.health.health_score;
        let exposure = v.dust.max_fee_exposure_now_sat();
        if highest.is_none_or(|(_, e)| exposure > e) {
            highest = Some((v.chan_id(), exposure));
        }
        match v.health.status {
            HealthStatus::Healthy => by_status.healthy += 1,
            HealthStatus::AttentionNeeded => by_status.attention_needed += 1,
            HealthStatus::Unhealthy => by_status.unhealthy += 1,
        }
    }
    let mut pending = PendingCounts::default();
    for p in &snapshot.pending_channels {
        match p.kind {
            PendingKind::Opening => pending.opening += 1,
            PendingKind::WaitingClose => pending.waiting_close += 1,
            PendingKind::ForceClosing => pending.force_closing += 1,
        }
        pending.limbo_balance_sat = pending
            .limbo_balance_sat
            .saturating_add(p.limbo_balance_sat);
    }
    Summary {
        total_channels: count(views.len()),
        active_channels: count(totals.active),
        total_capacity_sat: totals.capacity,
        total_local_balance_sat: totals.local,
        total_remote_balance_sat: totals.remote,
        total_dust_sat: totals.dust,
        dust_ratio: share(totals.dust, totals.capacity),
        highest_fee_exposure_sat: highest.map_or(0, |(_, e)| e),
        highest_fee_exposure_chan_id: highest.map(|(id, _)| id),
        // Set by the caller from the recommenders' and sections' results.
        recommended_max_fee_exposure_sat: 0,
        optimization_potential: 0.0,
        estimated_recovery_sat: 0,
        recommended_actions: 0,
        average_health_score: if views.is_empty() {
            0.0
        } else {
            ratio(totals.score / views.len() as f64)
        },
        channels_by_status: by_status,
        alerts: AlertCounts::default(),
        pending_channels: pending,
        flow_unknown: snapshot
            .flow
            .is_none()
            .then(|| flow::FLOW_UNKNOWN_REASON.to_string()),
        rebalance_actions_left_out: 0,
        actions_below_min_benefit: 0,
        channels_with_notes_only: 0,
        channels_needing_attention: 0,
    }
}

/// True for actions that protect funds (a force close to hold off, the node's exposure limit):
/// they are listed whatever their fee arithmetic says. `raise_min_htlc` protects funds too, and
/// is only raised on a channel near its fee-exposure limit ([`keep_dust_worthwhile`]).
pub(crate) fn protects_funds(kind: ActionKind) -> bool {
    matches!(
        kind,
        ActionKind::HoldOffForceClose | ActionKind::SetMaxFeeExposure
    )
}

/// Keeps the actions that pay for themselves: benefit − cost ≥ `min_action_benefit_sat`, and
/// those that protect funds. A fee rise the previous plan listed stays down to
/// `(1 − policy::KEEP_MARGIN)` of the minimum (hysteresis). Returns how many were left out.
pub(super) fn keep_worthwhile(
    actions: &mut Vec<Action>,
    settings: &AnalysisSettings,
    previous: Option<&PlanDigest>,
) -> u32 {
    let before = actions.len();
    let full = settings.min_action_benefit_sat;
    // `as` saturates; the value is non-negative.
    let kept = (full as f64 * (1.0 - policy::KEEP_MARGIN)).ceil() as u64;
    actions.retain(|a| {
        let floor = if policy::is_kept_fee_up(a, previous) {
            kept
        } else {
            full
        };
        protects_funds(a.kind) || nets_at_least(a, floor)
    });
    count(before - actions.len())
}

/// Keeps each dust strategy that protects funds (a force close held off, the node's exposure
/// limit, `raise_min_htlc` on a channel whose exposure is near its limit) or pays for itself
/// like any other action; a `min_htlc` raise for a few sat of dust on a channel far from the
/// limit costs small payments more than it saves. Returns how many were left out.
pub(super) fn keep_dust_worthwhile(
    actions: &mut Vec<Action>,
    views: &[ChannelView<'_>],
    settings: &AnalysisSettings,
) -> u32 {
    let near_limit = |chan_id: &ChanId| {
        views
            .binary_search_by_key(chan_id, ChannelView::chan_id)
            .is_ok_and(|i| views[i].dust.exposure_ratio >= settings.exposure_warn_ratio)
    };
    let before = actions.len();
    actions.retain(|a| {
        protects_funds(a.kind)
            || (a.kind == ActionKind::RaiseMinHtlc && a.chan_ids.iter().any(near_limit))
            || pays_for_itself(a, settings)
    });
    count(before - actions.len())
}

/// A channel short of capacity for its demand gets one answer: a fee rise and more capacity
/// are alternatives, and the cheap, reversible one comes first. So a `splice_in` is dropped
/// where the same channel's `fee_up` nets at least as much.
pub(super) fn one_answer_to_demand(splice: &mut Vec<Action>, policy: &[Action]) {
    let net = |a: &Action| a.expected_benefit_sat.saturating_sub(a.expected_cost_sat);
    let fee_up_net = |chan_id: ChanId| {
        policy
            .iter()
            .filter(|a| a.kind == ActionKind::UpdatePolicy && a.id.ends_with(":fee_up"))
            .filter(|a| a.chan_ids.as_slice() == [chan_id])
            .map(net)
            .max()
    };
    splice.retain(|a| {
        let fee_up_nets_more = a
            .chan_ids
            .first()
            .and_then(|&id| fee_up_net(id))
            .is_some_and(|fee| fee >= net(a));
        a.kind != ActionKind::SpliceIn || !fee_up_nets_more
    });
}

/// Benefit − cost ≥ `min_action_benefit_sat`.
fn pays_for_itself(action: &Action, settings: &AnalysisSettings) -> bool {
    nets_at_least(action, settings.min_action_benefit_sat)
}

/// Benefit − cost ≥ `floor`.
fn nets_at_least(action: &Action, floor: u64) -> bool {
    action.expected_benefit_sat >= action.expected_cost_sat
        && action.expected_benefit_sat - action.expected_cost_sat >= floor
}

/// Alerts by severity, for the summary.
pub(super) fn alert_counts(alerts: &[crate::plan::Alert]) -> AlertCounts {
    let mut counts = AlertCounts::default();
    for alert in alerts {
        match alert.severity {
            Severity::Warn => counts.warn += 1,
            Severity::Error => counts.error += 1,
        }
    }
    counts
}

pub(super) fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::new_action;

    fn action(kind: ActionKind, chan_id: ChanId, bucket: Option<&str>, net: u64) -> Action {
        let mut a = new_action(kind, &[], bucket);
        a.chan_ids = [chan_id].into_iter().collect();
        a.id = crate::plan::action_id(kind, &[chan_id], bucket);
        a.expected_cost_sat = 100;
        a.expected_benefit_sat = 100 + net;
        a
    }

    #[test]
    fn a_fee_rise_that_nets_as_much_replaces_more_capacity() {
        let fee_up = |id, net| action(ActionKind::UpdatePolicy, id, Some("fee_up"), net);
        let splice = |id, net| action(ActionKind::SpliceIn, id, None, net);
        let policy = [fee_up(1, 5_000), fee_up(2, 500)];
        let mut splices = vec![splice(1, 1_700), splice(2, 9_000), splice(3, 800)];
        one_answer_to_demand(&mut splices, &policy);
        let kept: Vec<ChanId> = splices.iter().map(|a| a.chan_ids[0]).collect();
        // Channel 1: the fee rise nets more, so no parallel channel; channel 2: the capacity
        // nets far more than the fee rise; channel 3 has no fee rise at all.
        assert_eq!(kept, [2, 3]);
    }
}
