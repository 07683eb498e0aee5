//! One ListChannels record: every field, clamps, reserves, HTLC hashes, commitment types.

use super::*;
use crate::model::{CommitmentType, Htlc, Initiator, PaymentHash};

#[test]
fn hash_locks_of_32_bytes_are_kept_others_named() {
    let mut raw = pb_channel(13);
    let good: Vec<u8> = (0..32).collect();
    raw.pending_htlcs[0].hash_lock = good.clone().into();
    let mut empty = raw.pending_htlcs[0].clone();
    empty.hash_lock = Default::default();
    empty.htlc_index = 4;
    let mut long = raw.pending_htlcs[0].clone();
    long.hash_lock = vec![7; 33].into();
    long.htlc_index = 5;
    raw.pending_htlcs.extend([empty, long]);
    let mut warnings = Vec::new();
    let c = channel(&raw, &mut warnings);

    let hashes: Vec<Option<String>> = c
        .pending_htlcs
        .iter()
        .map(|h| h.hash_lock.map(|h| h.to_string()))
        .collect();
    assert_eq!(hashes, vec![Some(hex::encode(&good)), None, None]);
    assert_eq!(c.pending_htlcs.len(), 3, "no HTLC is dropped");
    // Empty: LND did not say, nothing to warn about. 33 bytes: not a hash, named.
    let msgs = warnings_for(&warnings, 13);
    assert_eq!(
        msgs,
        vec![
            "ListChannels: channel 13: pending_htlcs[5].hash_lock is 33 bytes, not 32; \
             the HTLC is kept without its hash"
        ]
    );
}

#[test]
fn well_formed_channel_maps_every_field() {
    let mut warnings = Vec::new();
    let c = channel(&pb_channel(7), &mut warnings);
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(c.chan_id, 7);
    assert_eq!(&*c.remote_pubkey, PEER);
    assert_eq!(&*c.peer_alias, "peer");
    assert!(c.active && !c.private);
    assert_eq!(c.initiator, Initiator::Local);
    assert_eq!(c.commitment_type, CommitmentType::Anchors);
    assert_eq!(c.capacity_sat, 1_000_000);
    assert_eq!(c.local_balance_sat, 600_000);
    assert_eq!(c.remote_balance_sat, 398_000);
    assert_eq!(c.commit_fee_sat, 1_340);
    assert_eq!(c.commit_weight, 1_124);
    assert_eq!(c.fee_per_kw, 253);
    assert_eq!(c.total_satoshis_sent, 5_000);
    assert_eq!(c.total_satoshis_received, 7_000);
    assert_eq!(c.num_updates, 42);
    assert_eq!((c.lifetime_secs, c.uptime_secs), (3_600, 3_000));
    assert_eq!(c.local_chan_reserve_sat, 10_000);
    let local = c.local_constraints.expect("local constraints");
    let remote = c.remote_constraints.expect("remote constraints");
    assert_eq!((local.dust_limit_sat, remote.dust_limit_sat), (354, 573));
    assert_eq!(local.csv_delay, 144);
    assert_eq!(local.max_accepted_htlcs, 483);
    assert_eq!(
        c.pending_htlcs,
        vec![Htlc {
            incoming: true,
            amount_sat: 20_000,
            hash_lock: PaymentHash::from_hex(&"abcd".repeat(16)),
            expiration_height: 800_100,
            htlc_index: 3,
            forwarding_channel: 77,
            forwarding_htlc_index: 9,
            locked_in: true,
        }]
    );
    assert_eq!((c.local_policy, c.remote_policy), (None, None));
}

#[test]
fn remote_opener_and_missing_constraints() {
    let mut raw = pb_channel(8);
    raw.initiator = false;
    raw.local_constraints = None;
    raw.remote_constraints = None;
    let mut warnings = Vec::new();
    let c = channel(&raw, &mut warnings);
    assert_eq!(c.initiator, Initiator::Remote);
    assert_eq!((c.local_constraints, c.remote_constraints), (None, None));
    assert_eq!(c.remote_chan_reserve_sat, 10_000);
    assert!(warnings.is_empty());
}

#[test]
fn reserves_fall_back_to_constraints() {
    let mut raw = pb_channel(9);
    raw.local_chan_reserve_sat = 0;
    raw.remote_chan_reserve_sat = 0;
    raw.remote_constraints = Some(pb_constraints(573, 12_345));
    let c = channel(&raw, &mut Vec::new());
    assert_eq!(c.local_chan_reserve_sat, 10_000);
    assert_eq!(c.remote_chan_reserve_sat, 12_345);
}

#[test]
fn odd_values_are_clamped_and_warned_per_channel() {
    let mut raw = pb_channel(11);
    raw.capacity = -1;
    raw.local_balance = -5;
    raw.commit_weight = -1_124;
    raw.lifetime = -3;
    raw.pending_htlcs[0].amount = -20_000;
    raw.commitment_type = 42;
    let mut warnings = Vec::new();
    let c = channel(&raw, &mut warnings);

    assert_eq!(c.capacity_sat, 0);
    assert_eq!(c.local_balance_sat, 0);
    assert_eq!(c.commit_weight, 0);
    assert_eq!(c.lifetime_secs, 0);
    assert_eq!(c.pending_htlcs[0].amount_sat, 0);
    assert_eq!(c.commitment_type, CommitmentType::Unknown);
    // Untouched fields keep their values.
    assert_eq!(c.remote_balance_sat, 398_000);

    let msgs = warnings_for(&warnings, 11);
    assert_eq!(msgs.len(), 6, "{msgs:#?}");
    for needle in [
        "capacity is negative (-1)",
        "local_balance is negative (-5)",
        "commit_weight is negative (-1124)",
        "lifetime is negative (-3)",
        "pending_htlcs[3].amount is negative (-20000)",
        "commitment_type 42 is unknown",
    ] {
        assert!(
            msgs.iter().any(|m| m.contains(needle)),
            "no warning containing {needle:?} in {msgs:#?}"
        );
    }
    assert!(msgs
        .iter()
        .all(|m| m.starts_with("ListChannels: channel 11: ")));
}

#[test]
fn missing_commitment_type_is_unknown_with_warning() {
    let mut raw = pb_channel(12);
    raw.commitment_type = 0;
    let mut warnings = Vec::new();
    assert_eq!(
        channel(&raw, &mut warnings).commitment_type,
        CommitmentType::Unknown
    );
    assert_eq!(warnings.len(), 1);
    assert!(warnings[0].message.contains("commitment_type not reported"));
}

#[test]
fn commitment_types_follow_lnds_numbers() {
    let expected = [
        (0, None),
        (1, Some(CommitmentType::Legacy)),
        (2, Some(CommitmentType::StaticRemoteKey)),
        (3, Some(CommitmentType::Anchors)),
        (4, Some(CommitmentType::ScriptEnforcedLease)),
        (5, Some(CommitmentType::SimpleTaproot)),
        (6, Some(CommitmentType::SimpleTaprootOverlay)),
        (7, Some(CommitmentType::SimpleTaprootFinal)),
        (8, None),
        (-1, None),
    ];
    for (wire, want) in expected {
        assert_eq!(commitment_type(wire), want, "wire value {wire}");
    }
}
