//! HTLCs a link of ours refused, as LND's HTLC event stream reports them (`LinkFailEvent`).
//!
//! LND has no failure code for "this HTLC would push the channel over its fee-exposure limit":
//! it refuses such a forward with `TEMPORARY_CHANNEL_FAILURE` and no failure detail. That
//! combination is therefore counted separately per channel ([`is_fee_exposure_shaped`]); the
//! analyzer links it to exposure only where its own computation puts the channel near the limit.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::ChanId;

/// `HtlcEvent.EventType::FORWARD`.
pub const EVENT_TYPE_FORWARD: i32 = 3;
/// `lnrpc.Failure.FailureCode::TEMPORARY_CHANNEL_FAILURE`.
pub const WIRE_TEMPORARY_CHANNEL_FAILURE: i32 = 15;
/// `routerrpc.FailureDetail::NO_DETAIL`.
pub const DETAIL_NO_DETAIL: i32 = 1;

/// One `LinkFailEvent`, with LND's enum values kept as numbers (a newer LND may add some).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkFailure {
    pub incoming_chan_id: ChanId,
    pub outgoing_chan_id: ChanId,
    /// `HtlcEvent.EventType` (0 unknown, 1 send, 2 receive, 3 forward).
    pub event_type: i32,
    /// `lnrpc.Failure.FailureCode`.
    pub wire_failure: i32,
    /// `routerrpc.FailureDetail`.
    pub failure_detail: i32,
}

impl LinkFailure {
    /// A forward refused the way LND refuses one that would cross its fee-exposure limit.
    pub fn is_fee_exposure_shaped(&self) -> bool {
        self.event_type == EVENT_TYPE_FORWARD
            && self.wire_failure == WIRE_TEMPORARY_CHANNEL_FAILURE
            && self.failure_detail == DETAIL_NO_DETAIL
    }

    /// The channel whose link refused it: the outgoing one for forwards and sends, the incoming
    /// one for HTLCs we were to receive.
    pub fn refusing_channel(&self) -> Option<ChanId> {
        match (self.outgoing_chan_id, self.incoming_chan_id) {
            (0, 0) => None,
            (0, incoming) => Some(incoming),
            (outgoing, _) => Some(outgoing),
        }
    }
}

/// The BOLT 4 name of a wire failure code, lower case, for metric labels and messages.
pub fn wire_failure_name(code: i32) -> String {
    let name = match code {
        0 => "reserved",
        1 => "incorrect_or_unknown_payment_details",
        2 => "incorrect_payment_amount",
        3 => "final_incorrect_cltv_expiry",
        4 => "final_incorrect_htlc_amount",
        5 => "final_expiry_too_soon",
        6 => "invalid_realm",
        7 => "expiry_too_soon",
        8 => "invalid_onion_version",
        9 => "invalid_onion_hmac",
        10 => "invalid_onion_key",
        11 => "amount_below_minimum",
        12 => "fee_insufficient",
        13 => "incorrect_cltv_expiry",
        14 => "channel_disabled",
        15 => "temporary_channel_failure",
        16 => "required_node_feature_missing",
        17 => "required_channel_feature_missing",
        18 => "unknown_next_peer",
        19 => "temporary_node_failure",
        20 => "permanent_node_failure",
        21 => "permanent_channel_failure",
        998 => "unknown_failure",
        999 => "unreadable_failure",
        other => return format!("code_{other}"),
    };
    name.to_string()
}

/// Refused forwards per channel over a window, filled in by the daemon from the HTLC event
/// stream. `None` in a snapshot means nobody was listening (offline analysis, `once`, or an LND
/// without routerrpc): nothing can then be said about refusals.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LinkFailureCounts {
    /// Unix seconds since when these were counted (the previous snapshot, or the subscription).
    pub since_unix: i64,
    /// Channels with at least one link failure in the window.
    pub channels: BTreeMap<ChanId, ChannelLinkFailures>,
}

/// One channel's link failures in the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ChannelLinkFailures {
    /// Forwards refused with TEMPORARY_CHANNEL_FAILURE and no detail.
    pub refused_forwards: u64,
    /// Every other link failure.
    pub other: u64,
}

impl LinkFailureCounts {
    /// Counts one failure against the channel that refused it.
    pub fn record(&mut self, failure: &LinkFailure) {
        let Some(chan_id) = failure.refusing_channel() else {
            return;
        };
        let entry = self.channels.entry(chan_id).or_default();
        if failure.is_fee_exposure_shaped() {
            entry.refused_forwards += 1;
        } else {
            entry.other += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(event_type: i32, wire: i32, detail: i32) -> LinkFailure {
        LinkFailure {
            incoming_chan_id: 7,
            outgoing_chan_id: 9,
            event_type,
            wire_failure: wire,
            failure_detail: detail,
        }
    }

    #[test]
    fn only_forwards_refused_without_detail_count_as_refusals() {
        let mut counts = LinkFailureCounts::default();
        counts.record(&failure(3, 15, 1));
        counts.record(&failure(3, 15, 1));
        counts.record(&failure(3, 15, 6)); // insufficient balance
        counts.record(&failure(1, 15, 1)); // our own payment
        counts.record(&failure(3, 12, 1)); // fee insufficient
        let nine = counts.channels[&9];
        assert_eq!(nine.refused_forwards, 2);
        assert_eq!(nine.other, 3);
        assert!(
            !counts.channels.contains_key(&7),
            "counted on the refusing link"
        );
    }

    #[test]
    fn receives_count_on_the_incoming_channel() {
        let receive = LinkFailure {
            outgoing_chan_id: 0,
            ..failure(2, 15, 1)
        };
        assert_eq!(receive.refusing_channel(), Some(7));
        assert_eq!(wire_failure_name(15), "temporary_channel_failure");
        assert_eq!(wire_failure_name(4242), "code_4242");
    }
}
