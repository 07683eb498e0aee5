//! The simulated node's state in LND's wire types (`lnd::pb`), field by field as LND fills
//! them. Generated types stay inside `sim`; nothing here is public outside it.
//!
//! LND still fills its deprecated fields (`csv_delay`, the reserves, `static_remote_key`,
//! `testnet`, `balance`, ...) for older clients, so the simulator does too.
#![allow(deprecated)]

use prost::bytes::{Bytes, BytesMut};
use rayon::prelude::*;

use crate::lnd::pb;
use crate::model::{
    ChanId, Channel, CommitmentType, Constraints, Initiator, PaymentHash, RoutingPolicy,
};

use super::forwards::{ForwardRecord, ForwardingQuery};
use super::state::{
    ChannelEvent, CloseSummary, CloseType, NodeState, PendingChannel, PendingStage,
};

/// `lnrpc.CommitmentType` numbers (TAPROOT and SIMPLE_TAPROOT_FINAL share 7).
pub fn commitment_type(ct: CommitmentType) -> i32 {
    match ct {
        CommitmentType::Legacy => 1,
        CommitmentType::StaticRemoteKey => 2,
        CommitmentType::Anchors => 3,
        CommitmentType::ScriptEnforcedLease => 4,
        CommitmentType::SimpleTaproot => 5,
        CommitmentType::SimpleTaprootOverlay => 6,
        CommitmentType::SimpleTaprootFinal => 7,
        CommitmentType::Unknown => 0,
    }
}

/// `lnrpc.Initiator` numbers.
fn initiator(i: Initiator) -> i32 {
    match i {
        Initiator::Unknown => 0,
        Initiator::Local => 1,
        Initiator::Remote => 2,
    }
}

fn sat(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn constraints(c: &Constraints) -> pb::ChannelConstraints {
    pb::ChannelConstraints {
        csv_delay: c.csv_delay,
        chan_reserve_sat: c.chan_reserve_sat,
        dust_limit_sat: c.dust_limit_sat,
        max_pending_amt_msat: c.max_pending_amt_msat,
        min_htlc_msat: c.min_htlc_msat,
        max_accepted_htlcs: c.max_accepted_htlcs,
    }
}

/// Channels one parallel task of [`list_channels`] builds at least.
const CHANNELS_PER_TASK: usize = 64;

/// Size of a fresh payment-hash buffer: the hashes of ~100 busy channels.
const HASH_BUFFER_BYTES: usize = 32 << 10;

/// `ch`'s pending HTLCs as the wire carries them.
///
/// Their payment hashes are written to `hashes`, a buffer shared by many channels' HTLCs (a
/// new one of [`HASH_BUFFER_BYTES`] when it is full), and each `hash_lock` is a slice of it:
/// one allocation per ~100 channels instead of one per HTLC (a busy node has 100,000s). The
/// buffers are filled from the current state on every call; nothing is kept between calls.
/// An HTLC without a hash is sent with empty bytes, as proto3 sends an unset field (the
/// simulator's HTLCs all have one).
fn htlcs(ch: &Channel, hashes: &mut BytesMut) -> Vec<pb::Htlc> {
    if ch.pending_htlcs.is_empty() {
        return Vec::new();
    }
    let needed = ch.pending_htlcs.len() * PaymentHash::LEN;
    if hashes.capacity() < needed {
        hashes.reserve(needed.max(HASH_BUFFER_BYTES));
    }
    for hash in ch.pending_htlcs.iter().filter_map(|h| h.hash_lock) {
        hashes.extend_from_slice(hash.as_bytes());
    }
    // Shares the buffer's allocation; holds exactly this channel's hashes, in order.
    let mine = hashes.split().freeze();
    let mut next = 0;
    ch.pending_htlcs
        .iter()
        .map(|h| {
            let hash_lock = match h.hash_lock {
                Some(_) => {
                    // In bounds: `mine` holds one hash per HTLC with a hash, and `next`
                    // advances by one hash per such HTLC.
                    let slice = mine.slice(next..next + PaymentHash::LEN);
                    next += PaymentHash::LEN;
                    slice
                }
                None => Bytes::new(),
            };
            pb::Htlc {
                incoming: h.incoming,
                amount: sat(h.amount_sat),
                hash_lock,
                expiration_height: h.expiration_height,
                htlc_index: h.htlc_index,
                forwarding_channel: h.forwarding_channel,
                forwarding_htlc_index: h.forwarding_htlc_index,
                locked_in: h.locked_in,
            }
        })
        .collect()
}

/// An open channel as ListChannels (and the OPEN_CHANNEL event) reports it.
pub fn channel(ch: &Channel) -> pb::Channel {
    let mut hashes = BytesMut::with_capacity(ch.pending_htlcs.len() * PaymentHash::LEN);
    channel_with(ch, true, &mut hashes)
}

/// [`channel`], with the peer's alias only when `peer_alias` (ListChannels'
/// `peer_alias_lookup`); otherwise it is left empty, as LND leaves it, and not copied.
fn channel_with(ch: &Channel, peer_alias: bool, hashes: &mut BytesMut) -> pb::Channel {
    let local = ch.local_constraints.unwrap_or_default();
    pb::Channel {
        active: ch.active,
        remote_pubkey: ch.remote_pubkey.to_string(),
        channel_point: ch.channel_point.to_string(),
        chan_id: ch.chan_id,
        capacity: sat(ch.capacity_sat),
        local_balance: sat(ch.local_balance_sat),
        remote_balance: sat(ch.remote_balance_sat),
        commit_fee: sat(ch.commit_fee_sat),
        commit_weight: sat(ch.commit_weight),
        fee_per_kw: sat(ch.fee_per_kw),
        unsettled_balance: sat(ch.unsettled_balance_sat),
        total_satoshis_sent: sat(ch.total_satoshis_sent),
        total_satoshis_received: sat(ch.total_satoshis_received),
        num_updates: ch.num_updates,
        pending_htlcs: htlcs(ch, hashes),
        csv_delay: local.csv_delay,
        private: ch.private,
        initiator: ch.initiator == Initiator::Local,
        // An offline peer does not change the channel status in LND's sense.
        chan_status_flags: "ChanStatusDefault".to_string(),
        local_chan_reserve_sat: sat(ch.local_chan_reserve_sat),
        remote_chan_reserve_sat: sat(ch.remote_chan_reserve_sat),
        static_remote_key: ch.commitment_type != CommitmentType::Legacy,
        lifetime: sat(ch.lifetime_secs),
        uptime: sat(ch.uptime_secs),
        close_address: String::new(),
        commitment_type: commitment_type(ch.commitment_type),
        push_amount_sat: ch.push_amount_sat,
        thaw_height: 0,
        local_constraints: ch.local_constraints.as_ref().map(constraints),
        remote_constraints: ch.remote_constraints.as_ref().map(constraints),
        alias_scids: Vec::new(),
        zero_conf: false,
        zero_conf_confirmed_scid: 0,
        peer_alias: if peer_alias {
            ch.peer_alias.to_string()
        } else {
            String::new()
        },
        peer_scid_alias: 0,
        memo: String::new(),
        custom_channel_data: Vec::new(),
    }
}

/// ListChannels with LND's filters applied (`peer` is the raw 33-byte pubkey).
///
/// Built afresh from the current state on every call, channels on every core (the in-process
/// simulator shares the cores with the client it answers, and this answer is its largest
/// cost). The answer is sized before it is filled (at 10,000 channels of ~500 bytes each,
/// growing it by doubling moved megabytes), and its payment hashes share a few buffers (see
/// [`htlcs`]).
pub fn list_channels(node: &NodeState, req: &pb::ListChannelsRequest) -> pb::ListChannelsResponse {
    let peer_hex = (!req.peer.is_empty()).then(|| hex::encode(&req.peer));
    let selected: Vec<&Channel> = node
        .channels
        .iter()
        .filter(|c| {
            (!req.active_only || c.active)
                && (!req.inactive_only || !c.active)
                && (!req.public_only || !c.private)
                && (!req.private_only || c.private)
                && peer_hex
                    .as_ref()
                    .is_none_or(|p| &*c.remote_pubkey == p.as_str())
        })
        .collect();
    // On every core; rayon keeps the order. Each task fills hash buffers of its own.
    let channels = selected
        .par_iter()
        .with_min_len(CHANNELS_PER_TASK)
        .map_init(BytesMut::new, |hashes, c| {
            channel_with(c, req.peer_alias_lookup, hashes)
        })
        .collect();
    pb::ListChannelsResponse { channels }
}

pub fn get_info(node: &NodeState, listen: &str) -> pb::GetInfoResponse {
    pb::GetInfoResponse {
        identity_pubkey: node.identity_pubkey.clone(),
        alias: node.alias.clone(),
        num_pending_channels: count(node.num_pending_open()),
        num_active_channels: count(node.num_active_channels()),
        num_peers: count(node.num_peers()),
        block_height: node.block_height,
        block_hash: node.block_hash.clone(),
        synced_to_chain: true,
        testnet: false,
        uris: vec![format!("{}@{listen}", node.identity_pubkey)],
        best_header_timestamp: node.now_unix - 120,
        version: node.version.clone(),
        num_inactive_channels: count(node.num_inactive_channels()),
        chains: vec![pb::Chain {
            chain: "bitcoin".to_string(),
            network: "mainnet".to_string(),
        }],
        color: node.color.clone(),
        synced_to_graph: true,
        features: Default::default(),
        commit_hash: node.commit_hash.clone(),
        require_htlc_interceptor: false,
        store_final_htlc_resolutions: false,
        wallet_synced: true,
    }
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn amount(sat_value: u64) -> Option<pb::Amount> {
    Some(pb::Amount {
        sat: sat_value,
        msat: sat_value.saturating_mul(1000),
    })
}

/// ChannelBalance: sums over open channels, unsettled = HTLCs in flight by direction.
pub fn channel_balance(node: &NodeState) -> pb::ChannelBalanceResponse {
    let local: u64 = node.channels.iter().map(|c| c.local_balance_sat).sum();
    let remote: u64 = node.channels.iter().map(|c| c.remote_balance_sat).sum();
    let (mut unsettled_local, mut unsettled_remote) = (0u64, 0u64);
    for h in node.channels.iter().flat_map(|c| &c.pending_htlcs) {
        if h.incoming {
            unsettled_remote += h.amount_sat;
        } else {
            unsettled_local += h.amount_sat;
        }
    }
    let opening = node
        .pending
        .iter()
        .filter(|p| matches!(p.stage, PendingStage::Opening { .. }));
    let (pending_local, pending_remote) = opening.fold((0u64, 0u64), |(l, r), p| {
        (l + p.local_balance_sat, r + p.remote_balance_sat)
    });
    pb::ChannelBalanceResponse {
        balance: sat(local),
        pending_open_balance: sat(pending_local),
        local_balance: amount(local),
        remote_balance: amount(remote),
        unsettled_local_balance: amount(unsettled_local),
        unsettled_remote_balance: amount(unsettled_remote),
        pending_open_local_balance: amount(pending_local),
        pending_open_remote_balance: amount(pending_remote),
        custom_channel_data: Vec::new(),
    }
}

pub fn wallet_balance(node: &NodeState) -> pb::WalletBalanceResponse {
    let w = &node.wallet;
    let mut accounts = std::collections::HashMap::new();
    accounts.insert(
        "default".to_string(),
        pb::WalletAccountBalance {
            confirmed_balance: sat(w.confirmed_sat),
            unconfirmed_balance: sat(w.unconfirmed_sat),
        },
    );
    pb::WalletBalanceResponse {
        total_balance: sat(w.confirmed_sat + w.unconfirmed_sat),
        confirmed_balance: sat(w.confirmed_sat),
        unconfirmed_balance: sat(w.unconfirmed_sat),
        account_balance: accounts,
        locked_balance: sat(w.locked_sat),
        reserved_balance_anchor_chan: sat(w.reserved_balance_anchor_chan_sat),
    }
}

fn pending_channel(p: &PendingChannel) -> pb::pending_channels_response::PendingChannel {
    pb::pending_channels_response::PendingChannel {
        remote_node_pub: p.remote_pubkey.clone(),
        channel_point: p.channel_point.clone(),
        capacity: sat(p.capacity_sat),
        local_balance: sat(p.local_balance_sat),
        remote_balance: sat(p.remote_balance_sat),
        local_chan_reserve_sat: sat(p.local_chan_reserve_sat),
        remote_chan_reserve_sat: sat(p.remote_chan_reserve_sat),
        initiator: initiator(p.initiator),
        commitment_type: commitment_type(p.commitment_type),
        num_forwarding_packages: 0,
        chan_status_flags: match p.stage {
            PendingStage::Opening { .. } => "ChanStatusDefault".to_string(),
            PendingStage::WaitingClose {
                close_type: CloseType::Cooperative,
                ..
            } => "ChanStatusCoopBroadcasted|ChanStatusLocalCloseInitiator".to_string(),
            _ => "ChanStatusCommitBroadcasted|ChanStatusLocalCloseInitiator".to_string(),
        },
        private: p.private,
        memo: String::new(),
        custom_channel_data: Vec::new(),
    }
}

/// PendingChannels: opens waiting for confirmations, closes waiting to confirm, and force
/// closes waiting for their time locks.
pub fn pending_channels(node: &NodeState) -> pb::PendingChannelsResponse {
    use pb::pending_channels_response as pcr;
    let mut response = pb::PendingChannelsResponse {
        total_limbo_balance: sat(node.total_limbo_sat()),
        ..Default::default()
    };
    for p in &node.pending {
        match &p.stage {
            PendingStage::Opening { confirmations_left } => {
                response
                    .pending_open_channels
                    .push(pcr::PendingOpenChannel {
                        channel: Some(pending_channel(p)),
                        // LND gives up on a funding transaction after 2016 blocks.
                        funding_expiry_blocks: 2016 - 6 + *confirmations_left as i32,
                        commit_fee: sat(p.commit_fee_sat),
                        commit_weight: sat(p.commit_weight),
                        fee_per_kw: sat(p.fee_per_kw),
                        confirmations_until_active: *confirmations_left,
                        confirmation_height: 0,
                    })
            }
            PendingStage::WaitingClose {
                closing_txid,
                confirmations_left,
                ..
            } => response
                .waiting_close_channels
                .push(pcr::WaitingCloseChannel {
                    channel: Some(pending_channel(p)),
                    limbo_balance: sat(p.limbo_balance_sat),
                    commitments: Some(pcr::Commitments {
                        local_txid: closing_txid.clone(),
                        remote_txid: String::new(),
                        remote_pending_txid: String::new(),
                        local_commit_fee_sat: p.commit_fee_sat,
                        remote_commit_fee_sat: p.commit_fee_sat,
                        remote_pending_commit_fee_sat: 0,
                    }),
                    closing_txid: closing_txid.clone(),
                    closing_tx_hex: String::new(),
                    blocks_til_close_confirmed: *confirmations_left,
                    close_height: 0,
                }),
            PendingStage::ForceClosing {
                closing_txid,
                maturity_height,
                ..
            } => {
                let blocks_til_maturity =
                    i64::from(*maturity_height) - i64::from(node.block_height);
                response
                    .pending_force_closing_channels
                    .push(pcr::ForceClosedChannel {
                        channel: Some(pending_channel(p)),
                        closing_txid: closing_txid.clone(),
                        limbo_balance: sat(p.limbo_balance_sat),
                        maturity_height: *maturity_height,
                        blocks_til_maturity: blocks_til_maturity as i32,
                        recovered_balance: 0,
                        pending_htlcs: p
                            .pending_htlcs
                            .iter()
                            .map(|h| pb::PendingHtlc {
                                incoming: h.incoming,
                                amount: sat(h.amount_sat),
                                outpoint: format!("{closing_txid}:{}", h.htlc_index + 2),
                                maturity_height: h.expiration_height,
                                blocks_til_maturity: (i64::from(h.expiration_height)
                                    - i64::from(node.block_height))
                                    as i32,
                                stage: 1,
                            })
                            .collect(),
                        anchor: 0,
                    })
            }
        }
    }
    response
}

fn policy(p: &RoutingPolicy, last_update: u32) -> pb::RoutingPolicy {
    pb::RoutingPolicy {
        time_lock_delta: p.time_lock_delta.unwrap_or(80),
        min_htlc: p.min_htlc_msat.map_or(1000, sat),
        fee_base_msat: p.fee_base_msat,
        fee_rate_milli_msat: p.fee_rate_ppm,
        disabled: p.disabled,
        max_htlc_msat: p.max_htlc_msat.unwrap_or_default(),
        last_update,
        custom_records: Default::default(),
        inbound_fee_base_msat: p.inbound_fee_base_msat,
        inbound_fee_rate_milli_msat: p.inbound_fee_rate_ppm,
    }
}

/// GetChanInfo: the channel as the graph knows it; node1 is the smaller pubkey.
pub fn channel_edge(node: &NodeState, ch: &Channel) -> pb::ChannelEdge {
    let last_update = u32::try_from(node.now_unix - 3_600).unwrap_or(0);
    let ours = ch.local_policy.as_ref().map(|p| policy(p, last_update));
    let theirs = ch.remote_policy.as_ref().map(|p| policy(p, last_update));
    let we_are_node1 = node.identity_pubkey.as_str() <= &*ch.remote_pubkey;
    let (node1_pub, node2_pub, node1_policy, node2_policy) = if we_are_node1 {
        (
            node.identity_pubkey.clone(),
            ch.remote_pubkey.to_string(),
            ours,
            theirs,
        )
    } else {
        (
            ch.remote_pubkey.to_string(),
            node.identity_pubkey.clone(),
            theirs,
            ours,
        )
    };
    pb::ChannelEdge {
        channel_id: ch.chan_id,
        chan_point: ch.channel_point.to_string(),
        last_update,
        node1_pub,
        node2_pub,
        capacity: sat(ch.capacity_sat),
        node1_policy,
        node2_policy,
        custom_records: Default::default(),
        auth_proof: None,
    }
}

pub fn fee_report(node: &NodeState) -> pb::FeeReportResponse {
    let channel_fees = node
        .channels
        .iter()
        .map(|c| {
            let p = c.local_policy.unwrap_or_default();
            pb::ChannelFeeReport {
                channel_point: c.channel_point.to_string(),
                base_fee_msat: p.fee_base_msat,
                fee_per_mil: p.fee_rate_ppm,
                fee_rate: p.fee_rate_ppm as f64 / 1_000_000.0,
                chan_id: c.chan_id,
                inbound_base_fee_msat: p.inbound_fee_base_msat,
                inbound_fee_per_mil: p.inbound_fee_rate_ppm,
            }
        })
        .collect();
    pb::FeeReportResponse {
        channel_fees,
        day_fee_sum: node.fees_earned_sat(86_400),
        week_fee_sum: node.fees_earned_sat(7 * 86_400),
        month_fee_sum: node.fees_earned_sat(30 * 86_400),
    }
}

/// LND's ForwardingHistory answer from the node's log. With `peer_alias_lookup` each event
/// names the peers of its channels (empty for a channel that is gone, as LND leaves it when
/// the lookup finds nothing).
pub fn forwarding_history(
    node: &NodeState,
    query: &ForwardingQuery,
    peer_alias_lookup: bool,
) -> pb::ForwardingHistoryResponse {
    let (page, last_offset_index) = node.forwards.query(query, node.now_unix);
    let alias = |chan_id: ChanId| match (peer_alias_lookup, node.channel(chan_id)) {
        (true, Some(ch)) => ch.peer_alias.to_string(),
        _ => String::new(),
    };
    pb::ForwardingHistoryResponse {
        forwarding_events: page
            .iter()
            .map(|r| forwarding_event(r, alias(r.event.chan_id_in), alias(r.event.chan_id_out)))
            .collect(),
        last_offset_index,
    }
}

/// One record as LND puts it on the wire (the deprecated whole-unit fields rounded down).
pub fn forwarding_event(
    r: &ForwardRecord,
    alias_in: String,
    alias_out: String,
) -> pb::ForwardingEvent {
    let e = &r.event;
    pb::ForwardingEvent {
        timestamp: e.timestamp_ns / 1_000_000_000,
        chan_id_in: e.chan_id_in,
        chan_id_out: e.chan_id_out,
        amt_in: e.amt_in_msat / 1000,
        amt_out: e.amt_out_msat / 1000,
        fee: e.fee_msat / 1000,
        fee_msat: e.fee_msat,
        amt_in_msat: e.amt_in_msat,
        amt_out_msat: e.amt_out_msat,
        timestamp_ns: e.timestamp_ns,
        peer_alias_in: alias_in,
        peer_alias_out: alias_out,
        incoming_htlc_id: Some(r.incoming_htlc_id),
        outgoing_htlc_id: Some(r.outgoing_htlc_id),
    }
}

pub fn debug_info(node: &NodeState) -> pb::GetDebugInfoResponse {
    pb::GetDebugInfoResponse {
        config: node.config.clone().into_iter().collect(),
        log: vec![format!(
            "[INF] LTND: Active chain: Bitcoin (network=mainnet), height {}",
            node.block_height
        )],
    }
}

/// A channel point as LND puts it in events: the txid's raw bytes (reversed display order).
fn channel_point(point: &str) -> pb::ChannelPoint {
    let (txid, index) = point.split_once(':').unwrap_or((point, "0"));
    let mut bytes = hex::decode(txid).unwrap_or_default();
    bytes.reverse();
    pb::ChannelPoint {
        funding_txid: Some(pb::channel_point::FundingTxid::FundingTxidBytes(bytes)),
        output_index: index.parse().unwrap_or(0),
    }
}

fn close_summary(s: &CloseSummary) -> pb::ChannelCloseSummary {
    pb::ChannelCloseSummary {
        channel_point: s.channel_point.clone(),
        chan_id: s.chan_id,
        // Bitcoin mainnet genesis block hash.
        chain_hash: "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f".to_string(),
        closing_tx_hash: s.closing_txid.clone(),
        remote_pubkey: s.remote_pubkey.clone(),
        capacity: sat(s.capacity_sat),
        close_height: s.close_height,
        settled_balance: sat(s.settled_balance_sat),
        time_locked_balance: sat(s.time_locked_balance_sat),
        close_type: match s.close_type {
            CloseType::Cooperative => 0,
            CloseType::LocalForce => 1,
            CloseType::RemoteForce => 2,
        },
        open_initiator: initiator(s.open_initiator),
        close_initiator: initiator(s.close_initiator),
        resolutions: Vec::new(),
        alias_scids: Vec::new(),
        zero_conf_confirmed_scid: 0,
        custom_channel_data: Vec::new(),
    }
}

/// A channel event as SubscribeChannelEvents sends it.
pub fn channel_event(event: &ChannelEvent) -> pb::ChannelEventUpdate {
    use pb::channel_event_update::{Channel as Payload, UpdateType};
    let (payload, kind) = match event {
        ChannelEvent::PendingOpen {
            channel_point: point,
        } => {
            let cp = channel_point(point);
            let txid = match cp.funding_txid {
                Some(pb::channel_point::FundingTxid::FundingTxidBytes(b)) => b,
                _ => Vec::new(),
            };
            (
                Payload::PendingOpenChannel(pb::PendingUpdate {
                    txid,
                    output_index: cp.output_index,
                    fee_per_vbyte: 0,
                    local_close_tx: false,
                }),
                UpdateType::PendingOpenChannel,
            )
        }
        ChannelEvent::Open(ch) => (Payload::OpenChannel(channel(ch)), UpdateType::OpenChannel),
        ChannelEvent::Active { channel_point: p } => (
            Payload::ActiveChannel(channel_point(p)),
            UpdateType::ActiveChannel,
        ),
        ChannelEvent::Inactive { channel_point: p } => (
            Payload::InactiveChannel(channel_point(p)),
            UpdateType::InactiveChannel,
        ),
        ChannelEvent::Closed(s) => (
            Payload::ClosedChannel(close_summary(s)),
            UpdateType::ClosedChannel,
        ),
        ChannelEvent::FullyResolved { channel_point: p } => (
            Payload::FullyResolvedChannel(channel_point(p)),
            UpdateType::FullyResolvedChannel,
        ),
    };
    pb::ChannelEventUpdate {
        channel: Some(payload),
        r#type: kind as i32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::{ScenarioConfig, Simulation, DEFAULT_MAX_FEE_EXPOSURE_SAT};

    fn node() -> NodeState {
        let mut node = Simulation::generate(&ScenarioConfig {
            channels: 60,
            seed: 11,
            start_unix: 1_750_000_000,
            max_fee_exposure_sat: DEFAULT_MAX_FEE_EXPOSURE_SAT,
        })
        .node;
        // Make every filter pick a proper, non-empty subset.
        for (i, c) in node.channels.iter_mut().enumerate() {
            c.active = i % 3 != 0;
            c.private = i % 4 == 0;
        }
        node
    }

    fn ids(answer: &pb::ListChannelsResponse) -> Vec<u64> {
        answer.channels.iter().map(|c| c.chan_id).collect()
    }

    fn ids_where(node: &NodeState, keep: impl Fn(&Channel) -> bool) -> Vec<u64> {
        node.channels
            .iter()
            .filter(|c| keep(c))
            .map(|c| c.chan_id)
            .collect()
    }

    /// ListChannels with aliases, checked against every channel built on its own, in order.
    fn every_channel_with_aliases(node: &NodeState) -> pb::ListChannelsResponse {
        let all = list_channels(
            node,
            &pb::ListChannelsRequest {
                peer_alias_lookup: true,
                ..Default::default()
            },
        );
        let expected: Vec<pb::Channel> = node.channels.iter().map(channel).collect();
        assert_eq!(all.channels, expected);
        all
    }

    /// Every HTLC's `hash_lock` in the answer, in order.
    fn hash_locks(answer: &pb::ListChannelsResponse) -> Vec<&Bytes> {
        answer
            .channels
            .iter()
            .flat_map(|c| &c.pending_htlcs)
            .map(|h| &h.hash_lock)
            .collect()
    }

    #[test]
    fn list_channels_is_every_channel_as_lnd_sends_it() {
        let node = node();
        let all = every_channel_with_aliases(&node);
        assert!(all.channels.iter().any(|c| !c.pending_htlcs.is_empty()));
        for (wire, model) in all.channels.iter().zip(&node.channels) {
            for (w, m) in wire.pending_htlcs.iter().zip(&model.pending_htlcs) {
                let hash = m.hash_lock.expect("the simulator gives every HTLC a hash");
                assert_eq!(&w.hash_lock[..], &hash.as_bytes()[..]);
            }
        }

        // Without the alias lookup, LND leaves the alias empty; nothing else changes.
        let plain = list_channels(&node, &pb::ListChannelsRequest::default());
        assert!(plain.channels.iter().all(|c| c.peer_alias.is_empty()));
        assert!(all.channels.iter().any(|c| !c.peer_alias.is_empty()));
        let with_aliases: Vec<pb::Channel> = plain
            .channels
            .into_iter()
            .zip(&node.channels)
            .map(|(mut c, m)| {
                c.peer_alias = m.peer_alias.to_string();
                c
            })
            .collect();
        assert_eq!(with_aliases, all.channels);
    }

    /// A node big enough for many parallel tasks, every channel with a few HTLCs.
    #[test]
    fn a_big_answer_is_built_in_order_on_every_core() {
        let mut sim = Simulation::generate(&ScenarioConfig {
            channels: 2_000,
            seed: 12,
            start_unix: 1_750_000_000,
            max_fee_exposure_sat: DEFAULT_MAX_FEE_EXPOSURE_SAT,
        });
        sim.add_htlc_load(&crate::sim::HtlcLoad {
            mean_per_channel: 4.0,
            saturated_share: 0.0,
        });
        let node = sim.node;
        let all = every_channel_with_aliases(&node);

        // Hashes share buffers: a new buffer starts only when a task starts or one is full,
        // never once per channel.
        let wire = hash_locks(&all);
        let buffers = 1 + wire
            .windows(2)
            .filter(|pair| pair[0].as_ptr().wrapping_add(PaymentHash::LEN) != pair[1].as_ptr())
            .count();
        let tasks = node.channels.len().div_ceil(CHANNELS_PER_TASK);
        let full = wire.len() * PaymentHash::LEN / HASH_BUFFER_BYTES;
        assert!(wire.len() > 4_000, "{} HTLCs", wire.len());
        assert!(
            buffers <= tasks + full + 1,
            "{buffers} buffers for {tasks} tasks and {} HTLCs",
            wire.len()
        );
    }

    #[test]
    fn hash_locks_of_a_small_answer_are_slices_of_one_buffer() {
        let node = node();
        let all = list_channels(&node, &pb::ListChannelsRequest::default());
        let wire = hash_locks(&all);
        assert!(wire.len() > 10, "{} HTLCs", wire.len());
        for pair in wire.windows(2) {
            assert_eq!(
                pair[0].as_ptr().wrapping_add(PaymentHash::LEN),
                pair[1].as_ptr(),
                "consecutive slices of one buffer"
            );
        }

        for (wire, model) in all.channels.iter().zip(&node.channels) {
            for (w, m) in wire.pending_htlcs.iter().zip(&model.pending_htlcs) {
                assert_eq!(
                    Some(&w.hash_lock[..]),
                    m.hash_lock.as_ref().map(|h| &h.0[..])
                );
            }
        }

        // An HTLC without a hash goes out with empty bytes; the others keep theirs.
        let mut ch = node
            .channels
            .iter()
            .find(|c| c.pending_htlcs.len() >= 3)
            .expect("a channel with three HTLCs")
            .clone();
        ch.pending_htlcs[1].hash_lock = None;
        let wire = channel(&ch);
        let sent: Vec<Option<PaymentHash>> = wire
            .pending_htlcs
            .iter()
            .map(|h| PaymentHash::from_slice(&h.hash_lock))
            .collect();
        let held: Vec<Option<PaymentHash>> = ch.pending_htlcs.iter().map(|h| h.hash_lock).collect();
        assert_eq!(sent, held);
        assert!(wire.pending_htlcs[1].hash_lock.is_empty());
    }

    #[test]
    fn get_info_counts_distinct_connected_peers() {
        let mut node = node();
        // Two more channels with an active channel's peer, one with an inactive one's.
        let shared = node.channels[1].remote_pubkey.clone();
        node.channels[2].remote_pubkey = shared.clone();
        node.channels[4].remote_pubkey = shared;
        node.channels[7].remote_pubkey = node.channels[3].remote_pubkey.clone();
        let mut expected: std::collections::BTreeSet<&str> = node
            .channels
            .iter()
            .filter(|c| c.active)
            .map(|c| &*c.remote_pubkey)
            .collect();
        let active = node.channels.iter().filter(|c| c.active).count();
        assert_eq!(
            expected.len(),
            active - 2,
            "two active channels share a peer"
        );
        let opening = node
            .pending
            .iter()
            .filter(|p| matches!(p.stage, PendingStage::Opening { .. }));
        expected.extend(opening.map(|p| p.remote_pubkey.as_str()));
        assert_eq!(
            get_info(&node, "127.0.0.1:10009").num_peers as usize,
            expected.len()
        );
    }

    #[test]
    fn list_channels_applies_each_filter() {
        let node = node();
        let ask = |req: pb::ListChannelsRequest| ids(&list_channels(&node, &req));
        let active = ask(pb::ListChannelsRequest {
            active_only: true,
            ..Default::default()
        });
        assert_eq!(active, ids_where(&node, |c| c.active));
        let inactive = ask(pb::ListChannelsRequest {
            inactive_only: true,
            ..Default::default()
        });
        assert_eq!(inactive, ids_where(&node, |c| !c.active));
        let public = ask(pb::ListChannelsRequest {
            public_only: true,
            ..Default::default()
        });
        assert_eq!(public, ids_where(&node, |c| !c.private));
        let private_active = ask(pb::ListChannelsRequest {
            private_only: true,
            active_only: true,
            ..Default::default()
        });
        assert_eq!(private_active, ids_where(&node, |c| c.private && c.active));
        assert!(!private_active.is_empty() && private_active.len() < active.len());

        let peer = node.channels[5].remote_pubkey.clone();
        let by_peer = ask(pb::ListChannelsRequest {
            peer: hex::decode(&*peer).unwrap(),
            ..Default::default()
        });
        assert_eq!(by_peer, ids_where(&node, |c| c.remote_pubkey == peer));
        assert!(by_peer.contains(&node.channels[5].chan_id));
        let nobody = ask(pb::ListChannelsRequest {
            peer: vec![2; 33],
            ..Default::default()
        });
        assert!(nobody.is_empty());
    }
}
