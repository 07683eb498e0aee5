//! Alerts that join what LND did (refused forwards, a link that went down) with the fee
//! exposure dustwatch computes: LND reports neither the exposure nor a specific failure for it.
//!
//! | code | severity | when |
//! |---|---|---|
//! | `htlc_refused_fee_exposure_likely` | warn, error when over the limit | forwards refused with TEMPORARY_CHANNEL_FAILURE and no detail since the last plan, on a channel whose computed exposure is ≥ `exposure_warn_ratio` × limit |
//! | `channel_inactive_over_exposure_limit` | error | the channel is inactive while its computed exposure is over the limit |
//!
//! Pure: counts come in with the snapshot ([`NodeSnapshot::link_failures`]); `None` there means
//! nobody listened, and then no refusal alert is raised (nothing is guessed).

use crate::dust::ChannelDust;
use crate::model::{Channel, NodeSnapshot};
use crate::plan::{Alert, AlertCode, Severity, Text};
use crate::settings::AnalysisSettings;

use super::group_thousands;

/// The alerts of this module for every channel, in channel order.
pub fn collect<'a>(
    snapshot: &NodeSnapshot,
    channels: impl Iterator<Item = (&'a Channel, &'a ChannelDust)>,
    settings: &AnalysisSettings,
) -> Vec<Alert> {
    let mut out = Vec::new();
    let counts = snapshot.link_failures.as_ref();
    for (channel, dust) in channels {
        let exposure = dust.max_fee_exposure_now_sat();
        let limit = dust.max_fee_exposure_sat;
        let over = dust.exposure_headroom_sat < 0;
        let refused = counts
            .and_then(|c| c.channels.get(&channel.chan_id))
            .map_or(0, |c| c.refused_forwards);
        if refused > 0 && dust.exposure_ratio >= settings.exposure_warn_ratio {
            let since = counts.map_or(0, |c| c.since_unix);
            let ratio = dust.exposure_ratio;
            out.push(Alert {
                code: AlertCode::HtlcRefusedFeeExposureLikely,
                severity: if over {
                    Severity::Error
                } else {
                    Severity::Warn
                },
                chan_id: Some(channel.chan_id),
                message: Text::described(move || {
                    format!(
                        "{refused} forward(s) refused on this channel since unix time {since} with \
                         TEMPORARY_CHANNEL_FAILURE and no failure detail, while its computed fee \
                         exposure is {} sat, {:.0}% of the {} sat limit. Inferred, not reported: \
                         LND has no failure code for fee exposure, and this is the failure it \
                         returns when an HTLC would push exposure over channel-max-fee-exposure \
                         (it also covers other transient refusals)",
                        group_thousands(exposure),
                        ratio * 100.0,
                        group_thousands(limit)
                    )
                }),
                amount_sat: Some(exposure),
                limit_sat: Some(limit),
                htlc_index: None,
                blocks_to_expiry: None,
            });
        }
        if !channel.active && over {
            out.push(Alert {
                code: AlertCode::ChannelInactiveOverExposureLimit,
                severity: Severity::Error,
                chan_id: Some(channel.chan_id),
                message: Text::described(move || {
                    format!(
                        "the channel is inactive while its computed fee exposure {} sat is over the \
                         {} sat limit: LND fails the link when the peer pushes exposure over the \
                         limit, so this may be why it is down rather than the peer being offline",
                        group_thousands(exposure),
                        group_thousands(limit)
                    )
                }),
                amount_sat: Some(exposure),
                limit_sat: Some(limit),
                htlc_index: None,
                blocks_to_expiry: None,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::testkit::{channel, htlc, snapshot};
    use crate::dust::{channel_dust, DustParams};
    use crate::model::link_failures::{ChannelLinkFailures, LinkFailureCounts};

    fn alerts_for(
        snap: &NodeSnapshot,
        settings: &AnalysisSettings,
    ) -> Vec<(AlertCode, Severity, u64)> {
        let params = DustParams::from_settings(settings, snap.node_exposure_limit);
        let dusts: Vec<ChannelDust> = snap
            .channels
            .iter()
            .map(|c| channel_dust(c, snap.node.block_height, &params))
            .collect();
        collect(snap, snap.channels.iter().zip(dusts.iter()), settings)
            .into_iter()
            .map(|a| (a.code, a.severity, a.chan_id.unwrap_or(0)))
            .collect()
    }

    /// A channel with `dust_sat` of trimmed HTLCs (each 300 sat, below any dust limit).
    fn dusty(chan_id: u64, htlcs: u64, active: bool) -> crate::model::Channel {
        let mut c = channel(chan_id, 2_000_000, 1_000_000);
        c.active = active;
        c.pending_htlcs = (0..htlcs).map(|i| htlc(i, false, 300, 900_000)).collect();
        c
    }

    fn counts(entries: &[(u64, u64)]) -> Option<LinkFailureCounts> {
        Some(LinkFailureCounts {
            since_unix: 1_700_000_000,
            channels: entries
                .iter()
                .map(|&(chan, refused)| {
                    (
                        chan,
                        ChannelLinkFailures {
                            refused_forwards: refused,
                            other: 0,
                        },
                    )
                })
                .collect(),
        })
    }

    #[test]
    fn refusals_alert_only_where_exposure_is_near_the_limit() {
        let settings = AnalysisSettings {
            max_fee_exposure_sat: 100_000,
            ..AnalysisSettings::default()
        };
        // 300 HTLCs × 300 sat = 90,000 sat trimmed: near the 100,000 limit. Channel 2 has none.
        let mut snap = snapshot(vec![dusty(1, 300, true), dusty(2, 0, true)], Some(800_000));
        snap.link_failures = counts(&[(1, 3), (2, 5)]);
        let got = alerts_for(&snap, &settings);
        assert_eq!(
            got,
            vec![(AlertCode::HtlcRefusedFeeExposureLikely, Severity::Warn, 1)]
        );

        // Nobody listened: nothing is said about refusals.
        snap.link_failures = None;
        assert!(alerts_for(&snap, &settings).is_empty());
    }

    #[test]
    fn over_the_limit_refusals_are_errors_and_an_inactive_link_gets_its_own_alert() {
        let settings = AnalysisSettings {
            max_fee_exposure_sat: 50_000,
            ..AnalysisSettings::default()
        };
        let mut snap = snapshot(
            vec![dusty(1, 300, true), dusty(3, 300, false)],
            Some(800_000),
        );
        snap.link_failures = counts(&[(1, 1)]);
        let got = alerts_for(&snap, &settings);
        assert_eq!(
            got,
            vec![
                (AlertCode::HtlcRefusedFeeExposureLikely, Severity::Error, 1),
                (
                    AlertCode::ChannelInactiveOverExposureLimit,
                    Severity::Error,
                    3
                ),
            ]
        );
    }

    #[test]
    fn the_message_says_it_is_inferred_and_why() {
        let settings = AnalysisSettings {
            max_fee_exposure_sat: 100_000,
            ..AnalysisSettings::default()
        };
        let mut snap = snapshot(vec![dusty(1, 300, true)], Some(800_000));
        snap.link_failures = counts(&[(1, 2)]);
        let params = DustParams::from_settings(&settings, None);
        let dust = channel_dust(&snap.channels[0], snap.node.block_height, &params);
        let alerts = collect(
            &snap,
            std::iter::once((&snap.channels[0], &dust)),
            &settings,
        );
        let text = alerts[0].message.to_string();
        assert!(text.contains("Inferred"), "{text}");
        assert!(text.contains("TEMPORARY_CHANNEL_FAILURE"), "{text}");
        assert!(text.contains("2 forward(s)"), "{text}");
    }
}
