//! The gRPC services: `lnrpc.Lightning` (the read-only calls dustwatch uses) and `lnrpc.State`.
//!
//! Each Lightning call passes LND's gate in LND's order: the (simulated) slowness first, then
//! the RPC-state interceptor (a locked or starting node refuses even a good macaroon), then the
//! macaroon check. Failures are status Unknown with LND's texts, as LND's plain Go errors are.

use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::{broadcast, mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use super::faults::Faults;
use super::forwards::ForwardingQuery;
use super::macaroon;
use super::scenario::Simulation;
use super::state::ChannelEvent;
use super::wire;
use crate::lnd::pb;

/// Channel events buffered per subscriber before a slow one starts missing some.
pub(super) const EVENT_BUFFER: usize = 1024;

/// A subscriber's stream: each broadcast event, converted by `to_wire`, until the subscriber
/// goes away or the node stops. A subscriber too slow for the broadcast buffer misses events,
/// as a slow gRPC client of LND does, and the simulator logs how many (`what` names the stream).
pub(super) fn stream_events<E, W>(
    mut events: broadcast::Receiver<E>,
    what: &'static str,
    to_wire: impl Fn(E) -> W + Send + 'static,
) -> ReceiverStream<Result<W, Status>>
where
    E: Clone + Send + 'static,
    W: Send + 'static,
{
    let (tx, rx) = mpsc::channel(EVENT_BUFFER);
    tokio::spawn(async move {
        loop {
            let event = tokio::select! {
                () = tx.closed() => return,
                event = events.recv() => event,
            };
            match event {
                Ok(event) => {
                    if tx.send(Ok(to_wire(event))).await.is_err() {
                        return;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::warn!(
                        missed,
                        stream = what,
                        "simulator: a slow subscriber missed events"
                    );
                }
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    });
    ReceiverStream::new(rx)
}

/// State shared by the handle and every served call.
pub(super) struct Shared {
    pub sim: Mutex<Simulation>,
    pub faults: Mutex<Faults>,
    /// The macaroon calls must present (hex of these bytes). Never logged.
    pub macaroon: Mutex<Vec<u8>>,
    pub events: broadcast::Sender<ChannelEvent>,
    /// HTLC events for SubscribeHtlcEvents (already in wire form: only the simulator makes them).
    pub htlc_events: broadcast::Sender<pb::routerrpc::HtlcEvent>,
    /// `host:port` the node listens on (GetInfo's URI).
    pub listen: String,
    /// Flips when the server generation serving calls is stopped, so slow answers end too.
    pub stopped: Mutex<watch::Receiver<bool>>,
    /// ForwardingHistory requests answered, in order (for tests of paging); bounded.
    pub forwarding_queries: Mutex<Vec<ForwardingQuery>>,
}

/// Locks a mutex, recovering from poisoning: a panicked tick must not take the node down,
/// and every critical section leaves the data consistent before it can panic.
pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Waits out the configured slowness; ends early (with Unavailable) if the server stops.
async fn slow_down(shared: &Shared) -> Result<(), Status> {
    let delay = lock(&shared.faults).delay;
    if delay.is_zero() {
        return Ok(());
    }
    let mut stopped = lock(&shared.stopped).clone();
    tokio::select! {
        () = tokio::time::sleep(delay) => Ok(()),
        _ = stopped.wait_for(|s| *s) => Err(Status::unavailable("simulated LND stopped")),
    }
}

/// LND's gate for a Lightning call: slowness, RPC state, macaroon.
pub(super) async fn admit<T>(shared: &Shared, request: &Request<T>) -> Result<(), Status> {
    slow_down(shared).await?;
    let state = lock(&shared.faults).state_now();
    if let Some(refusal) = state.refusal() {
        return Err(Status::unknown(refusal));
    }
    let expected = lock(&shared.macaroon);
    macaroon::check(request.metadata(), &expected).map_err(Status::unknown)
}

/// `lnrpc.Lightning`, served from the simulation.
#[derive(Clone)]
pub(super) struct LightningService {
    pub shared: Arc<Shared>,
}

impl LightningService {
    async fn answer<T, R>(
        &self,
        request: &Request<T>,
        build: impl FnOnce(&Simulation) -> Result<R, Status>,
    ) -> Result<Response<R>, Status> {
        admit(&self.shared, request).await?;
        let sim = lock(&self.shared.sim);
        build(&sim).map(Response::new)
    }
}

#[tonic::async_trait]
impl pb::lightning_server::Lightning for LightningService {
    async fn wallet_balance(
        &self,
        request: Request<pb::WalletBalanceRequest>,
    ) -> Result<Response<pb::WalletBalanceResponse>, Status> {
        self.answer(&request, |sim| Ok(wire::wallet_balance(&sim.node)))
            .await
    }

    async fn channel_balance(
        &self,
        request: Request<pb::ChannelBalanceRequest>,
    ) -> Result<Response<pb::ChannelBalanceResponse>, Status> {
        self.answer(&request, |sim| Ok(wire::channel_balance(&sim.node)))
            .await
    }

    async fn get_info(
        &self,
        request: Request<pb::GetInfoRequest>,
    ) -> Result<Response<pb::GetInfoResponse>, Status> {
        let listen = self.shared.listen.clone();
        self.answer(&request, |sim| Ok(wire::get_info(&sim.node, &listen)))
            .await
    }

    async fn get_debug_info(
        &self,
        request: Request<pb::GetDebugInfoRequest>,
    ) -> Result<Response<pb::GetDebugInfoResponse>, Status> {
        if lock(&self.shared.faults).no_debug_info {
            return Err(Status::unimplemented(
                "unknown method GetDebugInfo for service lnrpc.Lightning",
            ));
        }
        self.answer(&request, |sim| Ok(wire::debug_info(&sim.node)))
            .await
    }

    async fn pending_channels(
        &self,
        request: Request<pb::PendingChannelsRequest>,
    ) -> Result<Response<pb::PendingChannelsResponse>, Status> {
        self.answer(&request, |sim| Ok(wire::pending_channels(&sim.node)))
            .await
    }

    async fn list_channels(
        &self,
        request: Request<pb::ListChannelsRequest>,
    ) -> Result<Response<pb::ListChannelsResponse>, Status> {
        let req = request.get_ref().clone();
        self.answer(&request, |sim| Ok(wire::list_channels(&sim.node, &req)))
            .await
    }

    type SubscribeChannelEventsStream = ReceiverStream<Result<pb::ChannelEventUpdate, Status>>;

    async fn subscribe_channel_events(
        &self,
        request: Request<pb::ChannelEventSubscription>,
    ) -> Result<Response<Self::SubscribeChannelEventsStream>, Status> {
        admit(&self.shared, &request).await?;
        let events = self.shared.events.subscribe();
        Ok(Response::new(stream_events(events, "channel", |event| {
            wire::channel_event(&event)
        })))
    }

    async fn get_chan_info(
        &self,
        request: Request<pb::ChanInfoRequest>,
    ) -> Result<Response<pb::ChannelEdge>, Status> {
        let req = request.get_ref().clone();
        self.answer(&request, |sim| {
            let ch = if req.chan_id != 0 {
                sim.node.channel(req.chan_id)
            } else {
                sim.node.channel_by_point(&req.chan_point)
            };
            // LND's graph error for an unknown channel, surfaced as a plain error.
            ch.map(|ch| wire::channel_edge(&sim.node, ch))
                .ok_or_else(|| Status::unknown("edge not found"))
        })
        .await
    }

    async fn forwarding_history(
        &self,
        request: Request<pb::ForwardingHistoryRequest>,
    ) -> Result<Response<pb::ForwardingHistoryResponse>, Status> {
        admit(&self.shared, &request).await?;
        if lock(&self.shared.faults).forwarding_history_unimplemented {
            return Err(Status::unimplemented(
                "unknown method ForwardingHistory for service lnrpc.Lightning",
            ));
        }
        let req = request.into_inner();
        let query = ForwardingQuery {
            start_time: req.start_time,
            end_time: req.end_time,
            index_offset: req.index_offset,
            num_max_events: req.num_max_events,
        };
        {
            let mut queries = lock(&self.shared.forwarding_queries);
            // Bounded for a long-running simulator: the newest 10,000 or more are kept.
            if queries.len() >= 20_000 {
                queries.drain(..10_000);
            }
            queries.push(query);
        }
        let sim = lock(&self.shared.sim);
        Ok(Response::new(wire::forwarding_history(
            &sim.node,
            &query,
            req.peer_alias_lookup,
        )))
    }

    async fn fee_report(
        &self,
        request: Request<pb::FeeReportRequest>,
    ) -> Result<Response<pb::FeeReportResponse>, Status> {
        self.answer(&request, |sim| Ok(wire::fee_report(&sim.node)))
            .await
    }
}

/// `lnrpc.State`: exempt from the macaroon and state checks (LND whitelists it), so it
/// answers in every state; only slowness applies.
#[derive(Clone)]
pub(super) struct StateService {
    pub shared: Arc<Shared>,
}

#[tonic::async_trait]
impl pb::state_server::State for StateService {
    async fn get_state(
        &self,
        _request: Request<pb::GetStateRequest>,
    ) -> Result<Response<pb::GetStateResponse>, Status> {
        slow_down(&self.shared).await?;
        let state = lock(&self.shared.faults).state_now();
        Ok(Response::new(pb::GetStateResponse {
            state: state.wire_value(),
        }))
    }
}
