//! Routing-policy changes that follow from the rest of the analysis (`update_policy` actions).
//!
//! * `fee_up`: where no rebalance pair pays for itself, a depleted channel that routes out
//!   charges more, so it drains slower (passive rebalancing). Lowering a full channel's fee has
//!   no countable benefit (the flow it attracts is unknown), so it is not recommended.
//!   Hysteresis: a step of at least [`MIN_FEE_STEP_PPM`]; none on a channel whose fee rate
//!   changed within `analysis.fee_change_cooldown` (the previous plan's `fee_rate` memory says
//!   when); and a target once recommended stays unless the new one is a full step away.
//! * `max_htlc`: a channel advertising a `max_htlc` well above what it can send attracts
//!   forwards it must fail; that is a note on the channel, not an action (no countable benefit).
//!
//! (`min_htlc` changes are a dust strategy, see [`super::dust_strategy`].)

use std::collections::HashMap;

use crate::model::{ChanId, Channel, RoutingPolicy};
use crate::plan::ids::parse_chan_id;
use crate::plan::{
    Action, ActionKind, ActionText, Command, Complexity, FeeRateMemory, PlanDigest, Wording,
};
use crate::settings::AnalysisSettings;

use super::names::labelled;
use super::rebalance::{deficit_sat, Imbalance, RebalanceOutcome, Unmatched};
use super::{group_thousands, new_action, ChannelView};

/// An `lncli updatechanpolicy` line for one channel.
///
/// LND versions before 0.18 require the base fee, fee rate and time-lock delta on every call,
/// and a missing one resets it; so the line repeats the channel's current values for
/// everything it does not change. Without a known policy the caller must say so.
pub(crate) fn updatechanpolicy(
    policy: Option<RoutingPolicy>,
    channel_point: &str,
    fee_rate_ppm: Option<u64>,
    min_htlc_msat: Option<u64>,
    max_htlc_msat: Option<u64>,
) -> String {
    let mut line = String::from("lncli updatechanpolicy");
    if let Some(p) = policy {
        line.push_str(&format!(" --base_fee_msat {}", p.fee_base_msat.max(0)));
        let current = u64::try_from(p.fee_rate_ppm).unwrap_or(0);
        line.push_str(&format!(
            " --fee_rate_ppm {}",
            fee_rate_ppm.unwrap_or(current)
        ));
        if let Some(delta) = p.time_lock_delta {
            line.push_str(&format!(" --time_lock_delta {delta}"));
        }
    } else if let Some(ppm) = fee_rate_ppm {
        line.push_str(&format!(" --fee_rate_ppm {ppm}"));
    }
    if let Some(min) = min_htlc_msat {
        line.push_str(&format!(" --min_htlc_msat {min}"));
    }
    if let Some(max) = max_htlc_msat {
        line.push_str(&format!(" --max_htlc_msat {max}"));
    }
    line.push_str(&format!(" --chan_point {channel_point}"));
    line
}

/// The smallest fee step worth an `updatechanpolicy` (and a gossip update): smaller steps
/// change nothing a sender notices.
pub const MIN_FEE_STEP_PPM: u64 = 10;

/// `max_htlc` is worth capping only when it exceeds what the channel can send by this share.
pub const MAX_HTLC_TOLERANCE: f64 = 0.25;

/// The bucket of the `fee_up` action's id.
const FEE_UP: &str = "fee_up";

/// How far a recommended fee rise's trigger may slip before the rise goes, as a share of each
/// threshold (the sink's deviation from the target ratio and its amount, and
/// `min_action_benefit_sat`). A new rise needs the full trigger; one in the previous plan stays
/// while the channel is within this margin of it, also while the peer is briefly offline or an
/// HTLC near expiry settles (those stop a rebalance, not a fee). Without it a rise appears and
/// goes as a channel's balance, flow or benefit moves around a threshold from one poll to the
/// next, which no operator can follow.
pub const KEEP_MARGIN: f64 = 0.25;

/// Fee rises for sinks no rebalance pair covers (with flow only: they come from
/// [`super::rebalance`]'s unmatched sinks, which routed out in the window), and for the
/// channels whose rise the previous plan recommended while their trigger holds within
/// [`KEEP_MARGIN`] and no listed rebalance refills them now (a pair left out by
/// `analysis.max_rebalance_actions` does not). `previous` is the last plan's digest and
/// `now_unix` the snapshot's time: they decide the cooldown and the hysteresis.
pub fn recommend(
    views: &[ChannelView<'_>],
    settings: &AnalysisSettings,
    rebalanced: &RebalanceOutcome,
    previous: Option<&PlanDigest>,
    now_unix: i64,
) -> Vec<Action> {
    let by_id: HashMap<ChanId, &ChannelView<'_>> = views.iter().map(|v| (v.chan_id(), v)).collect();
    // Each sink with why no rebalance refills it, for the rationale.
    let mut sinks: Vec<(Unmatched, &str)> = rebalanced
        .unmatched
        .iter()
        .filter(|u| u.imbalance == Imbalance::Deficit)
        .map(|&u| (u, "no source can rebalance it at a profit"))
        .collect();
    for chan_id in previous_fee_ups(previous) {
        let fresh = sinks.iter().any(|(u, _)| u.chan_id == chan_id);
        let paired = rebalanced.paired_sinks.binary_search(&chan_id).is_ok();
        if fresh || paired {
            continue;
        }
        let Some(view) = by_id.get(&chan_id) else {
            continue;
        };
        if let Some(remaining_sat) = deficit_sat(view, settings, KEEP_MARGIN) {
            let sink = Unmatched {
                chan_id,
                imbalance: Imbalance::Deficit,
                remaining_sat,
            };
            sinks.push((sink, "no listed rebalance refills it"));
        }
    }
    sinks.sort_by_key(|(u, _)| u.chan_id);
    sinks
        .iter()
        .filter_map(|(u, why)| {
            by_id
                .get(&u.chan_id)
                .and_then(|v| fee_up_action(v, u, why, settings, previous, now_unix))
        })
        .collect()
}

/// The channels the previous plan recommended a fee rise for, in id order.
fn previous_fee_ups(previous: Option<&PlanDigest>) -> Vec<ChanId> {
    previous.map_or_else(Vec::new, |digest| {
        digest
            .action_ids()
            .iter()
            .filter_map(|id| {
                let chan = id.strip_prefix("update_policy:")?.strip_suffix(":fee_up")?;
                parse_chan_id(chan)
            })
            .collect()
    })
}

/// Whether `action` is a fee rise the previous plan listed too: it stays while it nets at least
/// `(1 − KEEP_MARGIN) × min_action_benefit_sat` (a new one needs the full minimum).
pub(super) fn is_kept_fee_up(action: &Action, previous: Option<&PlanDigest>) -> bool {
    is_fee_up(action)
        && previous.is_some_and(|p| {
            p.action_ids()
                .binary_search_by(|id| (**id).cmp(&*action.id))
                .is_ok()
        })
}

/// The channel's fee rate in this snapshot and when it last changed: a rate that differs from
/// the one the previous plan saw changed now (the snapshot's time); the same rate carries the
/// previous plan's time forward. `None` without a local policy.
fn fee_rate_seen(
    ch: &Channel,
    previous: Option<&PlanDigest>,
    now_unix: i64,
) -> Option<FeeRateMemory> {
    let ppm = u64::try_from(ch.local_policy?.fee_rate_ppm).unwrap_or(0);
    let changed_at_unix = match previous.and_then(|p| p.fee_rate(ch.chan_id)) {
        Some(before) if before.ppm != ppm => Some(now_unix),
        Some(before) => before.changed_at_unix,
        None => None,
    };
    Some(FeeRateMemory {
        ppm,
        changed_at_unix,
        target_ppm: None,
    })
}

/// Whether the fee rate changed less than `analysis.fee_change_cooldown` ago (never with a
/// cooldown of 0).
fn cooling_down(seen: &FeeRateMemory, now_unix: i64, settings: &AnalysisSettings) -> bool {
    let cooldown = i64::try_from(settings.fee_change_cooldown.as_secs()).unwrap_or(i64::MAX);
    cooldown > 0
        && seen
            .changed_at_unix
            .is_some_and(|at| now_unix.saturating_sub(at) < cooldown)
}

/// The fee rate a `fee_up` sets: the current rate plus a step (a share of it, at least
/// [`MIN_FEE_STEP_PPM`]). While the rate is the one the previous plan saw, that plan's target
/// is kept unless the new one is at least the minimum step away from it (no flapping targets).
fn fee_up_target(current: u64, settings: &AnalysisSettings, before: Option<&FeeRateMemory>) -> u64 {
    let r = &settings.rebalance;
    let min_step = r.min_fee_step_ppm.max(MIN_FEE_STEP_PPM);
    // Rounded step; `as` saturates and the value is non-negative.
    let step = ((current as f64 * r.passive_fee_step).ceil() as u64).max(min_step);
    let fresh = current.saturating_add(step);
    match before
        .filter(|b| b.ppm == current)
        .and_then(|b| b.target_ppm)
    {
        Some(kept)
            if kept >= current.saturating_add(min_step) && kept.abs_diff(fresh) < min_step =>
        {
            kept
        }
        _ => fresh,
    }
}

/// Whether `action` is a `fee_up` (its id ends in the bucket).
fn is_fee_up(action: &Action) -> bool {
    action.kind == ActionKind::UpdatePolicy
        && action
            .id
            .strip_suffix(FEE_UP)
            .is_some_and(|rest| rest.ends_with(':'))
}

/// The channel's `fee_rate` for the plan: the rate seen, when it changed, and the target of
/// the channel's `fee_up` among `own_actions` (the one [`recommend`] computed for it).
pub fn fee_rate_memory(
    ch: &Channel,
    own_actions: &[Action],
    settings: &AnalysisSettings,
    previous: Option<&PlanDigest>,
    now_unix: i64,
) -> Option<FeeRateMemory> {
    let mut seen = fee_rate_seen(ch, previous, now_unix)?;
    if own_actions.iter().any(is_fee_up) {
        let before = previous.and_then(|p| p.fee_rate(ch.chan_id));
        seen.target_ppm = Some(fee_up_target(seen.ppm, settings, before));
    }
    Some(seen)
}

/// A depleted channel that routes out raises its fee: it drains slower and earns more on what
/// still leaves. Benefit: the window's outflow per day × horizon × step; the flow a higher fee
/// turns away is not counted, so the step is small (a share of the current rate, ≥ 10 ppm).
/// None while the rate is cooling down from a change (see [`fee_up_target`] for the target).
fn fee_up_action(
    view: &ChannelView<'_>,
    unmatched: &Unmatched,
    why_no_rebalance: &str,
    settings: &AnalysisSettings,
    previous: Option<&PlanDigest>,
    now_unix: i64,
) -> Option<Action> {
    let ch = view.channel;
    let flow = view.flow?;
    let policy = ch.local_policy?;
    let seen = fee_rate_seen(ch, previous, now_unix)?;
    if cooling_down(&seen, now_unix, settings) {
        return None;
    }
    let current = seen.ppm;
    let before = previous.and_then(|p| p.fee_rate(ch.chan_id));
    let new_ppm = fee_up_target(current, settings, before);
    let step = new_ppm.saturating_sub(current);
    let horizon = settings.benefit_horizon_days;
    // `as` saturates; the value is non-negative.
    let out_over_horizon = (flow.out_sat_per_day() * horizon as f64).floor() as u64;
    let benefit = u64::try_from(u128::from(out_over_horizon) * u128::from(step) / 1_000_000)
        .unwrap_or(u64::MAX);
    let remaining = unmatched.remaining_sat;
    let why_no_rebalance = why_no_rebalance.to_owned();
    let name = labelled(&ch.peer_alias, ch.chan_id);
    let channel_point = ch.channel_point.clone();
    let per_day = flow.out_sat_per_day().round() as u64;
    let wording = Wording::described(move || {
        ActionText {
        cost_formula: "none charged; forwards that now pick a cheaper route are not counted".to_string(),
        benefit_formula: format!(
            "routed out per day in the window ({}) × {horizon} days × {step} ppm / 1e6: the extra fee on the \
             current outflow",
            group_thousands(per_day)
        ),
        rationale: format!(
            "{name} routes out {} sat/day and is short {} sat of local balance, and {why_no_rebalance}: \
             raising the fee rate from {current} to {new_ppm} ppm slows the outflow and earns more on it.",
            group_thousands(per_day),
            group_thousands(remaining)
        ),
        commands: vec![Command {
            tool: "lncli".to_string(),
            line: updatechanpolicy(Some(policy), &channel_point, Some(new_ppm), None, None),
            purpose: format!("set the fee rate to {new_ppm} ppm"),
        }],
        ..ActionText::default()
    }
    });
    Some(Action {
        priority: 3,
        expected_cost_sat: 0,
        expected_benefit_sat: benefit,
        complexity: Complexity::Low,
        wording,
        ..new_action(ActionKind::UpdatePolicy, &[view], Some(FEE_UP))
    })
}

/// A note (not an action: it has no countable benefit) when the channel advertises a
/// `max_htlc` more than [`MAX_HTLC_TOLERANCE`] above what it can send; the suggested cap is
/// rounded down to 10,000 sat so it does not chase every payment.
pub fn max_htlc_note(view: &ChannelView<'_>) -> Option<String> {
    let ch = view.channel;
    let advertised = ch.local_policy?.max_htlc_msat?;
    let spendable = ch
        .local_balance_sat
        .saturating_sub(ch.local_chan_reserve_sat);
    let cap_sat = spendable / 10_000 * 10_000;
    // `as` saturates; the value is non-negative.
    let tolerated = (spendable as f64 * (1.0 + MAX_HTLC_TOLERANCE) * 1000.0) as u64;
    if !ch.active || cap_sat == 0 || advertised <= tolerated {
        return None;
    }
    Some(format!(
        "advertises max_htlc {} msat but can send only about {} sat: forwards above that fail; \
         `{}` caps it",
        group_thousands(advertised),
        group_thousands(spendable),
        updatechanpolicy(
            ch.local_policy,
            &ch.channel_point,
            None,
            None,
            Some(cap_sat * 1000)
        )
    ))
}

#[cfg(test)]
mod tests;
