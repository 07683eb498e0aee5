//! Domain model: what dustwatch knows about a node at one instant.
//!
//! These types are the only input of the analyzer. They carry no protobuf types (the gRPC
//! edge converts in `lnd::convert`, the offline path in `snapshot::lncli`), so the pure core
//! does not change when LND's wire format does.
//!
//! Invariants every producer of a [`NodeSnapshot`] keeps:
//! * amounts are non-negative integers in the unit their suffix names (`_sat`, `_msat`);
//!   a value LND reports as negative is clamped to 0 and recorded as a [`SnapshotWarning`];
//! * a channel that cannot be read is left out *and* named in `warnings`; it never takes
//!   the rest of the snapshot down with it;
//! * `channels` are sorted by `chan_id`, so everything derived from them is deterministic.

use serde::{Deserialize, Serialize};

/// Channel id as LND prints it: the short channel id packed into a uint64
/// (block height << 40 | tx index << 16 | output index).
pub type ChanId = u64;

/// The commitment format of a channel, as LND's `CommitmentType` enum names it.
///
/// It decides the HTLC second-level fees (zero for anchor and taproot types), the
/// commitment base weight and whether two 330 sat anchor outputs exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CommitmentType {
    /// Pre-`option_static_remotekey` channels. LND reports a missing `commitment_type` as this.
    Legacy,
    StaticRemoteKey,
    /// Anchor outputs with zero-fee HTLC transactions.
    Anchors,
    /// Anchors plus a CLTV lease on the initiator's outputs (Pool leases).
    ScriptEnforcedLease,
    /// Simple taproot channels (staging feature bits).
    SimpleTaproot,
    /// Taproot channels carrying custom (overlay) channel data, e.g. Taproot Assets.
    SimpleTaprootOverlay,
    /// Taproot channels on the final feature bits (`TAPROOT` is an alias LND prints too).
    #[serde(alias = "TAPROOT")]
    SimpleTaprootFinal,
    /// A value this version of dustwatch does not know (a newer LND). Analysed as anchors,
    /// with a warning, because every commitment type LND added after anchors has anchors.
    Unknown,
}

impl CommitmentType {
    /// True for every format with two 330 sat anchor outputs and zero-fee HTLC transactions.
    pub fn has_anchors(self) -> bool {
        !matches!(
            self,
            CommitmentType::Legacy | CommitmentType::StaticRemoteKey
        )
    }
}

/// Who opened (funded) the channel: the initiator pays the commitment fee and the anchors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Initiator {
    Local,
    Remote,
    /// Old `lncli` output without an `initiator` field.
    Unknown,
}

/// One side's channel constraints (LND's `ChannelConstraints`).
///
/// `local_constraints` are the values that bind **our** commitment transaction (our dust limit
/// trims outputs on our commitment); `remote_constraints` bind the peer's commitment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Constraints {
    /// Blocks the owner of this commitment must wait before spending its `to_local` output.
    pub csv_delay: u32,
    pub chan_reserve_sat: u64,
    /// Outputs below this value are trimmed from this side's commitment (BOLT 3).
    pub dust_limit_sat: u64,
    pub max_pending_amt_msat: u64,
    pub min_htlc_msat: u64,
    pub max_accepted_htlcs: u32,
}

/// A pending HTLC on a channel (LND's `HTLC` in `Channel.pending_htlcs`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Htlc {
    /// True when the peer offered it to us (we receive it); false when we offered it.
    pub incoming: bool,
    pub amount_sat: u64,
    /// Hex of the payment hash.
    pub hash_lock: String,
    pub expiration_height: u32,
    pub htlc_index: u64,
    pub forwarding_channel: u64,
    pub forwarding_htlc_index: u64,
    pub locked_in: bool,
}

/// A routing policy as far as dustwatch uses it: what a forward through the channel costs
/// and which HTLC sizes it accepts. Ours comes from FeeReport/GetChanInfo, the peer's from GetChanInfo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RoutingPolicy {
    pub fee_base_msat: i64,
    /// Proportional fee in parts per million.
    pub fee_rate_ppm: i64,
    pub inbound_fee_base_msat: i32,
    pub inbound_fee_rate_ppm: i32,
    /// `None` when only FeeReport was available (it does not report HTLC limits).
    pub min_htlc_msat: Option<u64>,
    pub max_htlc_msat: Option<u64>,
    pub time_lock_delta: Option<u32>,
    pub disabled: bool,
}

/// An open channel with everything the dust engine and the analyzer read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Channel {
    pub chan_id: ChanId,
    pub channel_point: String,
    pub remote_pubkey: String,
    pub peer_alias: String,
    pub active: bool,
    pub private: bool,
    pub initiator: Initiator,
    pub commitment_type: CommitmentType,
    pub capacity_sat: u64,
    /// Our balance on our commitment, already net of the commit fee and anchors when we initiated.
    pub local_balance_sat: u64,
    pub remote_balance_sat: u64,
    /// capacity − Σ outputs of our current commitment (LND's `commit_fee`).
    pub commit_fee_sat: u64,
    pub commit_weight: u64,
    /// Feerate of our commitment in sat per 1000 weight units.
    pub fee_per_kw: u64,
    pub unsettled_balance_sat: u64,
    pub total_satoshis_sent: u64,
    pub total_satoshis_received: u64,
    pub num_updates: u64,
    /// Seconds LND has been monitoring the channel (since its last restart), and how long the
    /// peer was online in that time.
    pub lifetime_secs: u64,
    pub uptime_secs: u64,
    pub local_chan_reserve_sat: u64,
    pub remote_chan_reserve_sat: u64,
    pub push_amount_sat: u64,
    /// `None` when the source (old `lncli` output) did not report constraints.
    pub local_constraints: Option<Constraints>,
    pub remote_constraints: Option<Constraints>,
    pub pending_htlcs: Vec<Htlc>,
    /// Our routing policy for forwards out of this channel.
    pub local_policy: Option<RoutingPolicy>,
    /// The peer's routing policy for forwards towards us.
    pub remote_policy: Option<RoutingPolicy>,
}

/// A channel that is not open yet or no longer open (LND's `PendingChannels`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingChannel {
    pub kind: PendingKind,
    pub channel_point: String,
    pub remote_pubkey: String,
    pub capacity_sat: u64,
    pub local_balance_sat: u64,
    /// Funds not yet back in the wallet (force closes).
    pub limbo_balance_sat: u64,
    /// Blocks until the time-locked output can be swept (force closes); may be negative in LND.
    pub blocks_til_maturity: Option<i32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PendingKind {
    Opening,
    WaitingClose,
    ForceClosing,
}

/// On-chain wallet balances (LND's `WalletBalance`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct WalletBalance {
    pub confirmed_sat: u64,
    pub unconfirmed_sat: u64,
    pub locked_sat: u64,
    /// What LND keeps aside to fee-bump anchor channels' force closes.
    pub reserved_balance_anchor_chan_sat: u64,
}

/// The node-level facts from GetInfo.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct NodeInfo {
    pub identity_pubkey: String,
    pub alias: String,
    pub version: String,
    /// `None` when unknown (offline analysis without `getinfo` JSON): expiry fields say unknown.
    pub block_height: Option<u32>,
    pub synced_to_chain: bool,
    pub network: String,
}

/// Where the node's fee-exposure limit came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExposureLimitSource {
    /// `channel-max-fee-exposure` from LND's GetDebugInfo config map (LND ≥ 0.18).
    LndChannelMaxFeeExposure,
    /// `dust-threshold` from LND's GetDebugInfo config map (older LND).
    LndDustThreshold,
    /// `analysis.max_fee_exposure_sat` from dustwatch's own config.
    Configured,
}

/// A fee-exposure limit read from the node itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeExposureLimit {
    pub sat: u64,
    pub source: ExposureLimitSource,
}

/// Something odd in what the node (or a file) said, kept next to the data instead of failing.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SnapshotWarning {
    /// The channel concerned, if the warning is about one.
    pub chan_id: Option<ChanId>,
    pub message: String,
}

/// Where a snapshot was read from; recorded in the plan's `source`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotSource {
    /// `lnd_grpc`, `lncli_json` or `simulator`.
    pub kind: String,
    /// Host:port for gRPC, file names for lncli JSON.
    pub detail: String,
}

/// Everything dustwatch knows about one node at one instant: the analyzer's whole input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeSnapshot {
    /// Unix seconds (UTC) when the snapshot was taken; the analyzer never reads the clock.
    pub taken_at_unix: i64,
    pub source: SnapshotSource,
    pub node: NodeInfo,
    /// Open channels, sorted by `chan_id`.
    pub channels: Vec<Channel>,
    pub pending_channels: Vec<PendingChannel>,
    pub wallet: Option<WalletBalance>,
    /// The node's own fee-exposure limit when LND reported it (GetDebugInfo).
    pub node_exposure_limit: Option<NodeExposureLimit>,
    pub warnings: Vec<SnapshotWarning>,
}

impl NodeSnapshot {
    /// An empty snapshot of a node; producers fill it in and call [`NodeSnapshot::normalize`].
    pub fn empty(taken_at_unix: i64, source: SnapshotSource) -> Self {
        NodeSnapshot {
            taken_at_unix,
            source,
            node: NodeInfo::default(),
            channels: Vec::new(),
            pending_channels: Vec::new(),
            wallet: None,
            node_exposure_limit: None,
            warnings: Vec::new(),
        }
    }

    /// Restores the ordering invariants (channels by id, HTLCs by index, warnings sorted)
    /// so that analysis output does not depend on the order LND answered in.
    pub fn normalize(&mut self) {
        self.channels.sort_by_key(|c| c.chan_id);
        for channel in &mut self.channels {
            channel
                .pending_htlcs
                .sort_by_key(|h| (h.htlc_index, h.incoming));
        }
        self.pending_channels
            .sort_by(|a, b| a.channel_point.cmp(&b.channel_point));
        self.warnings.sort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchors_follow_commitment_type() {
        assert!(!CommitmentType::Legacy.has_anchors());
        assert!(!CommitmentType::StaticRemoteKey.has_anchors());
        assert!(CommitmentType::Anchors.has_anchors());
        assert!(CommitmentType::SimpleTaprootFinal.has_anchors());
    }

    #[test]
    fn taproot_alias_deserializes() {
        let t: CommitmentType = serde_json::from_str("\"TAPROOT\"").unwrap();
        assert_eq!(t, CommitmentType::SimpleTaprootFinal);
        let t: CommitmentType = serde_json::from_str("\"STATIC_REMOTE_KEY\"").unwrap();
        assert_eq!(t, CommitmentType::StaticRemoteKey);
    }

    #[test]
    fn normalize_sorts_channels_and_htlcs() {
        let mut snap = NodeSnapshot::empty(
            0,
            SnapshotSource {
                kind: "test".into(),
                detail: String::new(),
            },
        );
        let htlc = |i| Htlc {
            incoming: false,
            amount_sat: 1,
            hash_lock: String::new(),
            expiration_height: 0,
            htlc_index: i,
            forwarding_channel: 0,
            forwarding_htlc_index: 0,
            locked_in: true,
        };
        let chan = |id, htlcs| Channel {
            chan_id: id,
            channel_point: String::new(),
            remote_pubkey: String::new(),
            peer_alias: String::new(),
            active: true,
            private: false,
            initiator: Initiator::Local,
            commitment_type: CommitmentType::Anchors,
            capacity_sat: 0,
            local_balance_sat: 0,
            remote_balance_sat: 0,
            commit_fee_sat: 0,
            commit_weight: 0,
            fee_per_kw: 0,
            unsettled_balance_sat: 0,
            total_satoshis_sent: 0,
            total_satoshis_received: 0,
            num_updates: 0,
            lifetime_secs: 0,
            uptime_secs: 0,
            local_chan_reserve_sat: 0,
            remote_chan_reserve_sat: 0,
            push_amount_sat: 0,
            local_constraints: None,
            remote_constraints: None,
            pending_htlcs: htlcs,
            local_policy: None,
            remote_policy: None,
        };
        snap.channels = vec![chan(9, vec![htlc(3), htlc(1)]), chan(2, vec![])];
        snap.normalize();
        assert_eq!(snap.channels[0].chan_id, 2);
        let idx: Vec<u64> = snap.channels[1]
            .pending_htlcs
            .iter()
            .map(|h| h.htlc_index)
            .collect();
        assert_eq!(idx, vec![1, 3]);
    }
}
