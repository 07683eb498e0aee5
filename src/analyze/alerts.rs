//! Alerts: what needs an operator's eyes now, each with a stable code.
//!
//! Codes and severities (the `alert` field of log events and metric labels use these names):
//!
//! | code | severity | when |
//! |---|---|---|
//! | `fee_exposure_over_limit` | error | a commitment's fee exposure is above the limit: LND fails HTLCs on the channel |
//! | `fee_exposure_near_limit` | warn | exposure ≥ `exposure_warn_ratio` × limit |
//! | `fee_spike_over_limit` | warn | exposure would pass the limit at a configured feerate multiplier |
//! | `htlc_expiry_critical` | error | an HTLC expires within `htlc_expiry_critical_blocks` (warn when worth less than a force close) |
//! | `htlc_expiry_soon` | warn | an HTLC expires within `htlc_expiry_warn_blocks` |
//! | `dust_pending_force_close_risk` | warn, error when an HTLC is critical | trimmed HTLCs on our commitment while a force close is plausible (peer offline or HTLC near expiry) |
//! | `commit_fee_mismatch` | warn | our fees-to-miners differ from LND's `commit_fee` |
//! | `channel_inactive` | warn | the peer is offline with HTLCs pending, or offline with low uptime (a peer offline with nothing pending is a channel note) |
//! | `chain_not_synced` | warn | LND reports it is not synced to the chain |
//! | `dust_engine_warning` | warn | the dust engine assumed something (unknown type, missing constraints) |
//! | `snapshot_warning` | warn | the snapshot producer reported an oddity |
//!
//! HTLC alerts are one per channel (the soonest HTLC, the sum of those at that level or worse),
//! so a channel full of HTLCs does not flood the log.

use rayon::prelude::*;

use crate::dust::{ExpiryLevel, HtlcView};
use crate::model::{ChanId, NodeSnapshot};
use crate::plan::{alert_text, apply_order, Alert, AlertCode, Severity, Text};

use crate::settings::AnalysisSettings;

use super::{group_thousands, health, ChannelView};

fn alert(code: AlertCode, severity: Severity, chan_id: Option<ChanId>, message: Text) -> Alert {
    Alert {
        code,
        severity,
        chan_id,
        message,
        amount_sat: None,
        limit_sat: None,
        htlc_index: None,
        blocks_to_expiry: None,
    }
}

pub fn collect(
    snapshot: &NodeSnapshot,
    views: &[ChannelView<'_>],
    settings: &AnalysisSettings,
) -> Vec<Alert> {
    let mut alerts: Vec<Alert> = views
        .par_iter()
        .flat_map_iter(|view| {
            let mut out = Vec::new();
            channel_alerts(view, settings, &mut out);
            out
        })
        .collect();
    if snapshot.node.block_height.is_some() && !snapshot.node.synced_to_chain {
        alerts.push(alert(
            AlertCode::ChainNotSynced,
            Severity::Warn,
            None,
            alert_text::CHAIN_NOT_SYNCED.into(),
        ));
    }
    alerts.extend(super::link_failures::collect(
        snapshot,
        views.iter().map(|v| (v.channel, &v.dust)),
        settings,
    ));
    for w in &snapshot.warnings {
        alerts.push(alert(
            AlertCode::SnapshotWarning,
            Severity::Warn,
            w.chan_id,
            w.message.as_str().into(),
        ));
    }
    sort_alerts(&mut alerts);
    alerts
}

/// Sorts alerts by severity (errors first), code, channel id, HTLC index and message; equal
/// alerts keep their order.
///
/// Alerts are large and a big node has tens of thousands, so what orders them is packed into
/// two integers per alert and those are sorted; the message, which may have to be written out,
/// is compared only within a run of alerts equal on everything else. Every alert then moves
/// once into place.
fn sort_alerts(alerts: &mut [Alert]) {
    // `None` before any id: an id `c` is `c + 1`, which needs 65 bits.
    let optional = |v: Option<u64>| v.map_or(0, |v| u128::from(v) + 1);
    let mut keys: Vec<(u128, u128, usize)> = alerts
        .iter()
        .enumerate()
        .map(|(i, a)| {
            // Errors first: `Severity` orders warn before error.
            let severity = u128::from(Severity::Error as u8 - a.severity as u8);
            let rank = (severity << 120) | (u128::from(a.code as u8) << 112) | optional(a.chan_id);
            (rank, optional(a.htlc_index), i)
        })
        .collect();
    keys.sort_unstable();
    for run in keys.chunk_by_mut(|a, b| (a.0, a.1) == (b.0, b.1)) {
        if run.len() > 1 {
            // Stable, so equal messages keep their position order.
            run.sort_by(|a, b| alerts[a.2].message.cmp(&alerts[b.2].message));
        }
    }
    let order = keys.into_iter().map(|(_, _, i)| i).collect();
    apply_order(alerts, order);
}

/// Appends the alerts of one channel to `out`.
fn channel_alerts(view: &ChannelView<'_>, settings: &AnalysisSettings, out: &mut Vec<Alert>) {
    let ch = view.channel;
    let d = &view.dust;
    let id = Some(ch.chan_id);
    let exposure = d.local.fee_exposure_sat.max(d.remote.fee_exposure_sat);
    let limit = d.max_fee_exposure_sat;

    if d.exposure_headroom_sat < 0 {
        out.push(Alert {
            amount_sat: Some(exposure),
            limit_sat: Some(limit),
            ..alert(
                AlertCode::FeeExposureOverLimit,
                Severity::Error,
                id,
                Text::described(move || alert_text::exposure_over_limit(exposure, limit)),
            )
        });
    } else {
        if d.exposure_ratio >= settings.exposure_warn_ratio {
            let ratio = d.exposure_ratio;
            out.push(Alert {
                amount_sat: Some(exposure),
                limit_sat: Some(limit),
                ..alert(
                    AlertCode::FeeExposureNearLimit,
                    Severity::Warn,
                    id,
                    Text::described(move || {
                        alert_text::exposure_near_limit(exposure, ratio, limit)
                    }),
                )
            });
        }
        if let Some(spike) = d.fee_spike.iter().find(|s| s.exceeds_limit) {
            let spiked = spike
                .local_fee_exposure_sat
                .max(spike.remote_fee_exposure_sat);
            let (multiplier, feerate) = (spike.multiplier, spike.feerate_per_kw);
            out.push(Alert {
                amount_sat: Some(spiked),
                limit_sat: Some(limit),
                ..alert(
                    AlertCode::FeeSpikeOverLimit,
                    Severity::Warn,
                    id,
                    Text::described(move || {
                        alert_text::fee_spike_over_limit(multiplier, feerate, spiked, limit)
                    }),
                )
            });
        }
    }

    let worst = d
        .htlcs
        .iter()
        .map(|h| h.expiry)
        .fold(ExpiryLevel::Ok, |w, e| match (w, e) {
            (ExpiryLevel::Critical, _) | (_, ExpiryLevel::Critical) => ExpiryLevel::Critical,
            (ExpiryLevel::Warn, _) | (_, ExpiryLevel::Warn) => ExpiryLevel::Warn,
            _ => ExpiryLevel::Ok,
        });
    if matches!(worst, ExpiryLevel::Warn | ExpiryLevel::Critical) {
        // One pass, no list: how many are at risk, their sum, and the soonest.
        let (count, sum, soonest) = d
            .htlcs
            .iter()
            .filter(|h| matches!(h.expiry, ExpiryLevel::Warn | ExpiryLevel::Critical))
            .fold(
                (0usize, 0u64, None::<&HtlcView>),
                |(count, sum, soonest), h| {
                    let key = |h: &HtlcView| (h.blocks_to_expiry, h.htlc_index);
                    let soonest = match soonest {
                        Some(s) if key(s) <= key(h) => Some(s),
                        _ => Some(h),
                    };
                    (count + 1, sum.saturating_add(h.amount_sat), soonest)
                },
            );
        // An error only when the HTLCs at stake are worth more than going on-chain costs.
        let worth_acting = sum > view.dust.force_close.total_sat;
        let (code, severity, within) = if worst == ExpiryLevel::Critical {
            (
                AlertCode::HtlcExpiryCritical,
                if worth_acting {
                    Severity::Error
                } else {
                    Severity::Warn
                },
                settings.htlc_expiry_critical_blocks,
            )
        } else {
            (
                AlertCode::HtlcExpirySoon,
                Severity::Warn,
                settings.htlc_expiry_warn_blocks,
            )
        };
        let first = soonest.map_or(0, |h| h.htlc_index);
        let first_blocks = soonest.and_then(|h| h.blocks_to_expiry).unwrap_or(0);
        // The dust a force close would burn belongs to this alert: one alert per channel.
        let dust_to_miners = d.local.trimmed_htlc_sat;
        out.push(Alert {
            amount_sat: Some(sum),
            htlc_index: soonest.map(|h| h.htlc_index),
            blocks_to_expiry: soonest.and_then(|h| h.blocks_to_expiry),
            ..alert(
                code,
                severity,
                id,
                Text::described(move || {
                    alert_text::htlc_expiry(&alert_text::ExpiringHtlcs {
                        count,
                        sum_sat: sum,
                        first_index: first,
                        first_blocks,
                        within_blocks: within,
                        dust_to_miners_sat: dust_to_miners,
                        below_force_close_cost: worst == ExpiryLevel::Critical && !worth_acting,
                    })
                }),
            )
        });
    }

    // Near expiry, the expiry alert above says it; this one is for an offline peer.
    let trimmed = d.local.trimmed_htlc_sat;
    if trimmed > 0 && !ch.active && worst == ExpiryLevel::Ok {
        let severity = Severity::Warn;
        out.push(Alert {
            amount_sat: Some(trimmed),
            ..alert(
                AlertCode::DustPendingForceCloseRisk,
                severity,
                id,
                Text::described(move || alert_text::dust_pending_peer_offline(trimmed)),
            )
        });
    }

    if let Some(m) = &d.commit_fee_mismatch {
        let (computed, reported) = (m.computed_sat, m.reported_sat);
        out.push(Alert {
            amount_sat: Some(m.computed_sat),
            limit_sat: Some(m.reported_sat),
            ..alert(
                AlertCode::CommitFeeMismatch,
                Severity::Warn,
                id,
                Text::described(move || alert_text::commit_fee_mismatch(computed, reported)),
            )
        });
    }

    // The same rule that keeps `inactive` among the channel's issues (not a note): HTLCs
    // pending, or a peer away for much of the time LND watched it.
    if health::inactive_needs_attention(ch, view.age_secs, settings) {
        let pending = ch.pending_htlcs.len();
        let pending_sat = ch
            .pending_htlcs
            .iter()
            .map(|h| h.amount_sat)
            .fold(0, u64::saturating_add);
        let uptime = health::low_uptime(ch, view.age_secs, settings)
            .then(|| health::uptime_ratio(ch))
            .flatten()
            .map(|u| (u, ch.lifetime_secs / 86_400));
        out.push(Alert {
            amount_sat: (pending > 0).then_some(pending_sat),
            ..alert(
                AlertCode::ChannelInactive,
                Severity::Warn,
                id,
                Text::described(move || {
                    let mut text = "the peer is offline or not reestablished".to_string();
                    if pending > 0 {
                        text.push_str(&format!(
                            ", with {pending} pending {} ({} sat): {} can neither settle nor fail until it reconnects",
                            if pending == 1 { "HTLC" } else { "HTLCs" },
                            group_thousands(pending_sat),
                            if pending == 1 { "it" } else { "they" },
                        ));
                    }
                    if let Some((ratio, days)) = uptime {
                        text.push_str(&format!(
                            "{} it was online {:.0}% of the {days} days LND has watched the channel",
                            if pending > 0 { ";" } else { ", and" },
                            ratio * 100.0
                        ));
                    }
                    text
                }),
            )
        });
    }

    for w in &d.warnings {
        out.push(alert(
            AlertCode::DustEngineWarning,
            Severity::Warn,
            id,
            w.as_str().into(),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::testkit::{channel, htlc, settle_balances, snapshot, view};
    use crate::model::SnapshotWarning;

    fn codes(alerts: &[Alert]) -> Vec<&'static str> {
        alerts.iter().map(|a| a.code.as_str()).collect()
    }

    #[test]
    fn expiry_alerts_are_one_per_channel_with_the_soonest_htlc() {
        let mut ch = channel(1, 2_000_000, 1_000_000);
        ch.pending_htlcs = vec![
            htlc(0, false, 50_000, 800_100),
            htlc(1, true, 300, 800_030),
            htlc(2, false, 60_000, 801_000),
        ];
        ch.active = false;
        settle_balances(&mut ch);
        let snap = snapshot(vec![ch.clone()], Some(800_000));
        let v = view(&ch, Some(800_000));
        let alerts = collect(&snap, &[v], &AnalysisSettings::default());
        // The dust a force close would burn is part of the expiry alert, not one of its own.
        assert_eq!(
            codes(&alerts),
            vec!["htlc_expiry_critical", "channel_inactive"]
        );
        let expiry = &alerts[0];
        assert_eq!(expiry.severity, Severity::Error);
        assert_eq!(expiry.htlc_index, Some(1));
        assert_eq!(expiry.blocks_to_expiry, Some(30));
        assert_eq!(expiry.amount_sat, Some(50_300));
        let message = expiry.message.text();
        assert!(message.contains("300 sat of trimmed HTLCs"), "{message}");

        // Only dust at stake, worth less than going on-chain: a warning, not an error.
        let mut small = channel(1, 2_000_000, 1_000_000);
        small.pending_htlcs = vec![htlc(1, true, 300, 800_030)];
        settle_balances(&mut small);
        let snap = snapshot(vec![small.clone()], Some(800_000));
        let alerts = collect(
            &snap,
            &[view(&small, Some(800_000))],
            &AnalysisSettings::default(),
        );
        assert_eq!(codes(&alerts), vec!["htlc_expiry_critical"]);
        assert_eq!(alerts[0].severity, Severity::Warn);

        // An offline peer with dust pending and no HTLC near expiry: the dust alert stands.
        let mut offline = channel(1, 2_000_000, 1_000_000);
        offline.pending_htlcs = vec![htlc(1, true, 300, 801_000)];
        offline.active = false;
        settle_balances(&mut offline);
        let snap = snapshot(vec![offline.clone()], Some(800_000));
        let alerts = collect(
            &snap,
            &[view(&offline, Some(800_000))],
            &AnalysisSettings::default(),
        );
        assert_eq!(
            codes(&alerts),
            vec!["dust_pending_force_close_risk", "channel_inactive"]
        );
    }

    #[test]
    fn exposure_alerts_distinguish_near_over_and_spike() {
        let settings = AnalysisSettings::default();
        let mut ch = channel(2, 5_000_000, 2_000_000);
        ch.commitment_type = crate::model::CommitmentType::StaticRemoteKey;
        ch.fee_per_kw = 50_000; // trim thresholds ~33.5k (ours) and ~35.7k (peer's)
        for i in 0..14 {
            ch.pending_htlcs.push(htlc(i, false, 30_000, 900_000));
        }
        settle_balances(&mut ch);
        let snap = snapshot(vec![ch.clone()], Some(800_000));
        // 14 × 30,000 trimmed + 36,200 base = 456,200 ≥ 80% of 500,000.
        let alerts = collect(&snap, &[view(&ch, Some(800_000))], &settings);
        assert_eq!(
            codes(&alerts),
            vec!["fee_exposure_near_limit", "fee_spike_over_limit"]
        );
        assert_eq!(alerts[0].amount_sat, Some(456_200));
        assert_eq!(alerts[0].limit_sat, Some(500_000));

        for i in 14..20 {
            ch.pending_htlcs.push(htlc(i, false, 30_000, 900_000));
        }
        settle_balances(&mut ch);
        let alerts = collect(&snap, &[view(&ch, Some(800_000))], &settings);
        assert_eq!(codes(&alerts), vec!["fee_exposure_over_limit"]);
        assert_eq!(alerts[0].severity, Severity::Error);
    }

    #[test]
    fn node_level_alerts_and_ordering() {
        let mut ch = channel(3, 1_000_000, 500_000);
        ch.commit_fee_sat += 7;
        let mut snap = snapshot(vec![ch.clone()], Some(800_000));
        snap.node.synced_to_chain = false;
        snap.warnings.push(SnapshotWarning {
            chan_id: Some(99),
            message: "local_balance was negative, clamped to 0".to_string(),
        });
        let alerts = collect(
            &snap,
            &[view(&ch, Some(800_000))],
            &AnalysisSettings::default(),
        );
        assert_eq!(
            codes(&alerts),
            vec![
                "commit_fee_mismatch",
                "chain_not_synced",
                "snapshot_warning"
            ]
        );
        assert_eq!(alerts[0].limit_sat, Some(ch.commit_fee_sat));
        assert_eq!(alerts[2].chan_id, Some(99));
    }

    /// The packed keys order alerts exactly as the tuple they stand for, extremes included.
    #[test]
    fn packed_sort_keys_order_as_the_fields_do() {
        use std::cmp::Reverse;
        let mut alerts = Vec::new();
        let mut n = 0u64;
        for severity in [Severity::Warn, Severity::Error] {
            for code in [AlertCode::FeeExposureOverLimit, AlertCode::SnapshotWarning] {
                for chan_id in [None, Some(0), Some(5), Some(u64::MAX)] {
                    for htlc_index in [None, Some(0), Some(u64::MAX)] {
                        for message in ["b", "a"] {
                            n += 1;
                            // A scrambled input order.
                            let mut a = alert(
                                code,
                                severity,
                                chan_id,
                                format!("{message}{}", n % 3).into(),
                            );
                            a.htlc_index = htlc_index;
                            alerts.push((n.wrapping_mul(0x9e37_79b9_7f4a_7c15), a));
                        }
                    }
                }
            }
        }
        alerts.sort_by_key(|(k, _)| *k);
        let mut sorted: Vec<Alert> = alerts.into_iter().map(|(_, a)| a).collect();
        let mut want = sorted.clone();
        want.sort_by(|a, b| {
            (
                Reverse(a.severity),
                a.code,
                a.chan_id,
                a.htlc_index,
                a.message.to_string(),
            )
                .cmp(&(
                    Reverse(b.severity),
                    b.code,
                    b.chan_id,
                    b.htlc_index,
                    b.message.to_string(),
                ))
        });
        sort_alerts(&mut sorted);
        assert_eq!(sorted, want);
    }

    #[test]
    fn alerts_equal_but_for_the_message_are_ordered_by_message() {
        let ch = channel(3, 1_000_000, 500_000);
        let mut snap = snapshot(vec![ch.clone()], Some(800_000));
        for (chan_id, message) in [
            (Some(7), "b: second on channel 7"),
            (Some(5), "z: only one on channel 5"),
            (Some(7), "a: first on channel 7"),
            (None, "y: node-wide"),
            (Some(7), "a: first on channel 7"),
        ] {
            snap.warnings.push(SnapshotWarning {
                chan_id,
                message: message.to_string(),
            });
        }
        let alerts = collect(
            &snap,
            &[view(&ch, Some(800_000))],
            &AnalysisSettings::default(),
        );
        let messages: Vec<String> = alerts.iter().map(|a| a.message.to_string()).collect();
        assert_eq!(
            messages,
            vec![
                "y: node-wide",
                "z: only one on channel 5",
                "a: first on channel 7",
                "a: first on channel 7",
                "b: second on channel 7",
            ]
        );
    }
}
