use super::*;
use crate::analyze::testkit::{channel, flow_of, flow_view, forward, htlc, scid, view};
use crate::model::{Channel, ForwardingEvent};

fn outcome(channels: &[Channel], events: &[ForwardingEvent]) -> RebalanceOutcome {
    let flow = flow_of(events);
    let views: Vec<_> = channels
        .iter()
        .map(|c| flow_view(c, Some(806_000), &flow))
        .collect();
    recommend(&views, &AnalysisSettings::default(), None)
}

/// A sink that routed `out_sat` in the window at `ppm`.
fn drains(sink: u64, out_sat: u64, ppm: u64) -> ForwardingEvent {
    forward(86_400, 999, sink, out_sat, ppm)
}

#[test]
fn a_busy_expensive_sink_gets_liquidity_from_a_cheap_idle_source() {
    let (src, dst) = (scid(800_000, 1), scid(800_000, 2));
    let chans = [
        channel(src, 10_000_000, 9_000_000), // ~90% local, routed nothing
        channel(dst, 10_000_000, 1_000_000), // ~10% local, drains 1M sat/day at 800 ppm
        channel(scid(800_000, 3), 2_000_000, 1_000_000),
    ];
    let out = outcome(&chans, &[drains(dst, 7_000_000, 800)]);
    assert_eq!(out.actions.len(), 1);
    let a = &out.actions[0];
    assert_eq!(*a.id, *format!("rebalance:{src}>{dst}"));
    let amount = a.amount_sat.unwrap();
    assert!((3_900_000..=4_000_000).contains(&amount), "{amount}");
    // Budget: half the 800 ppm margin = 400 ppm; benefit: 800 ppm, nothing lost at the source.
    assert_eq!(a.expected_cost_sat, amount * 400 / 1_000_000);
    assert_eq!(a.expected_benefit_sat, amount * 800 / 1_000_000);
    let bos = &a.text().commands[0].line;
    assert!(bos.contains(&format!("--amount {amount}")), "{bos}");
    assert!(
        bos.contains(&format!(
            "--max-fee {} --max-fee-rate 400",
            a.expected_cost_sat
        )),
        "{bos}"
    );
    assert!(out.unmatched.is_empty());
}

#[test]
fn a_sink_keeps_last_cycles_source_while_that_pair_still_pays() {
    let (a, b, dst) = (scid(800_000, 1), scid(800_000, 2), scid(800_000, 3));
    let events = [drains(dst, 7_000_000, 800)];
    let plan_of = |a_local: u64, previous: Option<&PlanDigest>| {
        let chans = vec![
            channel(a, 20_000_000, a_local),
            channel(b, 10_000_000, 9_000_000),
            channel(dst, 10_000_000, 1_000_000),
        ];
        let mut snap = crate::analyze::testkit::snapshot(chans, Some(806_000));
        snap.flow = Some(flow_of(&events));
        crate::analyze::analyze(&snap, &AnalysisSettings::default(), previous)
    };
    let pairs = |plan: &crate::plan::Plan| -> Vec<String> {
        plan.all_actions()
            .iter()
            .filter(|x| x.kind == ActionKind::Rebalance)
            .map(|x| x.id.to_string())
            .collect()
    };
    let (from_a, from_b) = (
        format!("rebalance:{a}>{dst}"),
        format!("rebalance:{b}>{dst}"),
    );
    // Last cycle only b had surplus.
    let first = plan_of(10_000_000, None);
    assert_eq!(pairs(&first), std::slice::from_ref(&from_b));
    // Now a has more: a fresh look takes a, the cheapest source with the most surplus...
    assert_eq!(pairs(&plan_of(19_000_000, None)), [from_a]);
    // ...but the sink keeps b, whose pair still pays.
    let digest = PlanDigest::of(&first);
    assert_eq!(pairs(&plan_of(19_000_000, Some(&digest))), [from_b]);
}

#[test]
fn a_listed_pair_keeps_its_place_in_the_limit_unless_a_new_one_nets_clearly_more() {
    let (src, a, b) = (scid(800_000, 1), scid(800_000, 2), scid(800_000, 3));
    let settings = AnalysisSettings {
        max_rebalance_actions: 1,
        ..AnalysisSettings::default()
    };
    // Both sinks 5 % local, draining 1M sat/day; a earns 800 ppm, b `b_ppm`.
    let plan_of = |b_ppm: u64, previous: Option<&PlanDigest>| {
        let chans = vec![
            channel(src, 100_000_000, 95_000_000),
            channel(a, 10_000_000, 500_000),
            channel(b, 10_000_000, 500_000),
        ];
        let mut snap = crate::analyze::testkit::snapshot(chans, Some(806_000));
        snap.flow = Some(flow_of(&[
            drains(a, 7_000_000, 800),
            drains(b, 7_000_000, b_ppm),
        ]));
        crate::analyze::analyze(&snap, &settings, previous)
    };
    let listed = |plan: &crate::plan::Plan| -> Vec<String> {
        plan.all_actions()
            .iter()
            .filter(|x| x.kind == ActionKind::Rebalance)
            .map(|x| x.id.to_string())
            .collect()
    };
    let (to_a, to_b) = (
        format!("rebalance:{src}>{a}"),
        format!("rebalance:{src}>{b}"),
    );
    let first = plan_of(700, None);
    assert_eq!(listed(&first), std::slice::from_ref(&to_a));
    // b now nets 1,845 sat against a's 1,800: a fresh look lists b, but a stays listed.
    assert_eq!(listed(&plan_of(820, None)), std::slice::from_ref(&to_b));
    let digest = PlanDigest::of(&first);
    assert_eq!(
        listed(&plan_of(820, Some(&digest))),
        std::slice::from_ref(&to_a)
    );
    // At 1,100 ppm b nets 2,700 sat, over 25 % more: it takes the place.
    assert_eq!(listed(&plan_of(1_100, Some(&digest))), [to_b]);
}

#[test]
fn a_sink_that_earns_nothing_gets_nothing() {
    let (src, dst) = (scid(800_000, 1), scid(800_000, 2));
    let chans = [
        channel(src, 2_000_000, 1_800_000),
        channel(dst, 2_000_000, 200_000),
    ];
    // Routed nothing out: no demand.
    assert!(outcome(&chans, &[]).actions.is_empty());
    // Routed out at 0 ppm: nothing to earn.
    assert!(outcome(&chans, &[drains(dst, 1_400_000, 0)])
        .actions
        .is_empty());
    // Without history: unknown, nothing.
    let views: Vec<_> = chans.iter().map(|c| view(c, Some(806_000))).collect();
    assert!(recommend(&views, &AnalysisSettings::default(), None)
        .actions
        .is_empty());
}

#[test]
fn the_source_s_own_earnings_and_the_minimum_benefit_decide() {
    let (src, dst) = (scid(800_000, 1), scid(800_000, 2));
    let chans = [
        channel(src, 10_000_000, 9_000_000),
        channel(dst, 10_000_000, 1_000_000),
    ];
    // The amount follows the sink's demand: 100k sat/day × 30 days = 3M sat.
    let events = [drains(dst, 700_000, 800)];
    let out = outcome(&chans, &events);
    assert_eq!(out.actions[0].amount_sat, Some(3_000_000));
    // The source earns 700 ppm on its outflow, the sink 800: 2,400 − 2,100 − 150 = 150 sat
    // net, below the 500 sat minimum.
    let events = [drains(dst, 700_000, 800), drains(src, 10_000, 700)];
    assert!(outcome(&chans, &events).actions.is_empty());
}

#[test]
fn one_pair_per_sink_and_no_fan_out_and_a_limit() {
    let src = scid(800_000, 1);
    let mut chans = vec![channel(src, 100_000_000, 95_000_000)];
    let mut events = Vec::new();
    for i in 2..6 {
        let id = scid(800_000, i);
        chans.push(channel(id, 10_000_000, 500_000));
        events.push(drains(id, 7_000_000, 500 + i * 10));
    }
    let out = outcome(&chans, &events);
    assert_eq!(out.actions.len(), MAX_PAIRS_PER_SOURCE);
    // The best sinks (highest earned ppm) get the source; the others are unmatched.
    let sinks: Vec<u64> = out.actions.iter().map(|a| a.chan_ids[1]).collect();
    assert_eq!(sinks, vec![scid(800_000, 5), scid(800_000, 4)]);
    assert_eq!(out.unmatched.len(), 2);
    let settings = AnalysisSettings {
        max_rebalance_actions: 1,
        ..AnalysisSettings::default()
    };
    let flow = flow_of(&events);
    let views: Vec<_> = chans
        .iter()
        .map(|c| flow_view(c, Some(806_000), &flow))
        .collect();
    let limited = recommend(&views, &settings, None);
    assert_eq!(limited.actions.len(), 1);
    assert_eq!(limited.left_out, 1);
}

#[test]
fn inactive_and_same_peer_channels_are_not_paired() {
    let (src, dst) = (scid(800_000, 1), scid(800_000, 2));
    let events = [drains(dst, 1_400_000, 800)];
    let mut offline = channel(dst, 2_000_000, 100_000);
    offline.active = false;
    assert!(
        outcome(&[channel(src, 2_000_000, 1_900_000), offline], &events)
            .actions
            .is_empty()
    );
    let mut same_peer = channel(dst, 2_000_000, 100_000);
    same_peer.remote_pubkey = format!("02{:064x}", src).into();
    let out = outcome(&[channel(src, 2_000_000, 1_900_000), same_peer], &events);
    assert!(out.actions.is_empty());
    assert_eq!(out.unmatched.len(), 1);
}

#[test]
fn a_channel_with_an_htlc_near_expiry_gets_no_rebalance() {
    let (src, dst) = (scid(800_000, 1), scid(800_000, 2));
    let events = [drains(dst, 7_000_000, 800)];
    let mut settling = channel(dst, 10_000_000, 1_000_000);
    // Expires 10 blocks after the snapshot's 806,000: LND may go on-chain within blocks.
    settling.pending_htlcs.push(htlc(0, false, 50_000, 806_010));
    crate::analyze::testkit::settle_balances(&mut settling);
    let source = channel(src, 10_000_000, 9_000_000);
    assert!(outcome(&[source.clone(), settling.clone()], &events)
        .actions
        .is_empty());
    // The same HTLC far from expiry leaves the rebalance in place.
    settling.pending_htlcs[0].expiration_height = 807_000;
    assert_eq!(outcome(&[source, settling], &events).actions.len(), 1);
}

/// The plain scan the pairing replaces: each sink takes the first source that pairs.
fn pairs_by_scan(views: &[ChannelView<'_>], settings: &AnalysisSettings) -> Vec<(u64, u64)> {
    let (sources, sinks) = candidates(views, settings);
    let min = settings.rebalance.min_amount_sat.max(1);
    let mut left: Vec<u64> = sources.iter().map(|s| s.amount_sat).collect();
    let mut used = vec![0usize; sources.len()];
    let mut pairs = Vec::new();
    for sink in &sinks {
        let found = sources.iter().enumerate().find_map(|(i, source)| {
            if used[i] >= MAX_PAIRS_PER_SOURCE
                || left[i] < min
                || sink.view.channel.remote_pubkey == source.view.channel.remote_pubkey
            {
                return None;
            }
            let amount = left[i].min(sink.amount_sat);
            economics(amount, sink.earned_ppm, source.earned_ppm, settings).map(|_| (i, amount))
        });
        if let Some((i, amount)) = found {
            left[i] -= amount;
            used[i] += 1;
            pairs.push((sources[i].view.chan_id(), sink.view.chan_id()));
        }
    }
    pairs
}

#[test]
fn pruned_pairing_matches_the_plain_scan() {
    // Many equal rates and amounts (ties), shared peers, and sinks too small to pay.
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = |n: u64| {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1);
        (state >> 33) % n
    };
    for _ in 0..20 {
        let mut chans = Vec::new();
        let mut events = Vec::new();
        for i in 0..120 {
            let id = scid(800_000, i + 1);
            let capacity = [1_000_000, 5_000_000, 10_000_000][next(3) as usize];
            let local = capacity * next(101) / 100;
            let mut ch = channel(id, capacity, local);
            ch.remote_pubkey = format!("02{:064x}", next(40)).into();
            chans.push(ch);
            if next(3) > 0 {
                let ppm = [0, 100, 300, 300, 800, 1_500][next(6) as usize];
                events.push(drains(id, 100_000 * (1 + next(60)), ppm));
            }
        }
        let flow = flow_of(&events);
        let views: Vec<_> = chans
            .iter()
            .map(|c| flow_view(c, Some(806_000), &flow))
            .collect();
        let settings = AnalysisSettings {
            max_rebalance_actions: 1_000,
            ..AnalysisSettings::default()
        };
        let mut got: Vec<(u64, u64)> = recommend(&views, &settings, None)
            .actions
            .iter()
            .map(|a| (a.chan_ids[0], a.chan_ids[1]))
            .collect();
        let mut want = pairs_by_scan(&views, &settings);
        assert!(!want.is_empty());
        got.sort_unstable();
        want.sort_unstable();
        assert_eq!(got, want);
    }
}

#[test]
fn economics_never_gives_a_zero_budget() {
    let s = AnalysisSettings::default();
    assert_eq!(economics(100_000, 1, 0, &s), None);
    assert_eq!(economics(1_000_000, 800, 900, &s), None);
    // 800 − 100 − 350 = 350 sat net: below the 500 sat minimum.
    assert_eq!(economics(1_000_000, 800, 100, &s), None);
    let e = economics(2_000_000, 800, 100, &s).unwrap();
    assert_eq!(
        (
            e.gross_sat,
            e.lost_sat,
            e.budget_ppm,
            e.budget_sat,
            e.net_sat
        ),
        (1_600, 200, 350, 700, 700)
    );
    // max_fee_ppm caps the budget.
    let e = economics(1_000_000, 3_000, 0, &s).unwrap();
    assert_eq!(e.budget_ppm, 500);
}
