//! The simulated node's state in LND's wire types (`lnd::pb`), field by field as LND fills
//! them. Generated types stay inside `sim`; nothing here is public outside it.
//!
//! LND still fills its deprecated fields (`csv_delay`, the reserves, `static_remote_key`,
//! `testnet`, `balance`, ...) for older clients, so the simulator does too.
//!
//! Here: GetInfo, the balances, PendingChannels and GetDebugInfo; `channels` (ListChannels),
//! `graph` (GetChanInfo, FeeReport), `events` (ForwardingHistory, channel events).
#![allow(deprecated)]

mod channels;
mod events;
mod graph;
#[cfg(test)]
mod tests;

use crate::lnd::pb;
use crate::model::{CommitmentType, Initiator};

use super::state::{CloseType, NodeState, PendingChannel, PendingStage};

pub use channels::list_channels;
pub use events::{channel_event, forwarding_event, forwarding_history};
pub use graph::{channel_edge, fee_report};

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

pub fn debug_info(node: &NodeState) -> pb::GetDebugInfoResponse {
    pb::GetDebugInfoResponse {
        config: node.config.clone().into_iter().collect(),
        log: vec![format!(
            "[INF] LTND: Active chain: Bitcoin (network=mainnet), height {}",
            node.block_height
        )],
    }
}
