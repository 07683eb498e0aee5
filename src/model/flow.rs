//! Forwarding flow: what LND's `ForwardingHistory` says went through each channel in a window.
//!
//! Flow is judged from forwards in a window ending at the snapshot, never from LND's
//! all-time `total_satoshis_*` or its `lifetime` (which restarts with LND). Producers (the
//! daemon's client, offline `--fwdinghistory`) turn events into [`FlowWindow`]s with
//! [`FlowWindow::aggregate`]; a snapshot without [`ForwardingFlow`] means "flow unknown".

use serde::{Deserialize, Serialize};

use super::ChanId;

/// The fixed length of the long window shown next to `analysis.flow_window` for context.
pub const LONG_FLOW_WINDOW_SECS: u64 = 30 * 86_400;

/// One settled forward through the node (LND's `ForwardingEvent`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ForwardingEvent {
    /// When LND recorded the forward, in nanoseconds since the Unix epoch.
    pub timestamp_ns: u64,
    /// The channel the HTLC came in on (it gained local balance).
    pub chan_id_in: ChanId,
    /// The channel the HTLC left on (it lost local balance and earned the fee).
    pub chan_id_out: ChanId,
    pub amt_in_msat: u64,
    pub amt_out_msat: u64,
    /// `amt_in_msat − amt_out_msat`: the routing fee, earned by the outgoing channel's policy.
    pub fee_msat: u64,
}

/// Forwards through one channel within a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ChannelFlow {
    /// Sum of `amt_out_msat` of forwards that left through this channel.
    pub routed_out_msat: u64,
    /// Sum of `amt_in_msat` of forwards that came in through this channel.
    pub routed_in_msat: u64,
    /// Fees of the forwards that left through this channel.
    pub fee_earned_msat: u64,
    pub forwards_out: u64,
    pub forwards_in: u64,
}

impl ChannelFlow {
    /// True when nothing went through the channel in the window.
    pub fn is_idle(&self) -> bool {
        self.forwards_out == 0 && self.forwards_in == 0
    }

    /// Fee rate the channel's outbound forwards actually paid, in ppm of the amount
    /// forwarded; `None` without outbound forwards.
    pub fn earned_fee_ppm(&self) -> Option<u64> {
        (self.routed_out_msat > 0).then(|| {
            let ppm =
                u128::from(self.fee_earned_msat) * 1_000_000 / u128::from(self.routed_out_msat);
            u64::try_from(ppm).unwrap_or(u64::MAX)
        })
    }

    pub(crate) fn add_out(&mut self, event: &ForwardingEvent) {
        self.routed_out_msat = self.routed_out_msat.saturating_add(event.amt_out_msat);
        self.fee_earned_msat = self.fee_earned_msat.saturating_add(event.fee_msat);
        self.forwards_out += 1;
    }

    pub(crate) fn add_in(&mut self, event: &ForwardingEvent) {
        self.routed_in_msat = self.routed_in_msat.saturating_add(event.amt_in_msat);
        self.forwards_in += 1;
    }

    /// Takes back an [`Self::add_out`] of the same event: exact while no sum saturated (a
    /// window's sums stay far below `u64::MAX` msat, more than all bitcoin).
    pub(crate) fn remove_out(&mut self, event: &ForwardingEvent) {
        self.routed_out_msat = self.routed_out_msat.saturating_sub(event.amt_out_msat);
        self.fee_earned_msat = self.fee_earned_msat.saturating_sub(event.fee_msat);
        self.forwards_out = self.forwards_out.saturating_sub(1);
    }

    /// Takes back an [`Self::add_in`] of the same event.
    pub(crate) fn remove_in(&mut self, event: &ForwardingEvent) {
        self.routed_in_msat = self.routed_in_msat.saturating_sub(event.amt_in_msat);
        self.forwards_in = self.forwards_in.saturating_sub(1);
    }
}

/// Per-channel flow over `[start_unix, end_unix)`.
///
/// Invariant: `channels` is sorted by `chan_id`, holds each channel at most once, and only
/// channels with at least one forward; every other channel's flow in the window is zero.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowWindow {
    pub start_unix: i64,
    pub end_unix: i64,
    pub channels: Vec<(ChanId, ChannelFlow)>,
}

impl FlowWindow {
    /// Sums the events whose timestamp falls in `[start_unix, end_unix)`; events may come in
    /// any order, and events outside the window are ignored.
    pub fn aggregate<'a>(
        events: impl IntoIterator<Item = &'a ForwardingEvent>,
        start_unix: i64,
        end_unix: i64,
    ) -> Self {
        let start_ns = unix_to_ns(start_unix);
        let end_ns = unix_to_ns(end_unix);
        let mut by_channel = std::collections::BTreeMap::<ChanId, ChannelFlow>::new();
        for event in events {
            if event.timestamp_ns < start_ns || event.timestamp_ns >= end_ns {
                continue;
            }
            by_channel
                .entry(event.chan_id_out)
                .or_default()
                .add_out(event);
            by_channel
                .entry(event.chan_id_in)
                .or_default()
                .add_in(event);
        }
        FlowWindow {
            start_unix,
            end_unix,
            channels: by_channel.into_iter().collect(),
        }
    }

    /// The channel's flow in the window (zero for a channel without forwards).
    pub fn of(&self, chan_id: ChanId) -> ChannelFlow {
        self.channels
            .binary_search_by_key(&chan_id, |(id, _)| *id)
            .map(|i| self.channels[i].1)
            .unwrap_or_default()
    }

    /// Length of the window in seconds (0 for an empty or inverted window).
    pub fn secs(&self) -> u64 {
        u64::try_from(self.end_unix.saturating_sub(self.start_unix)).unwrap_or(0)
    }
}

/// The node's forwarding history as the analyzer sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForwardingFlow {
    /// `analysis.flow_window` ending at the snapshot: every flow judgement uses this one.
    pub window: FlowWindow,
    /// [`LONG_FLOW_WINDOW_SECS`] (or the analysis window, if longer) ending at the snapshot,
    /// shown in the plan for context only.
    pub long_window: FlowWindow,
}

impl ForwardingFlow {
    /// Both windows from one list of events, each ending at `end_unix`: the same as
    /// [`FlowWindow::aggregate`] for each, in one pass (the long window holds the short one).
    pub fn from_events(events: &[ForwardingEvent], end_unix: i64, window_secs: u64) -> Self {
        let long_secs = window_secs.max(LONG_FLOW_WINDOW_SECS);
        let start = |secs: u64| end_unix.saturating_sub(i64::try_from(secs).unwrap_or(i64::MAX));
        let (short_start, long_start) = (start(window_secs), start(long_secs));
        let (short_ns, long_ns, end_ns) = (
            unix_to_ns(short_start),
            unix_to_ns(long_start),
            unix_to_ns(end_unix),
        );
        // (short window, long window) per channel.
        let mut by_channel =
            std::collections::BTreeMap::<ChanId, (ChannelFlow, ChannelFlow)>::new();
        for event in events {
            if event.timestamp_ns < long_ns || event.timestamp_ns >= end_ns {
                continue;
            }
            let in_short = event.timestamp_ns >= short_ns;
            let out = by_channel.entry(event.chan_id_out).or_default();
            out.1.add_out(event);
            if in_short {
                out.0.add_out(event);
            }
            let came_in = by_channel.entry(event.chan_id_in).or_default();
            came_in.1.add_in(event);
            if in_short {
                came_in.0.add_in(event);
            }
        }
        let window = by_channel
            .iter()
            .filter(|(_, (short, _))| !short.is_idle())
            .map(|(id, (short, _))| (*id, *short))
            .collect();
        ForwardingFlow {
            window: FlowWindow {
                start_unix: short_start,
                end_unix,
                channels: window,
            },
            long_window: FlowWindow {
                start_unix: long_start,
                end_unix,
                channels: by_channel
                    .into_iter()
                    .map(|(id, (_, long))| (id, long))
                    .collect(),
            },
        }
    }
}

/// Unix seconds as nanoseconds, clamped to the `u64` range (negative times are 0).
pub(crate) fn unix_to_ns(unix: i64) -> u64 {
    u64::try_from(unix)
        .unwrap_or(0)
        .saturating_mul(1_000_000_000)
}

/// The block a channel's funding transaction confirmed in, from its short channel id
/// (`chan_id >> 40`); `None` for ids that carry no height: 0, and LND's alias range
/// (scids from block 16,000,000 up are aliases of unconfirmed or private channels).
pub fn funding_block_height(chan_id: ChanId) -> Option<u32> {
    const ALIAS_START_BLOCK: u64 = 16_000_000;
    let height = chan_id >> 40;
    (height > 0 && height < ALIAS_START_BLOCK).then_some(height as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fwd(
        secs: u64,
        chan_in: ChanId,
        chan_out: ChanId,
        out_msat: u64,
        fee_msat: u64,
    ) -> ForwardingEvent {
        ForwardingEvent {
            timestamp_ns: secs * 1_000_000_000,
            chan_id_in: chan_in,
            chan_id_out: chan_out,
            amt_in_msat: out_msat + fee_msat,
            amt_out_msat: out_msat,
            fee_msat,
        }
    }

    #[test]
    fn aggregates_in_and_out_per_channel_within_the_window() {
        let events = [
            fwd(99, 1, 2, 5_000_000, 500), // before the window
            fwd(100, 1, 2, 1_000_000, 100),
            fwd(150, 3, 2, 2_000_000, 300),
            fwd(199, 2, 1, 4_000_000, 40),
            fwd(200, 1, 2, 7_000_000, 700), // at the end: excluded
        ];
        let window = FlowWindow::aggregate(&events, 100, 200);
        assert_eq!(window.secs(), 100);
        let two = window.of(2);
        assert_eq!(two.routed_out_msat, 3_000_000);
        assert_eq!(two.fee_earned_msat, 400);
        assert_eq!(two.forwards_out, 2);
        assert_eq!(two.routed_in_msat, 4_000_040);
        assert_eq!(two.forwards_in, 1);
        assert_eq!(two.earned_fee_ppm(), Some(133));
        let one = window.of(1);
        assert_eq!((one.forwards_in, one.forwards_out), (1, 1));
        assert_eq!(one.fee_earned_msat, 40);
        assert!(window.of(9).is_idle());
        assert_eq!(window.of(9).earned_fee_ppm(), None);
        let ids: Vec<ChanId> = window.channels.iter().map(|(id, _)| *id).collect();
        assert_eq!(ids, vec![1, 2, 3]);
    }

    #[test]
    fn both_windows_in_one_pass_equal_each_window_aggregated() {
        let day = 86_400;
        let now = 100 * day;
        let events: Vec<ForwardingEvent> = (0..200u64)
            .map(|i| {
                fwd(
                    now - i * 4 * 3_600,
                    i % 7,
                    (i * 3 + 1) % 11,
                    1_000 + i,
                    2 * i,
                )
            })
            .collect();
        let flow = ForwardingFlow::from_events(&events, now as i64, 7 * day);
        let window = FlowWindow::aggregate(&events, (now - 7 * day) as i64, now as i64);
        let long = FlowWindow::aggregate(&events, (now - 30 * day) as i64, now as i64);
        assert_eq!(flow.window, window);
        assert_eq!(flow.long_window, long);
        assert!(flow.window.channels.len() <= flow.long_window.channels.len());
    }

    #[test]
    fn long_window_is_at_least_thirty_days() {
        let day = 86_400;
        let now = 100 * day;
        let events = [
            fwd(now - 20 * day, 1, 2, 1_000, 1),
            fwd(now - day, 1, 2, 2_000, 2),
        ];
        let flow = ForwardingFlow::from_events(&events, now as i64, 7 * day);
        assert_eq!(flow.window.of(2).forwards_out, 1);
        assert_eq!(flow.long_window.of(2).forwards_out, 2);
        assert_eq!(flow.long_window.secs(), LONG_FLOW_WINDOW_SECS);
        let wide = ForwardingFlow::from_events(&events, now as i64, 60 * day);
        assert_eq!(wide.long_window.secs(), 60 * day);
    }

    #[test]
    fn funding_height_comes_from_the_scid() {
        assert_eq!(
            funding_block_height(800_000 << 40 | 5 << 16 | 1),
            Some(800_000)
        );
        assert_eq!(funding_block_height(0), None);
        assert_eq!(funding_block_height(16_000_000 << 40), None);
    }
}
