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
//!
//! [`flow`] holds forwarding flow per channel over a window.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub mod flow;
pub mod link_failures;

pub use flow::{funding_block_height, ChannelFlow, FlowWindow, ForwardingEvent, ForwardingFlow};

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

/// The payment hash an HTLC is locked to (LND's `hash_lock`, a SHA-256: always 32 bytes).
///
/// Held as bytes, not hex text, so an HTLC owns no heap memory: a busy node's snapshot has
/// 100,000s of them, and nothing in the analyzer reads the hash. It prints (`Display`,
/// `Debug`, serde) as 64 lowercase hex digits, the way `lncli` prints it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PaymentHash(pub [u8; PaymentHash::LEN]);

impl PaymentHash {
    /// Length of a payment hash in bytes.
    pub const LEN: usize = 32;

    /// The hash in `bytes`, or `None` unless there are exactly [`PaymentHash::LEN`] of them.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        <[u8; Self::LEN]>::try_from(bytes).ok().map(PaymentHash)
    }

    /// Parses exactly 64 hex digits (either case); `None` for anything else.
    ///
    /// A table lookup per digit with one validity check at the end: a busy node's `lncli`
    /// file has 100,000s of hashes, and a branch per digit showed in its profile.
    pub fn from_hex(text: &str) -> Option<Self> {
        let digits = text.as_bytes();
        if digits.len() != 2 * Self::LEN {
            return None;
        }
        let mut out = [0u8; Self::LEN];
        let mut invalid = 0u8;
        for (byte, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
            let (high, low) = (
                HEX_VALUE[usize::from(pair[0])],
                HEX_VALUE[usize::from(pair[1])],
            );
            invalid |= high | low;
            *byte = (high << 4) | (low & 0x0f);
        }
        (invalid & NOT_HEX == 0).then_some(PaymentHash(out))
    }

    /// The 32 bytes, in the order LND sends them.
    pub fn as_bytes(&self) -> &[u8; Self::LEN] {
        &self.0
    }

    /// The 64 lowercase hex digits, as ASCII.
    fn hex_digits(&self) -> [u8; 2 * Self::LEN] {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut text = [0u8; 2 * Self::LEN];
        for (pair, &b) in text.chunks_exact_mut(2).zip(&self.0) {
            pair[0] = DIGITS[usize::from(b >> 4)];
            pair[1] = DIGITS[usize::from(b & 0x0f)];
        }
        text
    }
}

/// Marks a byte of [`HEX_VALUE`] that is not a hex digit (digits' values fit in the low nibble).
const NOT_HEX: u8 = 0x10;

/// The value of each ASCII hex digit (either case), [`NOT_HEX`] for every other byte.
const HEX_VALUE: [u8; 256] = {
    let mut table = [NOT_HEX; 256];
    let mut i = 0;
    while i < 10 {
        table[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        table[b'a' as usize + i] = 10 + i as u8;
        table[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    table
};

impl fmt::Display for PaymentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Only ASCII hex digits were written, so this never fails.
        f.write_str(std::str::from_utf8(&self.hex_digits()).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for PaymentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PaymentHash({self})")
    }
}

impl Serialize for PaymentHash {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // The digits as one string, not through `Display`'s formatter: plans list 10,000s.
        let digits = self.hex_digits();
        // Only ASCII hex digits were written, so this never fails.
        let text = std::str::from_utf8(&digits).map_err(serde::ser::Error::custom)?;
        s.serialize_str(text)
    }
}

impl<'de> Deserialize<'de> for PaymentHash {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        /// Reads the hex text in place, without an owned copy.
        struct HexVisitor;

        impl serde::de::Visitor<'_> for HexVisitor {
            type Value = PaymentHash;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a payment hash: 64 hex digits")
            }

            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<PaymentHash, E> {
                PaymentHash::from_hex(text)
                    .ok_or_else(|| E::invalid_value(serde::de::Unexpected::Str(text), &self))
            }
        }

        d.deserialize_str(HexVisitor)
    }
}

/// A pending HTLC on a channel (LND's `HTLC` in `Channel.pending_htlcs`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Htlc {
    /// True when the peer offered it to us (we receive it); false when we offered it.
    pub incoming: bool,
    pub amount_sat: u64,
    /// The payment hash; `None` when the source did not give one or gave one that is not
    /// 32 bytes (LND always sends 32; the producers warn about any other non-empty value and
    /// keep the HTLC, whose dust does not depend on its hash).
    pub hash_lock: Option<PaymentHash>,
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
///
/// The channel point, peer key and alias are shared (`Arc<str>`): the plan's channel section
/// and the words of every action about the channel name them, and on a big node copying them
/// there was a measurable part of the plan's memory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Channel {
    pub chan_id: ChanId,
    pub channel_point: Arc<str>,
    pub remote_pubkey: Arc<str>,
    pub peer_alias: Arc<str>,
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
    /// Forwarding flow per channel from LND's ForwardingHistory; `None` when the source had
    /// none (offline without `--fwdinghistory`, or the call failed): flow is then unknown.
    #[serde(default)]
    pub flow: Option<ForwardingFlow>,
    /// Link failures per channel since the previous snapshot, from LND's HTLC event stream;
    /// `None` when nothing listened to it (the daemon fills it in).
    #[serde(default)]
    pub link_failures: Option<link_failures::LinkFailureCounts>,
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
            flow: None,
            link_failures: None,
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
    fn payment_hash_hex_round_trip() {
        let bytes: [u8; 32] = std::array::from_fn(|i| (i as u8).wrapping_mul(37) ^ 0xa5);
        let hash = PaymentHash(bytes);
        let text = hash.to_string();
        assert_eq!(text, hex::encode(bytes), "lowercase hex, LND's byte order");
        assert_eq!(PaymentHash::from_hex(&text), Some(hash));
        assert_eq!(PaymentHash::from_hex(&text.to_uppercase()), Some(hash));
        assert_eq!(format!("{hash:?}"), format!("PaymentHash({text})"));
        assert_eq!(PaymentHash::from_slice(&bytes), Some(hash));
        assert_eq!(hash.as_bytes(), &bytes);
    }

    #[test]
    fn payment_hash_rejects_wrong_lengths_and_junk() {
        assert_eq!(PaymentHash::from_slice(&[]), None);
        assert_eq!(PaymentHash::from_slice(&[3; 4]), None);
        assert_eq!(PaymentHash::from_slice(&[3; 33]), None);
        assert_eq!(PaymentHash::from_hex(""), None);
        assert_eq!(PaymentHash::from_hex(&"ab".repeat(31)), None);
        assert_eq!(PaymentHash::from_hex(&"ab".repeat(33)), None);
        assert_eq!(PaymentHash::from_hex(&format!("{}g", "a".repeat(63))), None);
        // 64 bytes of text, but not 64 ASCII hex digits.
        assert_eq!(PaymentHash::from_hex(&format!("é{}", "a".repeat(62))), None);
        // Every ASCII byte, first and last: only the 22 hex digits are read.
        for byte in 0u8..0x80 {
            let digit = char::from(byte);
            let value = digit.to_digit(16);
            for text in [
                format!("{digit}{}", "0".repeat(63)),
                format!("{}{digit}", "0".repeat(63)),
            ] {
                let parsed = PaymentHash::from_hex(&text);
                assert_eq!(parsed.is_some(), value.is_some(), "{digit:?}");
                if let (Some(hash), Some(value)) = (parsed, value) {
                    let bytes = hash.as_bytes();
                    assert_eq!(
                        u32::from(bytes[0] >> 4) + u32::from(bytes[31] & 0x0f),
                        value
                    );
                }
            }
        }
    }

    #[test]
    fn payment_hash_serde_is_the_hex_string() {
        let hash = PaymentHash([0xab; 32]);
        let json = serde_json::to_string(&hash).unwrap();
        assert_eq!(json, format!("\"{}\"", "ab".repeat(32)));
        assert_eq!(serde_json::from_str::<PaymentHash>(&json).unwrap(), hash);
        let err = serde_json::from_str::<PaymentHash>("\"abcd\"").unwrap_err();
        assert!(err.to_string().contains("64 hex digits"), "{err}");
        assert!(serde_json::from_str::<PaymentHash>("12").is_err());
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
            hash_lock: None,
            expiration_height: 0,
            htlc_index: i,
            forwarding_channel: 0,
            forwarding_htlc_index: 0,
            locked_in: true,
        };
        let chan = |id, htlcs| Channel {
            chan_id: id,
            channel_point: String::new().into(),
            remote_pubkey: String::new().into(),
            peer_alias: String::new().into(),
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
