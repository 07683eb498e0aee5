//! Hand-built situations, each a small node saved as `lncli` JSON (listchannels, getinfo,
//! feereport, fwdinghistory) under `tests/fixtures/advice/<case>/`, with what an experienced
//! LND routing-node operator would do about it, and what they would not.
//!
//! The fixtures come from a short generator (kept out of the tree); each case's numbers are
//! described next to its test.

use std::collections::BTreeSet;

use dustwatch::analyze::analyze;
use dustwatch::plan::{ActionKind, Issue, LndSupport, Plan};
use dustwatch::settings::AnalysisSettings;
use dustwatch::snapshot::lncli::{apply_fwdinghistory_file, snapshot_from_files, LncliFiles};

/// The snapshot time the forwarding histories were written against.
const T: i64 = 1_790_000_000;
const HEIGHT: u64 = 880_000;

fn scid(block: u64, tx: u64) -> u64 {
    (block << 40) | (tx << 16)
}

fn plan_with(case: &str, history: bool, settings: &AnalysisSettings) -> Plan {
    let dir = format!("tests/fixtures/advice/{case}");
    let files = LncliFiles {
        listchannels: format!("{dir}/listchannels.json").into(),
        getinfo: Some(format!("{dir}/getinfo.json").into()),
        pendingchannels: None,
        feereport: Some(format!("{dir}/feereport.json").into()),
    };
    let mut snapshot = snapshot_from_files(&files, T).expect("fixtures read");
    assert_eq!(snapshot.node.block_height, Some(HEIGHT as u32));
    if history {
        apply_fwdinghistory_file(
            &mut snapshot,
            format!("{dir}/fwdinghistory.json").as_ref(),
            settings.flow_window.as_secs(),
        )
        .expect("forwarding history reads");
    }
    assert!(snapshot.warnings.is_empty(), "{:?}", snapshot.warnings);
    let plan = analyze(&snapshot, settings, None);
    every_action_pays_for_itself(&plan, settings);
    plan
}

fn plan(case: &str) -> Plan {
    plan_with(case, true, &AnalysisSettings::default())
}

/// `kind:chan,chan` for every action of the plan.
fn actions(plan: &Plan) -> BTreeSet<String> {
    plan.all_actions()
        .iter()
        .map(|a| {
            let ids: Vec<String> = a.chan_ids.iter().map(u64::to_string).collect();
            format!("{}:{}", a.kind.as_str(), ids.join(","))
        })
        .collect()
}

fn has(plan: &Plan, kind: ActionKind, chan_ids: &[u64]) -> bool {
    plan.all_actions()
        .iter()
        .any(|a| a.kind == kind && a.chan_ids.as_slice() == chan_ids)
}

fn involves(plan: &Plan, kind: ActionKind, chan_id: u64) -> bool {
    plan.all_actions()
        .iter()
        .any(|a| a.kind == kind && a.chan_ids.contains(&chan_id))
}

/// What no operator would act on, in any situation: an action worth less than it costs or
/// than `min_action_benefit_sat` (unless it protects funds), a 0 fee budget in a command, a
/// Loop Out with nothing to gain.
fn every_action_pays_for_itself(plan: &Plan, settings: &AnalysisSettings) {
    for a in plan.all_actions() {
        let protects = matches!(
            a.kind,
            ActionKind::RaiseMinHtlc
                | ActionKind::HoldOffForceClose
                | ActionKind::SetMaxFeeExposure
        );
        assert!(
            protects
                || a.expected_benefit_sat >= a.expected_cost_sat + settings.min_action_benefit_sat,
            "{} is worth {} for a cost of {}",
            a.id,
            a.expected_benefit_sat,
            a.expected_cost_sat
        );
        assert_ne!(a.kind, ActionKind::SpliceOut, "{}", a.id);
        for command in &a.text().commands {
            assert!(
                !command.line.contains("--max-fee 0")
                    && !command.line.contains("--max-fee-rate 0")
                    && !command.line.contains("--fee_limit 0"),
                "{}",
                command.line
            );
        }
        if a.kind == ActionKind::Rebalance {
            assert!(a.expected_cost_sat > 0, "{} has no fee budget", a.id);
        }
    }
    let advisories = plan
        .priority_actions
        .iter()
        .filter(|a| a.lnd_support == LndSupport::Advisory)
        .count();
    assert!(
        advisories <= 5,
        "{advisories} advisories in the top actions"
    );
}

/// A channel that routed 4M sat 40–45 days ago and nothing since, on an LND restarted an hour
/// ago (lifetime 1 h, all-time totals 100M sat): idle, so closed; not overutilized, and not
/// given more capacity. Its neighbour routes steadily and is left alone.
#[test]
fn a_dead_channel_with_old_flow_and_a_restarted_lnd_is_idle_not_overutilized() {
    let (dead, steady) = (scid(860_000, 1), scid(850_000, 2));
    let plan = plan("dead_channel_restarted_lnd");
    let ghost = plan.channels.iter().find(|c| c.chan_id == dead).unwrap();
    assert!(
        ghost.health.issues.contains(&Issue::Underutilized),
        "{:?}",
        ghost.health.issues
    );
    assert!(!ghost.health.issues.contains(&Issue::Overutilized));
    assert_eq!(ghost.health.daily_turnover, 0.0);
    let flow = ghost.flow.expect("the plan shows the channel's flow");
    assert_eq!((flow.window.forwards, flow.long.forwards), (0, 0));
    assert!(
        has(&plan, ActionKind::Close, &[dead]),
        "{:?}",
        actions(&plan)
    );
    let close = plan
        .all_actions()
        .into_iter()
        .find(|a| a.kind == ActionKind::Close)
        .unwrap();
    assert!(close
        .text()
        .rationale
        .contains("no forward either way in the last 30 days"));
    // Not what an operator would do: grow it, or rebalance into it.
    assert!(!involves(&plan, ActionKind::SpliceIn, dead));
    assert!(!involves(&plan, ActionKind::Rebalance, dead));
    // The steady channel: windowed flow, no action.
    let eddie = plan.channels.iter().find(|c| c.chan_id == steady).unwrap();
    assert_eq!(eddie.flow.unwrap().window.out_sat, 2_300_000);
    assert!(
        eddie.recommendations.actions.is_empty(),
        "{:?}",
        actions(&plan)
    );
}

/// A sink that routed 7M sat out in the week, all at 0 ppm, next to a 90 % full channel: a
/// rebalance into it earns nothing, so none is suggested (nor a budget for one).
#[test]
fn a_sink_at_zero_ppm_gets_no_rebalance() {
    let free = scid(861_000, 4);
    let plan = plan("zero_ppm_sink");
    assert!(
        !involves(&plan, ActionKind::Rebalance, free),
        "{:?}",
        actions(&plan)
    );
    assert!(plan.all_actions().is_empty(), "{:?}", actions(&plan));
}

/// A sink at 10 % local routing out 1M sat a day at 800 ppm; a 90 % full source that routed
/// nothing this week (50k sat three weeks ago), and another 90 % full one that earns 700 ppm
/// on its own outflow. The rebalance comes from the cheap idle source, within a budget the
/// sink's fees pay for; the busy source keeps its liquidity.
#[test]
fn a_busy_800_ppm_sink_draining_fast_gets_a_rebalance_from_a_cheap_idle_source() {
    let (idle, busy, pricey) = (scid(860_000, 5), scid(861_000, 6), scid(862_000, 7));
    let plan = plan("busy_sink_800ppm");
    assert!(
        has(&plan, ActionKind::Rebalance, &[idle, busy]),
        "{:?}",
        actions(&plan)
    );
    assert!(
        !involves(&plan, ActionKind::Rebalance, pricey),
        "{:?}",
        actions(&plan)
    );
    let rebalance = plan
        .all_actions()
        .into_iter()
        .find(|a| a.kind == ActionKind::Rebalance)
        .unwrap();
    let amount = rebalance.amount_sat.unwrap();
    assert!((50_000..=4_000_000).contains(&amount), "{amount}");
    // 800 ppm earned, 0 lost at the source, half the margin (400 ppm) as the budget.
    assert_eq!(rebalance.expected_benefit_sat, amount * 800 / 1_000_000);
    assert_eq!(rebalance.expected_cost_sat, amount * 400 / 1_000_000);
    let bos = &rebalance.text().commands[0].line;
    assert!(
        bos.contains(&format!(
            "--max-fee {} --max-fee-rate 400",
            rebalance.expected_cost_sat
        )),
        "{bos}"
    );
    // The idle source is not closed while its liquidity is wanted (it routed 3 weeks ago).
    assert!(!has(&plan, ActionKind::Close, &[idle]));
    // The plan's flow figures are the window's.
    let hub = plan.channels.iter().find(|c| c.chan_id == busy).unwrap();
    let flow = hub.flow.unwrap();
    assert_eq!(
        (flow.window.out_sat, flow.window.fee_msat),
        (7_000_000, 5_600_000)
    );
    assert_eq!(flow.days, 7.0);
}

/// The same node without forwarding history: flow is unknown, so nothing rests on it.
#[test]
fn without_forwarding_history_flow_judgements_are_unknown() {
    let plan = plan_with("busy_sink_800ppm", false, &AnalysisSettings::default());
    assert!(plan.summary.flow_unknown.is_some());
    assert!(plan.all_actions().is_empty(), "{:?}", actions(&plan));
    for c in &plan.channels {
        assert!(c.flow.is_none());
        assert!(
            !c.health
                .issues
                .iter()
                .any(|i| matches!(i, Issue::Underutilized | Issue::Overutilized)),
            "{:?}",
            c.health.issues
        );
    }
    let text = dustwatch::plan::render_table(&plan);
    assert!(
        text.contains("flow unknown: no forwarding history"),
        "{text}"
    );
}

/// LND reports a 100,000 sat fee-exposure limit; a static-remote-key channel at 12,500 sat/kw
/// has nine outgoing 8,000 sat HTLCs, all trimmed (72,000 sat of exposure). Next to it a
/// rebalance that pays well. Protecting funds comes first.
#[test]
fn a_channel_near_the_exposure_limit_gets_the_limit_or_min_htlc_first() {
    let near = scid(855_000, 8);
    let settings = AnalysisSettings {
        max_fee_exposure_sat: 100_000,
        ..AnalysisSettings::default()
    };
    let plan = plan_with("near_exposure_limit", true, &settings);
    assert!(
        involves(&plan, ActionKind::Rebalance, scid(861_000, 10)),
        "{:?}",
        actions(&plan)
    );
    let first = &plan.priority_actions[0];
    assert!(
        matches!(
            first.kind,
            ActionKind::SetMaxFeeExposure | ActionKind::RaiseMinHtlc
        ),
        "{:?}",
        plan.priority_actions
            .iter()
            .map(|a| &a.id)
            .collect::<Vec<_>>()
    );
    let section = plan.channels.iter().find(|c| c.chan_id == near).unwrap();
    assert!(section.health.issues.contains(&Issue::FeeExposureNearLimit));
    assert!(matches!(
        section.recommendations.actions[0].kind,
        ActionKind::SetMaxFeeExposure | ActionKind::RaiseMinHtlc
    ));
}

/// Two channels that never routed: one a week old, one 139 days old, next to one that earned
/// 2,000 sat this week (so the node's capital has a yield to weigh a close against). Only the
/// old one is closed; the young one is noted as too young to judge.
#[test]
fn a_young_channel_is_not_closed_for_idleness() {
    let (young, old) = (scid(879_000, 11), scid(860_000, 12));
    let plan = plan("young_idle_channel");
    assert!(
        !has(&plan, ActionKind::Close, &[young]),
        "{:?}",
        actions(&plan)
    );
    assert!(
        has(&plan, ActionKind::Close, &[old]),
        "{:?}",
        actions(&plan)
    );
    let kid = plan.channels.iter().find(|c| c.chan_id == young).unwrap();
    assert_eq!(kid.flow.unwrap().age_days, Some(6));
    assert!(
        !kid.health.issues.contains(&Issue::Underutilized),
        "{:?}",
        kid.health.issues
    );
    assert!(
        kid.notes.iter().any(|n| n.contains("younger than")),
        "{:?}",
        kid.notes
    );
}

/// The dead channel's close, weighed as an operator would: its 2,000,000 sat earn the node's
/// yield redeployed (1,090 sat of window fees on 3,000,000 sat of local balance over 7 days,
/// for 30 days: 3,114 sat), against closing (177 sat, we opened it) and reopening (177 sat).
/// Over a 3-day horizon the same capital earns 311 sat: no close pays, and the idle channel
/// is an observation, not something needing attention.
#[test]
fn a_close_pays_only_when_the_freed_capital_earns_more_redeployed() {
    let dead = scid(860_000, 1);
    let plan = plan("dead_channel_restarted_lnd");
    let close = plan
        .all_actions()
        .into_iter()
        .find(|a| a.kind == ActionKind::Close)
        .unwrap();
    let redeployed = 2_000_000.0 * 1_090.0 / 3_000_000.0 / 7.0 * 30.0;
    assert!(
        (close.expected_benefit_sat as f64 - redeployed).abs() <= 1.0,
        "{} vs {redeployed}",
        close.expected_benefit_sat
    );
    assert_eq!(close.expected_cost_sat, 354);
    assert!(close.text().benefit_formula.contains("capital yield"));

    let short = AnalysisSettings {
        benefit_horizon_days: 3,
        ..AnalysisSettings::default()
    };
    let plan = plan_with("dead_channel_restarted_lnd", true, &short);
    assert!(
        !involves(&plan, ActionKind::Close, dead),
        "{:?}",
        actions(&plan)
    );
    let ghost = plan.channels.iter().find(|c| c.chan_id == dead).unwrap();
    assert!(ghost.health.issues.is_empty(), "{:?}", ghost.health.issues);
    assert!(
        ghost.notes.iter().any(|n| n.contains("no close pays yet")),
        "{:?}",
        ghost.notes
    );
    assert_eq!(plan.summary.channels_with_notes_only, 1);
    let text = dustwatch::plan::render_table(&plan);
    let attention = text.split("CHANNELS NEEDING ATTENTION").nth(1).unwrap();
    assert!(!attention.contains(&dead.to_string()), "{text}");
    assert!(
        text.contains("0 need attention (listed below), 1 with notes only"),
        "{text}"
    );
}

/// The near-limit node again, with LND's default 500,000 sat limit: the 72,000 sat of dust
/// exposure is 14 % of it. Raising min_htlc there would turn small forwards away to protect
/// nothing, so it is not suggested.
#[test]
fn far_from_the_exposure_limit_min_htlc_is_not_raised() {
    let near = scid(855_000, 8);
    let plan = plan_with("near_exposure_limit", true, &AnalysisSettings::default());
    assert!(
        !involves(&plan, ActionKind::RaiseMinHtlc, near),
        "{:?}",
        actions(&plan)
    );
    let limited = AnalysisSettings {
        max_fee_exposure_sat: 100_000,
        ..AnalysisSettings::default()
    };
    let plan = plan_with("near_exposure_limit", true, &limited);
    let raise = plan
        .all_actions()
        .into_iter()
        .find(|a| a.kind == ActionKind::RaiseMinHtlc)
        .expect("near the limit, min_htlc is raised");
    assert!(raise.text().benefit_formula.starts_with("not a saving"));
}

/// The summary counts what the report lists: on every case, `channels_needing_attention` is
/// the number of rows under CHANNELS NEEDING ATTENTION, the text's channels line says so, and
/// the health score's bands are printed apart from it.
#[test]
fn the_summary_counts_the_channels_the_report_lists() {
    let mut listed_in_all = 0;
    for case in [
        "busy_sink_800ppm",
        "dead_channel_restarted_lnd",
        "near_exposure_limit",
        "young_idle_channel",
        "zero_ppm_sink",
    ] {
        let plan = plan(case);
        let text = dustwatch::plan::render_table(&plan);
        let listed = text
            .split("CHANNELS NEEDING ATTENTION\n")
            .nth(1)
            .unwrap()
            .lines()
            .filter(|l| l.starts_with("  ") && l[2..].starts_with(|c: char| c.is_ascii_digit()))
            .filter(|l| !l.contains("channels with"))
            .count();
        let s = &plan.summary;
        assert_eq!(
            s.channels_needing_attention as usize, listed,
            "{case}: {text}"
        );
        let rest = s.total_channels - s.channels_needing_attention - s.channels_with_notes_only;
        let line = format!(
            "{listed} need attention (listed below), {} with notes only, {rest} with nothing to say",
            s.channels_with_notes_only
        );
        assert!(text.contains(&line), "{case}: {text}");
        assert!(!text.contains("attention_needed"), "{case}: {text}");
        listed_in_all += listed;
    }
    assert!(listed_in_all >= 5, "{listed_in_all}");
}
