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
mod tests {
    use super::*;
    use crate::analyze::analyze;
    use crate::analyze::rebalance;
    use crate::analyze::testkit::{
        channel, flow_of, flow_view, forward, scid, snapshot, view, NOW,
    };
    use crate::model::{Channel, ForwardingEvent};
    use crate::plan::{Plan, PlanDigest};

    const HOUR: i64 = 3_600;

    /// The analysis of a node with one depleted channel at `fee_ppm` that routed `out_sat` out
    /// in the window (no source can refill it, so a fee rise is its only action), taken
    /// `later` seconds after [`NOW`], after the plan `previous` digests.
    fn plan_of(
        fee_ppm: i64,
        out_sat: u64,
        later: i64,
        settings: &AnalysisSettings,
        previous: Option<&PlanDigest>,
    ) -> Plan {
        let id = scid(800_000, 2);
        let mut sink = channel(id, 2_000_000, 100_000);
        sink.local_policy.as_mut().unwrap().fee_rate_ppm = fee_ppm;
        let mut snap = snapshot(vec![sink], Some(806_000));
        snap.flow = Some(flow_of(&[forward(86_400, 9, id, out_sat, 1_000)]));
        snap.taken_at_unix = NOW + later;
        analyze(&snap, settings, previous)
    }

    /// The fee rates the plan's `fee_up` actions set.
    fn fee_up_targets(plan: &Plan) -> Vec<String> {
        plan.all_actions()
            .iter()
            .filter(|a| a.id.ends_with(":fee_up"))
            .map(|a| {
                let line = &a.text().commands[0].line;
                let at = line.find("--fee_rate_ppm ").unwrap() + "--fee_rate_ppm ".len();
                line[at..].split(' ').next().unwrap().to_string()
            })
            .collect()
    }

    #[test]
    fn no_fee_change_within_the_cooldown_after_the_rate_changed() {
        let settings = AnalysisSettings::default();
        // 700,000 sat/day out: 30 days × 250 ppm step = 5,250 sat, well worth it.
        let first = plan_of(1_000, 4_900_000, 0, &settings, None);
        assert_eq!(fee_up_targets(&first), ["1250"]);
        let memory = first.channels[0].fee_rate.unwrap();
        assert_eq!((memory.ppm, memory.changed_at_unix), (1_000, None));
        assert_eq!(memory.target_ppm, Some(1_250));

        // The operator (or charge-lnd) set 1,100 ppm; the next cycle, an hour later, sees it.
        let seen = plan_of(
            1_100,
            4_900_000,
            HOUR,
            &settings,
            Some(&PlanDigest::of(&first)),
        );
        assert_eq!(fee_up_targets(&seen), Vec::<String>::new());
        let memory = seen.channels[0].fee_rate.unwrap();
        assert_eq!(memory.changed_at_unix, Some(NOW + HOUR));
        assert_eq!(memory.target_ppm, None);

        // 2 h after the change: still cooling down, and the change time is carried forward.
        let two_hours = plan_of(
            1_100,
            4_900_000,
            3 * HOUR,
            &settings,
            Some(&PlanDigest::of(&seen)),
        );
        assert_eq!(fee_up_targets(&two_hours), Vec::<String>::new());
        assert_eq!(
            two_hours.channels[0].fee_rate.unwrap().changed_at_unix,
            Some(NOW + HOUR)
        );

        // 24 h after the change: a rise from the new rate is recommended again.
        let after = plan_of(
            1_100,
            4_900_000,
            25 * HOUR,
            &settings,
            Some(&PlanDigest::of(&two_hours)),
        );
        assert_eq!(fee_up_targets(&after), ["1375"]);
        assert_eq!(
            after.channels[0].fee_rate.unwrap().changed_at_unix,
            Some(NOW + HOUR)
        );

        // A cooldown of 0 is off.
        let off = AnalysisSettings {
            fee_change_cooldown: std::time::Duration::ZERO,
            ..AnalysisSettings::default()
        };
        let at_once = plan_of(1_100, 4_900_000, HOUR, &off, Some(&PlanDigest::of(&first)));
        assert_eq!(fee_up_targets(&at_once), ["1375"]);
    }

    #[test]
    fn a_recommended_target_moves_only_by_a_full_step() {
        let settings = AnalysisSettings::default();
        let first = plan_of(1_000, 4_900_000, 0, &settings, None);
        assert_eq!(fee_up_targets(&first), ["1250"]);
        let previous = PlanDigest::of(&first);

        // A little more flow an hour later: the benefit follows it, the target does not move.
        let more = plan_of(1_000, 5_200_000, HOUR, &settings, Some(&previous));
        assert_eq!(fee_up_targets(&more), ["1250"]);
        assert!(
            more.all_actions()[0].expected_benefit_sat
                > first.all_actions()[0].expected_benefit_sat
        );

        // A step setting that would move the target by 5 ppm keeps the recommended one ...
        let mut nudged = AnalysisSettings::default();
        nudged.rebalance.passive_fee_step = 0.245;
        assert_eq!(
            fee_up_targets(&plan_of(1_000, 4_900_000, 0, &nudged, None)),
            ["1245"]
        );
        let kept = plan_of(1_000, 4_900_000, HOUR, &nudged, Some(&previous));
        assert_eq!(fee_up_targets(&kept), ["1250"]);
        assert_eq!(kept.channels[0].fee_rate.unwrap().target_ppm, Some(1_250));
        // ... and one that moves it by 10 ppm or more moves it.
        let mut moved = AnalysisSettings::default();
        moved.rebalance.passive_fee_step = 0.26;
        let moved = plan_of(1_000, 4_900_000, HOUR, &moved, Some(&previous));
        assert_eq!(fee_up_targets(&moved), ["1260"]);
    }

    #[test]
    fn a_recommended_fee_rise_stays_while_its_trigger_holds_within_the_margin() {
        let settings = AnalysisSettings::default();
        // A 2,000,000 sat channel at 1,000 ppm with `local` sat local that routed `out_sat` out
        // in the window, no source to refill it; the previous plan's digest from `previous`.
        let plan = |local: u64, out_sat: u64, active: bool, previous: Option<&Plan>| {
            let id = scid(800_000, 2);
            let mut sink = channel(id, 2_000_000, local);
            sink.local_policy.as_mut().unwrap().fee_rate_ppm = 1_000;
            sink.active = active;
            let mut snap = snapshot(vec![sink], Some(806_000));
            snap.flow = Some(flow_of(&[forward(86_400, 9, id, out_sat, 1_000)]));
            analyze(&snap, &settings, previous.map(PlanDigest::of).as_ref())
        };
        // 32 % local is within the margin of the 30 % trigger: not enough for a new rise ...
        assert!(fee_up_targets(&plan(640_000, 4_900_000, true, None)).is_empty());
        // ... but a rise recommended at 25 % stays there with its target, and goes at 38 %.
        let first = plan(500_000, 4_900_000, true, None);
        assert_eq!(fee_up_targets(&first), ["1250"]);
        let drifted = plan(640_000, 4_900_000, true, Some(&first));
        assert_eq!(fee_up_targets(&drifted), ["1250"]);
        let recovered = plan(760_000, 4_900_000, true, Some(&drifted));
        assert!(fee_up_targets(&recovered).is_empty());
        // 380,000 sat out in 7 days × 30 days × 250 ppm ≈ 407 sat: under the 500 sat minimum
        // for a new rise, within the margin (375 sat) for a kept one.
        assert!(fee_up_targets(&plan(500_000, 380_000, true, None)).is_empty());
        let kept = plan(500_000, 380_000, true, Some(&first));
        assert_eq!(fee_up_targets(&kept), ["1250"]);
        assert_eq!(kept.all_actions()[0].expected_benefit_sat, 407);
        // A peer offline at one poll stops a new rise, not one already recommended.
        assert!(fee_up_targets(&plan(500_000, 4_900_000, false, None)).is_empty());
        let offline = plan(500_000, 4_900_000, false, Some(&first));
        assert_eq!(fee_up_targets(&offline), ["1250"]);
    }

    #[test]
    fn a_recommended_fee_rise_stays_while_its_rebalance_is_left_out_by_the_limit() {
        let (src, a, b) = (scid(800_000, 1), scid(800_000, 2), scid(800_000, 3));
        let settings = AnalysisSettings {
            max_rebalance_actions: 1,
            ..AnalysisSettings::default()
        };
        let plan = |with_source: bool, previous: Option<&Plan>| {
            let mut chans = vec![
                channel(a, 10_000_000, 1_500_000),
                channel(b, 10_000_000, 1_500_000),
            ];
            for sink in &mut chans {
                sink.local_policy.as_mut().unwrap().fee_rate_ppm = 1_000;
            }
            if with_source {
                chans.insert(0, channel(src, 20_000_000, 19_000_000));
            }
            let mut snap = snapshot(chans, Some(806_000));
            snap.flow = Some(flow_of(&[
                forward(86_400, 9, a, 4_900_000, 1_000),
                forward(86_400, 9, b, 4_200_000, 1_000),
            ]));
            analyze(&snap, &settings, previous.map(PlanDigest::of).as_ref())
        };
        // Rebalances and fee rises (the idle source gets a close of its own).
        let kinds = |plan: &Plan| -> Vec<String> {
            let mut ids: Vec<String> = plan
                .all_actions()
                .iter()
                .filter(|x| x.kind != ActionKind::Close)
                .map(|x| x.id.to_string())
                .collect();
            ids.sort();
            ids
        };
        // No source: both sinks get a fee rise.
        let first = plan(false, None);
        assert_eq!(fee_up_targets(&first).len(), 2, "{:?}", kinds(&first));
        // A source pays for both, and the limit lists one: the listed sink's rise gives way to the
        // rebalance; the other keeps its rise (its pair is not in the plan).
        let next = plan(true, Some(&first));
        assert_eq!(
            next.summary.rebalance_actions_left_out,
            1,
            "{:?}",
            kinds(&next)
        );
        assert_eq!(
            kinds(&next),
            [
                format!("rebalance:{src}>{a}"),
                format!("update_policy:{b}:fee_up")
            ],
        );
        let rise = next
            .all_actions()
            .into_iter()
            .find(|x| x.id.ends_with("fee_up"))
            .unwrap();
        assert!(rise
            .text()
            .rationale
            .contains("no listed rebalance refills it"));
        // Without a rise before, a sink whose pair is left out gets none (a new rise needs a
        // sink no source pays for).
        assert_eq!(kinds(&plan(true, None)), [format!("rebalance:{src}>{a}")]);
    }

    fn actions(channels: &[Channel], events: &[ForwardingEvent]) -> Vec<Action> {
        let settings = AnalysisSettings::default();
        let flow = flow_of(events);
        let views: Vec<_> = channels
            .iter()
            .map(|c| flow_view(c, Some(806_000), &flow))
            .collect();
        let outcome = rebalance::recommend(&views, &settings, None);
        recommend(&views, &settings, &outcome, None, NOW)
    }

    #[test]
    fn a_draining_sink_without_a_source_raises_its_fee() {
        let id = scid(800_000, 2);
        let depleted = channel(id, 2_000_000, 100_000);
        // 700,000 sat out in the window: 100k/day.
        let acts = actions(&[depleted], &[forward(86_400, 9, id, 700_000, 100)]);
        let ids: Vec<&str> = acts.iter().map(|a| a.id.as_ref()).collect();
        assert_eq!(ids, vec![format!("update_policy:{id}:fee_up")]);
        let fee = &acts[0];
        // 100 ppm + max(25% = 25, 10) = 125 ppm.
        let line = &fee.text().commands[0].line;
        assert!(line.contains("--fee_rate_ppm 125"), "{line}");
        assert!(line.contains("--base_fee_msat 1000 "));
        assert!(line.contains("--time_lock_delta 80 "));
        // 100,000 sat/day × 30 days × 25 ppm / 1e6 = 75 sat.
        assert_eq!(fee.expected_benefit_sat, 75);
    }

    #[test]
    fn no_fee_change_without_flow_or_for_a_full_channel() {
        let id = scid(800_000, 2);
        // Without history: unknown, nothing.
        let settings = AnalysisSettings::default();
        let depleted = channel(id, 2_000_000, 100_000);
        let views = [view(&depleted, Some(806_000))];
        let outcome = rebalance::recommend(&views, &settings, None);
        assert!(recommend(&views, &settings, &outcome, None, NOW).is_empty());
        // A depleted channel that routed nothing out: nothing to earn by raising its fee.
        assert!(actions(std::slice::from_ref(&depleted), &[]).is_empty());
        // A full channel: lowering its fee has no countable benefit.
        assert!(actions(&[channel(id, 2_000_000, 1_900_000)], &[]).is_empty());
    }

    #[test]
    fn max_htlc_above_what_the_channel_can_send_is_a_note_past_a_tolerance() {
        let depleted = channel(2, 2_000_000, 100_000);
        let v = view(&depleted, None);
        let note = max_htlc_note(&v).expect("1,980,000 sat max_htlc on an 80,000 sat channel");
        // 100,000 local − 20,000 reserve = 80,000 sat.
        assert!(note.contains("--max_htlc_msat 80000000 "), "{note}");
        let mut close = channel(2, 2_000_000, 100_000);
        close.local_policy.as_mut().unwrap().max_htlc_msat = Some(95_000_000);
        assert_eq!(
            max_htlc_note(&view(&close, None)),
            None,
            "within 25% of 80,000 sat"
        );
    }

    #[test]
    fn updatechanpolicy_without_policy_names_only_what_changes() {
        let mut ch = channel(5, 1_000_000, 500_000);
        ch.local_policy = None;
        assert_eq!(
            updatechanpolicy(
                ch.local_policy,
                &ch.channel_point,
                None,
                Some(600_000),
                None
            ),
            format!(
                "lncli updatechanpolicy --min_htlc_msat 600000 --chan_point {}",
                ch.channel_point
            )
        );
    }
}
