//! Channel-level tests on hand-built channels whose numbers are worked out in the comments,
//! LND-consistent (balances net of fee and anchors, `commit_fee = capacity − Σ outputs`).

use super::*;
use crate::model::{CommitmentType, Constraints, Htlc, Initiator};

/// Every commitment type, for tests that must hold for all of them.
pub(super) const ALL_TYPES: [CommitmentType; 8] = [
    CommitmentType::Legacy,
    CommitmentType::StaticRemoteKey,
    CommitmentType::Anchors,
    CommitmentType::ScriptEnforcedLease,
    CommitmentType::SimpleTaproot,
    CommitmentType::SimpleTaprootOverlay,
    CommitmentType::SimpleTaprootFinal,
    CommitmentType::Unknown,
];

pub(super) fn htlc(index: u64, incoming: bool, amount_sat: u64, expiration_height: u32) -> Htlc {
    Htlc {
        incoming,
        amount_sat,
        hash_lock: None,
        expiration_height,
        htlc_index: index,
        forwarding_channel: 0,
        forwarding_htlc_index: 0,
        locked_in: true,
    }
}

/// Whether each of `ch`'s pending HTLCs is trimmed on `c`, in the channel's order.
pub(super) fn trimmed(c: &CommitmentDust, ch: &Channel) -> Vec<bool> {
    ch.pending_htlcs.iter().map(|h| c.trims(h)).collect()
}

pub(super) fn constraints(dust_limit_sat: u64, csv_delay: u32) -> Constraints {
    Constraints {
        csv_delay,
        dust_limit_sat,
        ..Constraints::default()
    }
}

#[allow(clippy::too_many_arguments)]
pub(super) fn channel(
    commitment_type: CommitmentType,
    initiator: Initiator,
    capacity_sat: u64,
    local_balance_sat: u64,
    remote_balance_sat: u64,
    commit_fee_sat: u64,
    fee_per_kw: u64,
    local_dust: u64,
    remote_dust: u64,
    pending_htlcs: Vec<Htlc>,
) -> Channel {
    Channel {
        initiator,
        commitment_type,
        local_balance_sat,
        remote_balance_sat,
        commit_fee_sat,
        fee_per_kw,
        unsettled_balance_sat: pending_htlcs
            .iter()
            .fold(0u64, |sum, h| sum.saturating_add(h.amount_sat)),
        local_constraints: Some(constraints(local_dust, 144)),
        remote_constraints: Some(constraints(remote_dust, 144)),
        pending_htlcs,
        // The kit's other fields (reserves, policy, flow) play no part in the dust engine.
        ..crate::testkit::channel(1, capacity_sat, local_balance_sat)
    }
}

/// STATIC_REMOTE_KEY, we opened; capacity 1,000,000, feerate 2500, dust 546 (ours) / 354 (peer's).
/// HTLCs: outgoing 5000, incoming 2050, outgoing 1000.
///
/// Local commitment: offered threshold 546 + 2500·663/1000 (1657) = 2203, received threshold
/// 546 + 1757 = 2303: only the 5000 survives; base fee 2500·(724+172)/1000 = 2240.
/// Our gross 600,000 → local_balance 597,760; peer 1,000,000 − 600,000 − 8,050 = 391,950.
/// commit_fee = 2240 + 2050 + 1000 = 5,290.
fn srk_local_initiator() -> Channel {
    channel(
        CommitmentType::StaticRemoteKey,
        Initiator::Local,
        1_000_000,
        597_760,
        391_950,
        5_290,
        2_500,
        546,
        354,
        vec![
            htlc(0, false, 5_000, 1_030),
            htlc(1, true, 2_050, 1_100),
            htlc(2, false, 1_000, 1_200),
        ],
    )
}

/// ANCHORS, the peer opened; capacity 2,000,000, feerate 1000, dust 354 (ours) / 546 (peer's).
/// HTLCs: incoming 400, outgoing 300 (zero-fee HTLCs: thresholds are the dust limits).
///
/// Local commitment: 400 ≥ 354 survives, 300 is trimmed; base fee 1000·(1124+172)/1000 = 1296.
/// Peer's gross 1,200,000 → remote_balance 1,200,000 − 1296 − 660 = 1,198,044; ours
/// 2,000,000 − 1,200,000 − 700 = 799,300. commit_fee = 1296 + 300 = 1,596.
fn anchors_remote_initiator() -> Channel {
    channel(
        CommitmentType::Anchors,
        Initiator::Remote,
        2_000_000,
        799_300,
        1_198_044,
        1_596,
        1_000,
        354,
        546,
        vec![htlc(0, true, 400, 900_000), htlc(1, false, 300, 900_000)],
    )
}

#[test]
fn static_remote_key_local_initiator_both_commitments() {
    let ch = srk_local_initiator();
    let d = channel_dust(&ch, Some(1_000), &DustParams::default());
    assert_eq!(d.commit_fee_mismatch, None);
    assert!(d.warnings.is_empty(), "{:?}", d.warnings);

    let l = &d.local;
    assert_eq!(l.side, Side::Local);
    assert_eq!(l.dust_limit_sat, 546);
    assert_eq!(
        l.thresholds,
        TrimThresholds {
            offered_sat: 2203,
            received_sat: 2303
        }
    );
    assert_eq!(trimmed(l, &ch), vec![false, true, true]);
    assert_eq!(
        (
            l.trimmed_htlc_count,
            l.trimmed_htlc_sat,
            l.untrimmed_htlc_count
        ),
        (2, 3_050, 1)
    );
    assert_eq!(l.base_fee_sat, 2_240);
    assert_eq!(l.base_fee_paid_sat, 2_240);
    assert_eq!(l.to_local_sat, 597_760);
    assert_eq!(l.to_remote_sat, 391_950);
    assert!(!l.to_local_trimmed && !l.to_remote_trimmed);
    assert_eq!((l.anchor_outputs, l.absent_anchor_sat), (0, 0));
    assert_eq!(l.fees_to_miners_sat, 5_290);
    assert_eq!(l.fee_exposure_sat, 3_050 + 2_240);

    // Remote commitment, dust 354: the peer receives our 5000 (354 + 1757 = 2111: kept) and
    // offered the 2050 (354 + 1657 = 2011: kept); our 1000 is trimmed. Base fee
    // 2500·(724+344)/1000 = 2670, paid by us out of our gross 600,000.
    let r = &d.remote;
    assert_eq!(r.side, Side::Remote);
    assert_eq!(r.dust_limit_sat, 354);
    assert_eq!(
        r.thresholds,
        TrimThresholds {
            offered_sat: 2011,
            received_sat: 2111
        }
    );
    assert_eq!(trimmed(r, &ch), vec![false, false, true]);
    assert_eq!(r.base_fee_sat, 2_670);
    assert_eq!(r.to_local_sat, 391_950);
    assert_eq!(r.to_remote_sat, 600_000 - 2_670);
    assert_eq!(r.fees_to_miners_sat, 2_670 + 1_000);
    assert_eq!(r.fee_exposure_sat, 1_000 + 2_670);

    assert_eq!(d.max_fee_exposure_sat, 500_000);
    assert_eq!(d.exposure_headroom_sat, 500_000 - 5_290);
    assert!((d.exposure_ratio - 5_290.0 / 500_000.0).abs() < 1e-12);

    // Force close: our 5000 goes through HTLC-timeout at 2500·663/1000 = 1657.
    let fc = &d.force_close;
    assert_eq!(fc.fees_to_miners_sat, 5_290);
    assert_eq!(fc.anchor_sat, 0);
    assert_eq!(fc.second_level_fees_sat, 1_657);
    assert_eq!(fc.total_sat, 5_290 + 1_657);
    assert_eq!(fc.csv_delay_blocks, 144);
    assert_eq!(fc.coop_close_fee_sat, 1_750);
    assert_eq!(fc.extra_cost_vs_coop_sat, 5_290 + 1_657 - 1_750);

    let expiry: Vec<_> = d
        .htlcs
        .iter()
        .map(|h| (h.blocks_to_expiry, h.expiry))
        .collect();
    assert_eq!(
        expiry,
        vec![
            (Some(30), ExpiryLevel::Critical),
            (Some(100), ExpiryLevel::Warn),
            (Some(200), ExpiryLevel::Ok)
        ]
    );
    let trims: Vec<_> = d
        .htlcs
        .iter()
        .map(|h| (h.trimmed_on_local, h.trimmed_on_remote))
        .collect();
    assert_eq!(trims, vec![(false, false), (true, false), (true, true)]);
}

#[test]
fn static_remote_key_remote_initiator() {
    // Peer opened; capacity 500,000, feerate 1000, dust 546 both. Incoming 1500 survives
    // (546 + 703 = 1249), outgoing 1100 is trimmed (546 + 663 = 1209). Base fee 896.
    // Peer's gross 300,000 → 299,104; ours 500,000 − 300,000 − 2,600 = 197,400.
    // commit_fee = 896 + 1100 = 1,996.
    let ch = channel(
        CommitmentType::StaticRemoteKey,
        Initiator::Remote,
        500_000,
        197_400,
        299_104,
        1_996,
        1_000,
        546,
        546,
        vec![htlc(0, true, 1_500, 0), htlc(1, false, 1_100, 0)],
    );
    let d = channel_dust(&ch, None, &DustParams::default());
    assert_eq!(d.commit_fee_mismatch, None);
    assert_eq!(d.local.base_fee_sat, 896);
    assert_eq!(d.local.to_remote_sat, 299_104);
    // On the peer's commitment it offered the 1500 (timeout threshold 1209: kept) and receives
    // our 1100 (success threshold 1249: trimmed): the same set, so the same fee.
    assert_eq!(trimmed(&d.remote, &ch), vec![false, true]);
    assert_eq!(d.remote.to_local_sat, 299_104);
    assert_eq!(d.remote.fees_to_miners_sat, 1_996);
    assert!(d
        .htlcs
        .iter()
        .all(|h| h.expiry == ExpiryLevel::Unknown && h.blocks_to_expiry.is_none()));
}

#[test]
fn anchors_remote_initiator_both_commitments() {
    let ch = anchors_remote_initiator();
    let d = channel_dust(&ch, Some(1_000), &DustParams::default());
    assert_eq!(d.commit_fee_mismatch, None);
    let l = &d.local;
    assert_eq!(
        l.thresholds,
        TrimThresholds {
            offered_sat: 354,
            received_sat: 354
        }
    );
    assert_eq!(trimmed(l, &ch), vec![false, true]);
    assert_eq!(l.base_fee_sat, 1_296);
    assert_eq!(l.weight, 1_296);
    assert_eq!((l.anchor_outputs, l.absent_anchor_sat), (2, 0));
    assert!(l.owner_anchor);
    assert_eq!(l.fees_to_miners_sat, 1_596);
    assert_eq!(l.fee_exposure_sat, 300 + 1_296);

    // Peer's commitment, dust 546: both HTLCs trimmed, base fee 1124, peer pays it and the
    // anchors out of 1,200,000: 1,198,216. Fees: 1124 + 700.
    let r = &d.remote;
    assert_eq!(trimmed(r, &ch), vec![true, true]);
    assert_eq!(r.base_fee_sat, 1_124);
    assert_eq!(r.to_local_sat, 1_198_216);
    assert_eq!(r.to_remote_sat, 799_300);
    assert_eq!(r.fees_to_miners_sat, 1_824);
    assert_eq!(r.fee_exposure_sat, 1_824);
    assert_eq!(d.exposure_headroom_sat, 500_000 - 1_824);

    // Force close: our anchor (330) and the HTLC-success of the incoming 400, priced at
    // LND's 706 weight for anchor channels: 706 sat at 1000 sat/kw.
    let fc = &d.force_close;
    assert_eq!(fc.anchor_sat, 330);
    assert_eq!(fc.second_level_fees_sat, 706);
    assert_eq!(fc.total_sat, 1_596 + 330 + 706);
    assert_eq!(fc.coop_close_fee_sat, 700);
}

#[test]
fn anchors_local_initiator_missing_remote_anchor() {
    // We opened 1,000,000 without push at 2500 sat/kw: base fee 2810; ours 1,000,000 − 2810 − 660.
    // The peer has no output and no HTLC exists, so its anchor is not created: its 330 sat
    // are fees.
    let ch = channel(
        CommitmentType::Anchors,
        Initiator::Local,
        1_000_000,
        996_530,
        0,
        3_140,
        2_500,
        354,
        354,
        vec![],
    );
    let d = channel_dust(&ch, None, &DustParams::default());
    assert_eq!(d.commit_fee_mismatch, None);
    assert!(d.local.to_remote_trimmed);
    assert_eq!(d.local.anchor_outputs, 1);
    assert_eq!(d.local.absent_anchor_sat, 330);
    assert_eq!(d.local.fees_to_miners_sat, 2_810 + 330);
    assert_eq!(d.local.fee_exposure_sat, 2_810);
    assert_eq!(d.force_close.anchor_sat, 330);
}

#[test]
fn taproot_uses_968_weight() {
    // 253 sat/kw · 968 / 1000 = 244; we opened with 500,000 of 1,000,000.
    let ch = channel(
        CommitmentType::SimpleTaprootFinal,
        Initiator::Local,
        1_000_000,
        500_000 - 244 - 660,
        500_000,
        244,
        253,
        330,
        330,
        vec![],
    );
    let d = channel_dust(&ch, None, &DustParams::default());
    assert_eq!(d.local.weight, 968);
    assert_eq!(d.local.base_fee_sat, 244);
    assert_eq!(d.commit_fee_mismatch, None);
}

#[test]
fn commit_fee_mismatch_is_reported() {
    let mut ch = srk_local_initiator();
    ch.commit_fee_sat = 5_291;
    let d = channel_dust(&ch, None, &DustParams::default());
    assert_eq!(
        d.commit_fee_mismatch,
        Some(CommitFeeMismatch {
            computed_sat: 5_290,
            reported_sat: 5_291
        })
    );

    // Wrong trimming model shows up too: call an SRK channel ANCHORS and the HTLC set changes.
    let mut ch = srk_local_initiator();
    ch.commitment_type = CommitmentType::Anchors;
    assert!(channel_dust(&ch, None, &DustParams::default())
        .commit_fee_mismatch
        .is_some());
}

#[test]
fn unknown_initiator_is_inferred_from_balances() {
    // The anchors channel above, seen from the side that did NOT open it: our balance is 0.
    let mut ch = channel(
        CommitmentType::Anchors,
        Initiator::Unknown,
        1_000_000,
        0,
        996_530,
        3_140,
        2_500,
        354,
        354,
        vec![],
    );
    let d = channel_dust(&ch, None, &DustParams::default());
    assert_eq!(d.commit_fee_mismatch, None);
    assert!(d
        .warnings
        .iter()
        .any(|w| w.contains("initiator") && w.contains("remote")));
    // The peer is assumed to pay: on its own commitment it keeps 1,000,000 − 2810 − 660.
    assert_eq!(d.remote.to_local_sat, 996_530);

    ch.local_balance_sat = 996_530;
    ch.remote_balance_sat = 0;
    let d = channel_dust(&ch, None, &DustParams::default());
    assert!(d
        .warnings
        .iter()
        .any(|w| w.contains("initiator") && w.contains("local")));
    assert_eq!(d.remote.to_remote_sat, 996_530);
}

#[test]
fn unknown_commitment_type_is_analysed_as_anchors() {
    let mut ch = anchors_remote_initiator();
    ch.commitment_type = CommitmentType::Unknown;
    let d = channel_dust(&ch, None, &DustParams::default());
    assert_eq!(d.commit_fee_mismatch, None);
    assert_eq!(d.local.base_fee_sat, 1_296);
    assert!(d.warnings.iter().any(|w| w.contains("ANCHORS")));
}

#[test]
fn missing_constraints_use_the_fallback_dust_limit() {
    let mut ch = anchors_remote_initiator();
    ch.local_constraints = None;
    ch.remote_constraints = None;
    let params = DustParams {
        fallback_dust_limit_sat: 500,
        ..DustParams::default()
    };
    let d = channel_dust(&ch, None, &params);
    assert_eq!(
        (d.local.dust_limit_sat, d.remote.dust_limit_sat),
        (500, 500)
    );
    // 400 is now below the local limit as well.
    assert_eq!(trimmed(&d.local, &ch), vec![true, true]);
    assert_eq!(d.force_close.csv_delay_blocks, 0);
    assert_eq!(d.warnings.len(), 2, "{:?}", d.warnings);
    assert!(d
        .warnings
        .iter()
        .any(|w| w.contains("local_constraints") && w.contains("500 sat")));
    assert!(d.warnings.iter().any(|w| w.contains("remote_constraints")));
}

#[test]
fn fee_spike_moves_trim_thresholds_without_anchors() {
    let params = DustParams {
        max_fee_exposure_sat: 10_000,
        ..DustParams::default()
    };
    let d = channel_dust(&srk_local_initiator(), None, &params);
    let feerates: Vec<_> = d
        .fee_spike
        .iter()
        .map(|s| (s.multiplier, s.feerate_per_kw, s.capped))
        .collect();
    assert_eq!(
        feerates,
        vec![
            (2.0, 5_000, false),
            (5.0, 12_500, false),
            (10.0, 25_000, false)
        ]
    );
    // ×2: offered threshold 546 + 3315 = 3861 keeps the 5000. ×5: 546 + 8287 = 8833 trims it.
    let local: Vec<_> = d
        .fee_spike
        .iter()
        .map(|s| s.local_trimmed_htlc_sat)
        .collect();
    assert_eq!(local, vec![3_050, 8_050, 8_050]);
    let remote: Vec<_> = d
        .fee_spike
        .iter()
        .map(|s| s.remote_trimmed_htlc_sat)
        .collect();
    assert_eq!(remote, vec![3_050, 8_050, 8_050]);
    // ×2: 3050 + 5000·896/1000 (4480) = 7530 ≤ 10,000. ×5: 8050 + 12500·724/1000 (9050).
    assert_eq!(d.fee_spike[0].local_fee_exposure_sat, 7_530);
    assert_eq!(d.fee_spike[0].remote_fee_exposure_sat, 7_530);
    assert!(!d.fee_spike[0].exceeds_limit);
    assert_eq!(d.fee_spike[1].local_fee_exposure_sat, 17_100);
    assert_eq!(d.fee_spike[1].remote_fee_exposure_sat, 17_100);
    assert!(d.fee_spike[1].exceeds_limit);
    assert!(d.fee_spike[2].exceeds_limit);
}

#[test]
fn fee_spike_respects_the_anchor_cap() {
    let d = channel_dust(&anchors_remote_initiator(), None, &DustParams::default());
    let feerates: Vec<_> = d
        .fee_spike
        .iter()
        .map(|s| (s.feerate_per_kw, s.capped))
        .collect();
    assert_eq!(feerates, vec![(2_000, false), (2_500, true), (2_500, true)]);
    // Zero-fee HTLCs: the trimmed sets do not move, only the base fee grows.
    assert!(d
        .fee_spike
        .iter()
        .all(|s| s.local_trimmed_htlc_sat == 300 && s.remote_trimmed_htlc_sat == 700));
    assert_eq!(d.fee_spike[1].remote_fee_exposure_sat, 700 + 2_810);

    // A feerate already above the cap (a peer initiator may set it) is not lowered.
    let spiked = |ct, rate, m| exposure::spiked_feerate(ct, rate, m, 2_500);
    assert_eq!(spiked(CommitmentType::Anchors, 3_000, 2.0), (3_000, true));
    assert_eq!(spiked(CommitmentType::Unknown, 1_000, 5.0), (2_500, true));
    assert_eq!(spiked(CommitmentType::Legacy, 1_000, 5.0), (5_000, false));
    assert_eq!(spiked(CommitmentType::Legacy, 1_000, 1.5), (1_500, false));
    assert_eq!(spiked(CommitmentType::Legacy, 1_000, f64::NAN), (0, false));
    assert_eq!(spiked(CommitmentType::Legacy, 1_000, -2.0), (0, false));
    assert_eq!(
        spiked(CommitmentType::Legacy, u64::MAX, f64::INFINITY),
        (u64::MAX, false)
    );
}

#[test]
fn node_limit_wins_over_configured() {
    let settings = AnalysisSettings::default();
    let p = DustParams::from_settings(&settings, None);
    assert_eq!(p.max_fee_exposure_sat, 500_000);
    assert_eq!(p.exposure_limit_source, ExposureLimitSource::Configured);
    assert_eq!(p.anchor_commit_feerate_cap_per_kw, 2_500);
    assert_eq!(p.fee_spike_multipliers, vec![2.0, 5.0, 10.0]);
    let p = DustParams::from_settings(
        &settings,
        Some(NodeExposureLimit {
            sat: 250_000,
            source: ExposureLimitSource::LndChannelMaxFeeExposure,
        }),
    );
    assert_eq!(p.max_fee_exposure_sat, 250_000);
    assert_eq!(
        p.exposure_limit_source,
        ExposureLimitSource::LndChannelMaxFeeExposure
    );
}

#[test]
fn over_the_limit_gives_negative_headroom() {
    let params = DustParams {
        max_fee_exposure_sat: 1_000,
        ..DustParams::default()
    };
    let d = channel_dust(&srk_local_initiator(), None, &params);
    assert_eq!(d.exposure_headroom_sat, 1_000 - 5_290);
    assert!(d.exposure_ratio > 5.0);
    assert_eq!(d.max_fee_exposure_now_sat(), 5_290);
}

#[test]
fn commitment_dust_matches_channel_dust() {
    let ch = srk_local_initiator();
    let params = DustParams::default();
    let d = channel_dust(&ch, None, &params);
    assert_eq!(
        commitment_dust(&ch, Side::Local, ch.fee_per_kw, &params),
        d.local
    );
    assert_eq!(
        commitment_dust(&ch, Side::Remote, ch.fee_per_kw, &params),
        d.remote
    );
}

#[test]
fn fee_greater_than_initiator_balance_takes_all_of_it() {
    // At 10,000,000 sat/kw every HTLC is trimmed and the base fee (7,240,000) exceeds our gross
    // 600,000: we pay what we have, our output disappears, only the peer's 391,950 remains.
    let ch = srk_local_initiator();
    let c = commitment_dust(&ch, Side::Local, 10_000_000, &DustParams::default());
    assert_eq!(c.untrimmed_htlc_count, 0);
    assert_eq!(c.base_fee_sat, 7_240_000);
    assert_eq!(c.base_fee_paid_sat, 600_000);
    assert!(c.to_local_trimmed);
    assert_eq!(c.to_local_sat, 0);
    assert_eq!(c.fees_to_miners_sat, 1_000_000 - 391_950);
    assert_eq!(c.fee_exposure_sat, 8_050 + 7_240_000);
}
