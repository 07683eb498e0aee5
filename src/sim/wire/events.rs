//! Events on the wire: ForwardingHistory's records and SubscribeChannelEvents' updates (opens,
//! closes with their summaries, activity changes).

use crate::lnd::pb;
use crate::model::ChanId;

use super::channels::channel;
use super::{initiator, sat};
use crate::sim::forwards::{ForwardRecord, ForwardingQuery};
use crate::sim::state::{ChannelEvent, CloseSummary, CloseType, NodeState};

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
