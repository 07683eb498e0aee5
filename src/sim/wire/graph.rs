//! The channel graph and fees on the wire: GetChanInfo's edge with both policies, and FeeReport.

use crate::lnd::pb;
use crate::model::{Channel, RoutingPolicy};

use super::sat;
use crate::sim::state::NodeState;

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
