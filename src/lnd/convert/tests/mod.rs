//! Unit tests of the conversion, with the `lnrpc` record builders they share.

mod channel;
mod node;
mod snapshot;

use std::collections::BTreeMap;

use super::*;

const OURS: &str = "02aaaa";
const PEER: &str = "03bbbb";

fn source() -> SnapshotSource {
    SnapshotSource {
        kind: "test".into(),
        detail: "unit".into(),
    }
}

fn pb_constraints(dust: u64, reserve: u64) -> pb::ChannelConstraints {
    pb::ChannelConstraints {
        csv_delay: 144,
        chan_reserve_sat: reserve,
        dust_limit_sat: dust,
        max_pending_amt_msat: 990_000_000,
        min_htlc_msat: 1,
        max_accepted_htlcs: 483,
    }
}

fn pb_channel(chan_id: u64) -> pb::Channel {
    pb::Channel {
        active: true,
        remote_pubkey: PEER.into(),
        channel_point: format!("{chan_id:064x}:0"),
        chan_id,
        capacity: 1_000_000,
        local_balance: 600_000,
        remote_balance: 398_000,
        commit_fee: 1_340,
        commit_weight: 1_124,
        fee_per_kw: 253,
        unsettled_balance: 0,
        total_satoshis_sent: 5_000,
        total_satoshis_received: 7_000,
        num_updates: 42,
        pending_htlcs: vec![pb::Htlc {
            incoming: true,
            amount: 20_000,
            hash_lock: [0xab, 0xcd].repeat(16).into(),
            expiration_height: 800_100,
            htlc_index: 3,
            forwarding_channel: 77,
            forwarding_htlc_index: 9,
            locked_in: true,
        }],
        private: false,
        initiator: true,
        chan_status_flags: "ChanStatusDefault".into(),
        local_chan_reserve_sat: 10_000,
        remote_chan_reserve_sat: 10_000,
        commitment_type: pb::CommitmentType::Anchors as i32,
        lifetime: 3_600,
        uptime: 3_000,
        push_amount_sat: 0,
        local_constraints: Some(pb_constraints(354, 10_000)),
        remote_constraints: Some(pb_constraints(573, 10_000)),
        peer_alias: "peer".into(),
        ..Default::default()
    }
}

fn pb_policy(fee_base: i64, ppm: i64) -> pb::RoutingPolicy {
    pb::RoutingPolicy {
        time_lock_delta: 80,
        min_htlc: 1_000,
        fee_base_msat: fee_base,
        fee_rate_milli_msat: ppm,
        disabled: false,
        max_htlc_msat: 990_000_000,
        inbound_fee_base_msat: -1,
        inbound_fee_rate_milli_msat: -10,
        ..Default::default()
    }
}

fn pb_info() -> pb::GetInfoResponse {
    pb::GetInfoResponse {
        identity_pubkey: OURS.into(),
        alias: "dustwatch-test".into(),
        version: "0.21.0-beta".into(),
        block_height: 800_000,
        synced_to_chain: true,
        chains: vec![pb::Chain {
            chain: "bitcoin".into(),
            network: "mainnet".into(),
        }],
        ..Default::default()
    }
}

fn parts(channels: Vec<pb::Channel>) -> SnapshotParts {
    SnapshotParts {
        taken_at_unix: 1_700_000_000,
        source: source(),
        info: pb_info(),
        channels: pb::ListChannelsResponse { channels },
        pending: None,
        fee_report: None,
        wallet: None,
        debug_info: None,
        edges: BTreeMap::new(),
    }
}

fn warnings_for(warnings: &[SnapshotWarning], chan_id: u64) -> Vec<&str> {
    warnings
        .iter()
        .filter(|w| w.chan_id == Some(chan_id))
        .map(|w| w.message.as_str())
        .collect()
}
