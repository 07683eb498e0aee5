//! The forwards of the long flow window, kept between cycles so each cycle asks LND only for
//! what is new.
//!
//! Invariants: events are sorted by `timestamp_ns` and no two share one (LND keys its
//! forwarding log by the nanosecond timestamp and moves a colliding event on by a
//! nanosecond, so the timestamp identifies an event). That makes overlapping fetches safe:
//! [`FlowStore::merge`] keeps an event it already has once, however often it is fetched.
//!
//! Each fetch re-reads from [`LATE_EVENT_SECS`] before the end of the previous one, because
//! LND writes forwards to its log in batches (every 15 seconds) with the time they settled:
//! an event can appear after a query whose range already covered its timestamp. Re-reading
//! that minute finds it; the timestamp check keeps the rest from counting twice.
//!
//! Memory: at most [`MAX_STORED_EVENTS`] events of 48 bytes (≈ 50 MB with the ring buffer's
//! spare capacity), whatever the node's size. A node forwarding under ~33,000 times a day
//! keeps its whole 30-day window below that; above it the oldest go first, and the
//! snapshot says how much of the window its flow covers.
//!
//! CPU: each window's per-channel sums are kept between cycles ([`RunningWindow`]), added to
//! as events arrive and taken back as the window's start passes them, so a cycle costs the
//! events that entered or left the windows, not every stored one.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crate::model::flow::{unix_to_ns, ChannelFlow, FlowWindow, LONG_FLOW_WINDOW_SECS};
use crate::model::{ChanId, ForwardingEvent, ForwardingFlow, SnapshotWarning};

/// Most events kept: 1,000,000 × 48 bytes.
pub const MAX_STORED_EVENTS: usize = 1_000_000;

/// How far before the previous fetch's end the next one starts (LND flushes forwards to its
/// log every 15 seconds; a minute leaves room for a slow flush).
pub const LATE_EVENT_SECS: u64 = 60;

const NS_PER_SEC: u64 = 1_000_000_000;

/// A store shared by the clients one daemon loop builds for its node over time, so a
/// reconnect or a reload keeps the history; only a restart of dustwatch refetches it.
pub type SharedFlowStore = Arc<Mutex<FlowStore>>;

/// Locks a shared store, recovering from poisoning (every update leaves it consistent).
pub fn lock(store: &SharedFlowStore) -> MutexGuard<'_, FlowStore> {
    store
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The forwards of one node over the long window.
#[derive(Debug, Clone, Default)]
pub struct FlowStore {
    events: VecDeque<ForwardingEvent>,
    window_secs: u64,
    /// The node the events belong to (its identity pubkey); another node starts afresh.
    node: String,
    /// End (unix seconds, inclusive) of the last fetch that completed; `None` before one.
    fetched_through: Option<u64>,
    /// Newest timestamp dropped to stay within [`MAX_STORED_EVENTS`], if any.
    dropped_through_ns: Option<u64>,
    /// The analysis and long windows' sums as of the last [`FlowStore::flow`]; `None` before.
    running: Option<[RunningWindow; 2]>,
}

/// Per-channel sums of the stored events with a timestamp in `[start_ns, end_ns)`: always
/// equal to [`FlowWindow::aggregate`] over the same range (a test checks it).
#[derive(Debug, Clone, Default)]
struct RunningWindow {
    start_ns: u64,
    end_ns: u64,
    /// Only channels with a forward in the range.
    channels: BTreeMap<ChanId, ChannelFlow>,
}

impl RunningWindow {
    fn contains(&self, event: &ForwardingEvent) -> bool {
        (self.start_ns..self.end_ns).contains(&event.timestamp_ns)
    }

    /// Counts an event that joined the store, if it falls in the range.
    fn enter(&mut self, event: &ForwardingEvent) {
        if self.contains(event) {
            self.add(event);
        }
    }

    /// Takes back an event that left the store, if it fell in the range.
    fn leave(&mut self, event: &ForwardingEvent) {
        if self.contains(event) {
            self.remove(event);
        }
    }

    fn add(&mut self, event: &ForwardingEvent) {
        self.channels
            .entry(event.chan_id_out)
            .or_default()
            .add_out(event);
        self.channels
            .entry(event.chan_id_in)
            .or_default()
            .add_in(event);
    }

    fn remove(&mut self, event: &ForwardingEvent) {
        if let Some(flow) = self.channels.get_mut(&event.chan_id_out) {
            flow.remove_out(event);
            if flow.is_idle() {
                self.channels.remove(&event.chan_id_out);
            }
        }
        if let Some(flow) = self.channels.get_mut(&event.chan_id_in) {
            flow.remove_in(event);
            if flow.is_idle() {
                self.channels.remove(&event.chan_id_in);
            }
        }
    }

    /// Moves the range forward to `[start_ns, end_ns)` over the store's `events` (sorted by
    /// timestamp): only the events that leave or enter it are counted. `false`, with nothing
    /// changed, when either end would move back (a clock step back): count afresh then.
    fn advance(&mut self, events: &VecDeque<ForwardingEvent>, start_ns: u64, end_ns: u64) -> bool {
        if start_ns < self.start_ns || end_ns < self.end_ns {
            return false;
        }
        let at = |ns: u64| events.partition_point(|e| e.timestamp_ns < ns);
        for event in events.range(at(self.start_ns)..at(start_ns.min(self.end_ns))) {
            self.remove(event);
        }
        for event in events.range(at(self.end_ns.max(start_ns))..at(end_ns)) {
            self.add(event);
        }
        self.start_ns = start_ns;
        self.end_ns = end_ns;
        true
    }

    fn window(&self, start_unix: i64, end_unix: i64) -> FlowWindow {
        FlowWindow {
            start_unix,
            end_unix,
            channels: self
                .channels
                .iter()
                .map(|(id, flow)| (*id, *flow))
                .collect(),
        }
    }
}

/// How much of the windows the stored events cover.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Coverage {
    /// Every forward of both windows is stored.
    Complete,
    /// The memory bound dropped forwards after the long window's start; events from
    /// `since_unix` on are complete (the analysis window among them).
    LongWindowFrom { since_unix: i64 },
    /// The memory bound dropped forwards inside the analysis window: flow is unknown.
    Incomplete { since_unix: i64 },
}

impl FlowStore {
    /// An empty store for `analysis.flow_window`; it keeps `max(flow_window, 30 days)`.
    pub fn new(flow_window: Duration) -> Self {
        FlowStore {
            window_secs: flow_window.as_secs(),
            ..FlowStore::default()
        }
    }

    /// A new empty store to share between a node's clients.
    pub fn shared(flow_window: Duration) -> SharedFlowStore {
        Arc::new(Mutex::new(FlowStore::new(flow_window)))
    }

    /// Follows a changed `analysis.flow_window`; a longer long window is refetched.
    pub fn set_window(&mut self, flow_window: Duration) {
        let before = self.long_window_secs();
        self.window_secs = flow_window.as_secs();
        if self.long_window_secs() > before {
            self.fetched_through = None;
        }
    }

    /// Seconds of history kept: the long window.
    pub fn long_window_secs(&self) -> u64 {
        self.window_secs.max(LONG_FLOW_WINDOW_SECS)
    }

    pub fn len(&self) -> usize {
        self.events.len()
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// Forgets everything when the node is not the one the events came from.
    pub fn bind_to_node(&mut self, identity_pubkey: &str) {
        if self.node != identity_pubkey {
            *self = FlowStore {
                node: identity_pubkey.to_string(),
                ..FlowStore::new(Duration::from_secs(self.window_secs))
            };
        }
    }

    /// The `start_time` (unix seconds) of the next fetch ending at `now_unix`: the long
    /// window's start on the first fetch, else [`LATE_EVENT_SECS`] before the last fetch's end.
    pub fn next_start(&self, now_unix: i64) -> u64 {
        let window_start = now_unix_secs(now_unix).saturating_sub(self.long_window_secs());
        match self.fetched_through {
            Some(end) => end.saturating_sub(LATE_EVENT_SECS).max(window_start),
            None => window_start,
        }
    }

    /// Adds fetched events (in LND's order, oldest first, or any order); an event already
    /// stored (same timestamp) is skipped.
    pub fn merge(&mut self, fetched: impl IntoIterator<Item = ForwardingEvent>) {
        for event in fetched {
            let ts = event.timestamp_ns;
            match self.events.back() {
                Some(last) if ts <= last.timestamp_ns => {
                    let at = self.events.partition_point(|e| e.timestamp_ns < ts);
                    if self.events.get(at).map(|e| e.timestamp_ns) == Some(ts) {
                        continue;
                    }
                    self.events.insert(at, event);
                }
                _ => self.events.push_back(event),
            }
            for window in self.running.iter_mut().flatten() {
                window.enter(&event);
            }
            if self.events.len() > MAX_STORED_EVENTS {
                if let Some(oldest) = self.events.pop_front() {
                    self.dropped_through_ns = Some(oldest.timestamp_ns);
                    for window in self.running.iter_mut().flatten() {
                        window.leave(&oldest);
                    }
                }
            }
        }
    }

    /// Records that every event up to `end_unix` (inclusive) has been fetched.
    pub fn mark_fetched_through(&mut self, end_unix: u64) {
        self.fetched_through = Some(end_unix);
    }

    /// Drops events older than the long window ending at `now_unix`.
    pub fn prune(&mut self, now_unix: i64) {
        let start_ns = now_unix_secs(now_unix)
            .saturating_sub(self.long_window_secs())
            .saturating_mul(NS_PER_SEC);
        let stale = self.events.partition_point(|e| e.timestamp_ns < start_ns);
        for event in self.events.drain(..stale) {
            for window in self.running.iter_mut().flatten() {
                window.leave(&event);
            }
        }
        if self.dropped_through_ns.is_some_and(|ns| ns < start_ns) {
            self.dropped_through_ns = None;
        }
    }

    /// How much of the windows ending at `now_unix` the stored events cover.
    pub fn coverage(&self, now_unix: i64) -> Coverage {
        let Some(dropped_ns) = self.dropped_through_ns else {
            return Coverage::Complete;
        };
        let since_unix = i64::try_from(dropped_ns / NS_PER_SEC + 1).unwrap_or(i64::MAX);
        let window_start =
            now_unix.saturating_sub(i64::try_from(self.window_secs).unwrap_or(i64::MAX));
        if since_unix > window_start {
            Coverage::Incomplete { since_unix }
        } else {
            Coverage::LongWindowFrom { since_unix }
        }
    }

    /// Both flow windows ending at `now_unix`, from the stored events: the same as
    /// [`ForwardingFlow::from_events`] over them, from the running sums.
    pub fn flow(&mut self, now_unix: i64) -> ForwardingFlow {
        let start = |secs: u64| now_unix.saturating_sub(i64::try_from(secs).unwrap_or(i64::MAX));
        let starts = [start(self.window_secs), start(self.long_window_secs())];
        let end_ns = unix_to_ns(now_unix);
        let running = self.running.get_or_insert_with(Default::default);
        for (window, start_unix) in running.iter_mut().zip(starts) {
            let start_ns = unix_to_ns(start_unix);
            if !window.advance(&self.events, start_ns, end_ns) {
                *window = RunningWindow::default();
                window.advance(&self.events, start_ns, end_ns);
            }
        }
        ForwardingFlow {
            window: running[0].window(starts[0], now_unix),
            long_window: running[1].window(starts[1], now_unix),
        }
    }

    /// The snapshot's flow ending at `now_unix`, with a warning when the memory bound cut the
    /// history: flow is unknown if it cut into the analysis window, else the long window is
    /// shorter than it says.
    pub fn snapshot_flow(
        &mut self,
        now_unix: i64,
    ) -> (Option<ForwardingFlow>, Option<SnapshotWarning>) {
        let note = |message: String| {
            Some(SnapshotWarning {
                chan_id: None,
                message,
            })
        };
        match self.coverage(now_unix) {
            Coverage::Complete => (Some(self.flow(now_unix)), None),
            Coverage::LongWindowFrom { since_unix } => (
                Some(self.flow(now_unix)),
                note(format!(
                    "forwarding flow: the long window covers only forwards since unix \
                     {since_unix} (more than {MAX_STORED_EVENTS} forwards; the oldest were dropped)"
                )),
            ),
            Coverage::Incomplete { since_unix } => (
                None,
                note(format!(
                    "forwarding flow unknown: more than {MAX_STORED_EVENTS} forwards since unix \
                     {since_unix}, the analysis window does not fit in memory"
                )),
            ),
        }
    }

    /// The stored events, oldest first.
    pub fn events(&self) -> impl Iterator<Item = &ForwardingEvent> {
        self.events.iter()
    }
}

fn now_unix_secs(now_unix: i64) -> u64 {
    u64::try_from(now_unix).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: u64 = 86_400;

    fn fwd(ns: u64, chan_out: u64) -> ForwardingEvent {
        ForwardingEvent {
            timestamp_ns: ns,
            chan_id_in: 1,
            chan_id_out: chan_out,
            amt_in_msat: 1_010,
            amt_out_msat: 1_000,
            fee_msat: 10,
        }
    }

    #[test]
    fn overlapping_fetches_count_each_event_once_and_late_ones_are_found() {
        let now = 100 * DAY as i64;
        let mut store = FlowStore::new(Duration::from_secs(7 * DAY));
        assert_eq!(store.next_start(now), 70 * DAY);
        let second = (now as u64 - 10) * NS_PER_SEC;
        // Two events in the same second, the fetch ends at `now`.
        store.merge([fwd(second, 2), fwd(second + 1, 2)]);
        store.mark_fetched_through(now as u64);
        // The next fetch re-reads the last minute: it gets both again, one event LND wrote
        // late (settled before the previous fetch's end) and one new one.
        assert_eq!(store.next_start(now + 300), now as u64 - LATE_EVENT_SECS);
        let late = (now as u64 - 5) * NS_PER_SEC;
        let new = (now as u64 + 100) * NS_PER_SEC;
        store.merge([
            fwd(second, 2),
            fwd(second + 1, 2),
            fwd(late, 2),
            fwd(new, 2),
        ]);
        assert_eq!(store.len(), 4);
        let ns: Vec<u64> = store.events().map(|e| e.timestamp_ns).collect();
        assert_eq!(ns, vec![second, second + 1, late, new]);
        let flow = store.flow(now + 300);
        assert_eq!(flow.window.of(2).forwards_out, 4);
    }

    #[test]
    fn running_sums_equal_a_fresh_aggregation_after_arrivals_and_expiries() {
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = |n: u64| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            (state >> 33) % n
        };
        let mut store = FlowStore::new(Duration::from_secs(7 * DAY));
        let mut now = 100 * DAY;
        let mut compared = 0;
        for step in 0..400 {
            // Arrivals: new forwards, late ones inside the last minute and re-fetched ones.
            let arrivals: Vec<ForwardingEvent> = (0..next(30))
                .map(|_| {
                    let ns = (now - next(3 * DAY)) * NS_PER_SEC + next(NS_PER_SEC);
                    ForwardingEvent {
                        chan_id_in: 1 + next(8),
                        ..fwd(ns, 1 + next(8))
                    }
                })
                .collect();
            store.merge(arrivals.iter().copied());
            store.merge(arrivals.into_iter().take(3));
            // Expiries: the windows' starts move, by minutes or by more than a window.
            now += if step % 50 == 49 {
                8 * DAY
            } else {
                60 * (1 + next(600))
            };
            if step % 7 == 0 {
                store.prune(now as i64);
            }
            if step == 200 {
                store.set_window(Duration::from_secs(2 * DAY));
            }
            // A clock step back now and then.
            let at = if step % 37 == 36 { now - DAY } else { now } as i64;
            let events: Vec<ForwardingEvent> = store.events().copied().collect();
            let fresh = ForwardingFlow::from_events(&events, at, store.window_secs);
            assert_eq!(store.flow(at), fresh, "step {step}");
            compared += usize::from(!fresh.window.channels.is_empty());
        }
        assert!(compared > 300, "{compared} steps compared any flow");
    }

    #[test]
    fn prune_keeps_only_the_long_window() {
        let now = 100 * DAY as i64;
        let mut store = FlowStore::new(Duration::from_secs(7 * DAY));
        let start = 70 * DAY;
        store.merge([
            fwd((start - 1) * NS_PER_SEC, 2),
            fwd(start * NS_PER_SEC, 2),
            fwd((start + 1) * NS_PER_SEC, 3),
        ]);
        store.prune(now);
        assert_eq!(store.len(), 2);
        assert_eq!(store.coverage(now), Coverage::Complete);
    }

    #[test]
    fn another_node_starts_afresh() {
        let mut store = FlowStore::new(Duration::from_secs(7 * DAY));
        store.bind_to_node("02aa");
        store.merge([fwd(5, 2)]);
        store.mark_fetched_through(10);
        store.bind_to_node("02aa");
        assert_eq!(store.len(), 1);
        store.bind_to_node("03bb");
        assert!(store.is_empty());
        assert_eq!(store.next_start(40 * DAY as i64), 10 * DAY);
    }

    #[test]
    fn the_memory_bound_drops_the_oldest_and_says_so() {
        let now = 100 * DAY as i64;
        let mut store = FlowStore::new(Duration::from_secs(7 * DAY));
        let start = (now as u64 - 30 * DAY) * NS_PER_SEC;
        store.merge((0..MAX_STORED_EVENTS as u64 + 3).map(|i| fwd(start + i, 2)));
        assert_eq!(store.len(), MAX_STORED_EVENTS);
        assert_eq!(
            store.coverage(now),
            Coverage::LongWindowFrom {
                since_unix: now - 30 * DAY as i64 + 1
            }
        );
        let (flow, note) = store.snapshot_flow(now);
        assert!(flow.is_some(), "the analysis window is whole");
        assert!(note.is_some_and(|n| n.message.contains("long window")));
        // Dropping inside the analysis window makes the flow unknown.
        let recent = (now as u64 - DAY) * NS_PER_SEC;
        store.merge((0..MAX_STORED_EVENTS as u64 + 5).map(|i| fwd(recent + i, 2)));
        assert!(matches!(store.coverage(now), Coverage::Incomplete { .. }));
        let (flow, note) = store.snapshot_flow(now);
        assert_eq!(flow, None);
        assert!(
            note.is_some_and(|n| n.message.contains("unknown")),
            "says why"
        );
    }
}
