//! Fault switches a test (or the demo) flips on a running simulated node.
//!
//! Every time-bounded fault is measured on tokio's clock, so a test with paused time moves
//! through it with `tokio::time::advance` instead of sleeping.

use std::time::Duration;

use tokio::time::Instant;

/// LND's RPC state as the State service reports it (`lnrpc.WalletState`, same numbers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RpcState {
    NonExisting,
    Locked,
    /// Wallet unlocked, RPC server still starting: calls get "in the process of starting up".
    Unlocked,
    RpcActive,
    ServerActive,
    /// Before LND started (e.g. waiting to become leader in a cluster).
    WaitingToStart,
}

impl RpcState {
    /// The `lnrpc.WalletState` enum value.
    pub fn wire_value(self) -> i32 {
        match self {
            RpcState::NonExisting => 0,
            RpcState::Locked => 1,
            RpcState::Unlocked => 2,
            RpcState::RpcActive => 3,
            RpcState::ServerActive => 4,
            RpcState::WaitingToStart => 255,
        }
    }

    /// The error LND's state interceptor answers a Lightning call with in this state (as
    /// status Unknown), or `None` when calls go through. The interceptor runs before the
    /// macaroon check, so a node that is not ready refuses even a good macaroon.
    pub fn refusal(self) -> Option<&'static str> {
        match self {
            RpcState::RpcActive | RpcState::ServerActive => None,
            RpcState::WaitingToStart => Some("waiting to start, RPC services not available"),
            RpcState::NonExisting => {
                Some("wallet not created, create one to enable full RPC access")
            }
            RpcState::Locked => Some("wallet locked, unlock it to enable full RPC access"),
            RpcState::Unlocked => Some(
                "the RPC server is in the process of starting up, but not yet ready to accept calls",
            ),
        }
    }
}

/// The fault switches; the default is a healthy node.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// A not-ready state forced on the node, and until when (`None`: until cleared).
    forced_state: Option<(RpcState, Option<Instant>)>,
    /// Delay before every answer (State included): a slow or overloaded node.
    pub delay: Duration,
    /// ForwardingHistory answers Unimplemented, as an LND without the call would.
    pub forwarding_history_unimplemented: bool,
    /// SubscribeHtlcEvents answers Unimplemented (an LND without routerrpc).
    pub no_router: bool,
    /// GetDebugInfo answers Unimplemented (an LND older than 0.18).
    pub no_debug_info: bool,
}

impl Faults {
    /// Forces `state` for `duration` (or until [`Faults::clear_state`] when `None`).
    pub fn force_state(&mut self, state: RpcState, duration: Option<Duration>) {
        self.forced_state = Some((state, duration.map(|d| Instant::now() + d)));
    }

    pub fn clear_state(&mut self) {
        self.forced_state = None;
    }

    /// The state the node is in now: a forced state until it expires, then SERVER_ACTIVE.
    pub fn state_now(&mut self) -> RpcState {
        match self.forced_state {
            Some((state, None)) => state,
            Some((state, Some(until))) if Instant::now() < until => state,
            Some(_) => {
                self.forced_state = None;
                RpcState::ServerActive
            }
            None => RpcState::ServerActive,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn forced_state_expires_on_tokio_time() {
        let mut faults = Faults::default();
        assert_eq!(faults.state_now(), RpcState::ServerActive);
        faults.force_state(RpcState::Locked, Some(Duration::from_secs(30)));
        assert_eq!(faults.state_now(), RpcState::Locked);
        tokio::time::advance(Duration::from_secs(29)).await;
        assert_eq!(faults.state_now(), RpcState::Locked);
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(faults.state_now(), RpcState::ServerActive);
    }

    #[test]
    fn refusals_match_lnds_interceptor() {
        assert_eq!(RpcState::ServerActive.refusal(), None);
        assert_eq!(RpcState::RpcActive.refusal(), None);
        assert_eq!(
            RpcState::Locked.refusal(),
            Some("wallet locked, unlock it to enable full RPC access")
        );
        assert_eq!(RpcState::WaitingToStart.wire_value(), 255);
    }
}
