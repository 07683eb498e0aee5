//! Close recommendations: channels whose capital would do better elsewhere.
//!
//! Reasons, in the order they are listed:
//! * `low_uptime`: the peer was online less than `close.uptime_below` of LND's monitoring
//!   lifetime, once that lifetime is at least `close.min_observed_days` long, and the channel
//!   is not in the node's top half by windowed flow (revenue outweighs downtime);
//! * `idle`: no forward either way in 30 days (the long flow window), on a channel at least
//!   `close.idle_days` and `analysis.min_channel_age` old by its funding block;
//! * `uneconomical_balance`: the local balance is under `uneconomical_balance_fee_multiple`
//!   cooperative-close fees and the channel is underutilized.
//!
//! All three need forwarding history: without it, nothing is closed. A reason is not enough:
//! the close must also pay ([`CloseEconomics`]). The freed balance is capital moved, not
//! earned; what a close earns is what that capital makes redeployed, less what the channel made.
//!
//! A cooperative close is the recommended route (one ~700-weight transaction, paid by the
//! channel's initiator); the force close is the alternative, with its full cost from the dust
//! engine: fees to miners (trimmed HTLCs included), anchor, second-level HTLC fees, and the
//! CSV delay before our funds come back.

use crate::model::Initiator;
use crate::plan::{
    Action, ActionKind, ActionText, Alternative, Command, Complexity, HealthStatus, Issue, Wording,
};

use crate::settings::AnalysisSettings;

use super::health::uptime_judged;
use super::names::labelled;
use super::{group_thousands, new_action, par_filter_map, ChannelView};

const SECONDS_PER_DAY: u64 = 86_400;

/// No forward either way in the flow window nor in the 30-day window, on a channel at least
/// `close.idle_days` and `analysis.min_channel_age` old (from its funding block: a channel of
/// unknown age is not closed for idleness). Unknown without forwarding history.
pub fn is_idle(view: &ChannelView<'_>, settings: &AnalysisSettings) -> bool {
    let min_age = settings
        .close
        .idle_days
        .saturating_mul(SECONDS_PER_DAY)
        .max(settings.min_channel_age.as_secs());
    view.flow
        .is_some_and(|f| f.window.is_idle() && f.long.is_idle())
        && view.age_secs.is_some_and(|age| age >= min_age)
}

/// Peer online less than `close.uptime_below` of a lifetime long enough to judge, on a channel
/// old enough, and not in the node's top half by windowed flow (whose revenue outweighs the
/// downtime; with flow unknown its revenue is unknown, so uptime alone never closes it).
fn has_low_uptime(view: &ChannelView<'_>, settings: &AnalysisSettings) -> bool {
    view.flow.is_some()
        && !view.top_half_by_flow
        && uptime_judged(view.channel, view.age_secs, settings)
        && view
            .health
            .uptime_ratio
            .is_some_and(|u| u < settings.close.uptime_below)
}

/// A local balance too small to be worth keeping on a channel that is underused (flow known).
fn has_uneconomical_balance(view: &ChannelView<'_>, settings: &AnalysisSettings) -> bool {
    view.flow.is_some()
        && super::health::old_enough(view.age_secs, settings)
        && view
            .health
            .issues
            .contains(&Issue::UneconomicalLocalBalance)
        && view.health.utilization < settings.health.underutilized_below
}

/// True when closing the channel is recommended (a reason, and the close pays): the other
/// recommenders leave such a channel alone, so the plan never suggests rebalancing into or
/// resizing a channel it says to close.
pub fn is_candidate(view: &ChannelView<'_>, settings: &AnalysisSettings) -> bool {
    has_reason(view, settings)
        && CloseEconomics::of(view, settings).is_some_and(|e| e.pays(settings))
}

fn has_reason(view: &ChannelView<'_>, settings: &AnalysisSettings) -> bool {
    has_low_uptime(view, settings)
        || is_idle(view, settings)
        || has_uneconomical_balance(view, settings)
}

/// What a close is worth over `benefit_horizon_days`, as an operator weighs it.
///
/// Benefit: the freed local balance earning the node's demonstrated capital yield
/// (`capital_yield_per_day`) over the horizon, less the fees the channel itself earned at the
/// window's pace over the same horizon. Cost: the cooperative close when we opened the channel,
/// plus reopening the capital elsewhere (one funding transaction, sized like the close, always
/// ours). `None` without forwarding history.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CloseEconomics {
    pub redeployed_sat: u64,
    pub forgone_sat: u64,
    pub close_sat: u64,
    pub reopen_sat: u64,
    pub horizon_days: u64,
    pub yield_ppm_per_day: f64,
}

impl CloseEconomics {
    pub fn of(view: &ChannelView<'_>, settings: &AnalysisSettings) -> Option<Self> {
        let flow = view.flow?;
        let per_day = view.capital_yield_per_day?;
        let ch = view.channel;
        let horizon_days = settings.benefit_horizon_days;
        let days = horizon_days as f64;
        let coop = view.dust.force_close.coop_close_fee_sat;
        // `as` saturates; both products are non-negative.
        let redeployed = (ch.local_balance_sat as f64 * per_day * days).floor() as u64;
        let forgone =
            (flow.window.fee_earned_msat as f64 / 1000.0 / flow.judged_days() * days).ceil() as u64;
        Some(CloseEconomics {
            redeployed_sat: redeployed,
            forgone_sat: forgone,
            close_sat: if matches!(ch.initiator, Initiator::Remote) {
                0
            } else {
                coop
            },
            reopen_sat: coop,
            horizon_days,
            yield_ppm_per_day: per_day * 1e6,
        })
    }

    pub fn benefit_sat(&self) -> u64 {
        self.redeployed_sat.saturating_sub(self.forgone_sat)
    }

    pub fn cost_sat(&self) -> u64 {
        self.close_sat.saturating_add(self.reopen_sat)
    }

    /// Benefit − cost ≥ `min_action_benefit_sat`, the rule every listed action meets.
    pub fn pays(&self, settings: &AnalysisSettings) -> bool {
        self.benefit_sat()
            .checked_sub(self.cost_sat())
            .is_some_and(|net| net >= settings.min_action_benefit_sat)
    }
}

pub fn recommend(views: &[ChannelView<'_>], settings: &AnalysisSettings) -> Vec<Action> {
    par_filter_map(views, |v| close_action(v, settings))
}

fn close_action(view: &ChannelView<'_>, settings: &AnalysisSettings) -> Option<Action> {
    let ch = view.channel;
    let mut reasons = Vec::new();
    let mut priority: u8 = 0;
    if has_low_uptime(view, settings) {
        priority = priority.max(5);
        reasons.push(format!(
            "the peer was online {:.0}% of the last {} days",
            view.health.uptime_ratio.unwrap_or(0.0) * 100.0,
            ch.lifetime_secs / SECONDS_PER_DAY
        ));
    }
    if is_idle(view, settings) {
        priority = priority.max(4);
        reasons.push(format!(
            "no forward either way in the last {} days, on a channel {} days old",
            crate::model::flow::LONG_FLOW_WINDOW_SECS / SECONDS_PER_DAY,
            view.age_secs.unwrap_or(0) / SECONDS_PER_DAY
        ));
    }
    if has_uneconomical_balance(view, settings) {
        priority = priority.max(3);
        reasons.push(format!(
            "the local balance of {} sat is under {} cooperative-close fees and the channel is underused",
            group_thousands(ch.local_balance_sat),
            settings.close.uneconomical_balance_fee_multiple
        ));
    }
    if reasons.is_empty() {
        return None;
    }
    // A close that does not pay is still returned: the caller leaves it out and counts it in
    // `summary.actions_below_min_benefit`.
    let economics = CloseEconomics::of(view, settings)?;
    if view.health.status == HealthStatus::Unhealthy {
        priority += 1;
    }

    let fc = &view.dust.force_close;
    let coop_fee = fc.coop_close_fee_sat;
    let we_pay = !matches!(ch.initiator, Initiator::Remote);
    let cost = economics.cost_sat();
    let mut prerequisites = Vec::new();
    if !ch.active {
        prerequisites.push(
            "the peer online: a cooperative close needs it (it is offline now; while it stays offline \
             only a force close works)"
                .to_string(),
        );
    }
    if !ch.pending_htlcs.is_empty() {
        prerequisites.push(format!(
            "no pending HTLCs: {} are pending and a cooperative close waits for them",
            ch.pending_htlcs.len()
        ));
    }
    // Close candidates are few (dead weight), and their reasons are already words: written now.
    let wording = Wording::written(ActionText {
        cost_formula: format!(
            "{} + reopening the capital elsewhere {} sat (one funding transaction, estimated at the close's ~700 \
             weight × {} sat/kw / 1000)",
            if we_pay {
                format!("cooperative close {} sat, paid by us as the initiator", group_thousands(coop_fee))
            } else {
                format!("cooperative close 0 sat (the peer opened the channel and pays its {} sat)", group_thousands(coop_fee))
            },
            group_thousands(economics.reopen_sat),
            ch.fee_per_kw,
        ),
        benefit_formula: format!(
            "local balance {} sat × the node's capital yield {:.1} ppm/day (window fees earned ÷ local balance) × {} \
             days = {} sat it would earn redeployed, − this channel's window fees at the same pace over {} days \
             ({} sat)",
            group_thousands(ch.local_balance_sat),
            economics.yield_ppm_per_day,
            economics.horizon_days,
            group_thousands(economics.redeployed_sat),
            economics.horizon_days,
            group_thousands(economics.forgone_sat),
        ),
        prerequisites,
        rationale: format!(
            "Close {}: {}. Its {} sat of local balance would earn about {} sat over {} days redeployed at \
             the node's yield, against {} sat this channel earns. A cooperative close costs {} sat (paid by {}); \
             a force close would cost {} sat ({} more) and lock our funds for {} blocks.",
            labelled(&ch.peer_alias, ch.chan_id),
            reasons.join("; "),
            group_thousands(ch.local_balance_sat),
            group_thousands(economics.redeployed_sat),
            economics.horizon_days,
            group_thousands(economics.forgone_sat),
            group_thousands(coop_fee),
            if we_pay { "us" } else { "the peer" },
            group_thousands(fc.total_sat),
            group_thousands(fc.extra_cost_vs_coop_sat),
            fc.csv_delay_blocks
        ),
        lnd_note: None,
        commands: vec![Command {
            tool: "lncli".to_string(),
            line: format!("lncli closechannel --chan_point {}", ch.channel_point),
            purpose: "close cooperatively".to_string(),
        }],
        alternatives: vec![Alternative {
            description: format!(
                "force close (only if the peer stays unreachable): our balance is locked for {} blocks",
                fc.csv_delay_blocks
            ),
            cost_sat: fc.total_sat,
            cost_formula: format!(
                "fees to miners {} (base fee + trimmed HTLCs + absent anchors) + anchor {} + second-level HTLC fees {}",
                fc.fees_to_miners_sat, fc.anchor_sat, fc.second_level_fees_sat
            ),
            commands: vec![Command {
                tool: "lncli".to_string(),
                line: format!("lncli closechannel --force --chan_point {}", ch.channel_point),
                purpose: "broadcast our commitment transaction".to_string(),
            }],
        }],
    });
    Some(Action {
        priority,
        amount_sat: Some(ch.local_balance_sat),
        expected_cost_sat: cost,
        expected_benefit_sat: economics.benefit_sat(),
        complexity: Complexity::Low,
        wording,
        ..new_action(ActionKind::Close, &[view], None)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::testkit::{
        channel, flow_of, flow_view, forward, htlc, scid, settle_balances, view,
    };
    use crate::model::ForwardingEvent;

    /// Channels funded at block 800,000, analysed at `height`, with `events` in the windows.
    fn run_at(
        chans: &[crate::model::Channel],
        height: u32,
        events: &[ForwardingEvent],
    ) -> Vec<Action> {
        let flow = flow_of(events);
        let mut views: Vec<_> = chans
            .iter()
            .map(|c| flow_view(c, Some(height), &flow))
            .collect();
        super::super::mark_top_half_by_flow(&mut views);
        super::super::mark_capital_yield(&mut views);
        recommend(&views, &AnalysisSettings::default())
    }

    /// A channel that earned 10,000 sat in the window on 500,000 sat of local balance, so the
    /// node's capital has a yield that a close can be weighed against.
    fn earner() -> (crate::model::Channel, ForwardingEvent) {
        let id = scid(800_000, 20);
        (
            channel(id, 1_000_000, 500_000),
            forward(86_400, 999, id, 10_000_000, 1_000),
        )
    }

    /// About 41 days after funding.
    const OLD: u32 = 806_000;

    #[test]
    fn idle_channel_is_a_close_candidate_with_both_costs() {
        let id = scid(800_000, 8);
        let mut ch = channel(id, 1_000_000, 600_000);
        // All-time totals from before LND restarted do not count: only the windows do.
        ch.total_satoshis_received = 5_000_000;
        ch.lifetime_secs = 3_600;
        ch.fee_per_kw = 1_000;
        settle_balances(&mut ch);
        let (busy, earned) = earner();
        let acts = run_at(
            &[ch.clone(), busy],
            OLD,
            &[forward(40 * 86_400, 1, id, 500_000, 100), earned],
        );
        assert_eq!(acts.len(), 1);
        let a = &acts[0];
        assert_eq!(*a.id, *format!("close:{id}"));
        assert!(
            a.text()
                .rationale
                .contains("no forward either way in the last 30 days"),
            "{}",
            a.text().rationale
        );
        // The close (we opened it) and reopening the capital elsewhere, 700 sat each.
        assert_eq!(a.expected_cost_sat, 1_400);
        // 600,000 sat at the node's yield (10,000 sat / 1,100,000 sat / 7 days) over 30 days;
        // the idle channel earned nothing, so nothing is forgone.
        let local = ch.local_balance_sat as f64;
        let expected = (local * 10_000.0 / 1_100_000.0 / 7.0 * 30.0).floor() as u64;
        assert!(
            a.expected_benefit_sat.abs_diff(expected) <= 1,
            "{} vs {expected}",
            a.expected_benefit_sat
        );
        assert_eq!(
            a.text().commands[0].line,
            format!("lncli closechannel --chan_point {}", ch.channel_point)
        );
        let force = &a.text().alternatives[0];
        assert!(force.commands[0].line.contains("--force"));
        assert!(force.cost_sat > a.expected_cost_sat);
    }

    #[test]
    fn idleness_needs_history_and_age() {
        let id = scid(800_000, 8);
        let ch = channel(id, 1_000_000, 600_000);
        // Without forwarding history: unknown, never closed.
        assert!(recommend(&[view(&ch, Some(OLD))], &AnalysisSettings::default()).is_empty());
        // On a node whose capital earns enough that a close of this idle channel pays …
        let (busy, earned) = earner();
        let both = [ch.clone(), busy];
        assert_eq!(run_at(&both, OLD, &[earned]).len(), 1);
        // … ten days old: too young to close for idleness.
        assert!(run_at(&both, 801_440, &[earned]).is_empty());
        // A forward 20 days ago: not idle over the 30-day window.
        assert!(run_at(
            &both,
            OLD,
            &[forward(20 * 86_400, 1, id, 50_000, 100), earned]
        )
        .is_empty());
    }

    #[test]
    fn low_uptime_needs_observation_and_spares_the_top_half_by_flow() {
        let (weak, busy) = (scid(800_000, 9), scid(800_000, 10));
        let mut ch = channel(weak, 1_000_000, 500_000);
        ch.uptime_secs = ch.lifetime_secs / 4;
        let other = channel(busy, 1_000_000, 500_000);
        // The weak channel routes less than the other: bottom half, closed on uptime.
        let events = [
            forward(86_400, busy, weak, 10_000, 100),
            forward(86_400, 999, busy, 45_000_000, 1_000),
        ];
        let both = [ch.clone(), other.clone()];
        let acts = run_at(&both, OLD, &events);
        assert_eq!(acts.len(), 1);
        assert!(
            acts[0].text().rationale.contains("online 25%"),
            "{}",
            acts[0].text().rationale
        );
        assert_eq!(acts[0].priority, 5);
        // Routing the most on the node: its revenue outweighs the downtime.
        let mut top = ch.clone();
        top.uptime_secs = top.lifetime_secs / 4;
        let only_busy = [
            forward(86_400, 999, weak, 900_000, 100),
            forward(86_400, 999, busy, 10_000, 100),
        ];
        assert!(run_at(&[top, other.clone()], OLD, &only_busy).is_empty());

        ch.lifetime_secs = 2 * 86_400; // too short to judge
        ch.uptime_secs = ch.lifetime_secs / 4;
        assert!(run_at(&[ch, other], OLD, &events).is_empty());
    }

    #[test]
    fn a_close_pays_only_when_redeployed_capital_earns_more_than_it_costs() {
        let id = scid(800_000, 12);
        let idle = channel(id, 1_000_000, 600_000);
        let (busy, _) = earner();
        // The node earns 70 sat a week on 1.1M sat: 600,000 sat redeployed would earn ~163 sat
        // in 30 days, less than closing and reopening cost. An idle channel, but no close.
        let meagre = forward(86_400, 999, busy.chan_id, 70_000, 1_000);
        let views_flow = flow_of(std::slice::from_ref(&meagre));
        let chans = [idle.clone(), busy.clone()];
        let mut views: Vec<_> = chans
            .iter()
            .map(|c| flow_view(c, Some(OLD), &views_flow))
            .collect();
        super::super::mark_capital_yield(&mut views);
        let settings = AnalysisSettings::default();
        let e = CloseEconomics::of(&views[0], &settings).unwrap();
        assert!(e.benefit_sat() < e.cost_sat(), "{e:?}");
        assert!(is_idle(&views[0], &settings) && !is_candidate(&views[0], &settings));
        let acts = recommend(&views, &settings);
        assert!(
            acts.iter()
                .all(|a| a.expected_benefit_sat < a.expected_cost_sat),
            "{acts:?}"
        );
        // A busier node: the same idle channel's capital is worth moving.
        let (_, earned) = earner();
        let acts = run_at(&[idle, busy], OLD, &[earned]);
        assert_eq!(acts.len(), 1, "{acts:?}");
        assert!(acts[0].expected_benefit_sat > acts[0].expected_cost_sat + 500);
    }

    #[test]
    fn remote_initiators_pay_the_close() {
        let id = scid(800_000, 11);
        let mut idle = channel(id, 1_000_000, 500_000);
        idle.initiator = Initiator::Remote;
        idle.pending_htlcs.push(htlc(0, true, 5_000, 806_500));
        idle.active = false;
        settle_balances(&mut idle);
        let (busy, earned) = earner();
        let a = &run_at(&[idle, busy], OLD, &[earned])[0];
        // The peer pays the close; reopening the capital elsewhere is still ours.
        assert_eq!(a.expected_cost_sat, 177, "~700 weight × 253 sat/kw");
        assert_eq!(
            a.text().prerequisites.len(),
            2,
            "{:?}",
            a.text().prerequisites
        );
    }
}
