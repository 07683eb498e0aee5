//! What the simulated node is at one instant: its channels, pending channels, wallet and the
//! facts GetInfo reports.
//!
//! Open channels are kept as the domain [`Channel`] (the same type the analyzer reads), so the
//! dust engine can check them and the gRPC layer only has to translate them to the wire. The
//! simulator's accounting keeps every channel consistent (see [`super::accounting`]).

use std::collections::{BTreeMap, HashSet};

use super::forwards::ForwardingLog;
use crate::model::{ChanId, Channel, CommitmentType, Htlc, Initiator, WalletBalance};

/// Everything the simulated node knows about itself.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeState {
    pub identity_pubkey: String,
    pub alias: String,
    pub color: String,
    pub version: String,
    pub commit_hash: String,
    pub block_height: u32,
    pub block_hash: String,
    /// The simulated wall clock (unix seconds); advances with every tick.
    pub now_unix: i64,
    /// When the simulated LND last (re)started: channel `lifetime` counts from here.
    pub started_unix: i64,
    /// The node's fee estimate for commitment transactions (sat/kw); channels follow it.
    pub fee_estimate_per_kw: u64,
    /// The level the fee estimate drifts around.
    pub usual_fee_estimate_per_kw: u64,
    /// Open channels, sorted by `chan_id`.
    pub channels: Vec<Channel>,
    pub pending: Vec<PendingChannel>,
    pub wallet: WalletBalance,
    /// Routing fees earned per hour: (start of the hour, unix seconds; msat), oldest first,
    /// kept for a month (FeeReport's day/week/month sums).
    pub fee_log: Vec<(i64, u64)>,
    /// Every settled forward (ForwardingHistory), kept as long as LND's log matters here.
    pub forwards: ForwardingLog,
    /// The config map GetDebugInfo answers with (LND's long flag names).
    pub config: BTreeMap<String, String>,
}

/// Where a not-yet-open or no-longer-open channel is in its life.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PendingStage {
    /// Funding transaction broadcast, waiting for confirmations.
    Opening { confirmations_left: u32 },
    /// Close transaction broadcast, waiting for it to confirm.
    WaitingClose {
        closing_txid: String,
        close_type: CloseType,
        confirmations_left: u32,
    },
    /// Our commitment confirmed; our output is time-locked until `maturity_height`.
    ForceClosing {
        closing_txid: String,
        close_height: u32,
        maturity_height: u32,
    },
}

/// How a channel was closed (the subset of LND's `ChannelCloseSummary.ClosureType` we produce).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseType {
    Cooperative,
    LocalForce,
    RemoteForce,
}

/// A channel in PendingChannels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingChannel {
    pub stage: PendingStage,
    /// 0 while opening (no short channel id yet).
    pub chan_id: ChanId,
    pub channel_point: String,
    pub remote_pubkey: String,
    pub capacity_sat: u64,
    pub local_balance_sat: u64,
    pub remote_balance_sat: u64,
    pub local_chan_reserve_sat: u64,
    pub remote_chan_reserve_sat: u64,
    pub initiator: Initiator,
    pub commitment_type: CommitmentType,
    pub private: bool,
    pub commit_fee_sat: u64,
    pub commit_weight: u64,
    pub fee_per_kw: u64,
    /// Funds not yet back in the wallet (closing channels).
    pub limbo_balance_sat: u64,
    /// HTLCs still to be resolved on chain (force closes).
    pub pending_htlcs: Vec<Htlc>,
}

/// Something SubscribeChannelEvents tells its subscribers (LND's `ChannelEventUpdate` kinds).
#[derive(Debug, Clone, PartialEq)]
pub enum ChannelEvent {
    PendingOpen { channel_point: String },
    Open(Box<Channel>),
    Active { channel_point: String },
    Inactive { channel_point: String },
    Closed(Box<CloseSummary>),
    FullyResolved { channel_point: String },
}

/// A closed channel as LND's `ChannelCloseSummary` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseSummary {
    pub channel_point: String,
    pub chan_id: ChanId,
    pub closing_txid: String,
    pub remote_pubkey: String,
    pub capacity_sat: u64,
    pub close_height: u32,
    pub settled_balance_sat: u64,
    pub time_locked_balance_sat: u64,
    pub close_type: CloseType,
    pub open_initiator: Initiator,
    pub close_initiator: Initiator,
}

impl NodeState {
    pub fn num_active_channels(&self) -> usize {
        self.channels.iter().filter(|c| c.active).count()
    }

    pub fn num_inactive_channels(&self) -> usize {
        self.channels.len() - self.num_active_channels()
    }

    pub fn num_pending_open(&self) -> usize {
        self.pending
            .iter()
            .filter(|p| matches!(p.stage, PendingStage::Opening { .. }))
            .count()
    }

    /// Peers we are connected to: the distinct peers of active channels and pending opens.
    ///
    /// A hash set: GetInfo counts them on every call, and sorting 10,000 pubkeys (as an
    /// ordered set does) compared each one ~14 times.
    pub fn num_peers(&self) -> usize {
        let mut peers: HashSet<&str> = HashSet::with_capacity(self.channels.len());
        peers.extend(
            self.channels
                .iter()
                .filter(|c| c.active)
                .map(|c| &*c.remote_pubkey),
        );
        peers.extend(
            self.pending
                .iter()
                .filter(|p| matches!(p.stage, PendingStage::Opening { .. }))
                .map(|p| p.remote_pubkey.as_str()),
        );
        peers.len()
    }

    pub fn channel(&self, chan_id: ChanId) -> Option<&Channel> {
        self.channels
            .binary_search_by_key(&chan_id, |c| c.chan_id)
            .ok()
            .map(|i| &self.channels[i])
    }

    pub fn channel_by_point(&self, channel_point: &str) -> Option<&Channel> {
        self.channels
            .iter()
            .find(|c| &*c.channel_point == channel_point)
    }

    /// Records a routing fee earned now.
    pub fn record_fee(&mut self, msat: u64) {
        let hour = self.now_unix - self.now_unix.rem_euclid(3_600);
        match self.fee_log.last_mut() {
            Some((start, total)) if *start == hour => *total += msat,
            _ => self.fee_log.push((hour, msat)),
        }
    }

    /// Routing fees earned (sat, rounded down) in the `window_secs` before now, counted in
    /// whole hours (the current hour included).
    pub fn fees_earned_sat(&self, window_secs: i64) -> u64 {
        let since = self.now_unix - window_secs;
        let msat: u64 = self
            .fee_log
            .iter()
            .filter(|(at, _)| *at > since)
            .map(|(_, msat)| *msat)
            .sum();
        msat / 1000
    }

    /// Funds in closing channels that are not back in the wallet yet.
    pub fn total_limbo_sat(&self) -> u64 {
        self.pending.iter().map(|p| p.limbo_balance_sat).sum()
    }
}
