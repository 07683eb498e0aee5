//! Circular rebalancing across the node: channels with surplus local balance (sources) are
//! paired with channels short of it (sinks).
//!
//! A rebalance is a payment to ourselves: out through the source channel, around the network,
//! back in through the sink. So it is never a per-channel action: each recommendation names
//! both ends, and a source's surplus can feed several sinks.
//!
//! Channels the plan recommends closing take no part. Matching is greedy and deterministic: sources and sinks sorted by amount (largest first,
//! ties by channel id); each source fills sinks in that order, skipping a sink with the same
//! peer (a loop through one peer goes nowhere). A channel whose imbalance is mostly uncovered
//! (at least half of it and at least `min_amount_sat` left) is reported as [`Unmatched`], for
//! [`super::policy`] to suggest a fee change instead; a small remainder after a rebalance is not,
//! so the suggestion does not flicker from one cycle to the next.

use std::fmt;
use std::sync::Arc;

use crate::model::ChanId;
use crate::plan::{Action, ActionKind, ActionText, Command, Complexity, LndSupport, Wording};
use crate::settings::AnalysisSettings;

use super::close;
use super::health::local_ratio;
use super::{group_thousands, new_action, ppm_of, ChannelView};

/// Which way a channel is off its target local ratio.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Imbalance {
    /// More local balance than the target: liquidity to push out.
    Surplus,
    /// Less local balance than the target: liquidity to pull in.
    Deficit,
}

/// The part of a channel's imbalance no rebalance pair covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unmatched {
    pub chan_id: ChanId,
    pub imbalance: Imbalance,
    pub remaining_sat: u64,
}

/// Rebalance actions and what is left unmatched.
pub struct RebalanceOutcome {
    pub actions: Vec<Action>,
    pub unmatched: Vec<Unmatched>,
}

/// A channel far enough from the target to rebalance, and by how much.
struct Candidate<'v, 'a> {
    view: &'v ChannelView<'a>,
    amount_sat: u64,
    /// `|local_ratio − target|`.
    deviation: f64,
}

/// Splits active channels into sources and sinks, each sorted largest first.
fn candidates<'v, 'a>(
    views: &'v [ChannelView<'a>],
    settings: &AnalysisSettings,
) -> (Vec<Candidate<'v, 'a>>, Vec<Candidate<'v, 'a>>) {
    let r = &settings.rebalance;
    let target = r.target_local_ratio.clamp(0.0, 1.0);
    let mut sources = Vec::new();
    let mut sinks = Vec::new();
    for view in views
        .iter()
        .filter(|v| v.channel.active && !close::is_candidate(v, settings))
    {
        let ch = view.channel;
        let usable = ch.local_balance_sat.saturating_add(ch.remote_balance_sat);
        if usable == 0 {
            continue;
        }
        let ratio = local_ratio(ch.local_balance_sat, ch.remote_balance_sat);
        // Rounded target balance; `as` saturates and the product is within [0, usable].
        let target_local = (target * usable as f64).round() as u64;
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
                });
            }
        } else if target - ratio >= r.min_deviation {
            // Nor pull the peer below theirs.
            let amount = target_local.saturating_sub(ch.local_balance_sat).min(
                ch.remote_balance_sat
                    .saturating_sub(ch.remote_chan_reserve_sat),
            );
            if amount >= r.min_amount_sat {
                sinks.push(Candidate {
                    view,
                    amount_sat: amount,
                    deviation: target - ratio,
                });
            }
        }
    }
    let order = |a: &Candidate<'_, '_>, b: &Candidate<'_, '_>| {
        b.amount_sat
            .cmp(&a.amount_sat)
            .then(a.view.chan_id().cmp(&b.view.chan_id()))
    };
    sources.sort_by(order);
    sinks.sort_by(order);
    (sources, sinks)
}

/// Pairs sources with sinks across the node.
pub fn recommend(views: &[ChannelView<'_>], settings: &AnalysisSettings) -> RebalanceOutcome {
    let min = settings.rebalance.min_amount_sat.max(1);
    let (sources, sinks) = candidates(views, settings);
    let mut sink_left: Vec<u64> = sinks.iter().map(|s| s.amount_sat).collect();
    let mut first_open = 0;
    // Each pair used up a source or a sink (but for a remainder under `min`), so there are
    // at most as many pairs, or channels left unmatched, as candidates.
    let mut actions = Vec::with_capacity(sources.len() + sinks.len());
    let mut unmatched = Vec::with_capacity(sources.len() + sinks.len());

    for source in &sources {
        let mut left = source.amount_sat;
        while first_open < sinks.len() && sink_left[first_open] < min {
            first_open += 1;
        }
        for (j, sink) in sinks.iter().enumerate().skip(first_open) {
            if left < min {
                break;
            }
            if sink_left[j] < min
                || sink.view.channel.remote_pubkey == source.view.channel.remote_pubkey
            {
                continue;
            }
            let amount = left.min(sink_left[j]);
            actions.push(pair_action(source, sink, amount, settings));
            left -= amount;
            sink_left[j] -= amount;
        }
        if mostly_uncovered(left, source.amount_sat, min) {
            unmatched.push(Unmatched {
                chan_id: source.view.chan_id(),
                imbalance: Imbalance::Surplus,
                remaining_sat: left,
            });
        }
    }
    for (sink, left) in sinks.iter().zip(&sink_left) {
        if mostly_uncovered(*left, sink.amount_sat, min) {
            unmatched.push(Unmatched {
                chan_id: sink.view.chan_id(),
                imbalance: Imbalance::Deficit,
                remaining_sat: *left,
            });
        }
    }
    unmatched.sort_by_key(|u| u.chan_id);
    RebalanceOutcome { actions, unmatched }
}

/// At least half of the imbalance, and at least the minimum amount, is left after matching.
fn mostly_uncovered(left: u64, original: u64, min: u64) -> bool {
    left >= min && left.saturating_mul(2) >= original
}

fn percent(ratio: f64) -> String {
    format!("{:.0}%", ratio * 100.0)
}

/// One source → sink rebalance.
fn pair_action(
    source: &Candidate<'_, '_>,
    sink: &Candidate<'_, '_>,
    amount: u64,
    settings: &AnalysisSettings,
) -> Action {
    let r = &settings.rebalance;
    let (src, dst) = (source.view.channel, sink.view.channel);
    let sink_policy = dst.local_policy;
    let sink_ppm = sink_policy.map(|p| u64::try_from(p.fee_rate_ppm).unwrap_or(0));
    let budget_ppm = sink_ppm.map_or(r.max_fee_ppm, |ppm| ppm.min(r.max_fee_ppm));
    let max_fee = ppm_of(amount, budget_ppm);
    let benefit = sink_ppm.map_or(0, |ppm| ppm_of(amount, ppm));
    let deviation = source.deviation.max(sink.deviation);
    let mut priority: u8 = if deviation >= 0.4 {
        6
    } else if deviation >= 0.3 {
        5
    } else {
        4
    };
    if benefit < max_fee {
        priority -= 1;
    }
    let max_fee_ppm = r.max_fee_ppm;
    let target_ratio = r.target_local_ratio;
    let (src_id, dst_id) = (src.chan_id, dst.chan_id);
    let src_ratio = local_ratio(src.local_balance_sat, src.remote_balance_sat);
    let dst_ratio = local_ratio(dst.local_balance_sat, dst.remote_balance_sat);
    let src_name = alias(&src.peer_alias, src.chan_id);
    let dst_name = alias(&dst.peer_alias, dst.chan_id);
    let (src_pubkey, dst_pubkey) = (src.remote_pubkey.clone(), dst.remote_pubkey.clone());
    let wording = Wording::described(move || {
        let benefit_formula = match sink_ppm {
            Some(ppm) => format!(
                "amount × sink fee_rate_ppm / 1e6 = {} × {ppm} / 1e6: the fees earned when the \
                 moved liquidity routes out through the sink once",
                group_thousands(amount)
            ),
            None => "unknown: the snapshot has no fee policy for the sink channel".to_string(),
        };
        let budget_source = if sink_ppm.is_some_and(|ppm| ppm <= max_fee_ppm) {
            "the sink channel's own outgoing fee rate".to_string()
        } else if sink_ppm.is_some() {
            format!("rebalance.max_fee_ppm ({max_fee_ppm} ppm), below the sink's fee rate")
        } else {
            format!("rebalance.max_fee_ppm ({max_fee_ppm} ppm); the sink has no known fee policy")
        };
        let invoice_memo = format!("dustwatch rebalance {src_id}>{dst_id}");
        let target = percent(target_ratio);
        ActionText {
            cost_formula: format!(
                "max fee = ceil(amount × budget_ppm / 1e6) = ceil({} × {budget_ppm} / 1e6); budget = {budget_source}",
                group_thousands(amount)
            ),
            benefit_formula,
            prerequisites: vec![
                "both peers online (channels active)".to_string(),
                format!(
                    "a route from {src_pubkey} back to {dst_pubkey} at no more than {budget_ppm} ppm"
                ),
            ],
            rationale: format!(
                "{src_name} ({src_id}) is {} local and {dst_name} ({dst_id}) is {} local: moving {} sat out through the first and back in \
                 through the second brings both toward {target} local, within a fee budget of {budget_ppm} ppm.",
                percent(src_ratio),
                percent(dst_ratio),
                group_thousands(amount),
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
                        "bos rebalance --out {src_pubkey} --in {dst_pubkey} --amount {amount} --max-fee {max_fee} --max-fee-rate {budget_ppm}"
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
                        "lncli payinvoice --allow_self_payment --outgoing_chan_id {src_id} --last_hop {dst_pubkey} --fee_limit {max_fee} <payment_request>"
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
        expected_cost_sat: max_fee,
        expected_benefit_sat: benefit,
        complexity: Complexity::Medium,
        lnd_support: LndSupport::ExternalTool,
        wording,
        ..new_action(ActionKind::Rebalance, &[source.view, sink.view], None)
    }
}

/// The peer's alias, or a neutral name when LND did not know one.
///
/// Held by the text closures of actions, so the neutral name is written only when the text is
/// (not one string per action of an unnamed peer while the plan is built).
pub(crate) fn alias(peer_alias: &Arc<str>, chan_id: ChanId) -> PeerName {
    PeerName {
        alias: Arc::clone(peer_alias),
        chan_id,
    }
}

/// What [`alias`] returns: displays as the alias, or as `channel <chan_id>` when it is empty.
pub(crate) struct PeerName {
    alias: Arc<str>,
    chan_id: ChanId,
}

impl fmt::Display for PeerName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.alias.is_empty() {
            write!(f, "channel {}", self.chan_id)
        } else {
            // Peers choose their aliases: no control characters into texts and logs.
            crate::escape::Escaped(&self.alias).fmt(f)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::testkit::{channel, view};

    fn outcome(channels: &[crate::model::Channel]) -> RebalanceOutcome {
        let views: Vec<_> = channels.iter().map(|c| view(c, None)).collect();
        recommend(&views, &AnalysisSettings::default())
    }

    #[test]
    fn pairs_surplus_with_deficit_across_the_node() {
        let chans = [
            channel(1, 2_000_000, 1_800_000), // ~90% local: source
            channel(2, 2_000_000, 200_000),   // ~10% local: sink
            channel(3, 2_000_000, 1_000_000), // balanced: left alone
        ];
        let out = outcome(&chans);
        assert_eq!(out.actions.len(), 1);
        let a = &out.actions[0];
        assert_eq!(&*a.id, "rebalance:1>2");
        assert_eq!(a.chan_ids.as_slice(), [1, 2]);
        // Both are ~800k from 50%; the smaller of the two gaps moves.
        let amount = a.amount_sat.unwrap();
        assert!((780_000..=800_000).contains(&amount), "{amount}");
        // Budget: the sink's 100 ppm (below max_fee_ppm 500).
        assert_eq!(a.expected_cost_sat, ppm_of(amount, 100));
        assert_eq!(a.expected_benefit_sat, ppm_of(amount, 100));
        let bos = &a.text().commands[0].line;
        assert!(bos.starts_with("bos rebalance --out 02"), "{bos}");
        assert!(bos.contains(&format!("--amount {amount}")) && bos.contains("--max-fee-rate 100"));
        assert!(a
            .text()
            .lnd_note
            .as_deref()
            .unwrap()
            .contains("no native rebalance"));
        assert!(out.unmatched.is_empty(), "{:?}", out.unmatched);
    }

    #[test]
    fn one_source_feeds_several_sinks_and_leftovers_are_unmatched() {
        let chans = [
            channel(1, 10_000_000, 9_500_000), // surplus ~4.5M
            channel(2, 2_000_000, 100_000),    // deficit ~900k
            channel(3, 2_000_000, 200_000),    // deficit ~800k
        ];
        let out = outcome(&chans);
        let ids: Vec<&str> = out.actions.iter().map(|a| a.id.as_ref()).collect();
        assert_eq!(ids, vec!["rebalance:1>2", "rebalance:1>3"]);
        assert_eq!(out.unmatched.len(), 1);
        assert_eq!(out.unmatched[0].chan_id, 1);
        assert_eq!(out.unmatched[0].imbalance, Imbalance::Surplus);
    }

    #[test]
    fn inactive_and_same_peer_channels_are_not_paired() {
        let mut offline = channel(2, 2_000_000, 100_000);
        offline.active = false;
        let out = outcome(&[channel(1, 2_000_000, 1_900_000), offline]);
        assert!(out.actions.is_empty());

        let mut same_peer = channel(2, 2_000_000, 100_000);
        same_peer.remote_pubkey = format!("02{:064x}", 1).into();
        let out = outcome(&[channel(1, 2_000_000, 1_900_000), same_peer]);
        assert!(out.actions.is_empty());
        assert_eq!(out.unmatched.len(), 2);
    }

    #[test]
    fn a_peer_without_an_alias_is_named_by_its_channel() {
        assert_eq!(alias(&Arc::from(""), 42).to_string(), "channel 42");
        assert_eq!(alias(&Arc::from("bob"), 42).to_string(), "bob");
    }

    #[test]
    fn small_gaps_and_missing_policies() {
        // 60% vs 40%: inside min_deviation, nothing to do.
        let out = outcome(&[
            channel(1, 2_000_000, 1_200_000),
            channel(2, 2_000_000, 800_000),
        ]);
        assert!(out.actions.is_empty());

        let mut sink = channel(2, 2_000_000, 100_000);
        sink.local_policy = None;
        let out = outcome(&[channel(1, 2_000_000, 1_900_000), sink]);
        let a = &out.actions[0];
        assert_eq!(a.expected_benefit_sat, 0);
        assert_eq!(a.expected_cost_sat, ppm_of(a.amount_sat.unwrap(), 500));
        assert!(a.text().benefit_formula.starts_with("unknown"));
        assert!(a.priority < 6);
    }
}
