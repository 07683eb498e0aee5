//! Routing policies: ours and the peer's from the graph edge, ours from FeeReport as a
//! fallback.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::lnd::pb;
use crate::model::{ChanId, RoutingPolicy, SnapshotWarning};

/// Converts one direction of a graph edge.
///
/// `min_htlc` is in millisatoshis despite its name; a negative one is clamped to 0 (warned
/// about by [`snapshot`](super::snapshot)).
pub fn routing_policy(raw: &pb::RoutingPolicy) -> RoutingPolicy {
    RoutingPolicy {
        fee_base_msat: raw.fee_base_msat,
        fee_rate_ppm: raw.fee_rate_milli_msat,
        inbound_fee_base_msat: raw.inbound_fee_base_msat,
        inbound_fee_rate_ppm: raw.inbound_fee_rate_milli_msat,
        min_htlc_msat: Some(u64::try_from(raw.min_htlc).unwrap_or(0)),
        max_htlc_msat: Some(raw.max_htlc_msat),
        time_lock_delta: Some(raw.time_lock_delta),
        disabled: raw.disabled,
    }
}

/// Our policy as FeeReport states it: fees only, no HTLC limits, never "disabled".
pub fn fee_report_policy(raw: &pb::ChannelFeeReport) -> RoutingPolicy {
    RoutingPolicy {
        fee_base_msat: raw.base_fee_msat,
        fee_rate_ppm: raw.fee_per_mil,
        inbound_fee_base_msat: raw.inbound_base_fee_msat,
        inbound_fee_rate_ppm: raw.inbound_fee_per_mil,
        min_htlc_msat: None,
        max_htlc_msat: None,
        time_lock_delta: None,
        disabled: false,
    }
}

/// Splits an edge into (our policy, the peer's policy) by matching `identity_pubkey` against
/// `node1_pub` / `node2_pub`. An edge that does not list us yields nothing and a warning.
pub(super) fn edge_policies(
    edge: &pb::ChannelEdge,
    ours: &str,
    chan_id: ChanId,
    warnings: &mut Vec<SnapshotWarning>,
) -> (Option<RoutingPolicy>, Option<RoutingPolicy>) {
    let (local, remote) = if !ours.is_empty() && edge.node1_pub == ours {
        (&edge.node1_policy, &edge.node2_policy)
    } else if !ours.is_empty() && edge.node2_pub == ours {
        (&edge.node2_policy, &edge.node1_policy)
    } else {
        warnings.push(SnapshotWarning {
            chan_id: Some(chan_id),
            message: format!(
                "GetChanInfo: edge {} lists {} and {}, neither is our node; its policies are not used",
                edge.channel_id, edge.node1_pub, edge.node2_pub
            ),
        });
        return (None, None);
    };
    for (side, policy) in [("our", local), ("the peer's", remote)] {
        if let Some(p) = policy {
            if p.min_htlc < 0 {
                warnings.push(SnapshotWarning {
                    chan_id: Some(chan_id),
                    message: format!(
                        "GetChanInfo: {side} min_htlc is negative ({} msat); using 0",
                        p.min_htlc
                    ),
                });
            }
        }
    }
    (
        local.as_ref().map(routing_policy),
        remote.as_ref().map(routing_policy),
    )
}
/// FeeReport entries by channel id, with the channel point as a fallback key (LND versions
/// before `ChannelFeeReport.chan_id` existed only sent the channel point).
///
/// The channel-point index is only built on the first lookup the ids cannot answer: a current
/// LND reports every id, and hashing 10,000 channel points per cycle would be wasted.
pub(super) struct FeeReportIndex<'a> {
    fees: &'a [pb::ChannelFeeReport],
    /// Sorted by id, one entry per id (binary search: no hashing of 10,000 ids per cycle).
    by_id: Vec<(ChanId, &'a pb::ChannelFeeReport)>,
    /// Built on the first lookup by channel point (only an old LND's report needs one), by
    /// whichever core asks first.
    by_point: OnceLock<HashMap<&'a str, &'a pb::ChannelFeeReport>>,
}

impl<'a> FeeReportIndex<'a> {
    pub(super) fn new(report: Option<&'a pb::FeeReportResponse>) -> Self {
        let fees = report.map_or(&[][..], |r| r.channel_fees.as_slice());
        let mut by_id: Vec<(ChanId, &pb::ChannelFeeReport)> = fees
            .iter()
            .filter(|fee| fee.chan_id != 0)
            .map(|fee| (fee.chan_id, fee))
            .collect();
        // Stable, so equal ids keep the wire order; the last of them wins, as it always did.
        by_id.sort_by_key(|(id, _)| *id);
        by_id.dedup_by(|later, kept| {
            let same = later.0 == kept.0;
            if same {
                *kept = *later;
            }
            same
        });
        FeeReportIndex {
            fees,
            by_id,
            by_point: OnceLock::new(),
        }
    }

    pub(super) fn find(
        &self,
        chan_id: ChanId,
        channel_point: &str,
    ) -> Option<&'a pb::ChannelFeeReport> {
        if let Ok(i) = self.by_id.binary_search_by_key(&chan_id, |(id, _)| *id) {
            return Some(self.by_id[i].1);
        }
        let fees = self.fees;
        self.by_point
            .get_or_init(|| {
                fees.iter()
                    .map(|fee| (fee.channel_point.as_str(), fee))
                    .collect()
            })
            .get(channel_point)
            .copied()
    }
}
