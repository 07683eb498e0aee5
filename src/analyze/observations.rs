//! Which of a channel's issues need attention and which are observations.
//!
//! An issue needs attention when there is something to do about it (an action on the channel
//! pays) or money is at risk. The rest are observations an operator reads but does not act on
//! yet: an idle channel that no close pays for, a lopsided one no rebalance or fee change pays
//! for, a peer offline with nothing pending. Those move from the channel's issues to its notes,
//! so the text report's CHANNELS NEEDING ATTENTION lists only channels with work or risk.

use crate::plan::{Action, ActionKind, Issue};
use crate::settings::AnalysisSettings;

use super::{close, health, ChannelView};

/// Moves the observation issues out of `issues` (the view's, taken out of it) and returns one
/// note for each.
pub(super) fn demote(
    issues: &mut Vec<Issue>,
    view: &ChannelView<'_>,
    actions: &[Action],
    settings: &AnalysisSettings,
) -> Vec<String> {
    let mut notes = Vec::new();
    issues.retain(|&issue| match observation(issue, view, actions, settings) {
        Some(note) => {
            notes.push(note);
            false
        }
        None => true,
    });
    notes
}

/// The note for an issue that is only an observation on this channel; `None` when it needs
/// attention.
fn observation(
    issue: Issue,
    view: &ChannelView<'_>,
    actions: &[Action],
    settings: &AnalysisSettings,
) -> Option<String> {
    let has = |kinds: &[ActionKind]| actions.iter().any(|a| kinds.contains(&a.kind));
    let turnover = view.health.daily_turnover;
    let target = settings.health.target_daily_turnover;
    match issue {
        Issue::Underutilized if !has(&[ActionKind::Close]) => {
            let why = if close::is_idle(view, settings) {
                format!(
                    "no close pays yet: its local balance would not earn closing and reopening back over {} days \
                     at the node's yield",
                    settings.benefit_horizon_days
                )
            } else {
                "it still routes or is too young to close for idleness".to_string()
            };
            Some(format!(
                "underused: turnover {turnover:.3}× capacity per day in the window against a target of \
                 {target}×; {why}"
            ))
        }
        Issue::Imbalanced
            if !has(&[
                ActionKind::Rebalance,
                ActionKind::UpdatePolicy,
                ActionKind::SpliceIn,
            ]) =>
        {
            Some(format!(
                "lopsided ({:.0}% local) and the window's flow keeps it so, but no rebalance or fee change pays for \
                 it now",
                view.health.local_ratio * 100.0
            ))
        }
        Issue::Overutilized
            if !has(&[
                ActionKind::Rebalance,
                ActionKind::UpdatePolicy,
                ActionKind::SpliceIn,
            ]) =>
        {
            Some(format!(
                "busy: turnover {turnover:.2}× capacity per day in the window, but no fee rise, rebalance or extra \
                 capacity pays for itself"
            ))
        }
        // Offline with nothing pending puts no money at risk; a peer that stays away shows as
        // `low_uptime` once LND has watched the channel long enough. The `channel_inactive`
        // alert follows the same rule, so alert and note agree.
        Issue::Inactive
            if !health::inactive_needs_attention(view.channel, view.age_secs, settings) =>
        {
            Some(
                "inactive: the peer is offline or not reestablished; nothing is pending on the channel, so nothing \
                 is at risk unless it stays offline (low_uptime judges that)"
                    .to_string(),
            )
        }
        Issue::UneconomicalLocalBalance if !has(&[ActionKind::Close]) => Some(format!(
            "local balance {} sat is small next to a cooperative close ({} sat): little of ours is at stake",
            view.channel.local_balance_sat, view.dust.force_close.coop_close_fee_sat
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::new_action;
    use crate::analyze::testkit::{channel, flow_of, flow_view, htlc, scid, settle_balances};

    #[test]
    fn issues_without_an_action_or_risk_become_notes() {
        let id = scid(800_000, 3);
        let mut ch = channel(id, 2_000_000, 1_000_000);
        ch.active = false;
        settle_balances(&mut ch);
        let flow = flow_of(&[]);
        let view = flow_view(&ch, Some(806_000), &flow);
        let settings = AnalysisSettings::default();
        let mut issues = view.health.issues.clone();
        assert!(issues.contains(&Issue::Underutilized), "{issues:?}");
        assert!(issues.contains(&Issue::Inactive), "{issues:?}");
        let notes = demote(&mut issues, &view, &[], &settings);
        assert!(issues.is_empty(), "{issues:?}");
        assert!(
            notes.iter().any(|n| n.starts_with("underused")),
            "{notes:?}"
        );
        assert!(notes.iter().any(|n| n.starts_with("inactive")), "{notes:?}");

        // A close on the channel makes idleness something to act on; a pending HTLC on an
        // offline channel is money at risk.
        ch.pending_htlcs.push(htlc(0, true, 50_000, 806_500));
        settle_balances(&mut ch);
        let view = flow_view(&ch, Some(806_000), &flow);
        let mut issues = view.health.issues.clone();
        let close = new_action(ActionKind::Close, &[&view], None);
        let notes = demote(&mut issues, &view, &[close], &settings);
        assert!(issues.contains(&Issue::Underutilized));
        assert!(issues.contains(&Issue::Inactive));
        assert!(notes.is_empty(), "{notes:?}");
    }
}
