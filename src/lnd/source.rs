//! The narrow seam between the daemon and LND.
//!
//! The daemon loop only needs two things from a node: a consistent [`NodeSnapshot`] on demand,
//! and a nudge when channels change. [`NodeSource`] is exactly that, so the loop can be driven
//! by [`crate::lnd::client::LndClient`] in production, the simulator in black-box tests, and a
//! hand-written fake in unit tests. Nothing in this trait mentions gRPC or protobuf types.

use std::future::Future;
use std::pin::Pin;

use tokio_stream::Stream;

use crate::lnd::error::LndError;
use crate::model::link_failures::LinkFailure;
use crate::model::NodeSnapshot;

/// What kind of channel change LND reported (`lnrpc.ChannelEventUpdate.UpdateType`).
///
/// The daemon uses events only as a trigger to take a fresh snapshot; the kind is for logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChannelEventKind {
    Opened,
    Closed,
    Active,
    Inactive,
    PendingOpen,
    FullyResolved,
    FundingTimeout,
    /// A channel's state changed without opening or closing (LND ≥ 0.21).
    Updated,
    /// An update type this version of dustwatch does not know.
    Unrecognized(i32),
}

impl ChannelEventKind {
    /// Maps `ChannelEventUpdate.UpdateType`'s wire numbers.
    pub fn from_wire(value: i32) -> Self {
        match value {
            0 => ChannelEventKind::Opened,
            1 => ChannelEventKind::Closed,
            2 => ChannelEventKind::Active,
            3 => ChannelEventKind::Inactive,
            4 => ChannelEventKind::PendingOpen,
            5 => ChannelEventKind::FullyResolved,
            6 => ChannelEventKind::FundingTimeout,
            7 => ChannelEventKind::Updated,
            other => ChannelEventKind::Unrecognized(other),
        }
    }
}

/// A live subscription to channel events. It ends (`None`) or yields an error when the
/// connection to LND breaks; the caller resubscribes after its backoff.
pub type ChannelEvents = Pin<Box<dyn Stream<Item = Result<ChannelEventKind, LndError>> + Send>>;

/// A live subscription to HTLC link failures (`routerrpc.Router/SubscribeHtlcEvents`, link
/// failures only). Ends or yields an error like [`ChannelEvents`].
pub type HtlcLinkFailures = Pin<Box<dyn Stream<Item = Result<LinkFailure, LndError>> + Send>>;

/// A node the daemon can watch.
pub trait NodeSource {
    /// Takes one snapshot of the node: readiness first, then every answer the analyzer needs.
    /// A node that is up but not ready yields [`LndError::NotReady`].
    fn fetch_snapshot(&mut self) -> impl Future<Output = Result<NodeSnapshot, LndError>> + Send;

    /// Subscribes to channel open/close/active/inactive events.
    fn subscribe_channel_events(
        &mut self,
    ) -> impl Future<Output = Result<ChannelEvents, LndError>> + Send;

    /// Subscribes to HTLC link failures. A source without an HTLC event stream answers
    /// `Unimplemented`, as an LND without routerrpc does.
    fn subscribe_link_failures(
        &mut self,
    ) -> impl Future<Output = Result<HtlcLinkFailures, LndError>> + Send {
        std::future::ready(Err(LndError::Rpc {
            call: "SubscribeHtlcEvents",
            code: tonic::Code::Unimplemented,
            message: "this source has no HTLC event stream".into(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_kinds_map_from_the_wire() {
        assert_eq!(ChannelEventKind::from_wire(0), ChannelEventKind::Opened);
        assert_eq!(ChannelEventKind::from_wire(1), ChannelEventKind::Closed);
        assert_eq!(ChannelEventKind::from_wire(7), ChannelEventKind::Updated);
        assert_eq!(
            ChannelEventKind::from_wire(42),
            ChannelEventKind::Unrecognized(42)
        );
    }
}
