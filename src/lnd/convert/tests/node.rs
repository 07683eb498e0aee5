//! Node-wide answers: the exposure limit, pending channels, wallet and GetInfo oddities.

use std::collections::HashMap;

use super::*;
use crate::model::{ExposureLimitSource, NodeExposureLimit, PendingKind};

#[test]
fn exposure_limit_sources_and_bad_values() {
    let map = |pairs: &[(&str, &str)]| -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };

    let mut w = Vec::new();
    assert_eq!(
        node_exposure_limit(&map(&[(DUST_THRESHOLD_KEY, "500000")]), &mut w),
        Some(NodeExposureLimit {
            sat: 500_000,
            source: ExposureLimitSource::LndDustThreshold
        })
    );
    assert!(w.is_empty());

    assert_eq!(node_exposure_limit(&map(&[("alias", "x")]), &mut w), None);
    assert!(w.is_empty());

    // An unreadable new key falls back to the old one, and says so.
    let limit = node_exposure_limit(
        &map(&[
            (MAX_FEE_EXPOSURE_KEY, "lots"),
            (DUST_THRESHOLD_KEY, " 300000 sat "),
        ]),
        &mut w,
    );
    assert_eq!(
        limit,
        Some(NodeExposureLimit {
            sat: 300_000,
            source: ExposureLimitSource::LndDustThreshold
        })
    );
    assert_eq!(w.len(), 1);
    assert!(w[0]
        .message
        .contains("`channel-max-fee-exposure` = \"lots\""));

    let mut w = Vec::new();
    for bad in ["0", "-5", "", "0.005 BTC", "1e6"] {
        assert_eq!(
            node_exposure_limit(&map(&[(MAX_FEE_EXPOSURE_KEY, bad)]), &mut w),
            None,
            "{bad:?}"
        );
    }
    assert_eq!(w.len(), 5);
}

#[test]
fn pending_entry_without_channel_is_left_out_and_named() {
    let raw = pb::PendingChannelsResponse {
        waiting_close_channels: vec![
            pb::pending_channels_response::WaitingCloseChannel {
                channel: None,
                limbo_balance: 10,
                ..Default::default()
            },
            pb::pending_channels_response::WaitingCloseChannel {
                channel: Some(pb::pending_channels_response::PendingChannel {
                    channel_point: "bb:2".into(),
                    capacity: -1,
                    ..Default::default()
                }),
                limbo_balance: 77,
                ..Default::default()
            },
        ],
        pending_closing_channels: vec![pb::pending_channels_response::ClosedChannel {
            channel: Some(pb::pending_channels_response::PendingChannel {
                channel_point: "cc:0".into(),
                ..Default::default()
            }),
            closing_txid: "dd".into(),
        }],
        ..Default::default()
    };
    let mut warnings = Vec::new();
    let out = pending_channels(&raw, &mut warnings);
    assert_eq!(out.len(), 2);
    assert_eq!(out[0].channel_point, "bb:2");
    assert_eq!(out[0].kind, PendingKind::WaitingClose);
    assert_eq!(out[0].limbo_balance_sat, 77);
    assert_eq!(out[0].capacity_sat, 0);
    assert_eq!(out[1].channel_point, "cc:0");
    assert_eq!(out[1].kind, PendingKind::WaitingClose);
    assert_eq!(warnings.len(), 2, "{warnings:#?}");
    assert!(warnings[0]
        .message
        .contains("waiting close entry has no channel record"));
    assert!(warnings[1]
        .message
        .contains("PendingChannels: channel bb:2: capacity is negative"));
}

#[test]
fn wallet_and_node_info_oddities() {
    let mut w = Vec::new();
    let wallet = wallet_balance(
        &pb::WalletBalanceResponse {
            confirmed_balance: -1,
            unconfirmed_balance: 5,
            ..Default::default()
        },
        &mut w,
    );
    assert_eq!((wallet.confirmed_sat, wallet.unconfirmed_sat), (0, 5));
    assert_eq!(w.len(), 1);
    assert!(w[0]
        .message
        .starts_with("WalletBalance: confirmed_balance is negative"));

    let mut info = pb_info();
    info.chains.clear();
    let mut w = Vec::new();
    let node = node_info(&info, &mut w);
    assert_eq!(node.network, "");
    assert_eq!(w.len(), 1);
    assert_eq!(node.alias, "dustwatch-test");
    assert_eq!(node.version, "0.21.0-beta");
    assert!(node.synced_to_chain);
}
