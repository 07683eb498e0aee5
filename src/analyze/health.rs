//! Channel health: balance, dust and flow folded into one score, plus the named issues.
//!
//! `health_score = w_b·balance_ratio + w_d·(1 − min(1, dust_ratio / high_dust_ratio)) + w_u·utilization`
//! with the weights from [`HealthSettings`]; every input is in `[0, 1]`, so with weights summing
//! to 1 the score is in `[0, 1]` too. Utilization is the windowed flow of [`FlowFacts`]; without
//! forwarding history it is unknown, and the score is `(w_b·balance + w_d·dust) / (w_b + w_d)`.

use crate::dust::{ChannelDust, ExpiryLevel};
use crate::model::Channel;
use crate::plan::{ratio, Health, HealthStatus, Issue};
use crate::settings::{AnalysisSettings, HealthSettings};

use super::flow::FlowFacts;

/// `min(local, remote) / max(local, remote)`; 0 when both are 0.
pub fn balance_ratio(local_sat: u64, remote_sat: u64) -> f64 {
    let (lo, hi) = (local_sat.min(remote_sat), local_sat.max(remote_sat));
    if hi == 0 {
        0.0
    } else {
        lo as f64 / hi as f64
    }
}

/// `local / (local + remote)`; 0 when both are 0.
pub fn local_ratio(local_sat: u64, remote_sat: u64) -> f64 {
    let total = local_sat.saturating_add(remote_sat);
    if total == 0 {
        0.0
    } else {
        local_sat as f64 / total as f64
    }
}

/// Daily turnover relative to the target, capped at 1 (0 when the target is not positive).
pub fn utilization(daily_turnover: f64, settings: &HealthSettings) -> f64 {
    if settings.target_daily_turnover <= 0.0 {
        return 0.0;
    }
    (daily_turnover / settings.target_daily_turnover).clamp(0.0, 1.0)
}

/// `max(local, remote commitment trimmed HTLC sat) / capacity`.
pub fn dust_ratio(channel: &Channel, dust: &ChannelDust) -> f64 {
    if channel.capacity_sat == 0 {
        return 0.0;
    }
    dust_at_stake_sat(dust) as f64 / channel.capacity_sat as f64
}

/// The dust a channel holds now: the larger trimmed HTLC sum of its two commitments.
pub fn dust_at_stake_sat(dust: &ChannelDust) -> u64 {
    dust.local
        .trimmed_htlc_sat
        .max(dust.remote.trimmed_htlc_sat)
}

/// The dust component of the score: 1 without dust, 0 at or above `high_dust_ratio`.
fn dust_component(dust_ratio: f64, settings: &HealthSettings) -> f64 {
    if settings.high_dust_ratio <= 0.0 {
        return if dust_ratio > 0.0 { 0.0 } else { 1.0 };
    }
    1.0 - (dust_ratio / settings.high_dust_ratio).min(1.0)
}

/// Status from the score: `healthy` above `healthy_above`, `attention_needed` above
/// `attention_above`, `unhealthy` otherwise.
pub fn status(score: f64, settings: &HealthSettings) -> HealthStatus {
    if score > settings.healthy_above {
        HealthStatus::Healthy
    } else if score > settings.attention_above {
        HealthStatus::AttentionNeeded
    } else {
        HealthStatus::Unhealthy
    }
}

/// A local balance so small that on-chain fees would eat most of it if the channel closed.
///
/// Zero local balance is not "uneconomical": there is nothing of ours to lose.
pub fn uneconomical_local_balance(
    channel: &Channel,
    coop_close_fee_sat: u64,
    multiple: u64,
) -> bool {
    channel.local_balance_sat > 0
        && coop_close_fee_sat > 0
        && channel.local_balance_sat < coop_close_fee_sat.saturating_mul(multiple)
}

/// Peer uptime over LND's monitoring lifetime; `None` before LND monitored the channel.
pub fn uptime_ratio(channel: &Channel) -> Option<f64> {
    (channel.lifetime_secs > 0)
        .then(|| (channel.uptime_secs as f64 / channel.lifetime_secs as f64).min(1.0))
}

/// True when the channel is old enough to be judged on flow and uptime: at least
/// `analysis.min_channel_age` from its funding block (an unknown age does not hold it back).
pub fn old_enough(age_secs: Option<u64>, settings: &AnalysisSettings) -> bool {
    age_secs.is_none_or(|age| age >= settings.min_channel_age.as_secs())
}

/// True when uptime can be judged: LND monitored the channel for `close.min_observed_days`
/// (its `lifetime` restarts with LND) and the channel is old enough.
pub fn uptime_judged(
    channel: &Channel,
    age_secs: Option<u64>,
    settings: &AnalysisSettings,
) -> bool {
    channel.lifetime_secs >= settings.close.min_observed_days.saturating_mul(86_400)
        && old_enough(age_secs, settings)
}

/// Low uptime: below `health.low_uptime_below` of LND's monitoring lifetime, once uptime can be
/// judged ([`uptime_judged`]).
pub fn low_uptime(channel: &Channel, age_secs: Option<u64>, settings: &AnalysisSettings) -> bool {
    uptime_judged(channel, age_secs, settings)
        && uptime_ratio(channel).is_some_and(|u| u < settings.health.low_uptime_below)
}

/// An offline peer that needs attention: HTLCs are pending on the channel (they can neither
/// settle nor fail until the peer returns, and one near expiry forces a close), or the peer has
/// been away for much of the time LND watched it ([`low_uptime`]). LND does not say how long the
/// peer has been offline now, so a peer offline with nothing pending and good uptime is a note.
pub fn inactive_needs_attention(
    channel: &Channel,
    age_secs: Option<u64>,
    settings: &AnalysisSettings,
) -> bool {
    !channel.active
        && (!channel.pending_htlcs.is_empty() || low_uptime(channel, age_secs, settings))
}

/// How much more the window's flow must go one way than the other to count as one-way.
const ONE_WAY_FLOW: f64 = 1.5;

/// True when the window's forwards mostly push the channel further toward the side it is
/// already short of: out of a drained channel, or into a full one.
fn flow_deepens_imbalance(channel: &Channel, flow: &FlowFacts) -> bool {
    let out = flow.window.routed_out_msat as f64;
    let inbound = flow.window.routed_in_msat as f64;
    if flow.window.is_idle() {
        return false;
    }
    if local_ratio(channel.local_balance_sat, channel.remote_balance_sat) < 0.5 {
        out > ONE_WAY_FLOW * inbound
    } else {
        inbound > ONE_WAY_FLOW * out
    }
}

/// Scores one channel without forwarding history (flow unknown).
pub fn assess(channel: &Channel, dust: &ChannelDust, settings: &AnalysisSettings) -> Health {
    assess_with_flow(channel, dust, settings, None, None)
}

/// Scores one channel; `flow` is `None` when the snapshot has no forwarding history.
pub fn assess_with_flow(
    channel: &Channel,
    dust: &ChannelDust,
    settings: &AnalysisSettings,
    flow: Option<&FlowFacts>,
    age_secs: Option<u64>,
) -> Health {
    let h = &settings.health;
    let balance = balance_ratio(channel.local_balance_sat, channel.remote_balance_sat);
    let dust_ratio = dust_ratio(channel, dust);
    let turnover = flow.map(|f| f.daily_turnover(channel.capacity_sat));
    let utilization = turnover.map(|t| utilization(t, h));
    let score = match utilization {
        Some(u) => {
            h.balance_weight * balance
                + h.dust_weight * dust_component(dust_ratio, h)
                + h.utilization_weight * u
        }
        None => {
            let weights = h.balance_weight + h.dust_weight;
            if weights > 0.0 {
                (h.balance_weight * balance + h.dust_weight * dust_component(dust_ratio, h))
                    / weights
            } else {
                0.0
            }
        }
    };
    let uptime = uptime_ratio(channel);
    let judged_on_flow = utilization.filter(|_| old_enough(age_secs, settings));

    let mut issues = Vec::new();
    // Imbalance matters where the window's flow keeps it so: a drained channel that mostly
    // routes out, or a full one that mostly routes in. Two-way flow rebalances a channel by
    // itself, and an idle one is `underutilized` instead.
    if balance < h.imbalanced_below && flow.is_some_and(|f| flow_deepens_imbalance(channel, f)) {
        issues.push(Issue::Imbalanced);
    }
    if dust_ratio > h.high_dust_ratio {
        issues.push(Issue::HighDustRatio);
    }
    if judged_on_flow.is_some_and(|u| u < h.underutilized_below) {
        issues.push(Issue::Underutilized);
    }
    // Busy beyond what the capacity carries: uncapped turnover against the target.
    let raw_utilization = turnover
        .filter(|_| old_enough(age_secs, settings) && h.target_daily_turnover > 0.0)
        .map(|t| t / h.target_daily_turnover);
    if raw_utilization.is_some_and(|u| u > h.overutilized_above) {
        issues.push(Issue::Overutilized);
    }
    if !channel.active {
        issues.push(Issue::Inactive);
    }
    if dust.exposure_ratio >= settings.exposure_warn_ratio {
        issues.push(Issue::FeeExposureNearLimit);
    }
    if dust
        .htlcs
        .iter()
        .any(|htlc| matches!(htlc.expiry, ExpiryLevel::Warn | ExpiryLevel::Critical))
    {
        issues.push(Issue::HtlcExpirySoon);
    }
    if uneconomical_local_balance(
        channel,
        dust.force_close.coop_close_fee_sat,
        settings.close.uneconomical_balance_fee_multiple,
    ) {
        issues.push(Issue::UneconomicalLocalBalance);
    }
    if low_uptime(channel, age_secs, settings) {
        issues.push(Issue::LowUptime);
    }

    Health {
        balance_ratio: ratio(balance),
        local_ratio: ratio(local_ratio(
            channel.local_balance_sat,
            channel.remote_balance_sat,
        )),
        dust_ratio: ratio(dust_ratio),
        utilization: ratio(utilization.unwrap_or(0.0)),
        daily_turnover: ratio(turnover.unwrap_or(0.0)),
        uptime_ratio: uptime.map(ratio),
        health_score: ratio(score),
        status: status(score, h),
        issues,
    }
}

/// The prototype's implementation priority: unhealthy 10, attention_needed 7, healthy with
/// issues 5, healthy without issues 3. Higher means "work on this channel first".
pub fn implementation_priority(health: &Health) -> u8 {
    health.implementation_priority()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::testkit::{channel, dust_of, flow_of, flow_view, forward, htlc, scid};
    use crate::model::Channel;
    use crate::settings::AnalysisSettings;

    #[test]
    fn balance_ratio_is_symmetric_and_zero_safe() {
        assert_eq!(balance_ratio(0, 0), 0.0);
        assert_eq!(balance_ratio(100, 0), 0.0);
        assert_eq!(balance_ratio(25, 100), 0.25);
        assert_eq!(balance_ratio(100, 25), 0.25);
    }

    /// Health with the given forwards (7-day window), channel funded 3,000 blocks (~21 days) ago.
    fn assess_flow(ch: &Channel, events: &[crate::model::ForwardingEvent]) -> Health {
        let v = flow_view(ch, Some(803_000), &flow_of(events));
        v.health
    }

    #[test]
    fn utilization_is_windowed_flow_per_day_over_target_and_capped() {
        let id = scid(800_000, 1);
        let ch = channel(id, 1_000_000, 500_000);
        // 350k sat out over 7 days on 1M capacity = 0.05 of capacity per day; target 0.1 → 0.5.
        let h = assess_flow(&ch, &[forward(86_400, 9, id, 350_000, 100)]);
        assert_eq!(h.daily_turnover, 0.05);
        assert_eq!(h.utilization, 0.5);
        let h = assess_flow(&ch, &[forward(86_400, 9, id, 100_000_000, 100)]);
        assert_eq!(h.utilization, 1.0);
        assert!(h.issues.contains(&Issue::Overutilized));
        // LND's all-time totals and lifetime are never flow: a restarted LND with big totals
        // and no forwards in the window is idle, not overutilized.
        let mut restarted = ch.clone();
        restarted.total_satoshis_sent = 50_000_000;
        restarted.lifetime_secs = 600;
        let h = assess_flow(&restarted, &[forward(20 * 86_400, 9, id, 900_000, 100)]);
        assert_eq!(h.utilization, 0.0);
        assert!(h.issues.contains(&Issue::Underutilized), "{:?}", h.issues);
        assert!(!h.issues.contains(&Issue::Overutilized));
    }

    #[test]
    fn without_history_flow_is_unknown_and_never_an_issue() {
        let s = AnalysisSettings::default();
        let mut ch = channel(1, 1_000_000, 499_528);
        ch.total_satoshis_sent = 100_000_000;
        let h = assess(&ch, &dust_of(&ch, None), &s);
        assert_eq!(h.utilization, 0.0);
        assert!(h.issues.is_empty(), "{:?}", h.issues);
        // Balance and dust alone, re-weighted: (0.4·1 + 0.3·1) / 0.7 = 1.
        assert_eq!(h.health_score, 1.0);
    }

    #[test]
    fn a_young_channel_is_not_judged_on_flow_or_uptime() {
        let id = scid(800_000, 1);
        let mut ch = channel(id, 1_000_000, 500_000);
        ch.uptime_secs = ch.lifetime_secs / 10;
        // 10 days old (1,440 blocks), younger than min_channel_age (14 days).
        let young = flow_view(&ch, Some(801_440), &flow_of(&[])).health;
        assert!(young.issues.is_empty(), "{:?}", young.issues);
        let old = flow_view(&ch, Some(803_000), &flow_of(&[])).health;
        assert!(old.issues.contains(&Issue::Underutilized));
        assert!(old.issues.contains(&Issue::LowUptime));
    }

    #[test]
    fn score_uses_the_weights_and_thresholds() {
        let id = scid(800_000, 1);
        // Perfectly balanced, no dust, fully utilized: 0.4 + 0.3 + 0.3 = 1.
        // 1,000,000 − 284 base fee − 660 anchors, split evenly.
        let ch = channel(id, 1_000_000, 499_528);
        let h = assess_flow(&ch, &[forward(3_600, 9, id, 1_400_000, 100)]);
        assert_eq!(h.health_score, 1.0);
        assert_eq!(h.status, HealthStatus::Healthy);
        // Twice the target turnover is a well-used channel, not an overutilized one ...
        assert!(h.issues.is_empty(), "{:?}", h.issues);
        // ... more than five times it is: the capacity holds the flow back.
        let busy = assess_flow(&ch, &[forward(3_600, 9, id, 7_000_000, 100)]);
        assert_eq!(busy.issues, vec![Issue::Overutilized]);
        assert_eq!(implementation_priority(&h), 3);

        // Half the target flow: 0.4 + 0.3 + 0.15 = 0.85, healthy without issues.
        let h = assess_flow(&ch, &[forward(3_600, 9, id, 350_000, 100)]);
        assert_eq!(h.health_score, 0.85);
        assert!(h.issues.is_empty(), "{:?}", h.issues);
        assert_eq!(implementation_priority(&h), 3);

        // No flow: 0.4 + 0.3 = 0.7, which is not above 0.7 → attention_needed, underutilized.
        let h = assess_flow(&ch, &[]);
        assert_eq!(h.health_score, 0.7);
        assert_eq!(h.status, HealthStatus::AttentionNeeded);
        assert_eq!(h.issues, vec![Issue::Underutilized]);
        assert_eq!(implementation_priority(&h), 7);
    }

    #[test]
    fn status_boundaries_are_exclusive_above() {
        let s = AnalysisSettings::default().health;
        assert_eq!(status(0.71, &s), HealthStatus::Healthy);
        assert_eq!(status(0.7, &s), HealthStatus::AttentionNeeded);
        assert_eq!(status(0.41, &s), HealthStatus::AttentionNeeded);
        assert_eq!(status(0.4, &s), HealthStatus::Unhealthy);
    }

    #[test]
    fn dust_ratio_uses_the_larger_commitment_and_flags_high_dust() {
        let s = AnalysisSettings::default();
        // A small channel with many dust HTLCs: anchors trim below the dust limit (354 / 330).
        let mut ch = channel(1, 20_000, 5_000);
        for i in 0..8 {
            ch.pending_htlcs.push(htlc(i, false, 340, 800_000));
        }
        crate::analyze::testkit::settle_balances(&mut ch);
        let dust = dust_of(&ch, Some(799_900));
        let h = assess(&ch, &dust, &s);
        assert_eq!(dust_at_stake_sat(&dust), 8 * 340);
        assert_eq!(h.dust_ratio, ratio(8.0 * 340.0 / 20_000.0));
        assert!(h.issues.contains(&Issue::HighDustRatio), "{:?}", h.issues);
        assert!(h.issues.contains(&Issue::HtlcExpirySoon), "{:?}", h.issues);
    }

    #[test]
    fn inactive_low_uptime_and_uneconomical_balance_are_issues() {
        let s = AnalysisSettings::default();
        let mut ch = channel(1, 1_000_000, 1_000);
        ch.active = false;
        ch.fee_per_kw = 2_500; // coop close ≈ 1,750 sat, ×3 = 5,250 > 1,000 local
        ch.lifetime_secs = 10 * 86_400;
        ch.uptime_secs = 5 * 86_400;
        crate::analyze::testkit::settle_balances(&mut ch);
        let h = assess(&ch, &dust_of(&ch, None), &s);
        for issue in [
            Issue::Inactive,
            Issue::UneconomicalLocalBalance,
            Issue::LowUptime,
        ] {
            assert!(
                h.issues.contains(&issue),
                "{issue:?} missing: {:?}",
                h.issues
            );
        }
        assert_eq!(h.uptime_ratio, Some(0.5));
        // Imbalance is a flow judgement: not without history.
        assert!(!h.issues.contains(&Issue::Imbalanced));
    }

    #[test]
    fn imbalance_is_an_issue_on_a_channel_that_forwards() {
        let id = scid(800_000, 1);
        let ch = channel(id, 1_000_000, 50_000);
        let h = assess_flow(&ch, &[forward(86_400, 9, id, 10_000, 100)]);
        assert!(h.issues.contains(&Issue::Imbalanced), "{:?}", h.issues);
        let idle = assess_flow(&ch, &[]);
        assert!(
            !idle.issues.contains(&Issue::Imbalanced),
            "{:?}",
            idle.issues
        );
        // Flow that refills the drained side rebalances the channel by itself.
        let refilling = assess_flow(&ch, &[forward(86_400, id, 9, 10_000, 100)]);
        assert!(
            !refilling.issues.contains(&Issue::Imbalanced),
            "{:?}",
            refilling.issues
        );
        let two_way = assess_flow(
            &ch,
            &[
                forward(86_400, 9, id, 10_000, 100),
                forward(3_600, id, 9, 10_000, 100),
            ],
        );
        assert!(
            !two_way.issues.contains(&Issue::Imbalanced),
            "{:?}",
            two_way.issues
        );
        // A full channel is imbalanced when its flow keeps coming in.
        let full = channel(id, 1_000_000, 950_000);
        let h = assess_flow(&full, &[forward(86_400, id, 9, 10_000, 100)]);
        assert!(h.issues.contains(&Issue::Imbalanced), "{:?}", h.issues);
        let h = assess_flow(&full, &[forward(86_400, 9, id, 10_000, 100)]);
        assert!(!h.issues.contains(&Issue::Imbalanced), "{:?}", h.issues);
    }
}
