//! The simulated node's forwarding log, answered the way LND's `ForwardingHistory` answers.
//!
//! Every settled forward of the simulation is recorded once, at the simulated clock, with a
//! nanosecond timestamp that is unique in the log (LND keys its log by timestamp and moves a
//! colliding one on by a nanosecond; so does [`ForwardingLog::record`]). A query filters by
//! time first (both ends inclusive), then skips `index_offset` events of that range and
//! returns at most `num_max_events` (100 when 0, at most [`MAX_EVENTS_PER_CALL`]), as LND does.
//!
//! At start the log holds a generated history (`super::history`) whose shape follows each
//! channel's [`FlowRole`]; live traffic follows the same roles.

use std::collections::VecDeque;

use crate::model::{ChanId, ForwardingEvent, RoutingPolicy};

/// LND answers at most this many events per call.
pub const MAX_EVENTS_PER_CALL: u32 = 50_000;

/// LND's page size when the request leaves `num_max_events` at 0.
pub const DEFAULT_EVENTS_PER_CALL: u32 = 100;

/// Most events the log keeps; the oldest go first (a long-running big simulation stays
/// bounded). Well above the generated history, so live traffic has room.
const MAX_LOG_EVENTS: usize = 1_000_000;

/// How a channel's traffic looks, fixed per channel (derived from its id, so it survives
/// reopening the log and needs no randomness).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowRole {
    /// Forwards both ways at a steady, channel-specific rate.
    Steady,
    /// Busy outbound at a high fee: its local balance drains fast.
    Sink,
    /// Mostly inbound: peers push liquidity to us through it.
    Source,
    /// Had forwards until 20 days before the simulation started, none since.
    Idle,
    /// Idle like [`FlowRole::Idle`], with a very cheap fee: nobody routes even so.
    CheapIdle,
}

impl FlowRole {
    /// The channel's role, from a hash of its short channel id.
    pub fn of(chan_id: ChanId) -> FlowRole {
        match mix(chan_id) % 100 {
            0..=14 => FlowRole::Idle,
            15..=21 => FlowRole::CheapIdle,
            22..=29 => FlowRole::Sink,
            30..=37 => FlowRole::Source,
            _ => FlowRole::Steady,
        }
    }

    /// The fee a role stands for: a sink charges at least 1,500 ppm, a cheap idle channel at
    /// most 10 ppm; other roles keep the policy they have.
    pub fn adjust_policy(self, policy: &mut RoutingPolicy) {
        match self {
            FlowRole::Sink => policy.fee_rate_ppm = policy.fee_rate_ppm.max(1_500),
            FlowRole::CheapIdle => policy.fee_rate_ppm = policy.fee_rate_ppm.min(10),
            _ => {}
        }
    }

    /// True for roles that forward nothing in current windows.
    pub fn is_idle(self) -> bool {
        matches!(self, FlowRole::Idle | FlowRole::CheapIdle)
    }

    /// Relative chance to be picked as (outgoing, incoming) channel of a forward.
    pub(super) fn weights(self, chan_id: ChanId) -> (f64, f64) {
        // 0.5 to 2.0, so steady channels differ from each other.
        let scale = 0.5 + (mix(chan_id ^ 0x5eed) % 1_000) as f64 / 666.0;
        match self {
            FlowRole::Steady => (scale, scale),
            FlowRole::Sink => (6.0, 0.2),
            FlowRole::Source => (0.2, 4.0),
            FlowRole::Idle | FlowRole::CheapIdle => (0.6, 0.6),
        }
    }
}

/// SplitMix64's finaliser: a well-spread hash of an id.
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// One forward as LND stores it: the event and the HTLC ids of both legs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ForwardRecord {
    pub event: ForwardingEvent,
    pub incoming_htlc_id: u64,
    pub outgoing_htlc_id: u64,
}

/// A `ForwardingHistory` query in LND's terms (seconds, inclusive ends; 0 end means now).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ForwardingQuery {
    pub start_time: u64,
    pub end_time: u64,
    pub index_offset: u32,
    pub num_max_events: u32,
}

/// The node's settled forwards, oldest first, timestamps strictly increasing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ForwardingLog {
    records: VecDeque<ForwardRecord>,
}

impl ForwardingLog {
    /// Appends a forward; a timestamp not after the last one's moves to just after it.
    pub fn record(&mut self, mut record: ForwardRecord) {
        if let Some(last) = self.records.back() {
            if record.event.timestamp_ns <= last.event.timestamp_ns {
                record.event.timestamp_ns = last.event.timestamp_ns + 1;
            }
        }
        self.records.push_back(record);
        if self.records.len() > MAX_LOG_EVENTS {
            self.records.pop_front();
        }
    }

    /// Drops forwards older than `oldest_ns`.
    pub fn prune_before(&mut self, oldest_ns: u64) {
        let stale = self
            .records
            .partition_point(|r| r.event.timestamp_ns < oldest_ns);
        self.records.drain(..stale);
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Every recorded forward, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &ForwardRecord> {
        self.records.iter()
    }

    /// LND's answer to `query` at `now_unix`: the events and `last_offset_index`.
    ///
    /// Without start and end LND answers the last 24 hours; an end of 0 is now.
    pub fn query(&self, query: &ForwardingQuery, now_unix: i64) -> (Vec<ForwardRecord>, u32) {
        let now = u64::try_from(now_unix).unwrap_or(0);
        let (start, end) = match (query.start_time, query.end_time) {
            (0, 0) => (now.saturating_sub(86_400), now),
            (start, 0) => (start, now),
            (start, end) => (start, end),
        };
        let (start_ns, end_ns) = (
            start.saturating_mul(1_000_000_000),
            end.saturating_mul(1_000_000_000),
        );
        let max = match query.num_max_events {
            0 => DEFAULT_EVENTS_PER_CALL,
            n => n.min(MAX_EVENTS_PER_CALL),
        } as usize;
        let first = self
            .records
            .partition_point(|r| r.event.timestamp_ns < start_ns);
        let past_end = self
            .records
            .partition_point(|r| r.event.timestamp_ns <= end_ns)
            .max(first);
        let from = (first + query.index_offset as usize).min(past_end);
        let to = (from + max).min(past_end);
        let page: Vec<ForwardRecord> = self.records.range(from..to).copied().collect();
        let returned = u32::try_from(page.len()).unwrap_or(u32::MAX);
        (page, query.index_offset.saturating_add(returned))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(ns: u64) -> ForwardRecord {
        ForwardRecord {
            event: ForwardingEvent {
                timestamp_ns: ns,
                chan_id_in: 1,
                chan_id_out: 2,
                amt_in_msat: 1_001,
                amt_out_msat: 1_000,
                fee_msat: 1,
            },
            incoming_htlc_id: 0,
            outgoing_htlc_id: 0,
        }
    }

    #[test]
    fn colliding_timestamps_stay_unique() {
        let mut log = ForwardingLog::default();
        log.record(rec(5));
        log.record(rec(5));
        log.record(rec(3));
        let ns: Vec<u64> = log.iter().map(|r| r.event.timestamp_ns).collect();
        assert_eq!(ns, vec![5, 6, 7]);
    }

    #[test]
    fn queries_filter_by_time_then_page_by_offset() {
        let mut log = ForwardingLog::default();
        for s in [9u64, 10, 10, 11, 12, 13, 20] {
            log.record(rec(s * 1_000_000_000));
        }
        // [10 s, 13 s] inclusive holds 10, 10+1ns, 11, 12, 13.
        let q = |offset, max| ForwardingQuery {
            start_time: 10,
            end_time: 13,
            index_offset: offset,
            num_max_events: max,
        };
        let (page, last) = log.query(&q(0, 2), 100);
        assert_eq!(page.len(), 2);
        assert_eq!(last, 2);
        let (page, last) = log.query(&q(2, 2), 100);
        assert_eq!(page[0].event.timestamp_ns, 11_000_000_000);
        assert_eq!(last, 4);
        let (page, last) = log.query(&q(4, 2), 100);
        assert_eq!(page.len(), 1);
        assert_eq!(page[0].event.timestamp_ns, 13_000_000_000);
        assert_eq!(last, 5);
        let (page, last) = log.query(&q(5, 2), 100);
        assert!(page.is_empty());
        assert_eq!(last, 5);
        // Default page size and the last-24-hours default.
        let (page, _) = log.query(&ForwardingQuery::default(), 20);
        assert_eq!(page.len(), 7);
        let big = ForwardingQuery {
            start_time: 1,
            num_max_events: u32::MAX,
            ..Default::default()
        };
        assert_eq!(log.query(&big, 15).0.len(), 6);
    }

    #[test]
    fn pruning_drops_only_older_events() {
        let mut log = ForwardingLog::default();
        for ns in [1u64, 2, 3, 4] {
            log.record(rec(ns));
        }
        log.prune_before(3);
        assert_eq!(log.len(), 2);
        assert_eq!(log.iter().next().map(|r| r.event.timestamp_ns), Some(3));
    }
}
