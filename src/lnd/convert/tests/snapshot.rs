//! A whole snapshot: ordering, policies from edges and FeeReport, per-channel isolation.

use std::collections::HashMap;

use super::*;
use crate::model::{
    ExposureLimitSource, NodeExposureLimit, PendingKind, RoutingPolicy, WalletBalance,
};

#[test]
fn snapshot_assembles_sorted_channels_policies_and_extras() {
    let mut odd = pb_channel(5);
    odd.remote_balance = -7;
    let mut p = parts(vec![pb_channel(30), odd, pb_channel(20)]);

    // Channel 30: edge with us as node2 -> node2 policy is ours.
    p.edges.insert(
        30,
        pb::ChannelEdge {
            channel_id: 30,
            node1_pub: PEER.into(),
            node2_pub: OURS.into(),
            node1_policy: Some(pb_policy(1_000, 1)),
            node2_policy: Some(pb_policy(2_000, 250)),
            ..Default::default()
        },
    );
    // Channel 20: edge with us as node1 but no peer policy yet.
    p.edges.insert(
        20,
        pb::ChannelEdge {
            channel_id: 20,
            node1_pub: OURS.into(),
            node2_pub: PEER.into(),
            node1_policy: Some(pb_policy(3_000, 500)),
            node2_policy: None,
            ..Default::default()
        },
    );
    // Channel 5: no edge, FeeReport by channel point only (older LND without chan_id).
    p.fee_report = Some(pb::FeeReportResponse {
        channel_fees: vec![pb::ChannelFeeReport {
            chan_id: 0,
            channel_point: pb_channel(5).channel_point,
            base_fee_msat: 1_500,
            fee_per_mil: 100,
            fee_rate: 0.0001,
            inbound_base_fee_msat: 0,
            inbound_fee_per_mil: -5,
        }],
        ..Default::default()
    });
    p.wallet = Some(pb::WalletBalanceResponse {
        total_balance: 150_000,
        confirmed_balance: 100_000,
        unconfirmed_balance: 50_000,
        locked_balance: 0,
        reserved_balance_anchor_chan: 20_000,
        ..Default::default()
    });
    p.debug_info = Some(pb::GetDebugInfoResponse {
        config: HashMap::from([
            (MAX_FEE_EXPOSURE_KEY.to_string(), "250000".to_string()),
            (DUST_THRESHOLD_KEY.to_string(), "500000".to_string()),
        ]),
        log: vec![],
    });
    p.pending = Some(pb::PendingChannelsResponse {
        pending_force_closing_channels: vec![pb::pending_channels_response::ForceClosedChannel {
            channel: Some(pb::pending_channels_response::PendingChannel {
                remote_node_pub: PEER.into(),
                channel_point: "ff:1".into(),
                capacity: 500_000,
                local_balance: 200_000,
                ..Default::default()
            }),
            limbo_balance: 200_000,
            blocks_til_maturity: -3,
            ..Default::default()
        }],
        pending_open_channels: vec![pb::pending_channels_response::PendingOpenChannel {
            channel: Some(pb::pending_channels_response::PendingChannel {
                remote_node_pub: PEER.into(),
                channel_point: "aa:0".into(),
                capacity: 300_000,
                local_balance: 296_000,
                ..Default::default()
            }),
            ..Default::default()
        }],
        ..Default::default()
    });

    let snap = snapshot(p);

    assert_eq!(snap.taken_at_unix, 1_700_000_000);
    assert_eq!(snap.source, source());
    assert_eq!(snap.node.identity_pubkey, OURS);
    assert_eq!(snap.node.block_height, Some(800_000));
    assert_eq!(snap.node.network, "mainnet");
    let ids: Vec<u64> = snap.channels.iter().map(|c| c.chan_id).collect();
    assert_eq!(ids, vec![5, 20, 30], "channels sorted by id");

    let c5 = &snap.channels[0];
    assert_eq!(c5.remote_balance_sat, 0);
    let from_fee_report = c5.local_policy.expect("FeeReport policy");
    assert_eq!(
        (from_fee_report.fee_base_msat, from_fee_report.fee_rate_ppm),
        (1_500, 100)
    );
    assert_eq!(from_fee_report.inbound_fee_rate_ppm, -5);
    assert_eq!(from_fee_report.min_htlc_msat, None);
    assert_eq!(c5.remote_policy, None);

    let c20 = &snap.channels[1];
    assert_eq!(c20.local_policy.map(|p| p.fee_base_msat), Some(3_000));
    assert_eq!(c20.local_policy.and_then(|p| p.min_htlc_msat), Some(1_000));
    assert_eq!(c20.remote_policy, None);

    let c30 = &snap.channels[2];
    let local = c30.local_policy.expect("our policy from node2");
    let remote = c30.remote_policy.expect("peer policy from node1");
    assert_eq!((local.fee_base_msat, local.fee_rate_ppm), (2_000, 250));
    assert_eq!((remote.fee_base_msat, remote.fee_rate_ppm), (1_000, 1));
    assert_eq!(local.time_lock_delta, Some(80));
    assert_eq!(local.max_htlc_msat, Some(990_000_000));
    assert_eq!(
        (local.inbound_fee_base_msat, local.inbound_fee_rate_ppm),
        (-1, -10)
    );

    assert_eq!(
        snap.wallet,
        Some(WalletBalance {
            confirmed_sat: 100_000,
            unconfirmed_sat: 50_000,
            locked_sat: 0,
            reserved_balance_anchor_chan_sat: 20_000,
        })
    );
    assert_eq!(
        snap.node_exposure_limit,
        Some(NodeExposureLimit {
            sat: 250_000,
            source: ExposureLimitSource::LndChannelMaxFeeExposure,
        })
    );

    let points: Vec<(&str, PendingKind)> = snap
        .pending_channels
        .iter()
        .map(|p| (p.channel_point.as_str(), p.kind))
        .collect();
    assert_eq!(
        points,
        vec![
            ("aa:0", PendingKind::Opening),
            ("ff:1", PendingKind::ForceClosing)
        ]
    );
    assert_eq!(snap.pending_channels[1].limbo_balance_sat, 200_000);
    assert_eq!(snap.pending_channels[1].blocks_til_maturity, Some(-3));
    assert_eq!(snap.pending_channels[0].blocks_til_maturity, None);

    // The one odd value is the one warning, attached to its channel.
    assert_eq!(snap.warnings.len(), 1, "{:#?}", snap.warnings);
    assert_eq!(snap.warnings[0].chan_id, Some(5));
    assert!(snap.warnings[0]
        .message
        .contains("remote_balance is negative"));
}

#[test]
fn edge_not_listing_us_falls_back_to_fee_report() {
    let mut p = parts(vec![pb_channel(40)]);
    p.edges.insert(
        40,
        pb::ChannelEdge {
            channel_id: 40,
            node1_pub: "03cccc".into(),
            node2_pub: PEER.into(),
            node1_policy: Some(pb_policy(9, 9)),
            node2_policy: Some(pb_policy(8, 8)),
            ..Default::default()
        },
    );
    p.fee_report = Some(pb::FeeReportResponse {
        channel_fees: vec![pb::ChannelFeeReport {
            chan_id: 40,
            channel_point: "elsewhere:0".into(),
            base_fee_msat: 1_000,
            fee_per_mil: 1,
            ..Default::default()
        }],
        ..Default::default()
    });
    let snap = snapshot(p);
    let c = &snap.channels[0];
    assert_eq!(c.local_policy.map(|p| p.fee_base_msat), Some(1_000));
    assert_eq!(c.remote_policy, None);
    let msgs = warnings_for(&snap.warnings, 40);
    assert_eq!(msgs.len(), 1);
    assert!(msgs[0].contains("neither is our node"), "{msgs:?}");
}

#[test]
fn fee_report_by_id_first_then_by_channel_point() {
    let mut one = pb_channel(1);
    one.channel_point = "p1:0".into();
    let mut two = pb_channel(2);
    two.channel_point = "p2:0".into();
    let mut three = pb_channel(3);
    three.channel_point = "p3:0".into();
    let mut p = parts(vec![one, two, three]);
    let fee = |chan_id, point: &str, base| pb::ChannelFeeReport {
        chan_id,
        channel_point: point.into(),
        base_fee_msat: base,
        ..Default::default()
    };
    p.fee_report = Some(pb::FeeReportResponse {
        channel_fees: vec![fee(1, "p2:0", 100), fee(0, "p1:0", 200)],
        ..Default::default()
    });
    let bases = base_fees(&snapshot(p));
    // 1: its id wins over the entry with its channel point. 2: no entry with its id, so
    // the one with its channel point. 3: neither.
    assert_eq!(bases, vec![Some(100), Some(100), None]);
}

#[test]
fn fee_report_ids_in_any_order_and_the_last_of_a_repeated_id() {
    let mut p = parts(vec![pb_channel(1), pb_channel(2), pb_channel(3)]);
    let fee = |chan_id, base| pb::ChannelFeeReport {
        chan_id,
        base_fee_msat: base,
        ..Default::default()
    };
    p.fee_report = Some(pb::FeeReportResponse {
        channel_fees: vec![fee(3, 30), fee(2, 20), fee(1, 10), fee(2, 21), fee(9, 90)],
        ..Default::default()
    });
    let bases = base_fees(&snapshot(p));
    assert_eq!(bases, vec![Some(10), Some(21), Some(30)]);
}

#[test]
fn negative_edge_min_htlc_is_clamped_and_warned() {
    let mut p = parts(vec![pb_channel(41)]);
    let mut peer_policy = pb_policy(1, 1);
    peer_policy.min_htlc = -1;
    p.edges.insert(
        41,
        pb::ChannelEdge {
            channel_id: 41,
            node1_pub: OURS.into(),
            node2_pub: PEER.into(),
            node1_policy: Some(pb_policy(1, 1)),
            node2_policy: Some(peer_policy),
            ..Default::default()
        },
    );
    let snap = snapshot(p);
    assert_eq!(
        snap.channels[0].remote_policy.and_then(|p| p.min_htlc_msat),
        Some(0)
    );
    let msgs = warnings_for(&snap.warnings, 41);
    assert_eq!(msgs.len(), 1);
    assert!(
        msgs[0].contains("the peer's min_htlc is negative"),
        "{msgs:?}"
    );
}

#[test]
fn one_odd_channel_never_drops_the_others() {
    let mut odd = pb_channel(2);
    odd.capacity = i64::MIN;
    odd.commitment_type = i32::MAX;
    odd.pending_htlcs[0].amount = i64::MIN;
    let snap = snapshot(parts(vec![pb_channel(1), odd, pb_channel(3)]));
    assert_eq!(snap.channels.len(), 3);
    assert!(snap.warnings.iter().all(|w| w.chan_id == Some(2)));
    assert_eq!(snap.warnings.len(), 3);
    assert_eq!(snap.channels[0], channel(&pb_channel(1), &mut Vec::new()));
}

/// Enough channels for many parallel conversion tasks: each channel keeps its own
/// warnings and fee lookup (by id, or by channel point for the index built on demand).
#[test]
fn many_channels_convert_like_one_at_a_time() {
    let count = CHANNELS_PER_TASK as u64 * 9 + 5;
    let raw: Vec<pb::Channel> = (1..=count)
        .rev()
        .map(|id| {
            let mut ch = pb_channel(id);
            ch.channel_point = format!("p{id}:0");
            if id % 7 == 0 {
                ch.local_balance = -1;
            }
            ch
        })
        .collect();
    let mut p = parts(raw.clone());
    p.fee_report = Some(pb::FeeReportResponse {
        channel_fees: (1..=count)
            .map(|id| pb::ChannelFeeReport {
                // Every third entry only by channel point, as an old LND reports it.
                chan_id: if id % 3 == 0 { 0 } else { id },
                channel_point: format!("p{id}:0"),
                base_fee_msat: id as i64,
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    });
    let snap = snapshot(p);

    let mut expected_warnings = Vec::new();
    let mut expected: Vec<Channel> = raw
        .iter()
        .map(|ch| {
            let mut one = channel(ch, &mut expected_warnings);
            one.local_policy = Some(RoutingPolicy {
                fee_base_msat: ch.chan_id as i64,
                ..fee_report_policy(&pb::ChannelFeeReport::default())
            });
            one
        })
        .collect();
    expected.sort_by_key(|c| c.chan_id);
    assert_eq!(snap.channels, expected);
    assert_eq!(snap.warnings.len(), expected_warnings.len());
    assert_eq!(snap.warnings.len(), (count / 7) as usize);
    for id in (7..=count).step_by(7) {
        assert_eq!(warnings_for(&snap.warnings, id).len(), 1, "channel {id}");
    }
}

/// Each channel's base fee from the fee report, in channel order (`None`: no policy found).
fn base_fees(snap: &NodeSnapshot) -> Vec<Option<i64>> {
    snap.channels
        .iter()
        .map(|c| c.local_policy.map(|p| p.fee_base_msat))
        .collect()
}
