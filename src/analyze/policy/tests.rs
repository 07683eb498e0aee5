use super::*;
use crate::analyze::analyze;
use crate::analyze::rebalance;
use crate::analyze::testkit::{channel, flow_of, flow_view, forward, scid, snapshot, view, NOW};
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
        more.all_actions()[0].expected_benefit_sat > first.all_actions()[0].expected_benefit_sat
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
