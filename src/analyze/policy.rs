//! Routing-policy changes that follow from the rest of the analysis (`update_policy` actions).
//!
//! * `fee_up` / `fee_down`: where no rebalance pair can fix an imbalance, the fee rate steers
//!   flow instead (passive rebalancing): a depleted channel charges more so it drains slower, a
//!   full one charges less so it drains faster.
//! * `max_htlc`: a depleted channel advertising a `max_htlc` above its local balance attracts
//!   forwards it must fail; capping it at the spendable balance stops that.
//!
//! (`min_htlc` changes are a dust strategy, see [`super::dust_strategy`].)

use std::collections::HashMap;

use crate::model::{ChanId, Channel, RoutingPolicy};
use crate::plan::{Action, ActionKind, ActionText, Command, Complexity, Wording};
use crate::settings::AnalysisSettings;

use super::health::local_ratio;
use super::names::alias;
use super::rebalance::{Imbalance, Unmatched};
use super::{group_thousands, new_action, ppm_of, ChannelView};

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

/// Average satoshis sent out of the channel per day of LND's monitoring lifetime.
fn sent_per_day(ch: &Channel) -> f64 {
    if ch.lifetime_secs == 0 {
        0.0
    } else {
        ch.total_satoshis_sent as f64 / (ch.lifetime_secs as f64 / 86_400.0)
    }
}

/// Fee and `max_htlc` changes.
pub fn recommend(
    views: &[ChannelView<'_>],
    settings: &AnalysisSettings,
    unmatched: &[Unmatched],
) -> Vec<Action> {
    let by_id: HashMap<ChanId, &ChannelView<'_>> = views.iter().map(|v| (v.chan_id(), v)).collect();
    let mut actions: Vec<Action> = unmatched
        .iter()
        .filter_map(|u| {
            by_id
                .get(&u.chan_id)
                .and_then(|v| fee_action(v, u, settings))
        })
        .collect();
    actions.extend(views.iter().filter_map(|v| max_htlc_action(v, settings)));
    actions
}

fn fee_action(
    view: &ChannelView<'_>,
    unmatched: &Unmatched,
    settings: &AnalysisSettings,
) -> Option<Action> {
    let ch = view.channel;
    let policy = ch.local_policy?;
    let r = &settings.rebalance;
    let current = u64::try_from(policy.fee_rate_ppm).unwrap_or(0);
    // Rounded step; `as` saturates and the value is non-negative.
    let step = ((current as f64 * r.passive_fee_step).ceil() as u64).max(r.min_fee_step_ppm);
    let horizon = settings.benefit_horizon_days;
    // Sat/day × days × ppm / 1e6, rounded up; `as` saturates.
    let revenue_delta =
        |delta: u64| ppm_of((sent_per_day(ch) * horizon as f64).ceil() as u64, delta);
    let chan_id = ch.chan_id;
    let remaining = unmatched.remaining_sat;
    let (bucket, new_ppm, cost, benefit) = match unmatched.imbalance {
        Imbalance::Deficit => {
            let new_ppm = current.saturating_add(step);
            ("fee_up", new_ppm, 0, revenue_delta(step))
        }
        Imbalance::Surplus => {
            if current == 0 {
                return None;
            }
            let new_ppm = current.saturating_sub(step);
            ("fee_down", new_ppm, revenue_delta(current - new_ppm), 0)
        }
    };
    let imbalance = unmatched.imbalance;
    let name = alias(&ch.peer_alias, ch.chan_id);
    let channel_point = ch.channel_point.clone();
    let wording = Wording::described(move || {
        let (cost_formula, benefit_formula, rationale) = match imbalance {
            Imbalance::Deficit => (
                "none charged; forwards that now pick a cheaper route are not counted".to_string(),
                format!(
                    "sent per day × {horizon} days × {step} ppm / 1e6: the extra fee on the current outflow"
                ),
                format!(
                    "{name} ({chan_id}) is short {} sat of local balance and no channel with surplus can rebalance \
                     it: raising the fee rate from {current} to {new_ppm} ppm slows the outflow.",
                    group_thousands(remaining)
                ),
            ),
            Imbalance::Surplus => (
                format!(
                    "sent per day × {horizon} days × {} ppm / 1e6: the fee given up on the current outflow",
                    current - new_ppm
                ),
                "unknown: the extra outflow a lower fee attracts".to_string(),
                format!(
                    "{name} ({chan_id}) holds {} sat more local balance than the target and no channel short of \
                     liquidity can take it: lowering the fee rate from {current} to {new_ppm} ppm lets it drain.",
                    group_thousands(remaining)
                ),
            ),
        };
        ActionText {
            cost_formula,
            benefit_formula,
            rationale,
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
        expected_cost_sat: cost,
        expected_benefit_sat: benefit,
        complexity: Complexity::Low,
        wording,
        ..new_action(ActionKind::UpdatePolicy, &[view], Some(bucket))
    })
}

fn max_htlc_action(view: &ChannelView<'_>, settings: &AnalysisSettings) -> Option<Action> {
    let ch = view.channel;
    let advertised = ch.local_policy?.max_htlc_msat?;
    let r = &settings.rebalance;
    let depleted = r.target_local_ratio - local_ratio(ch.local_balance_sat, ch.remote_balance_sat)
        >= r.min_deviation;
    let spendable = ch
        .local_balance_sat
        .saturating_sub(ch.local_chan_reserve_sat);
    // Round down to whole thousands of sat so the value does not chase every payment.
    let new_max_msat = (spendable / 1_000)
        .saturating_mul(1_000)
        .saturating_mul(1_000);
    let min_htlc = ch
        .local_policy
        .and_then(|p| p.min_htlc_msat)
        .unwrap_or(1_000);
    if !ch.active
        || super::close::is_candidate(view, settings)
        || !depleted
        || advertised <= ch.local_balance_sat.saturating_mul(1_000)
        || new_max_msat < min_htlc.max(1_000)
    {
        return None;
    }
    let chan_id = ch.chan_id;
    let policy = ch.local_policy;
    let name = alias(&ch.peer_alias, ch.chan_id);
    let channel_point = ch.channel_point.clone();
    let wording = Wording::described(move || {
        ActionText {
        cost_formula: "none".to_string(),
        benefit_formula: "not counted in sat: forwards above the local balance fail anyway; capping \
                          max_htlc makes senders route them elsewhere first time"
            .to_string(),
        rationale: format!(
            "{name} ({chan_id}) advertises max_htlc {} msat but can send only about {} sat: cap it at {} msat.",
            group_thousands(advertised),
            group_thousands(spendable),
            group_thousands(new_max_msat)
        ),
        commands: vec![Command {
            tool: "lncli".to_string(),
            line: updatechanpolicy(policy, &channel_point, None, None, Some(new_max_msat)),
            purpose: "cap max_htlc at the spendable local balance".to_string(),
        }],
        ..ActionText::default()
    }
    });
    Some(Action {
        priority: 2,
        complexity: Complexity::Low,
        wording,
        ..new_action(ActionKind::UpdatePolicy, &[view], Some("max_htlc"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::rebalance;
    use crate::analyze::testkit::{channel, view};

    fn actions(channels: &[Channel]) -> Vec<Action> {
        let settings = AnalysisSettings::default();
        let views: Vec<_> = channels.iter().map(|c| view(c, None)).collect();
        let outcome = rebalance::recommend(&views, &settings);
        recommend(&views, &settings, &outcome.unmatched)
    }

    #[test]
    fn unmatched_deficit_raises_the_fee_and_caps_max_htlc() {
        let mut depleted = channel(2, 2_000_000, 100_000);
        depleted.total_satoshis_sent = 3_000_000; // 100k/day over 30 days
        let acts = actions(&[depleted]);
        let ids: Vec<&str> = acts.iter().map(|a| a.id.as_ref()).collect();
        assert_eq!(
            ids,
            vec!["update_policy:2:fee_up", "update_policy:2:max_htlc"]
        );
        let fee = &acts[0];
        // 100 ppm + max(25% = 25, 10) = 125 ppm.
        assert!(
            fee.text().commands[0].line.contains("--fee_rate_ppm 125"),
            "{}",
            fee.text().commands[0].line
        );
        assert!(fee.text().commands[0]
            .line
            .contains("--base_fee_msat 1000 "));
        assert!(fee.text().commands[0]
            .line
            .contains("--time_lock_delta 80 "));
        // 100,000 sat/day × 30 days × 25 ppm / 1e6 = 75 sat.
        assert_eq!(fee.expected_benefit_sat, 75);
        let cap = &acts[1];
        // 100,000 local − 20,000 reserve = 80,000 sat.
        assert!(
            cap.text().commands[0]
                .line
                .contains("--max_htlc_msat 80000000 "),
            "{}",
            cap.text().commands[0].line
        );
    }

    #[test]
    fn unmatched_surplus_lowers_the_fee() {
        let acts = actions(&[channel(1, 2_000_000, 1_900_000)]);
        assert_eq!(acts.len(), 1);
        assert_eq!(&*acts[0].id, "update_policy:1:fee_down");
        assert!(acts[0].text().commands[0]
            .line
            .contains("--fee_rate_ppm 75"));
    }

    #[test]
    fn paired_channels_get_no_fee_change_and_unknown_policies_none() {
        let acts = actions(&[
            channel(1, 2_000_000, 1_900_000),
            channel(2, 2_000_000, 100_000),
        ]);
        assert!(acts.iter().all(|a| !a.id.contains("fee_")), "{acts:?}");
        let mut unknown = channel(2, 2_000_000, 100_000);
        unknown.local_policy = None;
        assert!(actions(&[unknown]).is_empty());
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
