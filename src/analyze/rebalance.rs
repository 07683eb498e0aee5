//! Circular rebalancing across the node: channels with surplus local balance (sources) are
//! paired with channels that are short of it and demonstrably route out (sinks).
//!
//! A rebalance is a payment to ourselves: out through the source channel, around the network,
//! back in through the sink. It pays for itself only through forwards the sink then carries,
//! so it rests on the window's forwarding history (none without it):
//! * a sink must have routed out in the window at a non-zero earned fee rate; the amount is at
//!   most what it routes out over `benefit_horizon_days` at the window's pace;
//! * `gross = amount × sink_earned_ppm / 1e6`, `lost = amount × source_earned_ppm / 1e6` (what
//!   the source earns on the same liquidity; 0 for a source that routed nothing out);
//! * the fee budget is half the margin, `budget_ppm = min(max_fee_ppm, (sink − source ppm) / 2)`;
//! * listed only when `gross − lost − budget ≥ min_action_benefit_sat` (rebalance-lnd's rule)
//!   and the amount is at least `rebalance.min_amount_sat`.
//!
//! Matching: sinks by value (`amount × sink ppm`, largest first), each takes the cheapest
//! source left (lowest earned ppm, then most surplus), a source feeds at most
//! [`MAX_PAIRS_PER_SOURCE`] sinks and a sink gets one pair; pairs through one peer are skipped.
//! A sink paired in the previous plan keeps that source first while the pair still pays. The
//! best `analysis.max_rebalance_actions` by net benefit are listed, a pair listed in the
//! previous plan ranked [`LISTED_PAIR_PREFERENCE`] higher. A sink left without a
//! pair is [`Unmatched`], for [`super::policy`] to suggest a fee rise instead.
//! A channel the plan recommends closing is never a sink; it may be a source (moving its idle
//! liquidity to where it earns is what an operator does before closing it).

use std::collections::HashMap;

use crate::model::ChanId;
use crate::plan::ids::parse_chan_id;
use crate::plan::{
    Action, ActionKind, ActionText, Command, Complexity, LndSupport, PlanDigest, Wording,
};
use crate::settings::AnalysisSettings;

use super::close;
use super::health::local_ratio;
use super::names::{alias, labelled};
use super::{group_thousands, new_action, ppm_of, ChannelView};

/// A pair the previous plan listed ranks as if it netted this share more when the best
/// `analysis.max_rebalance_actions` are picked: a new pair takes its place only when it nets
/// clearly more, so pairs of near-equal worth do not swap in and out of the list every poll.
pub const LISTED_PAIR_PREFERENCE: f64 = 0.25;

/// A source's surplus feeds at most this many sinks: no fan-out of tiny pairs.
pub const MAX_PAIRS_PER_SOURCE: usize = 2;

/// Which way a channel is off its target local ratio.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Imbalance {
    /// More local balance than the target: liquidity to push out.
    Surplus,
    /// Less local balance than the target: liquidity to pull in.
    Deficit,
}

/// A channel short of liquidity that no rebalance pair covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unmatched {
    pub chan_id: ChanId,
    pub imbalance: Imbalance,
    pub remaining_sat: u64,
}

/// Rebalance actions, sinks left unmatched, and pairs left out by the action limit.
pub struct RebalanceOutcome {
    pub actions: Vec<Action>,
    pub unmatched: Vec<Unmatched>,
    /// The sinks of the listed pairs (not those left out by the limit), sorted.
    pub paired_sinks: Vec<ChanId>,
    pub left_out: u32,
}

/// A channel far enough from the target to rebalance, and by how much.
struct Candidate<'v, 'a> {
    view: &'v ChannelView<'a>,
    amount_sat: u64,
    /// `|local_ratio − target|`.
    deviation: f64,
    /// Fee rate its outbound forwards earned in the window (0 without any).
    earned_ppm: u64,
}

/// Splits active channels with known flow into sources and sinks.
fn candidates<'v, 'a>(
    views: &'v [ChannelView<'a>],
    settings: &AnalysisSettings,
) -> (Vec<Candidate<'v, 'a>>, Vec<Candidate<'v, 'a>>) {
    let r = &settings.rebalance;
    let target = r.target_local_ratio.clamp(0.0, 1.0);
    let mut sources = Vec::new();
    let mut sinks = Vec::new();
    // A channel with an HTLC near expiry may go on-chain within blocks (LND force-closes it
    // if the HTLC is not resolved): no liquidity is moved into or out of it until then.
    let settling = |v: &ChannelView<'_>| {
        v.dust
            .htlcs
            .iter()
            .any(|h| h.expiry == crate::dust::ExpiryLevel::Critical)
    };
    for view in views.iter().filter(|v| v.channel.active && !settling(v)) {
        let Some(flow) = view.flow else { continue };
        let ch = view.channel;
        let usable = ch.local_balance_sat.saturating_add(ch.remote_balance_sat);
        if usable == 0 {
            continue;
        }
        let ratio = local_ratio(ch.local_balance_sat, ch.remote_balance_sat);
        // Rounded target balance; `as` saturates and the product is within [0, usable].
        let target_local = (target * usable as f64).round() as u64;
        let earned_ppm = flow.earned_ppm();
        if ratio - target >= r.min_deviation {
            // Never plan to push the source below its channel reserve.
            let amount = ch.local_balance_sat.saturating_sub(target_local).min(
                ch.local_balance_sat
                    .saturating_sub(ch.local_chan_reserve_sat),
            );
            if amount >= r.min_amount_sat {
                sources.push(Candidate {
                    view,
                    amount_sat: amount,
                    deviation: ratio - target,
                    earned_ppm,
                });
            }
        } else if let Some(amount) = deficit_sat(view, settings, 0.0) {
            sinks.push(Candidate {
                view,
                amount_sat: amount,
                deviation: target - ratio,
                earned_ppm,
            });
        }
    }
    let value = |c: &Candidate<'_, '_>| u128::from(c.amount_sat) * u128::from(c.earned_ppm);
    sinks.sort_by(|a, b| {
        value(b)
            .cmp(&value(a))
            .then(a.view.chan_id().cmp(&b.view.chan_id()))
    });
    sources.sort_by(|a, b| {
        a.earned_ppm
            .cmp(&b.earned_ppm)
            .then(b.amount_sat.cmp(&a.amount_sat))
            .then(a.view.chan_id().cmp(&b.view.chan_id()))
    });
    (sources, sinks)
}

/// How much local balance a channel short of it should pull in, when it is a sink: at least
/// `min_deviation` under the target ratio, earning on what it routes out, not to be closed, and
/// the amount (`min(target − local, what the peer can send above its reserve, what the channel
/// routes out over the horizon at the window's pace)`) at least `min_amount_sat`. `slack`
/// lowers the deviation and amount thresholds by that share: 0 is the full trigger, and a fee
/// rise already recommended stays with [`super::policy::KEEP_MARGIN`] (hysteresis). Whether the
/// channel is active or settling an HTLC is the caller's to judge.
pub(crate) fn deficit_sat(
    view: &ChannelView<'_>,
    settings: &AnalysisSettings,
    slack: f64,
) -> Option<u64> {
    let r = &settings.rebalance;
    let flow = view.flow?;
    let ch = view.channel;
    let usable = ch.local_balance_sat.saturating_add(ch.remote_balance_sat);
    let target = r.target_local_ratio.clamp(0.0, 1.0);
    let keep = 1.0 - slack.clamp(0.0, 1.0);
    let ratio = local_ratio(ch.local_balance_sat, ch.remote_balance_sat);
    if usable == 0 || target - ratio < r.min_deviation * keep || flow.earned_ppm() == 0 {
        return None;
    }
    if close::is_candidate(view, settings) {
        return None;
    }
    // Rounded target balance; `as` saturates and the product is within [0, usable].
    let target_local = (target * usable as f64).round() as u64;
    // Nor pull the peer below their reserve, nor more than the sink routes out over the horizon
    // at the window's pace (`as` saturates; the value is non-negative).
    let demand = (flow.out_sat_per_day() * settings.benefit_horizon_days as f64).floor() as u64;
    let amount = target_local
        .saturating_sub(ch.local_balance_sat)
        .min(
            ch.remote_balance_sat
                .saturating_sub(ch.remote_chan_reserve_sat),
        )
        .min(demand);
    // `as` saturates; the value is non-negative.
    let min_amount = (r.min_amount_sat as f64 * keep).ceil() as u64;
    (amount >= min_amount).then_some(amount)
}

/// What a pair earns and may spend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PairEconomics {
    /// `amount × sink_ppm / 1e6`.
    pub gross_sat: u64,
    /// `amount × source_ppm / 1e6`.
    pub lost_sat: u64,
    pub budget_ppm: u64,
    /// `floor(amount × budget_ppm / 1e6)`.
    pub budget_sat: u64,
    /// `gross − lost − budget`.
    pub net_sat: u64,
}

/// The economics of moving `amount` from a source earning `source_ppm` to a sink earning
/// `sink_ppm`; `None` when it cannot pay a non-zero budget or its net is below the minimum.
pub fn economics(
    amount: u64,
    sink_ppm: u64,
    source_ppm: u64,
    settings: &AnalysisSettings,
) -> Option<PairEconomics> {
    let margin_ppm = sink_ppm.checked_sub(source_ppm)?;
    let budget_ppm = (margin_ppm / 2).min(settings.rebalance.max_fee_ppm);
    let budget_sat =
        u64::try_from(u128::from(amount) * u128::from(budget_ppm) / 1_000_000).unwrap_or(u64::MAX);
    if budget_sat == 0 {
        return None;
    }
    let gross_sat =
        u64::try_from(u128::from(amount) * u128::from(sink_ppm) / 1_000_000).unwrap_or(u64::MAX);
    let lost_sat = ppm_of(amount, source_ppm);
    let net_sat = gross_sat.checked_sub(lost_sat)?.checked_sub(budget_sat)?;
    (net_sat >= settings.min_action_benefit_sat).then_some(PairEconomics {
        gross_sat,
        lost_sat,
        budget_ppm,
        budget_sat,
        net_sat,
    })
}

/// An upper bound on [`economics`]'s net for any amount up to `amount` from a source earning
/// `source_ppm` (0 where it cannot pair at all). It never rises with `source_ppm`: the margin
/// left after the budget, `margin − min(max_fee_ppm, margin / 2)`, falls as the margin does.
fn net_bound(amount: u64, sink_ppm: u64, source_ppm: u64, settings: &AnalysisSettings) -> u64 {
    let Some(margin_ppm) = sink_ppm.checked_sub(source_ppm) else {
        return 0;
    };
    let budget_ppm = (margin_ppm / 2).min(settings.rebalance.max_fee_ppm);
    if budget_ppm == 0 {
        return 0;
    }
    // gross ≤ a·sink, lost ≥ a·source, budget > a·budget_ppm − 1e6 (all /1e6), so
    // net < a·(margin − budget_ppm)/1e6 + 1, and the bound grows with `a`.
    let kept = u128::from(amount) * u128::from(margin_ppm - budget_ppm) / 1_000_000;
    u64::try_from(kept + 1).unwrap_or(u64::MAX)
}

/// Each candidate's peer as a small id (sources first, then sinks): equal keys, equal ids.
fn peer_ids(sources: &[Candidate<'_, '_>], sinks: &[Candidate<'_, '_>]) -> Vec<u32> {
    let mut ids: std::collections::HashMap<&str, u32> = std::collections::HashMap::new();
    sources
        .iter()
        .chain(sinks)
        .map(|c| {
            let next = u32::try_from(ids.len()).unwrap_or(u32::MAX);
            *ids.entry(&*c.view.channel.remote_pubkey).or_insert(next)
        })
        .collect()
}

/// Pairs sources with sinks across the node.
///
/// Each sink takes the first source in the sources' order that pairs with it, as a plain scan
/// would; the scan skips what provably cannot pair: sources used up (dropped from the live
/// list), sources earning at least the sink's rate (sources are sorted by rate, so the scan
/// stops there), and sources whose pair is bounded below the minimum benefit ([`net_bound`]).
/// Peers are compared by interned id, not by key.
pub fn recommend(
    views: &[ChannelView<'_>],
    settings: &AnalysisSettings,
    previous: Option<&PlanDigest>,
) -> RebalanceOutcome {
    let (sources, sinks) = candidates(views, settings);
    let kept = previous_pairs(previous);
    let min = settings.rebalance.min_amount_sat.max(1);
    let peer = peer_ids(&sources, &sinks);
    let (source_peer, sink_peer) = peer.split_at(sources.len());
    let mut source_left: Vec<u64> = sources.iter().map(|s| s.amount_sat).collect();
    let mut source_pairs = vec![0usize; sources.len()];
    // Sources that can still pair, in the sources' order.
    let mut live: Vec<usize> = (0..sources.len())
        .filter(|&i| source_left[i] >= min)
        .collect();
    let mut pairs = Vec::new();
    let mut unmatched = Vec::new();
    for (sink, &sink_peer) in sinks.iter().zip(sink_peer) {
        let mut found = kept.get(&sink.view.chan_id()).and_then(|&kept_source| {
            let at = live
                .iter()
                .position(|&i| sources[i].view.chan_id() == kept_source)?;
            let i = live[at];
            let amount = source_left[i].min(sink.amount_sat);
            (source_peer[i] != sink_peer)
                .then(|| economics(amount, sink.earned_ppm, sources[i].earned_ppm, settings))
                .flatten()
                .map(|eco| (at, i, amount, eco))
        });
        for (at, &i) in live.iter().enumerate().take_while(|_| found.is_none()) {
            let source = &sources[i];
            if net_bound(
                sink.amount_sat,
                sink.earned_ppm,
                source.earned_ppm,
                settings,
            ) < settings.min_action_benefit_sat
            {
                // The bound falls as the source's rate rises: no later source pairs either.
                break;
            }
            if source_peer[i] == sink_peer {
                continue;
            }
            let amount = source_left[i].min(sink.amount_sat);
            if let Some(eco) = economics(amount, sink.earned_ppm, source.earned_ppm, settings) {
                found = Some((at, i, amount, eco));
                break;
            }
        }
        match found {
            Some((at, i, amount, eco)) => {
                source_left[i] -= amount;
                source_pairs[i] += 1;
                if source_pairs[i] >= MAX_PAIRS_PER_SOURCE || source_left[i] < min {
                    live.remove(at);
                }
                let listed_before =
                    kept.get(&sink.view.chan_id()) == Some(&sources[i].view.chan_id());
                // `as` saturates; the value is non-negative.
                let rank = if listed_before {
                    (eco.net_sat as f64 * (1.0 + LISTED_PAIR_PREFERENCE)) as u64
                } else {
                    eco.net_sat
                };
                pairs.push((
                    rank,
                    sink.view.chan_id(),
                    pair_action(&sources[i], sink, amount, eco, settings),
                ));
            }
            None => unmatched.push(Unmatched {
                chan_id: sink.view.chan_id(),
                imbalance: Imbalance::Deficit,
                remaining_sat: sink.amount_sat,
            }),
        }
    }
    // Best first by net, a pair listed before with its preference.
    pairs.sort_by(|(a_rank, _, a), (b_rank, _, b)| b_rank.cmp(a_rank).then(a.id.cmp(&b.id)));
    let limit = usize::try_from(settings.max_rebalance_actions).unwrap_or(usize::MAX);
    let left_out = u32::try_from(pairs.len().saturating_sub(limit)).unwrap_or(u32::MAX);
    pairs.truncate(limit);
    unmatched.sort_by_key(|u| u.chan_id);
    let mut paired_sinks: Vec<ChanId> = pairs.iter().map(|&(_, sink, _)| sink).collect();
    paired_sinks.sort_unstable();
    RebalanceOutcome {
        actions: pairs.into_iter().map(|(_, _, a)| a).collect(),
        unmatched,
        paired_sinks,
        left_out,
    }
}

/// The previous plan's pairs, sink → source. A sink keeps its source while that pair still
/// pays, so the list does not swap pairs of near-equal worth from one cycle to the next.
fn previous_pairs(previous: Option<&PlanDigest>) -> HashMap<ChanId, ChanId> {
    previous.map_or_else(HashMap::new, |digest| {
        digest
            .action_ids()
            .iter()
            .filter_map(|id| {
                let (source, sink) = id.strip_prefix("rebalance:")?.split_once('>')?;
                Some((parse_chan_id(sink)?, parse_chan_id(source)?))
            })
            .collect()
    })
}

fn percent(ratio: f64) -> String {
    format!("{:.0}%", ratio * 100.0)
}

/// One source → sink rebalance.
fn pair_action(
    source: &Candidate<'_, '_>,
    sink: &Candidate<'_, '_>,
    amount: u64,
    eco: PairEconomics,
    settings: &AnalysisSettings,
) -> Action {
    let r = &settings.rebalance;
    let (src, dst) = (source.view.channel, sink.view.channel);
    let deviation = source.deviation.max(sink.deviation);
    let priority: u8 = if deviation >= 0.4 {
        6
    } else if deviation >= 0.3 {
        5
    } else {
        4
    };
    let (sink_ppm, source_ppm) = (sink.earned_ppm, source.earned_ppm);
    let horizon = settings.benefit_horizon_days;
    let max_fee_ppm = r.max_fee_ppm;
    let target_ratio = r.target_local_ratio;
    let (src_id, dst_id) = (src.chan_id, dst.chan_id);
    let src_ratio = local_ratio(src.local_balance_sat, src.remote_balance_sat);
    let dst_ratio = local_ratio(dst.local_balance_sat, dst.remote_balance_sat);
    let src_name = alias(&src.peer_alias, src.chan_id);
    let dst_name = alias(&dst.peer_alias, dst.chan_id);
    let (src_label, dst_label) = (
        labelled(&src.peer_alias, src.chan_id),
        labelled(&dst.peer_alias, dst.chan_id),
    );
    let (src_pubkey, dst_pubkey) = (src.remote_pubkey.clone(), dst.remote_pubkey.clone());
    let sink_out_per_day = sink.view.flow.map_or(0.0, |f| f.out_sat_per_day());
    let PairEconomics {
        gross_sat,
        lost_sat,
        budget_ppm,
        budget_sat,
        net_sat,
    } = eco;
    let wording = Wording::described(move || {
        let invoice_memo = format!("dustwatch rebalance {src_id}>{dst_id}");
        let target = percent(target_ratio);
        ActionText {
            cost_formula: format!(
                "fee budget = floor(amount × budget_ppm / 1e6) = floor({} × {budget_ppm} / 1e6) = {budget_sat}; \
                 budget_ppm = min(max_fee_ppm {max_fee_ppm}, (sink {sink_ppm} − source {source_ppm} ppm) / 2)",
                group_thousands(amount)
            ),
            benefit_formula: format!(
                "amount × (sink earned ppm − source earned ppm) / 1e6 = {} − {} = {} sat, net {} after the budget: \
                 the sink routed out {} sat/day at {sink_ppm} ppm in the window, so the amount routes out within \
                 {horizon} days; the source earned {source_ppm} ppm on the same liquidity",
                group_thousands(gross_sat),
                group_thousands(lost_sat),
                group_thousands(gross_sat.saturating_sub(lost_sat)),
                group_thousands(net_sat),
                group_thousands(sink_out_per_day.round() as u64),
            ),
            prerequisites: vec![
                "both peers online (channels active)".to_string(),
                format!(
                    "a route from {src_pubkey} back to {dst_pubkey} at no more than {budget_ppm} ppm"
                ),
            ],
            rationale: format!(
                "{dst_label} is {} local and routes out at {sink_ppm} ppm; {src_label} is {} local \
                 and earns {source_ppm} ppm: moving {} sat from {src_name} to {dst_name} (toward {target} local) \
                 nets about {} sat within a fee budget of {} sat.",
                percent(dst_ratio),
                percent(src_ratio),
                group_thousands(amount),
                group_thousands(net_sat),
                group_thousands(budget_sat),
            ),
            lnd_note: Some(
                "LND has no native rebalance command: a rebalance is a payment to yourself. bos does it in \
                 one step; with lncli, pay your own invoice out of the source channel with the sink's \
                 peer as the last hop."
                    .to_string(),
            ),
            commands: vec![
                Command {
                    tool: "bos".to_string(),
                    line: format!(
                        "bos rebalance --out {src_pubkey} --in {dst_pubkey} --amount {amount} --max-fee {budget_sat} --max-fee-rate {budget_ppm}"
                    ),
                    purpose: "circular rebalance with Balance of Satoshis".to_string(),
                },
                Command {
                    tool: "lncli".to_string(),
                    line: format!("lncli addinvoice --amt {amount} --memo \"{invoice_memo}\""),
                    purpose: "create the invoice to pay yourself".to_string(),
                },
                Command {
                    tool: "lncli".to_string(),
                    line: format!(
                        "lncli payinvoice --allow_self_payment --outgoing_chan_id {src_id} --last_hop {dst_pubkey} --fee_limit {budget_sat} <payment_request>"
                    ),
                    purpose: "pay it out through the source channel and back in through the sink".to_string(),
                },
            ],
            alternatives: Vec::new(),
        }
    });
    Action {
        priority,
        amount_sat: Some(amount),
        expected_cost_sat: budget_sat,
        expected_benefit_sat: gross_sat.saturating_sub(lost_sat),
        complexity: Complexity::Medium,
        lnd_support: LndSupport::ExternalTool,
        wording,
        ..new_action(ActionKind::Rebalance, &[source.view, sink.view], None)
    }
}

#[cfg(test)]
mod tests;
