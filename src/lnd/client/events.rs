//! The client's event streams: channel events and HTLC link failures, each driven by a task.
//!
//! LND (grpc-go) sends a streaming call's headers only with its first message, so the call may
//! legitimately wait for hours and must not sit under the per-call deadline. A failure after
//! the start (bad macaroon, broken connection) arrives as the stream's last item; the task ends
//! when the stream is dropped.

use tokio_stream::wrappers::ReceiverStream;

use super::AuthedChannel;
use crate::lnd::error::{classify, ErrorContext};
use crate::lnd::pb;
use crate::lnd::pb::lightning_client::LightningClient;
use crate::lnd::pb::routerrpc::router_client::RouterClient;
use crate::lnd::source::{ChannelEventKind, ChannelEvents, HtlcLinkFailures};
use crate::model::link_failures::LinkFailure;

/// Channel events buffered for a slow consumer before LND's stream is back-pressured.
const EVENT_BUFFER: usize = 64;

const SUBSCRIBE: &str = "SubscribeChannelEvents";
const SUBSCRIBE_HTLC: &str = "SubscribeHtlcEvents";

/// Starts `SubscribeChannelEvents` on `lightning` and passes on each event's kind.
pub(super) fn channel_events(
    mut lightning: LightningClient<AuthedChannel>,
    ctx: ErrorContext,
) -> ChannelEvents {
    let (tx, rx) = tokio::sync::mpsc::channel(EVENT_BUFFER);
    tokio::spawn(async move {
        let call = lightning.subscribe_channel_events(pb::ChannelEventSubscription {});
        let started = tokio::select! {
            _ = tx.closed() => return,
            started = call => started,
        };
        let mut updates = match started {
            Ok(response) => response.into_inner(),
            Err(status) => {
                let _ = tx.send(Err(classify(SUBSCRIBE, &status, &ctx))).await;
                return;
            }
        };
        loop {
            let next = tokio::select! {
                _ = tx.closed() => return,
                next = updates.message() => next,
            };
            let item = match next {
                Ok(Some(update)) => Ok(ChannelEventKind::from_wire(update.r#type)),
                Ok(None) => return,
                Err(status) => Err(classify(SUBSCRIBE, &status, &ctx)),
            };
            let failed = item.is_err();
            if tx.send(item).await.is_err() || failed {
                return;
            }
        }
    });
    Box::pin(ReceiverStream::new(rx))
}

/// Starts `SubscribeHtlcEvents` on `router` and passes on link failures only. An LND without
/// routerrpc answers `Unimplemented`, as the first item of the stream (grpc-go sends a
/// stream's status with its headers).
pub(super) fn link_failures(
    mut router: RouterClient<AuthedChannel>,
    ctx: ErrorContext,
) -> HtlcLinkFailures {
    use crate::lnd::pb::routerrpc::htlc_event::Event;

    let (tx, rx) = tokio::sync::mpsc::channel(EVENT_BUFFER);
    tokio::spawn(async move {
        let call = router.subscribe_htlc_events(pb::routerrpc::SubscribeHtlcEventsRequest {});
        let started = tokio::select! {
            _ = tx.closed() => return,
            started = call => started,
        };
        let mut events = match started {
            Ok(response) => response.into_inner(),
            Err(status) => {
                let _ = tx.send(Err(classify(SUBSCRIBE_HTLC, &status, &ctx))).await;
                return;
            }
        };
        loop {
            let next = tokio::select! {
                _ = tx.closed() => return,
                next = events.message() => next,
            };
            let item = match next {
                Ok(Some(event)) => match &event.event {
                    Some(Event::LinkFailEvent(fail)) => Ok(LinkFailure {
                        incoming_chan_id: event.incoming_channel_id,
                        outgoing_chan_id: event.outgoing_channel_id,
                        event_type: event.event_type,
                        wire_failure: fail.wire_failure,
                        failure_detail: fail.failure_detail,
                    }),
                    None => continue,
                },
                Ok(None) => return,
                Err(status) => Err(classify(SUBSCRIBE_HTLC, &status, &ctx)),
            };
            let failed = item.is_err();
            if tx.send(item).await.is_err() || failed {
                return;
            }
        }
    });
    Box::pin(ReceiverStream::new(rx))
}
