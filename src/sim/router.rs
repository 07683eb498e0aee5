//! `routerrpc.Router/SubscribeHtlcEvents`, served from the simulation, and forwards offered to
//! the simulated node that it refuses the way LND does when an HTLC would push a channel's fee
//! exposure over its limit: a `LinkFailEvent` (FORWARD, TEMPORARY_CHANNEL_FAILURE, NO_DETAIL).
//!
//! Fault switches make it (or GetDebugInfo) answer `Unimplemented`, as an older LND does.

use std::sync::Arc;

use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use super::accounting;
use super::service::{admit, lock, stream_events, Shared};
use super::SimHandle;
use crate::dust::channel_dust;
use crate::lnd::pb::routerrpc::{
    self, htlc_event, router_server::Router, HtlcEvent, HtlcInfo, LinkFailEvent,
};
use crate::model::link_failures::{
    DETAIL_NO_DETAIL, EVENT_TYPE_FORWARD, WIRE_TEMPORARY_CHANNEL_FAILURE,
};
use crate::model::Htlc;

/// Blocks until expiry of an HTLC offered with [`SimHandle::offer_forward`].
const OFFERED_CLTV_BLOCKS: u32 = 144;

/// What the node did with an offered forward.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForwardOutcome {
    /// Added to the outgoing channel.
    Added,
    /// Refused: it would have pushed the outgoing channel's fee exposure over the limit.
    RefusedFeeExposure {
        exposure_with_htlc_sat: u64,
        limit_sat: u64,
    },
    /// Refused for another reason (unknown channel, inactive, balance or reserve).
    Refused,
}

/// `routerrpc.Router`, served from the simulation.
#[derive(Clone)]
pub(super) struct RouterService {
    pub shared: Arc<Shared>,
}

#[tonic::async_trait]
impl Router for RouterService {
    type SubscribeHtlcEventsStream = ReceiverStream<Result<HtlcEvent, Status>>;

    async fn subscribe_htlc_events(
        &self,
        request: Request<routerrpc::SubscribeHtlcEventsRequest>,
    ) -> Result<Response<Self::SubscribeHtlcEventsStream>, Status> {
        if lock(&self.shared.faults).no_router {
            return Err(Status::unimplemented("unknown service routerrpc.Router"));
        }
        admit(&self.shared, &request).await?;
        let events = self.shared.htlc_events.subscribe();
        Ok(Response::new(stream_events(events, "HTLC", |event| event)))
    }
}

impl SimHandle {
    /// Offers the node a forward of `amount_sat` from `incoming_chan_id` out over
    /// `outgoing_chan_id`. Like LND, the outgoing link first checks that the HTLC would not
    /// push the channel's fee exposure (either commitment) over the node's limit; if it would,
    /// the HTLC is refused with a `LinkFailEvent` and the node is unchanged.
    pub fn offer_forward(
        &self,
        incoming_chan_id: u64,
        outgoing_chan_id: u64,
        amount_sat: u64,
    ) -> ForwardOutcome {
        let mut sim = lock(&self.shared.sim);
        let params = sim.dust_params().clone();
        let height = sim.node.block_height;
        // The node's own limit, as LND applies its `channel-max-fee-exposure`.
        let node_limit = sim
            .node
            .config
            .get("channel-max-fee-exposure")
            .and_then(|v| v.parse::<u64>().ok());
        let Some(channel) = sim
            .node
            .channels
            .iter_mut()
            .find(|c| c.chan_id == outgoing_chan_id && c.active)
        else {
            return ForwardOutcome::Refused;
        };
        let htlc = Htlc {
            incoming: false,
            amount_sat,
            hash_lock: None,
            expiration_height: height + OFFERED_CLTV_BLOCKS,
            htlc_index: channel
                .pending_htlcs
                .iter()
                .filter(|h| !h.incoming)
                .map(|h| h.htlc_index + 1)
                .max()
                .unwrap_or(0),
            forwarding_channel: incoming_chan_id,
            forwarding_htlc_index: 0,
            locked_in: false,
        };
        let mut with_htlc = channel.clone();
        with_htlc.pending_htlcs.push(htlc.clone());
        let dust = channel_dust(&with_htlc, Some(height), &params);
        let exposure = dust.max_fee_exposure_now_sat();
        let limit = node_limit.unwrap_or(dust.max_fee_exposure_sat);
        let outcome = if exposure > limit {
            ForwardOutcome::RefusedFeeExposure {
                exposure_with_htlc_sat: exposure,
                limit_sat: limit,
            }
        } else if accounting::add_htlc(channel, htlc, &params).is_ok() {
            return ForwardOutcome::Added;
        } else {
            ForwardOutcome::Refused
        };
        drop(sim);
        // Either refusal is reported as LND's link reports it; only the fee-exposure one is
        // TEMPORARY_CHANNEL_FAILURE without detail (INSUFFICIENT_BALANCE otherwise).
        let detail = match outcome {
            ForwardOutcome::RefusedFeeExposure { .. } => DETAIL_NO_DETAIL,
            _ => 6,
        };
        self.emit_link_failure(incoming_chan_id, outgoing_chan_id, amount_sat, detail);
        outcome
    }

    /// Sends a forward's `LinkFailEvent` with TEMPORARY_CHANNEL_FAILURE and `failure_detail`
    /// to every HTLC event subscriber.
    pub fn emit_link_failure(
        &self,
        incoming_chan_id: u64,
        outgoing_chan_id: u64,
        amount_sat: u64,
        failure_detail: i32,
    ) {
        let now_ns = u64::try_from(lock(&self.shared.sim).node.now_unix)
            .unwrap_or(0)
            .saturating_mul(1_000_000_000);
        let event = HtlcEvent {
            incoming_channel_id: incoming_chan_id,
            outgoing_channel_id: outgoing_chan_id,
            incoming_htlc_id: 0,
            outgoing_htlc_id: 0,
            timestamp_ns: now_ns,
            event_type: EVENT_TYPE_FORWARD,
            event: Some(htlc_event::Event::LinkFailEvent(LinkFailEvent {
                info: Some(HtlcInfo {
                    incoming_timelock: 0,
                    outgoing_timelock: 0,
                    incoming_amt_msat: amount_sat * 1000,
                    outgoing_amt_msat: amount_sat * 1000,
                }),
                wire_failure: WIRE_TEMPORARY_CHANNEL_FAILURE,
                failure_detail,
                failure_string: "TemporaryChannelFailure".into(),
            })),
        };
        // No subscribers is fine: events are not queued for later.
        let _ = self.shared.htlc_events.send(event);
    }

    /// Number of SubscribeHtlcEvents streams currently open.
    pub fn htlc_event_subscribers(&self) -> usize {
        self.shared.htlc_events.receiver_count()
    }

    /// Makes the node answer GetDebugInfo with `Unimplemented`, as LND before 0.18 does.
    pub fn set_debug_info_unimplemented(&self, unimplemented: bool) {
        lock(&self.shared.faults).no_debug_info = unimplemented;
    }

    /// Makes the node answer SubscribeHtlcEvents with `Unimplemented`, as an LND built without
    /// routerrpc does (`false` restores it).
    pub fn set_router_unimplemented(&self, unimplemented: bool) {
        lock(&self.shared.faults).no_router = unimplemented;
    }
}
