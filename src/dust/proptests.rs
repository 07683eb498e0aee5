//! Property tests of the dust engine: totality on absurd inputs, monotonic trimming, feerate
//! independence of zero-fee-HTLC trimming, local/remote symmetry, and the `commit_fee`
//! cross-check on LND-consistent channels.

use proptest::prelude::*;

use super::channel_view::{build_side, resolve_assumptions, SideInputs};
use super::tests::{channel, htlc, trimmed, ALL_TYPES};
use super::*;
use crate::model::{CommitmentType, Constraints, Htlc, Initiator};

fn any_type() -> impl Strategy<Value = CommitmentType> {
    prop::sample::select(ALL_TYPES.to_vec())
}

fn non_anchor_type() -> impl Strategy<Value = CommitmentType> {
    prop::sample::select(vec![
        CommitmentType::Legacy,
        CommitmentType::StaticRemoteKey,
    ])
}

fn zero_fee_type() -> impl Strategy<Value = CommitmentType> {
    prop::sample::select(ALL_TYPES[2..].to_vec())
}

/// A u64 that is often an edge (0, MAX) or a realistic size, and sometimes anything.
fn amount() -> impl Strategy<Value = u64> {
    prop_oneof![Just(0u64), Just(u64::MAX), 0u64..2_000_000, any::<u64>(),]
}

fn any_htlc() -> impl Strategy<Value = Htlc> {
    (any::<u64>(), any::<bool>(), amount(), any::<u32>())
        .prop_map(|(index, incoming, amount, expiry)| htlc(index, incoming, amount, expiry))
}

fn any_constraints() -> impl Strategy<Value = Option<Constraints>> {
    prop::option::of(
        (amount(), any::<u32>()).prop_map(|(dust_limit_sat, csv_delay)| Constraints {
            csv_delay,
            dust_limit_sat,
            ..Constraints::default()
        }),
    )
}

fn any_channel() -> impl Strategy<Value = Channel> {
    (
        any_type(),
        prop::sample::select(vec![
            Initiator::Local,
            Initiator::Remote,
            Initiator::Unknown,
        ]),
        (amount(), amount(), amount(), amount(), amount()),
        any_constraints(),
        any_constraints(),
        prop::collection::vec(any_htlc(), 0..6),
    )
        .prop_map(
            |(ct, initiator, (cap, local, remote, fee, rate), lc, rc, htlcs)| {
                let mut ch = channel(ct, initiator, cap, local, remote, fee, rate, 0, 0, htlcs);
                ch.local_constraints = lc;
                ch.remote_constraints = rc;
                ch
            },
        )
}

fn any_params() -> impl Strategy<Value = DustParams> {
    (
        amount(),
        amount(),
        prop::collection::vec(any::<f64>(), 0..4),
        amount(),
        any::<u32>(),
        any::<u32>(),
    )
        .prop_map(
            |(limit, cap, multipliers, fallback, warn, critical)| DustParams {
                max_fee_exposure_sat: limit,
                exposure_limit_source: crate::model::ExposureLimitSource::Configured,
                anchor_commit_feerate_cap_per_kw: cap,
                fee_spike_multipliers: multipliers,
                fallback_dust_limit_sat: fallback,
                htlc_expiry_warn_blocks: warn,
                htlc_expiry_critical_blocks: critical,
            },
        )
}

fn owner_htlcs() -> impl Strategy<Value = Vec<CommitmentHtlc>> {
    prop::collection::vec(
        (any::<bool>(), amount()).prop_map(|(offered_by_owner, amount_msat)| CommitmentHtlc {
            offered_by_owner,
            amount_msat,
        }),
        0..8,
    )
}

fn build(
    ct: CommitmentType,
    dust: u64,
    feerate: u64,
    to_local_msat: u64,
    to_remote_msat: u64,
    htlcs: &[CommitmentHtlc],
) -> BuiltCommitment {
    build_commitment(&CommitmentInput {
        commitment_type: ct,
        dust_limit_sat: dust,
        feerate_per_kw: feerate,
        owner_is_initiator: true,
        to_local_msat,
        to_remote_msat,
        htlcs,
    })
}

proptest! {
    /// Any channel, any parameters: a result, never a panic or an arithmetic overflow (tests
    /// run in debug, where overflow panics), and the per-HTLC vectors line up.
    #[test]
    fn channel_dust_is_total(ch in any_channel(), height in any::<Option<u32>>(), params in any_params()) {
        let d = channel_dust(&ch, height, &params);
        let n = ch.pending_htlcs.len();
        for c in [&d.local, &d.remote] {
            let flags = trimmed(c, &ch);
            prop_assert_eq!(flags.iter().filter(|&&t| t).count(), c.trimmed_htlc_count as usize);
            prop_assert_eq!((c.trimmed_htlc_count + c.untrimmed_htlc_count) as usize, n);
            prop_assert!(c.anchor_outputs <= 2);
        }
        prop_assert_eq!(d.htlcs.len(), n);
        for (view, h) in d.htlcs.iter().zip(&ch.pending_htlcs) {
            prop_assert_eq!(view.trimmed_on_local, d.local.trims(h));
            prop_assert_eq!(view.trimmed_on_remote, d.remote.trims(h));
        }
        prop_assert_eq!(d.fee_spike.len(), params.fee_spike_multipliers.len());
        prop_assert!(d.force_close.total_sat >= d.force_close.fees_to_miners_sat);
    }

    #[test]
    fn build_commitment_is_total(
        ct in any_type(),
        owner_is_initiator in any::<bool>(),
        (dust, feerate, to_local, to_remote) in (amount(), amount(), amount(), amount()),
        htlcs in owner_htlcs(),
    ) {
        let built = build_commitment(&CommitmentInput {
            commitment_type: ct,
            dust_limit_sat: dust,
            feerate_per_kw: feerate,
            owner_is_initiator,
            to_local_msat: to_local,
            to_remote_msat: to_remote,
            htlcs: &htlcs,
        });
        prop_assert_eq!(built.trimmed.len(), htlcs.len());
        prop_assert_eq!((built.trimmed_htlc_count + built.untrimmed_htlc_count) as usize, htlcs.len());
        if built.outputs_sat <= built.funding_sat {
            prop_assert_eq!(built.outputs_sat + built.fees_to_miners_sat, built.funding_sat);
        }
    }

    /// The small pure helpers on their whole input domain (including every i64 block count).
    #[test]
    fn helpers_are_total(
        ct in any_type(),
        (a, b, c) in (any::<u64>(), any::<u64>(), any::<u64>()),
        m in any::<f64>(),
        blocks in any::<i64>(),
        (h, e, warn, crit) in (any::<Option<u32>>(), any::<u32>(), any::<u32>(), any::<u32>()),
    ) {
        let _ = fee_for_weight(a, b);
        let _ = trim_thresholds(ct, a, b);
        let _ = commitment_base_fee_sat(ct, a, b);
        let _ = spiked_feerate(ct, a, m, c);
        let _ = exposure_headroom_sat(a, b);
        let r = exposure_ratio(a, b);
        prop_assert!(r.is_finite() && r >= 0.0);
        let _ = expiry_level(Some(blocks), warn, crit);
        let _ = expiry_level(blocks_to_expiry(e, h), warn, crit);
    }

    /// Without zero-fee HTLCs the trim threshold rises with the feerate: once trimmed, an HTLC
    /// stays trimmed at every higher feerate.
    #[test]
    fn trimming_is_monotonic_in_feerate_without_anchors(
        ct in non_anchor_type(),
        dust in amount(),
        (f1, f2) in (amount(), amount()),
        htlcs in owner_htlcs(),
    ) {
        let (low, high) = (f1.min(f2), f1.max(f2));
        let at_low = build(ct, dust, low, 0, 0, &htlcs);
        let at_high = build(ct, dust, high, 0, 0, &htlcs);
        for (i, (&lo, &hi)) in at_low.trimmed.iter().zip(&at_high.trimmed).enumerate() {
            prop_assert!(!lo || hi, "HTLC {} trimmed at {} but not at {}", i, low, high);
        }
        prop_assert!(at_high.trimmed_htlc_msat >= at_low.trimmed_htlc_msat);
    }

    /// With zero-fee HTLCs (anchors, taproot, unknown) the feerate never changes what is trimmed.
    #[test]
    fn zero_fee_htlc_trimming_ignores_feerate(
        ct in zero_fee_type(),
        dust in amount(),
        (f1, f2) in (amount(), amount()),
        htlcs in owner_htlcs(),
    ) {
        prop_assert_eq!(
            build(ct, dust, f1, 0, 0, &htlcs).trimmed,
            build(ct, dust, f2, 0, 0, &htlcs).trimmed
        );
    }

    /// With both dust limits equal, our commitment of a channel trims exactly what the peer's
    /// commitment trims in the mirrored channel (every HTLC's direction flipped, balances and
    /// initiator swapped), and the other way round. Realistic ranges, so that amounts often
    /// fall between the offered and the received threshold, where a role mix-up would show.
    #[test]
    fn local_and_remote_views_agree_when_mirrored(
        ct in any_type(),
        initiator_is_local in any::<bool>(),
        (cap, local, remote) in (0u64..20_000_000, 0u64..10_000_000, 0u64..10_000_000),
        (dust, current, feerate) in (0u64..1_000, 0u64..50_000, 0u64..50_000),
        htlcs in prop::collection::vec(
            (any::<bool>(), 0u64..40_000).prop_map(|(incoming, amount)| htlc(0, incoming, amount, 0)),
            0..8,
        ),
    ) {
        let initiator = if initiator_is_local { Initiator::Local } else { Initiator::Remote };
        let mirrored_initiator = if initiator_is_local { Initiator::Remote } else { Initiator::Local };
        let ch = channel(ct, initiator, cap, local, remote, 0, current, dust, dust, htlcs.clone());
        let flipped = htlcs
            .into_iter()
            .map(|mut h| {
                h.incoming = !h.incoming;
                h
            })
            .collect();
        let mirror = channel(ct, mirrored_initiator, cap, remote, local, 0, current, dust, dust, flipped);
        let params = DustParams::default();
        for (ours, theirs) in [(Side::Local, Side::Remote), (Side::Remote, Side::Local)] {
            let a = commitment_dust(&ch, ours, feerate, &params);
            let b = commitment_dust(&mirror, theirs, feerate, &params);
            prop_assert_eq!(trimmed(&a, &ch), trimmed(&b, &mirror));
            prop_assert_eq!(a.thresholds, b.thresholds);
            prop_assert_eq!(a.untrimmed_htlc_count, b.untrimmed_htlc_count);
            prop_assert_eq!(a.trimmed_htlc_sat, b.trimmed_htlc_sat);
            prop_assert_eq!(a.base_fee_sat, b.base_fee_sat);
            prop_assert_eq!(a.fee_exposure_sat, b.fee_exposure_sat);
        }
    }

    /// The same mirror on absurd values: still a result, and still symmetric.
    #[test]
    fn mirrored_views_agree_on_extreme_values(
        ct in any_type(),
        (cap, local, remote, dust, feerate) in (amount(), amount(), amount(), amount(), amount()),
        htlcs in prop::collection::vec(any_htlc(), 0..6),
    ) {
        let ch = channel(ct, Initiator::Local, cap, local, remote, 0, feerate, dust, dust, htlcs.clone());
        let flipped = htlcs
            .into_iter()
            .map(|mut h| {
                h.incoming = !h.incoming;
                h
            })
            .collect();
        let mirror = channel(ct, Initiator::Remote, cap, remote, local, 0, feerate, dust, dust, flipped);
        let params = DustParams::default();
        let a = commitment_dust(&ch, Side::Local, feerate, &params);
        let b = commitment_dust(&mirror, Side::Remote, feerate, &params);
        prop_assert_eq!(trimmed(&a, &ch), trimmed(&b, &mirror));
        prop_assert_eq!(a.fee_exposure_sat, b.fee_exposure_sat);
    }

    /// A channel whose numbers come from a real BOLT 3 commitment (as LND would report them:
    /// net balances, `commit_fee = capacity − Σ outputs`) passes the cross-check, and the
    /// gross balances are recovered exactly: the remote commitment and a what-if feerate match
    /// commitments built from the true gross balances.
    #[test]
    fn consistent_channels_pass_the_cross_check(
        ct in any_type(),
        initiator_is_local in any::<bool>(),
        (gross_local, gross_remote) in (0u64..10_000_000_000, 0u64..10_000_000_000),
        (dust_local, dust_remote) in (0u64..5_000, 0u64..5_000),
        (feerate, other_feerate) in (0u64..200_000, 0u64..200_000),
        htlcs in prop::collection::vec((any::<bool>(), 0u64..50_000), 0..6),
    ) {
        let view = |side: Side| -> Vec<CommitmentHtlc> {
            htlcs
                .iter()
                .map(|&(incoming, amount)| CommitmentHtlc {
                    offered_by_owner: if side == Side::Local { !incoming } else { incoming },
                    amount_msat: amount * 1000,
                })
                .collect()
        };
        let truth = |side: Side, rate: u64| {
            let (dust, owner_init, own, other) = match side {
                Side::Local => (dust_local, initiator_is_local, gross_local, gross_remote),
                Side::Remote => (dust_remote, !initiator_is_local, gross_remote, gross_local),
            };
            build_commitment(&CommitmentInput {
                commitment_type: ct,
                dust_limit_sat: dust,
                feerate_per_kw: rate,
                owner_is_initiator: owner_init,
                to_local_msat: own * 1000,
                to_remote_msat: other * 1000,
                htlcs: &view(side),
            })
        };
        let local_truth = truth(Side::Local, feerate);
        let capacity = local_truth.funding_sat;
        let ch = channel(
            ct,
            if initiator_is_local { Initiator::Local } else { Initiator::Remote },
            capacity,
            local_truth.to_local_sat,
            local_truth.to_remote_sat,
            capacity - local_truth.outputs_sat,
            feerate,
            dust_local,
            dust_remote,
            htlcs.iter().enumerate().map(|(i, &(incoming, amount))| htlc(i as u64, incoming, amount, 0)).collect(),
        );
        let d = channel_dust(&ch, None, &DustParams::default());
        prop_assert_eq!(d.commit_fee_mismatch, None);

        let params = DustParams::default();
        for (side, rate) in [(Side::Remote, feerate), (Side::Local, other_feerate), (Side::Remote, other_feerate)] {
            let t = truth(side, rate);
            let c = commitment_dust(&ch, side, rate, &params);
            prop_assert_eq!(&trimmed(&c, &ch), &t.trimmed);
            prop_assert_eq!(c.base_fee_sat, t.base_fee_sat);
            prop_assert_eq!(c.to_local_sat, t.to_local_sat);
            prop_assert_eq!(c.to_remote_sat, t.to_remote_sat);
            prop_assert_eq!(c.fees_to_miners_sat, t.fees_to_miners_sat);
            prop_assert_eq!(c.anchor_outputs, t.anchor_outputs());
        }
    }

    /// The per-HTLC flags of `channel_dust` (`HtlcView::trimmed_on_local/remote`, from
    /// `CommitmentDust::trims`) are the ones the public builder reports for the same owner's
    /// view, dust limit, feerate and type, on any values (including amounts whose msat
    /// saturate).
    #[test]
    fn htlc_flags_match_the_public_builder(ch in any_channel(), params in any_params()) {
        let d = channel_dust(&ch, None, &params);
        for c in [&d.local, &d.remote] {
            let htlcs: Vec<CommitmentHtlc> = ch
                .pending_htlcs
                .iter()
                .map(|h| CommitmentHtlc {
                    offered_by_owner: (c.side == Side::Local) != h.incoming,
                    amount_msat: h.amount_sat.saturating_mul(1000),
                })
                .collect();
            let built = build_commitment(&CommitmentInput {
                commitment_type: ch.commitment_type,
                dust_limit_sat: c.dust_limit_sat,
                feerate_per_kw: c.feerate_per_kw,
                owner_is_initiator: true,
                to_local_msat: 0,
                to_remote_msat: 0,
                htlcs: &htlcs,
            });
            let flags: Vec<bool> = d
                .htlcs
                .iter()
                .map(|v| if c.side == Side::Local { v.trimmed_on_local } else { v.trimmed_on_remote })
                .collect();
            prop_assert_eq!(&flags, &built.trimmed);
            prop_assert_eq!(c.trimmed_htlc_count, built.trimmed_htlc_count);
            prop_assert_eq!(c.trimmed_htlc_sat, built.trimmed_htlc_msat / 1000);
        }
    }

    /// The fee-spike what-ifs, which reuse the current commitments' trimmed sets whenever the
    /// thresholds did not move (every zero-fee-HTLC type) and otherwise only re-trim, equal
    /// full rebuilds of both commitments at each spiked feerate, on any values.
    #[test]
    fn fee_spikes_match_full_builds(ch in any_channel(), params in any_params()) {
        fee_spikes_equal_full_builds(&ch, &params)?;
    }

    /// The same on realistic channels of every type, where the spiked feerates move the
    /// thresholds of the non-anchor types across the HTLC amounts (and the anchor cap binds).
    #[test]
    fn fee_spikes_match_full_builds_on_realistic_channels(
        ct in any_type(),
        initiator_is_local in any::<bool>(),
        (cap, local, remote) in (0u64..20_000_000, 0u64..10_000_000, 0u64..10_000_000),
        (dust_local, dust_remote, feerate) in (0u64..1_000, 0u64..1_000, 0u64..20_000),
        htlcs in prop::collection::vec(
            (any::<bool>(), 0u64..40_000).prop_map(|(incoming, amount)| htlc(0, incoming, amount, 0)),
            0..12,
        ),
        multipliers in prop::collection::vec(0.0f64..10.0, 0..4),
    ) {
        let initiator = if initiator_is_local { Initiator::Local } else { Initiator::Remote };
        let ch = channel(ct, initiator, cap, local, remote, 0, feerate, dust_local, dust_remote, htlcs);
        let params = DustParams {
            fee_spike_multipliers: multipliers,
            ..DustParams::default()
        };
        fee_spikes_equal_full_builds(&ch, &params)?;
    }

    /// The `u64` fast path of `fee_for_weight` gives the `u128` result everywhere.
    #[test]
    fn fee_for_weight_matches_u128(
        feerate in prop_oneof![any::<u64>(), 0u64..100_000_000],
        weight in prop_oneof![any::<u64>(), 0u64..1_000_000],
    ) {
        let wide = u128::from(feerate) * u128::from(weight) / 1000;
        prop_assert_eq!(fee_for_weight(feerate, weight), u64::try_from(wide).unwrap_or(u64::MAX));
    }
}

/// `channel_dust`'s fee spikes against the reference: both commitments built in full
/// (`build_side`, the builder every commitment of the engine goes through) at each feerate.
fn fee_spikes_equal_full_builds(ch: &Channel, params: &DustParams) -> Result<(), TestCaseError> {
    let d = channel_dust(ch, None, params);
    let a = resolve_assumptions(ch, params);
    let inputs = SideInputs::new(ch, &a);
    prop_assert_eq!(d.fee_spike.len(), params.fee_spike_multipliers.len());
    for (spike, &multiplier) in d.fee_spike.iter().zip(&params.fee_spike_multipliers) {
        let (rate, capped) = spiked_feerate(
            ch.commitment_type,
            ch.fee_per_kw,
            multiplier,
            params.anchor_commit_feerate_cap_per_kw,
        );
        let local = build_side(ch, &a, &inputs, Side::Local, rate);
        let remote = build_side(ch, &a, &inputs, Side::Remote, rate);
        let worst = local.fee_exposure_sat.max(remote.fee_exposure_sat);
        let expected = FeeSpike {
            multiplier,
            feerate_per_kw: rate,
            capped,
            local_trimmed_htlc_sat: local.trimmed_htlc_sat,
            remote_trimmed_htlc_sat: remote.trimmed_htlc_sat,
            local_fee_exposure_sat: local.fee_exposure_sat,
            remote_fee_exposure_sat: remote.fee_exposure_sat,
            exceeds_limit: exceeds_limit(params.max_fee_exposure_sat, worst),
        };
        // Compared field by field through Debug so a NaN multiplier still compares equal.
        prop_assert_eq!(format!("{spike:?}"), format!("{expected:?}"));
    }
    Ok(())
}
