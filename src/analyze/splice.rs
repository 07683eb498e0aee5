//! Capacity changes: more capacity for busy channels, less for idle large ones.
//!
//! The protocol tool for this is splicing, which LND does not implement. Every action says so
//! and gives the LND route with its own cost estimate:
//! * `splice_in` → open a parallel channel to the same peer (no downtime), or close and reopen
//!   larger; Loop In when what is short is local liquidity rather than capacity;
//! * a large idle channel is a note, not an action (Loop Out earns nothing countable); with no
//!   flow at all it gets a `close` instead, which is cheaper than a Loop Out.
//!
//! Busy means the windowed forwarding flow says so; without history nothing is suggested, and
//! the amount is at most the channel's capacity and, over all channels, the wallet's confirmed
//! on-chain balance.
//!
//! Channels the plan recommends closing get no capacity change. On-chain costs use the channel's commitment feerate, the only feerate a snapshot carries;
//! the formulas say so, because the mempool may disagree.

use crate::plan::{
    Action, ActionKind, ActionText, Alternative, Command, Complexity, LndSupport, Wording,
};

use crate::model::WalletBalance;
use crate::settings::AnalysisSettings;

use super::close::is_candidate;
use super::health::local_ratio;
use super::names::{alias, labelled};
use super::{group_thousands, new_action, par_filter_map, ppm_of, weight_fee, ChannelView};

/// A channel funding transaction: one input, the funding output and change.
pub const OPEN_TX_WEIGHT: u64 = 700;
/// Our on-chain part of a Loop swap (the HTLC transaction for Loop In, the sweep for Loop Out).
pub const SWAP_TX_WEIGHT: u64 = 700;

const SPLICE_NOTE: &str =
    "LND does not support splicing; the commands below are the LND route to the same result.";

/// Rounds up to a whole 100,000 sat.
fn round_up_100k(sat: u64) -> u64 {
    sat.div_ceil(100_000).saturating_mul(100_000)
}

/// Rounds down to a whole 100,000 sat.
fn round_down_100k(sat: u64) -> u64 {
    sat / 100_000 * 100_000
}

/// `splice_in` for busy channels, within the wallet's confirmed balance: candidates by net
/// benefit, each taking its amount and funding fee from what is left (none when the wallet
/// balance is unknown: the plan never asks for funds the node may not have).
pub fn recommend(
    views: &[ChannelView<'_>],
    settings: &AnalysisSettings,
    wallet: Option<&WalletBalance>,
) -> Vec<Action> {
    let Some(wallet) = wallet else {
        return Vec::new();
    };
    let candidates = par_filter_map(views, |v| {
        (v.channel.active && !is_candidate(v, settings))
            .then(|| splice_in(v, settings))
            .flatten()
    });
    let mut by_net: Vec<usize> = (0..candidates.len()).collect();
    let net = |a: &Action| a.expected_benefit_sat.saturating_sub(a.expected_cost_sat);
    by_net.sort_by(|&a, &b| {
        net(&candidates[b])
            .cmp(&net(&candidates[a]))
            .then(a.cmp(&b))
    });
    let mut left = wallet.confirmed_sat;
    let mut keep = vec![false; candidates.len()];
    for i in by_net {
        let a = &candidates[i];
        let needs = a
            .amount_sat
            .unwrap_or(0)
            .saturating_add(a.expected_cost_sat);
        if needs <= left {
            left -= needs;
            keep[i] = true;
        }
    }
    candidates
        .into_iter()
        .zip(keep)
        .filter_map(|(a, k)| k.then_some(a))
        .collect()
}

/// Uncapped utilization: windowed daily turnover over the target turnover (`None` without
/// forwarding history or for a channel younger than `analysis.min_channel_age`).
fn raw_utilization(view: &ChannelView<'_>, settings: &AnalysisSettings) -> Option<f64> {
    let flow = view.flow?;
    let target = settings.health.target_daily_turnover;
    if target <= 0.0 || !super::health::old_enough(view.age_secs, settings) {
        return None;
    }
    Some(flow.daily_turnover(view.channel.capacity_sat) / target)
}

fn feerate_note(feerate: u64) -> String {
    format!("at the channel's commitment feerate {feerate} sat/kw (check current mempool fees)")
}

/// The route without splicing or Loop: close cooperatively, then open again with `reopen`.
/// `costs` are the cooperative close fee, the funding transaction fee and the feerate they
/// were reckoned at.
fn close_and_reopen(
    description: &str,
    [coop_fee, open_fee, feerate]: [u64; 3],
    channel_point: &str,
    reopen: Command,
) -> Alternative {
    Alternative {
        description: description.to_string(),
        cost_sat: coop_fee.saturating_add(open_fee),
        cost_formula: format!(
            "cooperative close ({coop_fee}) + funding tx {OPEN_TX_WEIGHT} weight × feerate / 1000 ({open_fee}), {}",
            feerate_note(feerate)
        ),
        commands: vec![
            Command {
                tool: "lncli".to_string(),
                line: format!("lncli closechannel --chan_point {channel_point}"),
                purpose: "close cooperatively".to_string(),
            },
            reopen,
        ],
    }
}

fn splice_in(view: &ChannelView<'_>, settings: &AnalysisSettings) -> Option<Action> {
    let s = &settings.splice;
    let ch = view.channel;
    let busy = raw_utilization(view, settings)?;
    if s.busy_utilization_above <= 0.0 || busy < s.busy_utilization_above {
        return None;
    }
    // Grow the capacity until the window's flow would sit right at the "busy" line, but never
    // by more than the channel's capacity at once. `as` saturates; the value is positive here.
    let wanted = (ch.capacity_sat as f64 * (busy / s.busy_utilization_above - 1.0)).ceil() as u64;
    let amount = round_up_100k(wanted).min(round_down_100k(ch.capacity_sat));
    if amount < s.min_amount_sat.max(1) {
        return None;
    }
    let feerate = ch.fee_per_kw;
    let open_fee = weight_fee(feerate, OPEN_TX_WEIGHT);
    let coop_fee = view.dust.force_close.coop_close_fee_sat;
    let horizon = settings.benefit_horizon_days;
    let turned_over =
        (amount as f64 * settings.health.target_daily_turnover * horizon as f64).ceil() as u64;
    // The fee rate the channel's forwards earned in the window: demonstrated, not advertised.
    let ppm = view.flow.map(|f| f.earned_ppm()).filter(|&p| p > 0);
    let benefit = ppm.map_or(0, |ppm| ppm_of(turned_over, ppm));
    let target = settings.rebalance.target_local_ratio;
    let short_of_local = local_ratio(ch.local_balance_sat, ch.remote_balance_sat) < target;
    let loop_fee_ppm = s.loop_fee_ppm;
    let loop_cost =
        ppm_of(amount, loop_fee_ppm).saturating_add(weight_fee(feerate, SWAP_TX_WEIGHT));
    let capacity = ch.capacity_sat;
    let daily_turnover = busy * settings.health.target_daily_turnover;
    let name = alias(&ch.peer_alias, ch.chan_id);
    let label = labelled(&ch.peer_alias, ch.chan_id);
    let (pubkey, channel_point) = (ch.remote_pubkey.clone(), ch.channel_point.clone());
    let wording = Wording::described(move || {
        let benefit_formula = match ppm {
            Some(ppm) => format!(
                "amount × target_daily_turnover × {horizon} days × {ppm} ppm / 1e6: fees on the added \
                 capacity at the target turnover and the fee rate this channel's forwards earned in the window"
            ),
            None => "unknown: the channel earned no fees in the window".to_string(),
        };
        let open = |local_amt: u64| Command {
            tool: "lncli".to_string(),
            line: format!("lncli openchannel --node_key {pubkey} --local_amt {local_amt}"),
            purpose: format!(
                "open a {} sat channel to {name}",
                group_thousands(local_amt)
            ),
        };
        let mut alternatives = vec![close_and_reopen(
            "close and reopen with the larger capacity (the channel is down in between)",
            [coop_fee, open_fee, feerate],
            &channel_point,
            open(capacity.saturating_add(amount)),
        )];
        if short_of_local {
            alternatives.push(Alternative {
                description: "Loop In through this peer: adds local liquidity (not capacity) when the channel \
                              keeps running dry"
                    .to_string(),
                cost_sat: loop_cost,
                cost_formula: format!(
                    "amount × loop_fee_ppm {loop_fee_ppm} / 1e6 + HTLC tx {SWAP_TX_WEIGHT} weight × feerate / 1000, {}; \
                     `loop quote in {amount}` gives the real fee",
                    feerate_note(feerate)
                ),
                commands: vec![Command {
                    tool: "loop".to_string(),
                    line: format!("loop in --amt {amount} --last_hop {pubkey}"),
                    purpose: "swap on-chain funds into this channel's local balance".to_string(),
                }],
            });
        }
        ActionText {
            cost_formula: format!(
                "funding tx {OPEN_TX_WEIGHT} weight × feerate / 1000, {}",
                feerate_note(feerate)
            ),
            benefit_formula,
            prerequisites: vec![format!(
                "{} sat confirmed in the on-chain wallet",
                group_thousands(amount.saturating_add(open_fee))
            )],
            rationale: format!(
                "{label} turned over {daily_turnover:.2}× its capacity per day in the window, {busy:.1}× the target: about {} sat more \
                 capacity toward this peer would carry the flow.",
                group_thousands(amount)
            ),
            lnd_note: Some(format!(
                "{SPLICE_NOTE} Main route: a parallel channel to the same peer (no downtime)."
            )),
            commands: vec![open(amount)],
            alternatives,
        }
    });
    Some(Action {
        priority: 4,
        amount_sat: Some(amount),
        expected_cost_sat: open_fee,
        expected_benefit_sat: benefit,
        complexity: Complexity::Medium,
        lnd_support: LndSupport::NotSupported,
        wording,
        ..new_action(ActionKind::SpliceIn, &[view], None)
    })
}

/// A note for a large channel whose capacity sits idle: shrinking it by Loop Out costs swap
/// fees for no countable gain, so it is not an action; a channel with no flow at all gets a
/// `close` from [`super::close`] instead (cheaper than Loop Out).
pub fn idle_capital_note(view: &ChannelView<'_>, settings: &AnalysisSettings) -> Option<String> {
    let s = &settings.splice;
    let ch = view.channel;
    let busy = raw_utilization(view, settings)?;
    let idle = busy * settings.health.target_daily_turnover;
    if ch.capacity_sat < s.large_capacity_sat
        || view.health.utilization >= s.idle_utilization_below
        || is_candidate(view, settings)
    {
        return None;
    }
    Some(format!(
        "large ({} sat) and nearly idle (turnover {idle:.3}× capacity per day in the window): its capital \
         may earn more elsewhere; Loop Out or close and reopen smaller if that persists",
        group_thousands(ch.capacity_sat)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::testkit::{channel, flow_of, flow_view, forward, scid, view};
    use crate::model::ForwardingEvent;

    fn wallet(confirmed_sat: u64) -> WalletBalance {
        WalletBalance {
            confirmed_sat,
            ..WalletBalance::default()
        }
    }

    fn run(
        chans: &[crate::model::Channel],
        events: &[ForwardingEvent],
        confirmed: u64,
    ) -> Vec<Action> {
        let flow = flow_of(events);
        let views: Vec<_> = chans
            .iter()
            .map(|c| flow_view(c, Some(806_000), &flow))
            .collect();
        recommend(
            &views,
            &AnalysisSettings::default(),
            Some(&wallet(confirmed)),
        )
    }

    #[test]
    fn busy_small_channel_gets_a_splice_in_of_at_most_its_capacity() {
        let id = scid(800_000, 4);
        let mut ch = channel(id, 1_000_000, 300_000);
        ch.fee_per_kw = 2_000;
        // 7M sat out in 7 days: 1.0 of capacity per day = 10× the 0.1 target; 5× is busy →
        // capacity × (10/5 − 1) = 1M, at most the channel's own capacity.
        let events = [forward(86_400, 9, id, 7_000_000, 800)];
        let acts = run(std::slice::from_ref(&ch), &events, 10_000_000);
        assert_eq!(acts.len(), 1);
        let a = &acts[0];
        assert_eq!(*a.id, *format!("splice_in:{id}"));
        assert_eq!(a.amount_sat, Some(1_000_000));
        assert_eq!(a.lnd_support, LndSupport::NotSupported);
        assert!(a
            .text()
            .lnd_note
            .as_deref()
            .unwrap()
            .contains("LND does not support splicing"));
        assert_eq!(a.expected_cost_sat, 2_000 * 700 / 1000);
        // 1M × 0.1 × 30 days × 800 ppm = 2,400 sat.
        assert_eq!(a.expected_benefit_sat, 2_400);
        assert!(a.text().commands[0]
            .line
            .starts_with("lncli openchannel --node_key 02"));
        assert!(a.text().alternatives.iter().any(|alt| alt.commands[0]
            .line
            .starts_with("loop in --amt 1000000 --last_hop ")));
        // Not more than the wallet's confirmed balance, nor without knowing it.
        assert!(run(std::slice::from_ref(&ch), &events, 900_000).is_empty());
        let flow = flow_of(&events);
        let views = [flow_view(&ch, Some(806_000), &flow)];
        assert!(recommend(&views, &AnalysisSettings::default(), None).is_empty());
        // Nor without forwarding history, however big LND's all-time totals.
        ch.total_satoshis_sent = 900_000_000;
        let views = [view(&ch, Some(806_000))];
        assert!(recommend(
            &views,
            &AnalysisSettings::default(),
            Some(&wallet(10_000_000))
        )
        .is_empty());
    }

    #[test]
    fn idle_large_channel_is_a_note_not_a_loop_out() {
        let id = scid(800_000, 5);
        let ch = channel(id, 10_000_000, 9_000_000);
        let events = [forward(86_400, 9, id, 10_000, 100)];
        assert!(run(std::slice::from_ref(&ch), &events, 10_000_000).is_empty());
        let flow = flow_of(&events);
        let note = idle_capital_note(
            &flow_view(&ch, Some(806_000), &flow),
            &AnalysisSettings::default(),
        );
        assert!(note.unwrap().contains("nearly idle"));
        let ordinary = channel(id, 2_000_000, 1_000_000);
        let busy_enough = flow_of(&[forward(86_400, 9, id, 500_000, 100)]);
        assert_eq!(
            idle_capital_note(
                &flow_view(&ordinary, Some(806_000), &busy_enough),
                &AnalysisSettings::default()
            ),
            None
        );
    }
}
