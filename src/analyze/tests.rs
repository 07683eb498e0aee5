//! Unit tests of the whole analysis: determinism, ordering, routing, changes and summary.

use std::sync::Arc;

use super::node_actions::{ViewIndex, MAX_PRIORITY_ADVISORIES};
use super::*;
use crate::plan::{sort_actions, Changes};
use testkit::{channel, htlc, settle_balances, snapshot};

#[test]
fn generated_at_comes_from_the_snapshot() {
    assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
    assert_eq!(rfc3339(-5), "1970-01-01T00:00:00Z");
    assert_eq!(rfc3339(i64::MAX), "9999-12-31T23:59:59Z");
}

#[test]
fn ppm_rounds_up_and_saturates() {
    assert_eq!(ppm_of(1_000_000, 1), 1);
    assert_eq!(ppm_of(1, 1), 1);
    assert_eq!(ppm_of(0, 500), 0);
    assert_eq!(ppm_of(u64::MAX, u64::MAX), u64::MAX);
}

fn mixed_node() -> NodeSnapshot {
    let mut dusty = channel(3, 2_000_000, 1_000_000);
    for i in 0..4 {
        dusty.pending_htlcs.push(htlc(i, false, 300, 800_100));
    }
    settle_balances(&mut dusty);
    let mut snap = snapshot(
        vec![
            channel(9, 2_000_000, 1_900_000),
            channel(1, 2_000_000, 50_000),
            dusty,
        ],
        Some(800_000),
    );
    // Channel 1 routes out 100k sat/day at 1,500 ppm: a sink worth refilling.
    snap.flow = Some(testkit::flow_of(&[testkit::forward(
        86_400, 77, 1, 700_000, 1_500,
    )]));
    snap
}

#[test]
fn analysis_is_deterministic_and_ordered() {
    let settings = AnalysisSettings::default();
    let snap = mixed_node();
    let a = analyze(&snap, &settings, None);
    let b = analyze(&snap, &settings, None);
    assert_eq!(
        serde_json::to_string(&a).unwrap(),
        serde_json::to_string(&b).unwrap()
    );
    let ids: Vec<ChanId> = a.channels.iter().map(|c| c.chan_id).collect();
    assert_eq!(ids, vec![1, 3, 9]);
    // The top actions are in the documented total order.
    let mut sorted = a.priority_actions.clone();
    sort_actions(&mut sorted);
    assert_eq!(sorted, a.priority_actions);
    assert!(a.priority_actions.len() <= PRIORITY_ACTIONS_LIMIT);
}

/// A generated 400-channel node with ~6 pending HTLCs per channel (2 % of channels full):
/// enough channels and actions for every recommender to speak.
fn generated_node() -> NodeSnapshot {
    let mut sim = crate::sim::Simulation::generate(&crate::sim::ScenarioConfig {
        channels: 400,
        seed: 7,
        start_unix: 1_750_000_000,
        max_fee_exposure_sat: crate::sim::DEFAULT_MAX_FEE_EXPOSURE_SAT,
    });
    sim.add_htlc_load(&crate::sim::HtlcLoad {
        mean_per_channel: 6.0,
        saturated_share: 0.02,
    });
    crate::sim::answers::snapshot(&sim.node, false)
}

#[test]
fn the_plan_does_not_depend_on_how_many_threads_analyse_it() {
    let snap = generated_node();
    let settings = AnalysisSettings::default();
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| serde_json::to_string(&analyze(&snap, &settings, None)).unwrap())
    };
    let one = run(1);
    // Action ids start with their kind.
    assert!(one.contains("\"raise_min_htlc:") || one.contains("\"hold_off_force_close:"));
    assert_eq!(run(4), one);
    assert_eq!(run(3), one);
}

#[test]
fn sections_list_their_actions_in_the_node_wide_order() {
    // The sections are built from the recommenders' lists, before the node-wide sort: each
    // puts its own actions in order, which must agree with the node-wide list.
    // Every channel counts as near its exposure limit, so dusty channels get `raise_min_htlc`
    // beside their other actions and many sections hold several.
    let snap = generated_node();
    let settings = AnalysisSettings {
        exposure_warn_ratio: 0.0,
        ..AnalysisSettings::default()
    };
    let plan = analyze(&snap, &settings, None);
    let mut node_wide: Vec<Action> = plan.all_actions().into_iter().cloned().collect();
    sort_actions(&mut node_wide);
    let place: std::collections::HashMap<&str, usize> = node_wide
        .iter()
        .enumerate()
        .map(|(i, a)| (&*a.id, i))
        .collect();
    let mut with_several = 0;
    for section in &plan.channels {
        let places: Vec<usize> = section
            .recommendations
            .actions
            .iter()
            .map(|a| place[&*a.id])
            .collect();
        assert!(
            places.is_sorted(),
            "channel {}: {places:?}",
            section.chan_id
        );
        with_several += usize::from(places.len() > 1);
    }
    assert!(
        with_several > 10,
        "{with_several} sections with several actions"
    );
    // The top actions are the first of the node-wide order, but advisories keep at most
    // half the places while other actions wait.
    let advisory = |a: &&Action| a.lnd_support == LndSupport::Advisory;
    let top_advisories = plan.priority_actions.iter().filter(advisory).count();
    assert!(
        top_advisories <= MAX_PRIORITY_ADVISORIES,
        "{top_advisories}"
    );
    let mut want: Vec<Action> = node_wide
        .iter()
        .filter(advisory)
        .take(top_advisories)
        .chain(
            node_wide
                .iter()
                .filter(|a| !advisory(a))
                .take(PRIORITY_ACTIONS_LIMIT - top_advisories),
        )
        .cloned()
        .collect();
    sort_actions(&mut want);
    assert_eq!(plan.priority_actions, want);
}

/// Routing by channel id, whether the views are in id order (a normalized snapshot, which
/// is searched as it is) or not (which takes the sorted copy): each action goes to every
/// view it names, the first of a repeated id, and an unknown id goes nowhere.
#[test]
fn routes_give_each_action_to_the_views_it_names_in_any_view_order() {
    let settings = AnalysisSettings::default();
    let params = DustParams::default();
    let ids_of = |chan_ids: &[ChanId]| -> Action {
        let views: Vec<ChannelView<'_>> = Vec::new();
        let mut a = new_action(
            ActionKind::Rebalance,
            &views.iter().collect::<Vec<_>>(),
            None,
        );
        a.chan_ids = chan_ids.iter().copied().collect();
        a
    };
    // Held in parts, an empty one among them, as the recommenders' lists are.
    let actions = NodeActions::new([
        vec![ids_of(&[1])],
        vec![ids_of(&[9, 3]), ids_of(&[7])],
        Vec::new(),
        vec![ids_of(&[3])],
    ]);
    assert_eq!(actions.len(), 4);
    let named: Vec<&[ChanId]> = (0..4).map(|p| actions.get(p).chan_ids.as_slice()).collect();
    assert_eq!(named, [&[1][..], &[9, 3], &[7], &[3]]);
    for order in [[1, 1, 3, 9], [9, 1, 3, 1]] {
        let channels: Vec<Channel> = order
            .iter()
            .map(|&id| channel(id, 2_000_000, 1_000_000))
            .collect();
        let views: Vec<ChannelView<'_>> = channels
            .iter()
            .map(|c| ChannelView::new(c, None, &params, &settings))
            .collect();
        let routes = Routes::new(&views, &actions);
        let first = |id: ChanId| order.iter().position(|&o| o == id).unwrap();
        let mut want: Vec<Vec<usize>> = vec![Vec::new(); order.len()];
        want[first(1)].push(0);
        want[first(9)].push(1);
        want[first(3)].extend([1, 3]);
        let got: Vec<Vec<usize>> = (0..order.len()).map(|v| routes.of(v).to_vec()).collect();
        assert_eq!(got, want, "views in the order {order:?}");
    }
}

/// The view index finds the first view of every id a node has, and no view for ids it
/// has not, whether the views are in id order (compact index) or not (sorted pairs): ids
/// shaped like short channel ids (block height, transaction, output), repeated ones, and
/// ids just outside and between them.
#[test]
fn the_view_index_finds_the_first_view_of_each_id() {
    let settings = AnalysisSettings::default();
    let params = DustParams::default();
    let scid = |block: u64, tx: u64, out: u64| (block << 40) | (tx << 16) | out;
    let mut ids: Vec<ChanId> = (0..300u64)
        .map(|i| scid(700_000 + i * i % 997, (i * 7919) % 3000, i % 3))
        .collect();
    ids.extend([ids[5], ids[5], ids[77]]);
    ids.sort_unstable();
    let channels: Vec<Channel> = ids
        .iter()
        .map(|&id| channel(id, 2_000_000, 1_000_000))
        .collect();
    let mut probes: Vec<ChanId> = ids.clone();
    probes.extend(ids.iter().flat_map(|&id| [id.wrapping_sub(1), id + 1]));
    probes.extend([0, 1, u64::MAX, scid(699_999, 0, 0), scid(800_000, 0, 0)]);
    for reversed in [false, true] {
        let mut views: Vec<ChannelView<'_>> = channels
            .iter()
            .map(|c| ChannelView::new(c, None, &params, &settings))
            .collect();
        if reversed {
            views.reverse();
        }
        let index = ViewIndex::new(&views);
        assert_eq!(matches!(index, ViewIndex::InOrder { .. }), !reversed);
        for &id in &probes {
            let want = views.iter().position(|v| v.chan_id() == id);
            assert_eq!(index.find(id), want, "id {id}, reversed {reversed}");
        }
    }
    let none: Vec<ChannelView<'_>> = Vec::new();
    assert_eq!(ViewIndex::new(&none).find(5), None);
}

#[test]
fn described_actions_read_back_as_the_same_plan_and_bytes() {
    let plan = analyze(&mixed_node(), &AnalysisSettings::default(), None);
    let described = plan
        .all_actions()
        .iter()
        .filter(|a| matches!(a.wording, Wording::Described(_)))
        .count();
    assert!(described >= 2, "the mixed node has described actions");
    let json = serde_json::to_string_pretty(&plan).unwrap();
    let read = crate::plan::read_plan(&json).unwrap();
    assert!(read
        .all_actions()
        .iter()
        .all(|a| matches!(a.wording, Wording::Written(_))));
    // The plan file leaves out rows with nothing to say (fee spikes under the limit), so the
    // actions are compared, not the whole plan.
    assert_eq!(read.all_actions(), plan.all_actions());
    assert_eq!(serde_json::to_string_pretty(&read).unwrap(), json);
    // Describing is repeatable: the words do not change between reads.
    let a = plan.all_actions()[0].clone();
    assert_eq!(a.text(), a.text());
    assert!(!a.text().rationale.is_empty());
}

#[test]
fn action_ids_are_unique_and_shared_actions_appear_in_each_channel() {
    let plan = analyze(&mixed_node(), &AnalysisSettings::default(), None);
    let all = plan.all_actions();
    assert_eq!(plan.summary.recommended_actions as usize, all.len());
    let rebalance = all
        .iter()
        .find(|a| a.kind == ActionKind::Rebalance)
        .expect("the 95% and 2.5% channels pair up");
    assert_eq!(rebalance.chan_ids.as_slice(), [9, 1]);
    for chan in &rebalance.chan_ids {
        let ch = plan.channels.iter().find(|c| &c.chan_id == chan).unwrap();
        assert!(ch
            .recommendations
            .actions
            .iter()
            .any(|a| a.id == rebalance.id));
    }
}

#[test]
fn changes_compare_action_ids_with_the_previous_plan() {
    let settings = AnalysisSettings::default();
    let first = analyze(&mixed_node(), &settings, None);
    assert!(first.changes.previous_generated_at.is_none());
    assert_eq!(first.changes.new.len(), first.all_actions().len());

    // Same situation a cycle later, balances moved a little: nothing new, nothing resolved.
    let mut later = mixed_node();
    later.taken_at_unix += 60;
    later.channels[2].local_balance_sat -= 10_000;
    settle_balances(&mut later.channels[2]);
    let second = analyze(&later, &settings, Some(&PlanDigest::of(&first)));
    assert_eq!(
        second.changes.previous_generated_at.as_deref(),
        Some(first.generated_at.as_str())
    );
    assert!(second.changes.new.is_empty(), "{:?}", second.changes.new);
    assert!(
        second.changes.resolved.is_empty(),
        "{:?}",
        second.changes.resolved
    );
    assert_eq!(second.changes.unchanged.len(), first.all_actions().len());

    // The imbalance is fixed: the rebalance is resolved.
    let mut fixed = mixed_node();
    fixed.channels.retain(|c| c.chan_id == 3);
    let third = analyze(&fixed, &settings, Some(&PlanDigest::of(&first)));
    assert!(third
        .changes
        .resolved
        .iter()
        .any(|id| id.starts_with("rebalance:")));
}

/// `changes` by its definition: set differences of the two plans' action ids.
fn changes_by_definition(current: &Plan, previous: &Plan) -> Changes {
    let ids = |plan: &Plan| -> std::collections::BTreeSet<Arc<str>> {
        plan.all_actions().iter().map(|a| a.id.clone()).collect()
    };
    let (now, before) = (ids(current), ids(previous));
    Changes {
        previous_generated_at: Some(previous.generated_at.clone()),
        new: now.difference(&before).cloned().collect(),
        resolved: before.difference(&now).cloned().collect(),
        unchanged: now.intersection(&before).cloned().collect(),
    }
}

#[test]
fn changes_from_a_digest_are_those_of_the_whole_previous_plan() {
    let settings = AnalysisSettings::default();
    let first = analyze(&mixed_node(), &settings, None);
    // Some actions stay, some go (channel 9 closed), some come (channel 5 opened).
    let mut later = mixed_node();
    later.taken_at_unix += 60;
    later.channels.retain(|c| c.chan_id != 9);
    later.channels.push(channel(5, 2_000_000, 1_950_000));
    later.normalize();
    let digest = PlanDigest::of(&first);
    let read = PlanDigest::from_reader(serde_json::to_vec(&first).unwrap().as_slice())
        .expect("a plan reads back as a digest");
    assert_eq!(read, digest);
    let second = analyze(&later, &settings, Some(&digest));
    let want = changes_by_definition(&second, &first);
    assert_eq!(second.changes, want);
    assert!(
        !want.new.is_empty() && !want.resolved.is_empty() && !want.unchanged.is_empty(),
        "{want:?}"
    );
    assert_eq!(analyze(&later, &settings, Some(&read)), second);
}

#[test]
fn summary_counts_dust_and_statuses() {
    let plan = analyze(&mixed_node(), &AnalysisSettings::default(), None);
    let s = &plan.summary;
    assert_eq!(s.total_channels, 3);
    assert_eq!(s.total_capacity_sat, 6_000_000);
    assert_eq!(s.total_dust_sat, 1_200);
    assert_eq!(
        s.channels_by_status.healthy
            + s.channels_by_status.attention_needed
            + s.channels_by_status.unhealthy,
        3
    );
    assert!(s.estimated_recovery_sat <= s.total_dust_sat);
    assert_eq!(plan.source.exposure_limit.max_fee_exposure_sat, 500_000);
}

#[test]
fn empty_node_gives_an_empty_plan() {
    let plan = analyze(&snapshot(vec![], None), &AnalysisSettings::default(), None);
    assert!(plan.channels.is_empty());
    assert!(plan.priority_actions.is_empty());
    assert_eq!(plan.summary.dust_ratio, 0.0);
    assert_eq!(plan.summary.average_health_score, 0.0);
    assert_eq!(plan.summary.highest_fee_exposure_chan_id, None);
}

/// The `channel_inactive` alert and the channel's `inactive` issue follow one rule: an offline
/// peer with nothing pending and uptime not judged low is a note and raises no alert; HTLCs
/// pending or low uptime keep the issue and raise the warning, which says why.
#[test]
fn an_inactive_alert_agrees_with_the_channel_section() {
    let quiet = {
        let mut ch = channel(1, 2_000_000, 1_000_000);
        ch.active = false;
        ch
    };
    let pending = {
        let mut ch = channel(2, 2_000_000, 1_000_000);
        ch.active = false;
        ch.pending_htlcs.push(htlc(0, false, 40_000, 801_000));
        settle_balances(&mut ch);
        ch
    };
    let flaky = {
        let mut ch = channel(3, 2_000_000, 1_000_000);
        ch.active = false;
        ch.lifetime_secs = 20 * 86_400;
        ch.uptime_secs = 8 * 86_400;
        ch
    };
    let snap = snapshot(vec![quiet, pending, flaky], Some(800_000));
    let plan = analyze(&snap, &AnalysisSettings::default(), None);
    let alert = |chan_id: u64| {
        plan.alerts
            .iter()
            .find(|a| {
                a.code == crate::plan::AlertCode::ChannelInactive && a.chan_id == Some(chan_id)
            })
            .map(|a| a.message.to_string())
    };
    for c in &plan.channels {
        let issue = c.health.issues.contains(&crate::plan::Issue::Inactive);
        let note = c.notes.iter().any(|n| n.starts_with("inactive"));
        assert_eq!(
            issue,
            alert(c.chan_id).is_some(),
            "{}: {:?}",
            c.chan_id,
            plan.alerts
        );
        assert_ne!(
            issue, note,
            "{}: {:?} {:?}",
            c.chan_id, c.health.issues, c.notes
        );
    }
    assert_eq!(alert(1), None);
    let with_htlc = alert(2).expect("an HTLC pending on an offline channel");
    assert!(
        with_htlc.contains("1 pending HTLC (40,000 sat)"),
        "{with_htlc}"
    );
    let low_uptime = alert(3).expect("a peer away 60 % of the time");
    assert!(
        low_uptime.contains("online 40% of the 20 days"),
        "{low_uptime}"
    );
    // The text report lists the two with the warning and counts the quiet one as notes only.
    let text = crate::plan::render_table(&plan);
    assert_eq!(plan.summary.channels_needing_attention, 2);
    assert!(
        text.contains("2 need attention (listed below), 1 with notes only"),
        "{text}"
    );
}
