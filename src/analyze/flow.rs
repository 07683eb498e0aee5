//! What the analyzer knows of each channel's forwarding flow and age.
//!
//! Flow comes only from the snapshot's [`ForwardingFlow`] (LND's ForwardingHistory over
//! `analysis.flow_window`), never from `lifetime` or the all-time totals. A channel younger
//! than the window is judged over its age, from its funding block against the node's height.

use crate::model::{funding_block_height, ChanId, ChannelFlow, ForwardingFlow};

/// Average block interval, for a channel's age from block heights.
const SECONDS_PER_BLOCK: u64 = 600;
const SECONDS_PER_DAY: f64 = 86_400.0;

/// One channel's forwards in the judged window and in the 30-day context window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FlowFacts {
    pub window: ChannelFlow,
    pub long: ChannelFlow,
    /// Seconds the window judgement covers: the window, or the channel's age when younger.
    pub judged_secs: u64,
    /// The analysis window's length in seconds.
    pub window_secs: u64,
}

impl FlowFacts {
    pub fn of(flow: &ForwardingFlow, chan_id: ChanId, age_secs: Option<u64>) -> Self {
        let window_secs = flow.window.secs();
        FlowFacts {
            window: flow.window.of(chan_id),
            long: flow.long_window.of(chan_id),
            judged_secs: age_secs.map_or(window_secs, |age| age.min(window_secs)),
            window_secs,
        }
    }

    /// Days the judgement covers (at least one hour, so a channel opened this block does not
    /// divide by zero).
    pub fn judged_days(&self) -> f64 {
        self.judged_secs.max(3_600) as f64 / SECONDS_PER_DAY
    }

    /// Satoshis routed out of the channel per day of the judged window.
    pub fn out_sat_per_day(&self) -> f64 {
        self.window.routed_out_msat as f64 / 1000.0 / self.judged_days()
    }

    /// Sat routed in and out per day as a share of capacity (0 without capacity).
    pub fn daily_turnover(&self, capacity_sat: u64) -> f64 {
        if capacity_sat == 0 {
            return 0.0;
        }
        let routed = self
            .window
            .routed_out_msat
            .saturating_add(self.window.routed_in_msat) as f64
            / 1000.0;
        routed / capacity_sat as f64 / self.judged_days()
    }

    /// The fee rate the channel's outbound forwards paid in the window (0 without any).
    pub fn earned_ppm(&self) -> u64 {
        self.window.earned_fee_ppm().unwrap_or(0)
    }
}

/// The channel's age from its funding block; `None` when either height is unknown.
pub fn channel_age_secs(chan_id: ChanId, block_height: Option<u32>) -> Option<u64> {
    let funded = funding_block_height(chan_id)?;
    let now = block_height?;
    Some(u64::from(now.saturating_sub(funded)) * SECONDS_PER_BLOCK)
}

/// Why flow-based judgements are unknown for a snapshot without forwarding history.
pub const FLOW_UNKNOWN_REASON: &str = "flow unknown: no forwarding history (offline analyze \
    without --fwdinghistory, or LND's ForwardingHistory failed); utilization, idleness, \
    rebalances, capacity and fee changes are not judged";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ForwardingEvent;

    #[test]
    fn a_young_channel_is_judged_over_its_age() {
        let id = 800_000u64 << 40;
        assert_eq!(channel_age_secs(id, Some(800_144)), Some(144 * 600));
        assert_eq!(channel_age_secs(id, None), None);
        assert_eq!(channel_age_secs(0, Some(800_000)), None);
        let day = 86_400u64;
        let events = [ForwardingEvent {
            timestamp_ns: (10 * day - 100) * 1_000_000_000,
            chan_id_in: 1,
            chan_id_out: id,
            amt_in_msat: 1_000_100_000,
            amt_out_msat: 1_000_000_000,
            fee_msat: 100_000,
        }];
        let flow = ForwardingFlow::from_events(&events, (10 * day) as i64, 7 * day);
        let young = FlowFacts::of(&flow, id, Some(day));
        assert_eq!(young.judged_secs, day);
        assert_eq!(young.out_sat_per_day(), 1_000_000.0);
        assert_eq!(young.earned_ppm(), 100);
        let old = FlowFacts::of(&flow, id, None);
        assert_eq!(old.judged_secs, 7 * day);
        assert!((old.daily_turnover(1_000_000) - 1.0 / 7.0).abs() < 1e-9);
    }
}
