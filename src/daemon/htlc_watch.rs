//! The daemon's HTLC event subscription: link failures counted per channel between cycles.
//!
//! It follows the channel-event stream's rules: subscribe once a source exists, and after an
//! error or an ended stream resubscribe after its own backoff with jitter. An LND without
//! routerrpc (or a macaroon that may not read it) answers `Unimplemented` / permission denied:
//! that is said once in the log, and retried only at the longest backoff (LND may be upgraded),
//! silently. The counts of the window since the last snapshot go into the next snapshot
//! ([`NodeSnapshot::link_failures`]); a window in which nothing listened stays `None`, so the
//! analyzer never reads "no refusals" into "not listening".

use std::future::Future;

use rand::rngs::StdRng;
use tokio::time::Instant;
use tokio_stream::StreamExt;

use crate::lnd::error::LndError;
use crate::lnd::source::{ChannelEvents, HtlcLinkFailures, NodeSource};
use crate::model::link_failures::{LinkFailure, LinkFailureCounts};
use crate::model::NodeSnapshot;
use crate::sink::metrics::Metrics;

use super::backoff::Backoff;

/// The subscription and the counts of the current window.
pub(super) struct HtlcWatch {
    stream: Option<HtlcLinkFailures>,
    backoff: Backoff,
    resubscribe_at: Instant,
    /// Counts since the last snapshot; `None` while nothing has listened in this window.
    window: Option<LinkFailureCounts>,
    /// LND said it has no HTLC event stream; logged once.
    unsupported_logged: bool,
}

impl HtlcWatch {
    pub fn new(backoff: Backoff) -> Self {
        HtlcWatch {
            stream: None,
            backoff,
            resubscribe_at: Instant::now(),
            window: None,
            unsupported_logged: false,
        }
    }

    /// Forgets the subscription (after a reload or a reconnect) and resubscribes at once.
    pub fn reset(&mut self, backoff: Backoff) {
        self.stream = None;
        self.backoff = backoff;
        self.resubscribe_at = Instant::now();
    }

    pub fn wants_subscription(&self) -> bool {
        self.stream.is_none()
    }

    pub fn resubscribe_at(&self) -> Instant {
        self.resubscribe_at
    }

    /// The next link failure, or pending forever without a subscription.
    pub async fn next(&mut self) -> Option<Result<LinkFailure, LndError>> {
        match &mut self.stream {
            Some(stream) => stream.next().await,
            None => std::future::pending().await,
        }
    }

    pub async fn subscribe<S: NodeSource>(
        &mut self,
        source: &mut S,
        node: &str,
        now_unix: i64,
        rng: &mut StdRng,
    ) {
        match source.subscribe_link_failures().await {
            Ok(stream) => {
                tracing::debug!(%node, "subscribed to HTLC events");
                self.stream = Some(stream);
                self.backoff.reset();
                self.window.get_or_insert_with(|| LinkFailureCounts {
                    since_unix: now_unix,
                    ..LinkFailureCounts::default()
                });
            }
            Err(err) => self.on_error(&err, node, rng),
        }
    }

    /// Counts one event (or handles the stream's end or failure).
    pub fn on_item(
        &mut self,
        item: Option<Result<LinkFailure, LndError>>,
        node: &str,
        metrics: Option<&Metrics>,
        rng: &mut StdRng,
    ) {
        match item {
            Some(Ok(failure)) => {
                if let Some(window) = &mut self.window {
                    window.record(&failure);
                }
                if let Some(metrics) = metrics {
                    metrics.observe_link_failure(node, &failure);
                }
                tracing::debug!(%node, ?failure, "HTLC link failure");
            }
            Some(Err(err)) => self.on_error(&err, node, rng),
            None => {
                tracing::debug!(%node, "HTLC event subscription ended; resubscribing later");
                self.stream = None;
                self.resubscribe_at = Instant::now() + self.backoff.next_delay(rng);
            }
        }
    }

    fn on_error(&mut self, err: &LndError, node: &str, rng: &mut StdRng) {
        self.stream = None;
        if is_unsupported(err) {
            if !self.unsupported_logged {
                tracing::warn!(
                    %node,
                    error = %err,
                    "LND offers no HTLC event stream (routerrpc) to this macaroon: refused \
                     forwards cannot be seen, so htlc_refused_fee_exposure_likely is never raised; \
                     everything else goes on"
                );
                self.unsupported_logged = true;
            }
            self.backoff.saturate();
        } else {
            tracing::debug!(%node, error = %err, "HTLC event subscription failed; resubscribing later");
        }
        self.resubscribe_at = Instant::now() + self.backoff.next_delay(rng);
    }

    /// The counts for the snapshot being taken, starting a new window at `now_unix` while
    /// subscribed (when not, the next subscription starts it).
    pub fn take_window(&mut self, now_unix: i64) -> Option<LinkFailureCounts> {
        let taken = self.window.take();
        if self.stream.is_some() {
            self.window = Some(LinkFailureCounts {
                since_unix: now_unix,
                ..LinkFailureCounts::default()
            });
        }
        taken
    }

    /// Puts counts back after a cycle that failed, so no refusal is lost to a failed cycle.
    pub fn restore_window(&mut self, taken: Option<LinkFailureCounts>) {
        let Some(mut taken) = taken else {
            return;
        };
        if let Some(current) = self.window.take() {
            for (chan_id, counts) in current.channels {
                let entry = taken.channels.entry(chan_id).or_default();
                entry.refused_forwards += counts.refused_forwards;
                entry.other += counts.other;
            }
        }
        self.window = Some(taken);
    }
}

/// LND does not offer the call (an old LND, routerrpc not built in) or the macaroon may not use it.
fn is_unsupported(err: &LndError) -> bool {
    matches!(
        err,
        LndError::Rpc {
            code: tonic::Code::Unimplemented | tonic::Code::PermissionDenied,
            ..
        }
    )
}

/// A source whose snapshots carry the window's link-failure counts; everything else passes
/// through. This is how the daemon's counts reach the (pure) analyzer.
pub(super) struct WithLinkFailures<'a, S> {
    pub source: &'a mut S,
    pub counts: Option<LinkFailureCounts>,
}

impl<S: NodeSource> NodeSource for WithLinkFailures<'_, S> {
    fn fetch_snapshot(&mut self) -> impl Future<Output = Result<NodeSnapshot, LndError>> + Send {
        let counts = self.counts.clone();
        let fetch = self.source.fetch_snapshot();
        async move {
            let mut snapshot = fetch.await?;
            snapshot.link_failures = counts;
            Ok(snapshot)
        }
    }

    fn subscribe_channel_events(
        &mut self,
    ) -> impl Future<Output = Result<ChannelEvents, LndError>> + Send {
        self.source.subscribe_channel_events()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use rand::SeedableRng;

    use super::*;

    fn watch() -> HtlcWatch {
        HtlcWatch::new(Backoff::new(
            Duration::from_secs(1),
            Duration::from_secs(300),
        ))
    }

    fn refused(chan: u64) -> LinkFailure {
        LinkFailure {
            incoming_chan_id: 1,
            outgoing_chan_id: chan,
            event_type: 3,
            wire_failure: 15,
            failure_detail: 1,
        }
    }

    #[test]
    fn no_window_without_a_subscription() {
        let mut w = watch();
        assert_eq!(w.take_window(10), None);
    }

    #[tokio::test(start_paused = true)]
    async fn counts_move_into_the_snapshot_and_survive_a_failed_cycle() {
        let mut rng = StdRng::seed_from_u64(1);
        let mut w = watch();
        w.stream = Some(Box::pin(tokio_stream::empty()));
        w.window = Some(LinkFailureCounts {
            since_unix: 5,
            ..Default::default()
        });
        w.on_item(Some(Ok(refused(9))), "n", None, &mut rng);
        let taken = w.take_window(20).expect("listening");
        assert_eq!(taken.since_unix, 5);
        assert_eq!(taken.channels[&9].refused_forwards, 1);

        w.on_item(Some(Ok(refused(9))), "n", None, &mut rng);
        w.restore_window(Some(taken));
        let again = w.take_window(30).expect("listening");
        assert_eq!(again.since_unix, 5, "the failed cycle's window continues");
        assert_eq!(again.channels[&9].refused_forwards, 2);
        assert_eq!(w.take_window(40).expect("new window").since_unix, 30);
    }

    #[tokio::test(start_paused = true)]
    async fn unimplemented_is_logged_once_and_retried_at_the_longest_backoff() {
        let mut rng = StdRng::seed_from_u64(1);
        let mut w = watch();
        let err = LndError::Rpc {
            call: "SubscribeHtlcEvents",
            code: tonic::Code::Unimplemented,
            message: "unknown service routerrpc.Router".into(),
        };
        w.on_item(Some(Err(err)), "n", None, &mut rng);
        assert!(w.unsupported_logged);
        assert!(w.backoff.is_capped());
        assert!(w.resubscribe_at() > Instant::now());
        assert!(w.wants_subscription());
    }
}
