use super::*;
use crate::analyze::testkit::{channel, htlc, params, settle_balances, view};
use crate::model::{Channel, CommitmentType};

/// Runs the strategies as if every channel were near its fee-exposure limit (warn ratio 0),
/// where `raise_min_htlc` protects funds.
fn run(channels: &[Channel], previous: Option<&PlanDigest>) -> DustStrategyOutcome {
    let settings = AnalysisSettings {
        exposure_warn_ratio: 0.0,
        ..AnalysisSettings::default()
    };
    run_with(channels, previous, &settings)
}

fn run_with(
    channels: &[Channel],
    previous: Option<&PlanDigest>,
    settings: &AnalysisSettings,
) -> DustStrategyOutcome {
    let views: Vec<_> = channels.iter().map(|c| view(c, Some(800_000))).collect();
    recommend(&views, settings, &params(settings), previous)
}

#[test]
fn far_from_the_exposure_limit_dust_does_not_raise_min_htlc() {
    // Three outgoing dust HTLCs recur, but the channel's exposure is a small share of the
    // default 500,000 sat limit: the dust is not a saving, and the raise would turn small
    // forwards away.
    let out = run_with(
        &[dusty(1, 3, 0, 801_000)],
        None,
        &AnalysisSettings::default(),
    );
    assert!(out
        .actions
        .iter()
        .all(|a| a.kind != ActionKind::RaiseMinHtlc));
    let near = run(&[dusty(1, 3, 0, 801_000)], None);
    assert!(near
        .actions
        .iter()
        .any(|a| a.kind == ActionKind::RaiseMinHtlc));
}

fn dusty(chan_id: u64, outgoing: usize, incoming: usize, expiry: u32) -> Channel {
    let mut ch = channel(chan_id, 2_000_000, 1_000_000);
    let mut i = 0;
    for _ in 0..outgoing {
        ch.pending_htlcs.push(htlc(i, false, 300, expiry));
        i += 1;
    }
    for _ in 0..incoming {
        ch.pending_htlcs.push(htlc(i, true, 300, expiry));
        i += 1;
    }
    settle_balances(&mut ch);
    ch
}

#[test]
fn recurring_outgoing_dust_raises_min_htlc_above_both_thresholds() {
    let out = run(&[dusty(1, 3, 0, 801_000)], None);
    let a = out
        .actions
        .iter()
        .find(|a| a.kind == ActionKind::RaiseMinHtlc)
        .unwrap();
    assert_eq!(&*a.id, "raise_min_htlc:1");
    // Anchors: thresholds are the dust limits, 354 ours and 573 the peer's → 600 sat.
    assert_eq!(a.amount_sat, Some(600));
    assert!(
        a.text().commands[0]
            .line
            .contains("--min_htlc_msat 600000 "),
        "{}",
        a.text().commands[0].line
    );
    assert_eq!(a.expected_benefit_sat, 900);
    assert_eq!(a.dust_impact_sat, 900);
    // 3 × (ceil(300 × 100 / 1e6) + 1 sat base) = 6 sat.
    assert_eq!(a.expected_cost_sat, 6);
}

#[test]
fn single_dust_htlc_needs_a_previous_sighting_and_incoming_dust_does_not_count() {
    assert!(run(&[dusty(1, 1, 0, 801_000)], None)
        .actions
        .iter()
        .all(|a| a.kind != ActionKind::RaiseMinHtlc));
    assert!(run(&[dusty(1, 0, 5, 801_000)], None)
        .actions
        .iter()
        .all(|a| a.kind != ActionKind::RaiseMinHtlc));

    let settings = AnalysisSettings::default();
    let snap = crate::analyze::testkit::snapshot(vec![dusty(1, 1, 0, 801_000)], Some(800_000));
    let previous = PlanDigest::of(&crate::analyze::analyze(&snap, &settings, None));
    assert!(run(&[dusty(1, 1, 0, 801_000)], Some(&previous))
        .actions
        .iter()
        .any(|a| a.kind == ActionKind::RaiseMinHtlc));
}

#[test]
fn non_anchor_threshold_follows_the_feerate_multiplier() {
    let mut ch = dusty(2, 2, 0, 801_000);
    ch.commitment_type = CommitmentType::StaticRemoteKey;
    ch.fee_per_kw = 5_000;
    settle_balances(&mut ch);
    let out = run(&[ch], None);
    let a = out
        .actions
        .iter()
        .find(|a| a.kind == ActionKind::RaiseMinHtlc)
        .unwrap();
    // At 10,000 sat/kw: ours 354 + 6,630 (timeout), peer's 573 + 7,030 (success) → 7,700 sat.
    assert_eq!(a.amount_sat, Some(7_700));
}

#[test]
fn pending_dust_means_hold_off_with_urgency_from_expiry() {
    let out = run(&[dusty(3, 0, 2, 800_100)], None);
    let a = out
        .actions
        .iter()
        .find(|a| a.kind == ActionKind::HoldOffForceClose)
        .unwrap();
    assert_eq!(a.expected_benefit_sat, 600);
    assert_eq!(a.priority, 8); // 100 blocks: warn
    assert_eq!(a.lnd_support, LndSupport::Advisory);
    let out = run(&[dusty(3, 0, 2, 800_010)], None);
    let a = out
        .actions
        .iter()
        .find(|a| a.kind == ActionKind::HoldOffForceClose)
        .unwrap();
    assert_eq!(a.priority, 9);
    // Nothing near expiry, peer online: 600 sat is below hold_off_min_sat, 1,200 is not.
    let hold_off = |out: &DustStrategyOutcome| {
        out.actions
            .iter()
            .find(|a| a.kind == ActionKind::HoldOffForceClose)
            .map(|a| a.priority)
    };
    assert_eq!(hold_off(&run(&[dusty(3, 0, 2, 900_000)], None)), None);
    assert_eq!(hold_off(&run(&[dusty(3, 0, 4, 900_000)], None)), Some(3));
    let mut offline = dusty(3, 0, 2, 900_000);
    offline.active = false;
    assert_eq!(hold_off(&run(&[offline], None)), Some(7));
}

#[test]
fn exposure_limit_fits_the_worst_channel() {
    // Small exposures: the floor decides; LND's default 500k is left alone.
    let out = run(&[channel(1, 1_000_000, 500_000)], None);
    assert_eq!(out.recommended_limit_sat, 100_000);
    assert!(out
        .actions
        .iter()
        .all(|a| a.kind != ActionKind::SetMaxFeeExposure));

    // A node configured far above what it needs (as LND reported it): lower, priority 1.
    let settings = AnalysisSettings::default();
    let high = DustParams::from_settings(
        &settings,
        Some(crate::model::NodeExposureLimit {
            sat: 2_000_000,
            source: ExposureLimitSource::LndDustThreshold,
        }),
    );
    let ch = channel(1, 1_000_000, 500_000);
    let views = vec![ChannelView::new(&ch, None, &high, &settings)];
    let out = recommend(&views, &settings, &high, None);
    let a = out
        .actions
        .iter()
        .find(|a| a.kind == ActionKind::SetMaxFeeExposure)
        .unwrap();
    assert_eq!(&*a.id, "set_max_fee_exposure:node:lower");
    assert_eq!(a.chan_ids.as_slice(), [1]);
    assert_eq!(a.text().commands[0].line, "dust-threshold=100000");
    assert_eq!(a.priority, 1);

    // A legacy channel with big dust HTLCs at a high feerate: 336,200 sat exposure now, and
    // 662,000 at 10× the feerate (300,000 trimmed + 362,000 base fee) → 662,000 × 1.25.
    let mut ch = channel(2, 5_000_000, 2_000_000);
    ch.commitment_type = CommitmentType::StaticRemoteKey;
    ch.fee_per_kw = 50_000;
    for i in 0..10 {
        ch.pending_htlcs.push(htlc(i, false, 30_000, 801_000));
    }
    settle_balances(&mut ch);
    let out = run(&[channel(1, 1_000_000, 500_000), ch], None);
    let a = out
        .actions
        .iter()
        .find(|a| a.kind == ActionKind::SetMaxFeeExposure)
        .unwrap();
    assert_eq!(&*a.id, "set_max_fee_exposure:node:raise");
    assert_eq!(a.chan_ids.as_slice(), [2]);
    assert_eq!(a.priority, 7);
    assert_eq!(out.recommended_limit_sat, 830_000);
    assert_eq!(a.text().commands[0].line, "channel-max-fee-exposure=830000");
}

/// A legacy channel whose worst exposure (all `n` HTLCs trimmed in a 10× fee spike) is
/// `n` × 30,000 sat plus the spiked commitment fee.
fn spiky(chan_id: u64, n: u64, fee_per_kw: u64) -> Channel {
    let mut ch = channel(chan_id, 5_000_000, 2_000_000);
    ch.commitment_type = CommitmentType::StaticRemoteKey;
    ch.fee_per_kw = fee_per_kw;
    for i in 0..n {
        ch.pending_htlcs.push(htlc(i, false, 30_000, 801_000));
    }
    settle_balances(&mut ch);
    ch
}

#[test]
fn a_raise_needs_a_channel_over_the_limit_and_stays_while_the_margin_needs_it() {
    let raised = |out: &DustStrategyOutcome| {
        out.actions
            .iter()
            .any(|a| &*a.id == "set_max_fee_exposure:node:raise")
    };
    // Worst exposure between 400,000 and 500,000 sat: under LND's 500,000 limit even in
    // the spike, over it with the 1.25 margin.
    let near = spiky(2, 5, 41_400);
    let worst = worst_exposure(&view(&near, Some(800_000)));
    assert!((400_001..500_000).contains(&worst), "{worst}");
    let out = run(std::slice::from_ref(&near), None);
    assert!(out.recommended_limit_sat > 500_000);
    assert!(
        !raised(&out),
        "no restart of LND for a limit nothing crosses"
    );

    // A spike over the limit advises the raise; the next plan keeps it while the node
    // still needs the margin, and drops it once it does not.
    let settings = AnalysisSettings::default();
    let over = crate::analyze::testkit::snapshot(vec![spiky(2, 10, 50_000)], Some(800_000));
    let previous = PlanDigest::of(&crate::analyze::analyze(&over, &settings, None));
    assert!(previous
        .action_ids()
        .iter()
        .any(|id| &**id == "set_max_fee_exposure:node:raise"));
    assert!(raised(&run(&[near], Some(&previous))));
    assert!(!raised(&run(&[spiky(2, 1, 41_400)], Some(&previous))));
}

#[test]
fn no_channels_no_action_but_a_value() {
    let out = run(&[], None);
    assert!(out.actions.is_empty());
    assert_eq!(out.recommended_limit_sat, 100_000);
}
