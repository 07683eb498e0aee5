//! Dust strategies: what an LND operator can actually do about dust.
//!
//! The prototype's ideas ("consolidate dust to the remote side", "use dust for fees", "sweep dust
//! with a splice") cannot work: a trimmed HTLC is not an output, it only exists as extra fee on
//! the commitment transaction, and it resolves off-chain or goes to miners. What works:
//! * `raise_min_htlc`: where we keep offering HTLCs below the trim threshold on a channel whose
//!   fee exposure is near LND's limit, raise our `min_htlc` above it, so forwards that would be
//!   dust on either commitment are not offered on this channel at all. It protects: at the
//!   limit LND fails every further HTLC on the channel. Far from the limit it is not an action:
//!   the dust at stake is not a saving (a trimmed HTLC that settles costs nothing), and the
//!   raise turns small paying forwards away;
//! * `hold_off_force_close`: while trimmed HTLCs are pending on our commitment, a force close
//!   burns them; wait for them to resolve (the action names the sat at stake). Raised when a
//!   force close is plausible (peer offline, an HTLC near expiry) or the dust reaches
//!   `dust_strategy.hold_off_min_sat`;
//! * `set_max_fee_exposure`: the `channel-max-fee-exposure` value that fits the node: its worst
//!   exposure now or under the configured fee spikes, with a margin, so LND neither fails HTLCs
//!   in a fee spike nor allows far more dust than the node ever carries.

use crate::dust::{trim_thresholds, DustParams, ExpiryLevel};

use crate::model::{ChanId, ExposureLimitSource};
use crate::plan::{
    action_id, Action, ActionKind, ActionText, Command, Complexity, Issue, LndSupport, PlanDigest,
    Wording,
};

use crate::settings::AnalysisSettings;

use super::names::labelled;
use super::policy::updatechanpolicy;
use super::{group_thousands, new_action, par_filter_map, ppm_of, ChannelView};

/// Dust-strategy actions and the fitting exposure limit (reported in the summary either way).
pub struct DustStrategyOutcome {
    pub actions: Vec<Action>,
    pub recommended_limit_sat: u64,
}

pub fn recommend(
    views: &[ChannelView<'_>],
    settings: &AnalysisSettings,
    params: &DustParams,
    previous: Option<&PlanDigest>,
) -> DustStrategyOutcome {
    let seen_before = channels_with_outgoing_dust(previous);
    let (raise, hold_off) = rayon::join(
        || par_filter_map(views, |v| raise_min_htlc(v, settings, &seen_before)),
        || par_filter_map(views, |v| hold_off_force_close(v, settings)),
    );
    let (limit_action, recommended_limit_sat) = exposure_limit(views, settings, params, previous);
    let mut actions = Vec::with_capacity(raise.len() + hold_off.len() + 1);
    actions.extend(raise);
    actions.extend(hold_off);
    actions.extend(limit_action);
    DustStrategyOutcome {
        actions,
        recommended_limit_sat,
    }
}

/// Channels on which the previous plan saw outgoing trimmed HTLCs, as numbers sorted for
/// binary search (built once, so a large node does not search the previous plan's list of
/// strings per channel). Plans write channel ids as decimal strings; one that does not parse
/// names no channel of this node.
fn channels_with_outgoing_dust(previous: Option<&PlanDigest>) -> Vec<ChanId> {
    let mut ids: Vec<ChanId> = previous
        .map(|p| {
            p.outgoing_dust_channels()
                .iter()
                .filter_map(|id| id.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    ids.sort_unstable();
    ids
}

/// Rounds up to a whole 100 sat.
fn round_up_100(sat: u64) -> u64 {
    sat.div_ceil(100).saturating_mul(100)
}

fn raise_min_htlc(
    view: &ChannelView<'_>,
    settings: &AnalysisSettings,
    seen_before: &[ChanId],
) -> Option<Action> {
    let ch = view.channel;
    let d = &view.dust;
    let s = &settings.dust_strategy;
    // Walked again where needed rather than collected: most channels have none.
    let outgoing = || {
        d.htlcs
            .iter()
            .filter(|h| !h.incoming && (h.trimmed_on_local || h.trimmed_on_remote))
            .map(|h| h.amount_sat)
    };
    let count = u32::try_from(outgoing().count()).unwrap_or(u32::MAX);
    let recurring = count >= s.recurring_trimmed_htlcs.max(1)
        || (count >= 1 && seen_before.binary_search(&ch.chan_id).is_ok());
    if !recurring || d.exposure_ratio < settings.exposure_warn_ratio {
        return None;
    }
    // Our offered HTLC is "offered" on our commitment and "received" on the peer's.
    let m = s.min_htlc_feerate_multiplier.max(1.0);
    // `as` saturates; the product is non-negative.
    let feerate = (ch.fee_per_kw as f64 * m).ceil() as u64;
    let on_local = trim_thresholds(ch.commitment_type, d.local.dust_limit_sat, feerate).offered_sat;
    let on_remote =
        trim_thresholds(ch.commitment_type, d.remote.dust_limit_sat, feerate).received_sat;
    let min_sat = round_up_100(on_local.max(on_remote));
    let min_msat = min_sat.saturating_mul(1_000);
    let current = ch.local_policy.and_then(|p| p.min_htlc_msat);
    if current.is_some_and(|c| c >= min_msat) {
        return None;
    }
    let dust_sat: u64 = outgoing().fold(0, u64::saturating_add);
    let policy = ch.local_policy;
    let cost = policy.map_or(0, |p| {
        let ppm = u64::try_from(p.fee_rate_ppm).unwrap_or(0);
        let base_sat = u64::try_from(p.fee_base_msat).unwrap_or(0) / 1000;
        outgoing()
            .map(|a| ppm_of(a, ppm).saturating_add(base_sat))
            .fold(0, u64::saturating_add)
    });
    // Near the exposure limit by construction (`FeeExposureNearLimit`).
    let mut priority: u8 = 6;
    if view.health.issues.contains(&Issue::HighDustRatio) {
        priority += 1;
    }
    let exposure_percent = (d.exposure_ratio * 100.0).round();
    let name = labelled(&ch.peer_alias, ch.chan_id);
    let channel_point = ch.channel_point.clone();
    let wording = Wording::described(move || {
        let cost_formula = match policy {
            Some(p) => {
                let ppm = u64::try_from(p.fee_rate_ppm).unwrap_or(0);
                let base_sat = u64::try_from(p.fee_base_msat).unwrap_or(0) / 1000;
                format!(
                    "Σ over the {count} dust forwards of (amount × {ppm} ppm / 1e6 + {base_sat} sat base): the \
                     routing fees such forwards pay, given up each time"
                )
            }
            None => "unknown: the snapshot has no fee policy for the channel".to_string(),
        };
        let current_text = current.map_or("unknown".to_string(), |c| {
            format!("{} msat", group_thousands(c))
        });
        let prerequisites = if policy.is_none() {
            vec![
                "the channel's current --base_fee_msat, --fee_rate_ppm and --time_lock_delta added to the \
                 command (the snapshot has no policy; LND before 0.18 resets omitted values)"
                    .to_string(),
            ]
        } else {
            Vec::new()
        };
        ActionText {
            cost_formula,
            benefit_formula: format!(
                "not a saving: Σ outgoing trimmed HTLC sat now ({count} HTLCs), the dust kept off both commitments \
                 of a channel at {exposure_percent}% of its fee-exposure limit, where LND fails every further HTLC"
            ),
            prerequisites,
            rationale: format!(
                "{name} is at {exposure_percent}% of its fee-exposure limit with {count} outgoing HTLCs ({} sat) \
                 that are dust on a commitment; HTLCs below {} sat are trimmed at up to {m}× today's feerate, and min_htlc \
                 is {current_text}: raise it to {} msat before LND starts failing HTLCs on it.",
                group_thousands(dust_sat),
                group_thousands(min_sat),
                group_thousands(min_msat),
            ),
            lnd_note: Some(
                "min_htlc is our forwarding policy: it stops dust HTLCs we would offer on this channel. Incoming \
                 dust HTLCs are governed by the peer's policy."
                    .to_string(),
            ),
            commands: vec![Command {
                tool: "lncli".to_string(),
                line: updatechanpolicy(policy, &channel_point, None, Some(min_msat), None),
                purpose: format!("set min_htlc to {} msat", group_thousands(min_msat)),
            }],
            alternatives: Vec::new(),
        }
    });
    Some(Action {
        priority,
        amount_sat: Some(min_sat),
        expected_cost_sat: cost,
        expected_benefit_sat: dust_sat,
        dust_impact_sat: i64::try_from(dust_sat).unwrap_or(i64::MAX),
        complexity: Complexity::Low,
        wording,
        ..new_action(ActionKind::RaiseMinHtlc, &[view], None)
    })
}

fn hold_off_force_close(view: &ChannelView<'_>, settings: &AnalysisSettings) -> Option<Action> {
    let ch = view.channel;
    let d = &view.dust;
    let burnt = d.local.trimmed_htlc_sat;
    if burnt == 0 {
        return None;
    }
    let worst = d
        .htlcs
        .iter()
        .map(|h| match h.expiry {
            ExpiryLevel::Critical => 2,
            ExpiryLevel::Warn => 1,
            ExpiryLevel::Ok | ExpiryLevel::Unknown => 0,
        })
        .max()
        .unwrap_or(0);
    let (priority, why_now) = match (worst, ch.active) {
        (2, _) => (9, " An HTLC is close to expiry: LND goes on-chain by itself if it is not resolved, so get the peer to settle or fail it."),
        (1, _) => (8, " An HTLC expires soon: if it is not resolved LND will go on-chain by itself."),
        (_, false) => (7, " The peer is offline, which is when a force close is most tempting."),
        // On a working channel with nothing near expiry, a little dust resolves within
        // seconds: advice about it would only flicker from one plan to the next.
        _ if burnt < settings.dust_strategy.hold_off_min_sat => return None,
        _ => (3, ""),
    };
    let trimmed_count = d.local.trimmed_htlc_count;
    let (force_total, coop_fee) = (d.force_close.total_sat, d.force_close.coop_close_fee_sat);
    let name = labelled(&ch.peer_alias, ch.chan_id);
    let channel_point = ch.channel_point.clone();
    let wording = Wording::described(move || {
        ActionText {
        cost_formula: "none: waiting costs nothing".to_string(),
        benefit_formula: "trimmed HTLC sat on our commitment: a force close now gives them to miners".to_string(),
        rationale: format!(
            "{name} has {trimmed_count} trimmed {} ({} sat) on our commitment: a force close now would burn {}, {} sat \
             in all versus {} for a cooperative close.{why_now}",
            if trimmed_count == 1 { "HTLC" } else { "HTLCs" },
            group_thousands(burnt),
            if trimmed_count == 1 { "it" } else { "them" },
            group_thousands(force_total),
            group_thousands(coop_fee),
        ),
        lnd_note: Some(format!(
            "Nothing to run: do not use `lncli closechannel --force --chan_point {channel_point}` until the pending HTLCs are resolved."
        )),
        ..ActionText::default()
    }
    });
    Some(Action {
        priority,
        expected_benefit_sat: burnt,
        dust_impact_sat: i64::try_from(burnt).unwrap_or(i64::MAX),
        complexity: Complexity::Low,
        lnd_support: LndSupport::Advisory,
        wording,
        ..new_action(ActionKind::HoldOffForceClose, &[view], None)
    })
}

/// The worst exposure of a channel: either commitment, now or in any fee spike.
fn worst_exposure(view: &ChannelView<'_>) -> u64 {
    let d = &view.dust;
    d.fee_spike
        .iter()
        .flat_map(|s| [s.local_fee_exposure_sat, s.remote_fee_exposure_sat])
        .chain([d.local.fee_exposure_sat, d.remote.fee_exposure_sat])
        .max()
        .unwrap_or(0)
}

/// The `channel-max-fee-exposure` that fits the node, and an action when the current one does not.
///
/// Raising the limit means editing lnd.conf and restarting LND, so a raise is advised only when
/// a channel is over the limit now or in a fee spike; one the previous plan advised stays while
/// the worst exposure with its margin still exceeds the limit, so it does not come and go.
fn exposure_limit(
    views: &[ChannelView<'_>],
    settings: &AnalysisSettings,
    params: &DustParams,
    previous: Option<&PlanDigest>,
) -> (Option<Action>, u64) {
    let s = &settings.dust_strategy;
    // The first channel with the largest worst-case exposure decides (views are sorted by id).
    let decider = views
        .iter()
        .fold(None::<(&ChannelView<'_>, u64)>, |best, v| {
            let e = worst_exposure(v);
            match best {
                Some((_, b)) if b >= e => best,
                _ => Some((v, e)),
            }
        });
    let needed = decider.map_or(0, |(_, e)| e);
    // `as` saturates; the product is non-negative.
    let with_margin = (needed as f64 * s.exposure_limit_margin.max(1.0)).ceil() as u64;
    let recommended = with_margin
        .max(s.exposure_limit_floor_sat)
        .div_ceil(10_000)
        .saturating_mul(10_000);
    let current = params.max_fee_exposure_sat;
    let Some((view, _)) = decider else {
        return (None, recommended);
    };
    let over_now = views.iter().any(|v| v.dust.exposure_headroom_sat < 0);
    let spike_over = views
        .iter()
        .any(|v| v.dust.fee_spike.iter().any(|f| f.exceeds_limit));
    let raise_id = action_id(ActionKind::SetMaxFeeExposure, &[], Some("raise"));
    let raised_before = previous.is_some_and(|p| p.action_ids().iter().any(|id| **id == *raise_id));
    let (bucket, priority, benefit_formula, why) = if recommended > current
        && (over_now || spike_over || raised_before)
    {
        (
            "raise",
            if over_now { 8 } else if spike_over { 7 } else { 6 },
            "not counted in sat: LND stops failing HTLCs (and the link) when a fee spike pushes exposure over the limit",
            format!(
                "channel {} reaches {} sat of fee exposure (now or in a fee spike), above or close to the limit of {} sat",
                view.chan_id(),
                group_thousands(needed),
                group_thousands(current)
            ),
        )
    } else if (recommended as f64) < current as f64 * s.lower_limit_below_ratio {
        (
            "lower",
            1,
            "not counted in sat: each channel's worst-case loss to dust is capped at the lower limit",
            format!(
                "the node's worst exposure, fee spikes included, is {} sat (channel {}), far below the limit of {} sat",
                group_thousands(needed),
                view.chan_id(),
                group_thousands(current)
            ),
        )
    } else {
        return (None, recommended);
    };
    let key = match params.exposure_limit_source {
        ExposureLimitSource::LndDustThreshold => "dust-threshold",
        ExposureLimitSource::LndChannelMaxFeeExposure | ExposureLimitSource::Configured => {
            "channel-max-fee-exposure"
        }
    };
    // One action per node: its words are written out now.
    let wording = Wording::written(ActionText {
        cost_formula: "none: a configuration change (LND restarts)".to_string(),
        benefit_formula: benefit_formula.to_string(),
        prerequisites: vec!["a restart of LND to apply lnd.conf".to_string()],
        rationale: format!(
            "Node-wide: {why}; {key}={recommended} is that worst exposure × {} (at least {} sat), rounded up to 10,000 sat.",
            s.exposure_limit_margin,
            group_thousands(s.exposure_limit_floor_sat)
        ),
        lnd_note: Some(format!(
            "{key} is an lnd.conf option; the limit applies to every channel. Set analysis.max_fee_exposure_sat \
             to the same value when LND does not report its own limit."
        )),
        commands: vec![Command {
            tool: "lnd.conf".to_string(),
            line: format!("{key}={recommended}"),
            purpose: "set the fee-exposure limit, then restart LND".to_string(),
        }],
        alternatives: Vec::new(),
    });
    let action = Action {
        id: action_id(ActionKind::SetMaxFeeExposure, &[], Some(bucket)),
        priority,
        amount_sat: Some(recommended),
        complexity: Complexity::Low,
        lnd_support: LndSupport::Config,
        wording,
        ..new_action(ActionKind::SetMaxFeeExposure, &[view], None)
    };
    (Some(action), recommended)
}

#[cfg(test)]
mod tests;
