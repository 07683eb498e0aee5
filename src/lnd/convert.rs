//! LND's gRPC answers → the domain model ([`crate::model`]).
//!
//! This is the only place that reads generated `lnrpc` types on the way in. It never fails and
//! never panics on what LND says: a value that does not fit the model (a negative amount, a
//! commitment type this version does not know, a pending channel without its channel record)
//! is clamped, mapped to `Unknown`, or left out, and always named in a
//! [`SnapshotWarning`] — so one odd channel never takes the snapshot down.
//!
//! Entry points:
//! * [`snapshot`] assembles a whole [`NodeSnapshot`] from the raw answers in [`SnapshotParts`];
//! * [`channel`], [`pending_channels`], [`wallet_balance`], [`node_info`],
//!   [`node_exposure_limit`], [`routing_policy`], [`fee_report_policy`] and [`commitment_type`]
//!   convert one answer each and are usable on their own (the simulator and tests do).

use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

use rayon::prelude::*;

use crate::lnd::pb;
use crate::model::{
    ChanId, Channel, CommitmentType, Constraints, ExposureLimitSource, Htlc, Initiator,
    NodeExposureLimit, NodeInfo, NodeSnapshot, PaymentHash, PendingChannel, PendingKind,
    RoutingPolicy, SnapshotSource, SnapshotWarning, WalletBalance,
};

/// GetDebugInfo config key of LND ≥ 0.18's per-channel fee-exposure limit (satoshis).
pub const MAX_FEE_EXPOSURE_KEY: &str = "channel-max-fee-exposure";
/// GetDebugInfo config key of the older name of the same limit (satoshis).
pub const DUST_THRESHOLD_KEY: &str = "dust-threshold";

/// Channels one parallel conversion task takes at least: below this, splitting costs more than
/// it gains.
const CHANNELS_PER_TASK: usize = 64;

/// Everything one polling cycle asked LND, unconverted.
///
/// Only GetInfo and ListChannels are required; an answer the client could not get (an older LND
/// without GetDebugInfo, a macaroon without `onchain:read`, ...) is `None` and the snapshot is
/// simply missing that part.
#[derive(Debug, Clone)]
pub struct SnapshotParts {
    /// Unix seconds (UTC) when the answers were collected.
    pub taken_at_unix: i64,
    pub source: SnapshotSource,
    pub info: pb::GetInfoResponse,
    pub channels: pb::ListChannelsResponse,
    pub pending: Option<pb::PendingChannelsResponse>,
    pub fee_report: Option<pb::FeeReportResponse>,
    pub wallet: Option<pb::WalletBalanceResponse>,
    pub debug_info: Option<pb::GetDebugInfoResponse>,
    /// GetChanInfo answers keyed by the `chan_id` that was asked for. A channel without an edge
    /// (unannounced and unknown to the graph, or the call failed) is simply absent.
    pub edges: BTreeMap<ChanId, pb::ChannelEdge>,
}

/// Builds the analyzer's input from one cycle's answers.
///
/// Routing policies: our side (`local_policy`) comes from the channel's graph edge — the
/// `node1`/`node2` policy whose pubkey is our `identity_pubkey` — because it carries the HTLC
/// limits and time-lock delta; without a usable edge it falls back to FeeReport (fees only).
/// The peer's side (`remote_policy`) exists only when the edge has it.
///
/// The result is [`NodeSnapshot::normalize`]d: channels sorted by id, warnings sorted.
pub fn snapshot(parts: SnapshotParts) -> NodeSnapshot {
    let SnapshotParts {
        taken_at_unix,
        source,
        info,
        channels,
        pending,
        fee_report,
        wallet,
        debug_info,
        edges,
    } = parts;

    let mut snap = NodeSnapshot::empty(taken_at_unix, source);
    let warnings = &mut snap.warnings;

    snap.node = node_info(&info, warnings);
    let ours = snap.node.identity_pubkey.clone();

    let fees = FeeReportIndex::new(fee_report.as_ref());
    // Channel by channel on every core, each with its own warnings (rarely any: an empty `Vec`
    // does not allocate). rayon keeps the wire order of both lists, and `normalize` below sorts
    // them anyway, so the result does not depend on which core converted what. By value: the
    // channel's strings and HTLCs move into the model instead of being copied.
    let (converted, channel_warnings): (Vec<Channel>, Vec<Vec<SnapshotWarning>>) = channels
        .channels
        .into_par_iter()
        .with_min_len(CHANNELS_PER_TASK)
        .map(|raw| {
            let mut notes = Vec::new();
            let (edge_local, edge_remote) = match edges.get(&raw.chan_id) {
                Some(edge) => edge_policies(edge, &ours, raw.chan_id, &mut notes),
                None => (None, None),
            };
            let local_policy = edge_local.or_else(|| {
                fees.find(raw.chan_id, &raw.channel_point)
                    .map(fee_report_policy)
            });
            let mut converted = channel_from(raw, &mut notes);
            converted.local_policy = local_policy;
            converted.remote_policy = edge_remote;
            (converted, notes)
        })
        .unzip();
    snap.channels = converted;
    warnings.extend(channel_warnings.into_iter().flatten());

    if let Some(pending) = &pending {
        snap.pending_channels = pending_channels(pending, warnings);
    }
    snap.wallet = wallet.as_ref().map(|w| wallet_balance(w, warnings));
    snap.node_exposure_limit = debug_info
        .as_ref()
        .and_then(|d| node_exposure_limit(&d.config, warnings));

    snap.normalize();
    snap
}

/// Converts one `lnrpc.Channel`. Policies are left `None` (see [`snapshot`]).
///
/// Negative amounts and weights are clamped to 0, and an unknown commitment type becomes
/// [`CommitmentType::Unknown`]; each with a warning naming the channel and the field.
pub fn channel(raw: &pb::Channel, warnings: &mut Vec<SnapshotWarning>) -> Channel {
    channel_from(raw.clone(), warnings)
}

/// [`channel`] taking the wire record by value, so its strings move into the model.
fn channel_from(raw: pb::Channel, warnings: &mut Vec<SnapshotWarning>) -> Channel {
    let mut notes = Notes::channel(raw.chan_id, warnings);

    let local_constraints = raw.local_constraints.as_ref().map(constraints);
    let remote_constraints = raw.remote_constraints.as_ref().map(constraints);
    // The flat reserve fields are deprecated in favour of the constraints; LND still fills both.
    let local_chan_reserve_sat = match (raw.local_chan_reserve_sat, &local_constraints) {
        (0, Some(c)) => c.chan_reserve_sat,
        (value, _) => notes.non_negative("local_chan_reserve_sat", value),
    };
    let remote_chan_reserve_sat = match (raw.remote_chan_reserve_sat, &remote_constraints) {
        (0, Some(c)) => c.chan_reserve_sat,
        (value, _) => notes.non_negative("remote_chan_reserve_sat", value),
    };

    let pending_htlcs = raw
        .pending_htlcs
        .iter()
        .map(|h| htlc(h, &mut notes))
        .collect();

    Channel {
        chan_id: raw.chan_id,
        channel_point: raw.channel_point.into(),
        remote_pubkey: raw.remote_pubkey.into(),
        peer_alias: raw.peer_alias.into(),
        active: raw.active,
        private: raw.private,
        // ListChannels reports the opener as a bool: true when we opened the channel.
        initiator: if raw.initiator {
            Initiator::Local
        } else {
            Initiator::Remote
        },
        commitment_type: notes.commitment_type(raw.commitment_type),
        capacity_sat: notes.non_negative("capacity", raw.capacity),
        local_balance_sat: notes.non_negative("local_balance", raw.local_balance),
        remote_balance_sat: notes.non_negative("remote_balance", raw.remote_balance),
        commit_fee_sat: notes.non_negative("commit_fee", raw.commit_fee),
        commit_weight: notes.non_negative("commit_weight", raw.commit_weight),
        fee_per_kw: notes.non_negative("fee_per_kw", raw.fee_per_kw),
        unsettled_balance_sat: notes.non_negative("unsettled_balance", raw.unsettled_balance),
        total_satoshis_sent: notes.non_negative("total_satoshis_sent", raw.total_satoshis_sent),
        total_satoshis_received: notes
            .non_negative("total_satoshis_received", raw.total_satoshis_received),
        num_updates: raw.num_updates,
        lifetime_secs: notes.non_negative("lifetime", raw.lifetime),
        uptime_secs: notes.non_negative("uptime", raw.uptime),
        local_chan_reserve_sat,
        remote_chan_reserve_sat,
        push_amount_sat: raw.push_amount_sat,
        local_constraints,
        remote_constraints,
        pending_htlcs,
        local_policy: None,
        remote_policy: None,
    }
}

/// Maps `lnrpc.CommitmentType`'s wire number; `None` for 0 (LND did not say) and for numbers
/// this version does not know.
pub fn commitment_type(wire: i32) -> Option<CommitmentType> {
    match pb::CommitmentType::try_from(wire).ok()? {
        pb::CommitmentType::UnknownCommitmentType => None,
        pb::CommitmentType::Legacy => Some(CommitmentType::Legacy),
        pb::CommitmentType::StaticRemoteKey => Some(CommitmentType::StaticRemoteKey),
        pb::CommitmentType::Anchors => Some(CommitmentType::Anchors),
        pb::CommitmentType::ScriptEnforcedLease => Some(CommitmentType::ScriptEnforcedLease),
        pb::CommitmentType::SimpleTaproot => Some(CommitmentType::SimpleTaproot),
        pb::CommitmentType::SimpleTaprootOverlay => Some(CommitmentType::SimpleTaprootOverlay),
        // TAPROOT and SIMPLE_TAPROOT_FINAL are the same number; prost keeps the first name.
        pb::CommitmentType::Taproot => Some(CommitmentType::SimpleTaprootFinal),
    }
}

/// Converts PendingChannels into the model's flat list.
///
/// Pending opens, waiting closes, force closes and (old LND only) pending cooperative closes
/// all become [`PendingChannel`]s; an entry without its `channel` record cannot be identified,
/// so it is left out and named in a warning.
pub fn pending_channels(
    raw: &pb::PendingChannelsResponse,
    warnings: &mut Vec<SnapshotWarning>,
) -> Vec<PendingChannel> {
    let mut out = Vec::new();
    let mut add = |kind: PendingKind,
                   channel: Option<&pb::pending_channels_response::PendingChannel>,
                   limbo: i64,
                   blocks_til_maturity: Option<i32>,
                   warnings: &mut Vec<SnapshotWarning>| {
        let Some(channel) = channel else {
            warnings.push(SnapshotWarning {
                chan_id: None,
                message: format!(
                    "PendingChannels: a {} entry has no channel record; left out",
                    kind_name(kind)
                ),
            });
            return;
        };
        let mut notes = Notes::pending(&channel.channel_point, warnings);
        out.push(PendingChannel {
            kind,
            channel_point: channel.channel_point.clone(),
            remote_pubkey: channel.remote_node_pub.clone(),
            capacity_sat: notes.non_negative("capacity", channel.capacity),
            local_balance_sat: notes.non_negative("local_balance", channel.local_balance),
            limbo_balance_sat: notes.non_negative("limbo_balance", limbo),
            blocks_til_maturity,
        });
    };

    for p in &raw.pending_open_channels {
        add(PendingKind::Opening, p.channel.as_ref(), 0, None, warnings);
    }
    for p in &raw.waiting_close_channels {
        add(
            PendingKind::WaitingClose,
            p.channel.as_ref(),
            p.limbo_balance,
            None,
            warnings,
        );
    }
    // Deprecated: old LND listed cooperative closes with one confirmation here.
    for p in &raw.pending_closing_channels {
        add(
            PendingKind::WaitingClose,
            p.channel.as_ref(),
            0,
            None,
            warnings,
        );
    }
    for p in &raw.pending_force_closing_channels {
        add(
            PendingKind::ForceClosing,
            p.channel.as_ref(),
            p.limbo_balance,
            Some(p.blocks_til_maturity),
            warnings,
        );
    }
    out
}

/// Converts WalletBalance; negative balances are clamped to 0 with a warning.
pub fn wallet_balance(
    raw: &pb::WalletBalanceResponse,
    warnings: &mut Vec<SnapshotWarning>,
) -> WalletBalance {
    let mut notes = Notes::wallet(warnings);
    WalletBalance {
        confirmed_sat: notes.non_negative("confirmed_balance", raw.confirmed_balance),
        unconfirmed_sat: notes.non_negative("unconfirmed_balance", raw.unconfirmed_balance),
        locked_sat: notes.non_negative("locked_balance", raw.locked_balance),
        reserved_balance_anchor_chan_sat: notes.non_negative(
            "reserved_balance_anchor_chan",
            raw.reserved_balance_anchor_chan,
        ),
    }
}

/// Converts GetInfo. The network is the first chain's; a GetInfo without chains leaves it empty
/// and says so.
pub fn node_info(raw: &pb::GetInfoResponse, warnings: &mut Vec<SnapshotWarning>) -> NodeInfo {
    let network = match raw.chains.first() {
        Some(chain) => chain.network.clone(),
        None => {
            warnings.push(SnapshotWarning {
                chan_id: None,
                message: "GetInfo: no chain reported; network unknown".into(),
            });
            String::new()
        }
    };
    NodeInfo {
        identity_pubkey: raw.identity_pubkey.clone(),
        alias: raw.alias.clone(),
        version: raw.version.clone(),
        block_height: Some(raw.block_height),
        synced_to_chain: raw.synced_to_chain,
        network,
    }
}

/// Reads the node's own fee-exposure limit from GetDebugInfo's config map.
///
/// LND flattens its effective configuration into `option name → value printed with %v`;
/// both limits are plain satoshi integers there. `channel-max-fee-exposure` (LND ≥ 0.18) wins
/// over the older `dust-threshold`. A value that is not a positive satoshi amount is reported
/// and skipped, so the caller falls back to the configured limit.
pub fn node_exposure_limit(
    config: &HashMap<String, String>,
    warnings: &mut Vec<SnapshotWarning>,
) -> Option<NodeExposureLimit> {
    let candidates = [
        (
            MAX_FEE_EXPOSURE_KEY,
            ExposureLimitSource::LndChannelMaxFeeExposure,
        ),
        (DUST_THRESHOLD_KEY, ExposureLimitSource::LndDustThreshold),
    ];
    for (key, source) in candidates {
        let Some(text) = config.get(key) else {
            continue;
        };
        match parse_sat(text) {
            Some(sat) if sat > 0 => return Some(NodeExposureLimit { sat, source }),
            _ => warnings.push(SnapshotWarning {
                chan_id: None,
                message: format!(
                    "GetDebugInfo: `{key}` = {text:?} is not a positive satoshi amount; ignored"
                ),
            }),
        }
    }
    None
}

/// Parses a satoshi amount as LND prints it: digits, optionally followed by `sat`/`sats`.
fn parse_sat(text: &str) -> Option<u64> {
    let text = text.trim();
    let digits = text
        .strip_suffix("sats")
        .or_else(|| text.strip_suffix("sat"))
        .unwrap_or(text)
        .trim_end();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Converts one direction of a graph edge.
///
/// `min_htlc` is in millisatoshis despite its name; a negative one is clamped to 0 (warned
/// about by [`snapshot`]).
pub fn routing_policy(raw: &pb::RoutingPolicy) -> RoutingPolicy {
    RoutingPolicy {
        fee_base_msat: raw.fee_base_msat,
        fee_rate_ppm: raw.fee_rate_milli_msat,
        inbound_fee_base_msat: raw.inbound_fee_base_msat,
        inbound_fee_rate_ppm: raw.inbound_fee_rate_milli_msat,
        min_htlc_msat: Some(u64::try_from(raw.min_htlc).unwrap_or(0)),
        max_htlc_msat: Some(raw.max_htlc_msat),
        time_lock_delta: Some(raw.time_lock_delta),
        disabled: raw.disabled,
    }
}

/// Our policy as FeeReport states it: fees only, no HTLC limits, never "disabled".
pub fn fee_report_policy(raw: &pb::ChannelFeeReport) -> RoutingPolicy {
    RoutingPolicy {
        fee_base_msat: raw.base_fee_msat,
        fee_rate_ppm: raw.fee_per_mil,
        inbound_fee_base_msat: raw.inbound_base_fee_msat,
        inbound_fee_rate_ppm: raw.inbound_fee_per_mil,
        min_htlc_msat: None,
        max_htlc_msat: None,
        time_lock_delta: None,
        disabled: false,
    }
}

/// Splits an edge into (our policy, the peer's policy) by matching `identity_pubkey` against
/// `node1_pub` / `node2_pub`. An edge that does not list us yields nothing and a warning.
fn edge_policies(
    edge: &pb::ChannelEdge,
    ours: &str,
    chan_id: ChanId,
    warnings: &mut Vec<SnapshotWarning>,
) -> (Option<RoutingPolicy>, Option<RoutingPolicy>) {
    let (local, remote) = if !ours.is_empty() && edge.node1_pub == ours {
        (&edge.node1_policy, &edge.node2_policy)
    } else if !ours.is_empty() && edge.node2_pub == ours {
        (&edge.node2_policy, &edge.node1_policy)
    } else {
        warnings.push(SnapshotWarning {
            chan_id: Some(chan_id),
            message: format!(
                "GetChanInfo: edge {} lists {} and {}, neither is our node; its policies are not used",
                edge.channel_id, edge.node1_pub, edge.node2_pub
            ),
        });
        return (None, None);
    };
    for (side, policy) in [("our", local), ("the peer's", remote)] {
        if let Some(p) = policy {
            if p.min_htlc < 0 {
                warnings.push(SnapshotWarning {
                    chan_id: Some(chan_id),
                    message: format!(
                        "GetChanInfo: {side} min_htlc is negative ({} msat); using 0",
                        p.min_htlc
                    ),
                });
            }
        }
    }
    (
        local.as_ref().map(routing_policy),
        remote.as_ref().map(routing_policy),
    )
}

fn constraints(raw: &pb::ChannelConstraints) -> Constraints {
    Constraints {
        csv_delay: raw.csv_delay,
        chan_reserve_sat: raw.chan_reserve_sat,
        dust_limit_sat: raw.dust_limit_sat,
        max_pending_amt_msat: raw.max_pending_amt_msat,
        min_htlc_msat: raw.min_htlc_msat,
        max_accepted_htlcs: raw.max_accepted_htlcs,
    }
}

fn htlc(raw: &pb::Htlc, notes: &mut Notes<'_, '_>) -> Htlc {
    Htlc {
        incoming: raw.incoming,
        // The field name is only formatted for a warning: a big node has 100,000s of HTLCs.
        amount_sat: match u64::try_from(raw.amount) {
            Ok(amount) => amount,
            Err(_) => notes.non_negative(
                &format!("pending_htlcs[{}].amount", raw.htlc_index),
                raw.amount,
            ),
        },
        hash_lock: hash_lock(raw, notes),
        expiration_height: raw.expiration_height,
        htlc_index: raw.htlc_index,
        forwarding_channel: raw.forwarding_channel,
        forwarding_htlc_index: raw.forwarding_htlc_index,
        locked_in: raw.locked_in,
    }
}

/// The HTLC's payment hash. LND always sends 32 bytes; anything else cannot be a SHA-256, so
/// the HTLC keeps no hash (`None`) and, unless the field was simply empty, a warning names it.
/// The HTLC itself is kept: its dust does not depend on its hash.
fn hash_lock(raw: &pb::Htlc, notes: &mut Notes<'_, '_>) -> Option<PaymentHash> {
    let hash = PaymentHash::from_slice(&raw.hash_lock);
    if hash.is_none() && !raw.hash_lock.is_empty() {
        notes.warn(format!(
            "pending_htlcs[{}].hash_lock is {} bytes, not {}; the HTLC is kept without its hash",
            raw.htlc_index,
            raw.hash_lock.len(),
            PaymentHash::LEN
        ));
    }
    hash
}

fn kind_name(kind: PendingKind) -> &'static str {
    match kind {
        PendingKind::Opening => "pending open",
        PendingKind::WaitingClose => "waiting close",
        PendingKind::ForceClosing => "force closing",
    }
}

/// FeeReport entries by channel id, with the channel point as a fallback key (LND versions
/// before `ChannelFeeReport.chan_id` existed only sent the channel point).
///
/// The channel-point index is only built on the first lookup the ids cannot answer: a current
/// LND reports every id, and hashing 10,000 channel points per cycle would be wasted.
struct FeeReportIndex<'a> {
    fees: &'a [pb::ChannelFeeReport],
    by_id: HashMap<ChanId, &'a pb::ChannelFeeReport>,
    /// Built on the first lookup by channel point (only an old LND's report needs one), by
    /// whichever core asks first.
    by_point: OnceLock<HashMap<&'a str, &'a pb::ChannelFeeReport>>,
}

impl<'a> FeeReportIndex<'a> {
    fn new(report: Option<&'a pb::FeeReportResponse>) -> Self {
        let fees = report.map_or(&[][..], |r| r.channel_fees.as_slice());
        let mut by_id = HashMap::with_capacity(fees.len());
        for fee in fees.iter().filter(|fee| fee.chan_id != 0) {
            by_id.insert(fee.chan_id, fee);
        }
        FeeReportIndex {
            fees,
            by_id,
            by_point: OnceLock::new(),
        }
    }

    fn find(&self, chan_id: ChanId, channel_point: &str) -> Option<&'a pb::ChannelFeeReport> {
        if let Some(fee) = self.by_id.get(&chan_id) {
            return Some(fee);
        }
        let fees = self.fees;
        self.by_point
            .get_or_init(|| {
                fees.iter()
                    .map(|fee| (fee.channel_point.as_str(), fee))
                    .collect()
            })
            .get(channel_point)
            .copied()
    }
}

/// Collects warnings about one record, each naming the record and the field.
struct Notes<'a, 's> {
    /// Which record the warnings are about; only formatted when there is one to write (every
    /// channel gets a `Notes`, few get a warning).
    subject: Subject<'s>,
    out: &'a mut Vec<SnapshotWarning>,
}

/// How a record is named in messages, e.g. `ListChannels: channel 123`.
#[derive(Clone, Copy)]
enum Subject<'s> {
    Channel(ChanId),
    /// A pending channel, by channel point.
    Pending(&'s str),
    Wallet,
}

impl<'a, 's> Notes<'a, 's> {
    fn channel(chan_id: ChanId, out: &'a mut Vec<SnapshotWarning>) -> Self {
        Notes {
            subject: Subject::Channel(chan_id),
            out,
        }
    }

    fn pending(channel_point: &'s str, out: &'a mut Vec<SnapshotWarning>) -> Self {
        Notes {
            subject: Subject::Pending(channel_point),
            out,
        }
    }

    fn wallet(out: &'a mut Vec<SnapshotWarning>) -> Self {
        Notes {
            subject: Subject::Wallet,
            out,
        }
    }

    fn warn(&mut self, message: String) {
        let (chan_id, message) = match self.subject {
            Subject::Channel(id) => (Some(id), format!("ListChannels: channel {id}: {message}")),
            Subject::Pending(point) => {
                (None, format!("PendingChannels: channel {point}: {message}"))
            }
            Subject::Wallet => (None, format!("WalletBalance: {message}")),
        };
        self.out.push(SnapshotWarning { chan_id, message });
    }

    /// The model keeps amounts non-negative: a negative value becomes 0 and a warning.
    fn non_negative(&mut self, field: &str, value: i64) -> u64 {
        match u64::try_from(value) {
            Ok(v) => v,
            Err(_) => {
                self.warn(format!("{field} is negative ({value}); using 0"));
                0
            }
        }
    }

    fn commitment_type(&mut self, wire: i32) -> CommitmentType {
        match commitment_type(wire) {
            Some(t) => t,
            None if wire == 0 => {
                self.warn(
                    "commitment_type not reported; analysed as a channel with anchors".into(),
                );
                CommitmentType::Unknown
            }
            None => {
                self.warn(format!(
                    "commitment_type {wire} is unknown to this dustwatch; analysed as a channel with anchors"
                ));
                CommitmentType::Unknown
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_locks_of_32_bytes_are_kept_others_named() {
        let mut raw = pb_channel(13);
        let good: Vec<u8> = (0..32).collect();
        raw.pending_htlcs[0].hash_lock = good.clone().into();
        let mut empty = raw.pending_htlcs[0].clone();
        empty.hash_lock = Default::default();
        empty.htlc_index = 4;
        let mut long = raw.pending_htlcs[0].clone();
        long.hash_lock = vec![7; 33].into();
        long.htlc_index = 5;
        raw.pending_htlcs.extend([empty, long]);
        let mut warnings = Vec::new();
        let c = channel(&raw, &mut warnings);

        let hashes: Vec<Option<String>> = c
            .pending_htlcs
            .iter()
            .map(|h| h.hash_lock.map(|h| h.to_string()))
            .collect();
        assert_eq!(hashes, vec![Some(hex::encode(&good)), None, None]);
        assert_eq!(c.pending_htlcs.len(), 3, "no HTLC is dropped");
        // Empty: LND did not say, nothing to warn about. 33 bytes: not a hash, named.
        let msgs = warnings_for(&warnings, 13);
        assert_eq!(
            msgs,
            vec![
                "ListChannels: channel 13: pending_htlcs[5].hash_lock is 33 bytes, not 32; \
                 the HTLC is kept without its hash"
            ]
        );
    }

    const OURS: &str = "02aaaa";
    const PEER: &str = "03bbbb";

    fn source() -> SnapshotSource {
        SnapshotSource {
            kind: "test".into(),
            detail: "unit".into(),
        }
    }

    fn pb_constraints(dust: u64, reserve: u64) -> pb::ChannelConstraints {
        pb::ChannelConstraints {
            csv_delay: 144,
            chan_reserve_sat: reserve,
            dust_limit_sat: dust,
            max_pending_amt_msat: 990_000_000,
            min_htlc_msat: 1,
            max_accepted_htlcs: 483,
        }
    }

    fn pb_channel(chan_id: u64) -> pb::Channel {
        pb::Channel {
            active: true,
            remote_pubkey: PEER.into(),
            channel_point: format!("{chan_id:064x}:0"),
            chan_id,
            capacity: 1_000_000,
            local_balance: 600_000,
            remote_balance: 398_000,
            commit_fee: 1_340,
            commit_weight: 1_124,
            fee_per_kw: 253,
            unsettled_balance: 0,
            total_satoshis_sent: 5_000,
            total_satoshis_received: 7_000,
            num_updates: 42,
            pending_htlcs: vec![pb::Htlc {
                incoming: true,
                amount: 20_000,
                hash_lock: [0xab, 0xcd].repeat(16).into(),
                expiration_height: 800_100,
                htlc_index: 3,
                forwarding_channel: 77,
                forwarding_htlc_index: 9,
                locked_in: true,
            }],
            private: false,
            initiator: true,
            chan_status_flags: "ChanStatusDefault".into(),
            local_chan_reserve_sat: 10_000,
            remote_chan_reserve_sat: 10_000,
            commitment_type: pb::CommitmentType::Anchors as i32,
            lifetime: 3_600,
            uptime: 3_000,
            push_amount_sat: 0,
            local_constraints: Some(pb_constraints(354, 10_000)),
            remote_constraints: Some(pb_constraints(573, 10_000)),
            peer_alias: "peer".into(),
            ..Default::default()
        }
    }

    fn pb_policy(fee_base: i64, ppm: i64) -> pb::RoutingPolicy {
        pb::RoutingPolicy {
            time_lock_delta: 80,
            min_htlc: 1_000,
            fee_base_msat: fee_base,
            fee_rate_milli_msat: ppm,
            disabled: false,
            max_htlc_msat: 990_000_000,
            inbound_fee_base_msat: -1,
            inbound_fee_rate_milli_msat: -10,
            ..Default::default()
        }
    }

    fn pb_info() -> pb::GetInfoResponse {
        pb::GetInfoResponse {
            identity_pubkey: OURS.into(),
            alias: "dustwatch-test".into(),
            version: "0.21.0-beta".into(),
            block_height: 800_000,
            synced_to_chain: true,
            chains: vec![pb::Chain {
                chain: "bitcoin".into(),
                network: "mainnet".into(),
            }],
            ..Default::default()
        }
    }

    fn parts(channels: Vec<pb::Channel>) -> SnapshotParts {
        SnapshotParts {
            taken_at_unix: 1_700_000_000,
            source: source(),
            info: pb_info(),
            channels: pb::ListChannelsResponse { channels },
            pending: None,
            fee_report: None,
            wallet: None,
            debug_info: None,
            edges: BTreeMap::new(),
        }
    }

    fn warnings_for(warnings: &[SnapshotWarning], chan_id: u64) -> Vec<&str> {
        warnings
            .iter()
            .filter(|w| w.chan_id == Some(chan_id))
            .map(|w| w.message.as_str())
            .collect()
    }

    #[test]
    fn well_formed_channel_maps_every_field() {
        let mut warnings = Vec::new();
        let c = channel(&pb_channel(7), &mut warnings);
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(c.chan_id, 7);
        assert_eq!(&*c.remote_pubkey, PEER);
        assert_eq!(&*c.peer_alias, "peer");
        assert!(c.active && !c.private);
        assert_eq!(c.initiator, Initiator::Local);
        assert_eq!(c.commitment_type, CommitmentType::Anchors);
        assert_eq!(c.capacity_sat, 1_000_000);
        assert_eq!(c.local_balance_sat, 600_000);
        assert_eq!(c.remote_balance_sat, 398_000);
        assert_eq!(c.commit_fee_sat, 1_340);
        assert_eq!(c.commit_weight, 1_124);
        assert_eq!(c.fee_per_kw, 253);
        assert_eq!(c.total_satoshis_sent, 5_000);
        assert_eq!(c.total_satoshis_received, 7_000);
        assert_eq!(c.num_updates, 42);
        assert_eq!((c.lifetime_secs, c.uptime_secs), (3_600, 3_000));
        assert_eq!(c.local_chan_reserve_sat, 10_000);
        let local = c.local_constraints.expect("local constraints");
        let remote = c.remote_constraints.expect("remote constraints");
        assert_eq!((local.dust_limit_sat, remote.dust_limit_sat), (354, 573));
        assert_eq!(local.csv_delay, 144);
        assert_eq!(local.max_accepted_htlcs, 483);
        assert_eq!(
            c.pending_htlcs,
            vec![Htlc {
                incoming: true,
                amount_sat: 20_000,
                hash_lock: PaymentHash::from_hex(&"abcd".repeat(16)),
                expiration_height: 800_100,
                htlc_index: 3,
                forwarding_channel: 77,
                forwarding_htlc_index: 9,
                locked_in: true,
            }]
        );
        assert_eq!((c.local_policy, c.remote_policy), (None, None));
    }

    #[test]
    fn remote_opener_and_missing_constraints() {
        let mut raw = pb_channel(8);
        raw.initiator = false;
        raw.local_constraints = None;
        raw.remote_constraints = None;
        let mut warnings = Vec::new();
        let c = channel(&raw, &mut warnings);
        assert_eq!(c.initiator, Initiator::Remote);
        assert_eq!((c.local_constraints, c.remote_constraints), (None, None));
        assert_eq!(c.remote_chan_reserve_sat, 10_000);
        assert!(warnings.is_empty());
    }

    #[test]
    fn reserves_fall_back_to_constraints() {
        let mut raw = pb_channel(9);
        raw.local_chan_reserve_sat = 0;
        raw.remote_chan_reserve_sat = 0;
        raw.remote_constraints = Some(pb_constraints(573, 12_345));
        let c = channel(&raw, &mut Vec::new());
        assert_eq!(c.local_chan_reserve_sat, 10_000);
        assert_eq!(c.remote_chan_reserve_sat, 12_345);
    }

    #[test]
    fn odd_values_are_clamped_and_warned_per_channel() {
        let mut raw = pb_channel(11);
        raw.capacity = -1;
        raw.local_balance = -5;
        raw.commit_weight = -1_124;
        raw.lifetime = -3;
        raw.pending_htlcs[0].amount = -20_000;
        raw.commitment_type = 42;
        let mut warnings = Vec::new();
        let c = channel(&raw, &mut warnings);

        assert_eq!(c.capacity_sat, 0);
        assert_eq!(c.local_balance_sat, 0);
        assert_eq!(c.commit_weight, 0);
        assert_eq!(c.lifetime_secs, 0);
        assert_eq!(c.pending_htlcs[0].amount_sat, 0);
        assert_eq!(c.commitment_type, CommitmentType::Unknown);
        // Untouched fields keep their values.
        assert_eq!(c.remote_balance_sat, 398_000);

        let msgs = warnings_for(&warnings, 11);
        assert_eq!(msgs.len(), 6, "{msgs:#?}");
        for needle in [
            "capacity is negative (-1)",
            "local_balance is negative (-5)",
            "commit_weight is negative (-1124)",
            "lifetime is negative (-3)",
            "pending_htlcs[3].amount is negative (-20000)",
            "commitment_type 42 is unknown",
        ] {
            assert!(
                msgs.iter().any(|m| m.contains(needle)),
                "no warning containing {needle:?} in {msgs:#?}"
            );
        }
        assert!(msgs
            .iter()
            .all(|m| m.starts_with("ListChannels: channel 11: ")));
    }

    #[test]
    fn missing_commitment_type_is_unknown_with_warning() {
        let mut raw = pb_channel(12);
        raw.commitment_type = 0;
        let mut warnings = Vec::new();
        assert_eq!(
            channel(&raw, &mut warnings).commitment_type,
            CommitmentType::Unknown
        );
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].message.contains("commitment_type not reported"));
    }

    #[test]
    fn commitment_types_follow_lnds_numbers() {
        let expected = [
            (0, None),
            (1, Some(CommitmentType::Legacy)),
            (2, Some(CommitmentType::StaticRemoteKey)),
            (3, Some(CommitmentType::Anchors)),
            (4, Some(CommitmentType::ScriptEnforcedLease)),
            (5, Some(CommitmentType::SimpleTaproot)),
            (6, Some(CommitmentType::SimpleTaprootOverlay)),
            (7, Some(CommitmentType::SimpleTaprootFinal)),
            (8, None),
            (-1, None),
        ];
        for (wire, want) in expected {
            assert_eq!(commitment_type(wire), want, "wire value {wire}");
        }
    }

    #[test]
    fn snapshot_assembles_sorted_channels_policies_and_extras() {
        let mut odd = pb_channel(5);
        odd.remote_balance = -7;
        let mut p = parts(vec![pb_channel(30), odd, pb_channel(20)]);

        // Channel 30: edge with us as node2 -> node2 policy is ours.
        p.edges.insert(
            30,
            pb::ChannelEdge {
                channel_id: 30,
                node1_pub: PEER.into(),
                node2_pub: OURS.into(),
                node1_policy: Some(pb_policy(1_000, 1)),
                node2_policy: Some(pb_policy(2_000, 250)),
                ..Default::default()
            },
        );
        // Channel 20: edge with us as node1 but no peer policy yet.
        p.edges.insert(
            20,
            pb::ChannelEdge {
                channel_id: 20,
                node1_pub: OURS.into(),
                node2_pub: PEER.into(),
                node1_policy: Some(pb_policy(3_000, 500)),
                node2_policy: None,
                ..Default::default()
            },
        );
        // Channel 5: no edge, FeeReport by channel point only (older LND without chan_id).
        p.fee_report = Some(pb::FeeReportResponse {
            channel_fees: vec![pb::ChannelFeeReport {
                chan_id: 0,
                channel_point: pb_channel(5).channel_point,
                base_fee_msat: 1_500,
                fee_per_mil: 100,
                fee_rate: 0.0001,
                inbound_base_fee_msat: 0,
                inbound_fee_per_mil: -5,
            }],
            ..Default::default()
        });
        p.wallet = Some(pb::WalletBalanceResponse {
            total_balance: 150_000,
            confirmed_balance: 100_000,
            unconfirmed_balance: 50_000,
            locked_balance: 0,
            reserved_balance_anchor_chan: 20_000,
            ..Default::default()
        });
        p.debug_info = Some(pb::GetDebugInfoResponse {
            config: HashMap::from([
                (MAX_FEE_EXPOSURE_KEY.to_string(), "250000".to_string()),
                (DUST_THRESHOLD_KEY.to_string(), "500000".to_string()),
            ]),
            log: vec![],
        });
        p.pending = Some(pb::PendingChannelsResponse {
            pending_force_closing_channels: vec![
                pb::pending_channels_response::ForceClosedChannel {
                    channel: Some(pb::pending_channels_response::PendingChannel {
                        remote_node_pub: PEER.into(),
                        channel_point: "ff:1".into(),
                        capacity: 500_000,
                        local_balance: 200_000,
                        ..Default::default()
                    }),
                    limbo_balance: 200_000,
                    blocks_til_maturity: -3,
                    ..Default::default()
                },
            ],
            pending_open_channels: vec![pb::pending_channels_response::PendingOpenChannel {
                channel: Some(pb::pending_channels_response::PendingChannel {
                    remote_node_pub: PEER.into(),
                    channel_point: "aa:0".into(),
                    capacity: 300_000,
                    local_balance: 296_000,
                    ..Default::default()
                }),
                ..Default::default()
            }],
            ..Default::default()
        });

        let snap = snapshot(p);

        assert_eq!(snap.taken_at_unix, 1_700_000_000);
        assert_eq!(snap.source, source());
        assert_eq!(snap.node.identity_pubkey, OURS);
        assert_eq!(snap.node.block_height, Some(800_000));
        assert_eq!(snap.node.network, "mainnet");
        let ids: Vec<u64> = snap.channels.iter().map(|c| c.chan_id).collect();
        assert_eq!(ids, vec![5, 20, 30], "channels sorted by id");

        let c5 = &snap.channels[0];
        assert_eq!(c5.remote_balance_sat, 0);
        let from_fee_report = c5.local_policy.expect("FeeReport policy");
        assert_eq!(
            (from_fee_report.fee_base_msat, from_fee_report.fee_rate_ppm),
            (1_500, 100)
        );
        assert_eq!(from_fee_report.inbound_fee_rate_ppm, -5);
        assert_eq!(from_fee_report.min_htlc_msat, None);
        assert_eq!(c5.remote_policy, None);

        let c20 = &snap.channels[1];
        assert_eq!(c20.local_policy.map(|p| p.fee_base_msat), Some(3_000));
        assert_eq!(c20.local_policy.and_then(|p| p.min_htlc_msat), Some(1_000));
        assert_eq!(c20.remote_policy, None);

        let c30 = &snap.channels[2];
        let local = c30.local_policy.expect("our policy from node2");
        let remote = c30.remote_policy.expect("peer policy from node1");
        assert_eq!((local.fee_base_msat, local.fee_rate_ppm), (2_000, 250));
        assert_eq!((remote.fee_base_msat, remote.fee_rate_ppm), (1_000, 1));
        assert_eq!(local.time_lock_delta, Some(80));
        assert_eq!(local.max_htlc_msat, Some(990_000_000));
        assert_eq!(
            (local.inbound_fee_base_msat, local.inbound_fee_rate_ppm),
            (-1, -10)
        );

        assert_eq!(
            snap.wallet,
            Some(WalletBalance {
                confirmed_sat: 100_000,
                unconfirmed_sat: 50_000,
                locked_sat: 0,
                reserved_balance_anchor_chan_sat: 20_000,
            })
        );
        assert_eq!(
            snap.node_exposure_limit,
            Some(NodeExposureLimit {
                sat: 250_000,
                source: ExposureLimitSource::LndChannelMaxFeeExposure,
            })
        );

        let points: Vec<(&str, PendingKind)> = snap
            .pending_channels
            .iter()
            .map(|p| (p.channel_point.as_str(), p.kind))
            .collect();
        assert_eq!(
            points,
            vec![
                ("aa:0", PendingKind::Opening),
                ("ff:1", PendingKind::ForceClosing)
            ]
        );
        assert_eq!(snap.pending_channels[1].limbo_balance_sat, 200_000);
        assert_eq!(snap.pending_channels[1].blocks_til_maturity, Some(-3));
        assert_eq!(snap.pending_channels[0].blocks_til_maturity, None);

        // The one odd value is the one warning, attached to its channel.
        assert_eq!(snap.warnings.len(), 1, "{:#?}", snap.warnings);
        assert_eq!(snap.warnings[0].chan_id, Some(5));
        assert!(snap.warnings[0]
            .message
            .contains("remote_balance is negative"));
    }

    #[test]
    fn edge_not_listing_us_falls_back_to_fee_report() {
        let mut p = parts(vec![pb_channel(40)]);
        p.edges.insert(
            40,
            pb::ChannelEdge {
                channel_id: 40,
                node1_pub: "03cccc".into(),
                node2_pub: PEER.into(),
                node1_policy: Some(pb_policy(9, 9)),
                node2_policy: Some(pb_policy(8, 8)),
                ..Default::default()
            },
        );
        p.fee_report = Some(pb::FeeReportResponse {
            channel_fees: vec![pb::ChannelFeeReport {
                chan_id: 40,
                channel_point: "elsewhere:0".into(),
                base_fee_msat: 1_000,
                fee_per_mil: 1,
                ..Default::default()
            }],
            ..Default::default()
        });
        let snap = snapshot(p);
        let c = &snap.channels[0];
        assert_eq!(c.local_policy.map(|p| p.fee_base_msat), Some(1_000));
        assert_eq!(c.remote_policy, None);
        let msgs = warnings_for(&snap.warnings, 40);
        assert_eq!(msgs.len(), 1);
        assert!(msgs[0].contains("neither is our node"), "{msgs:?}");
    }

    #[test]
    fn fee_report_by_id_first_then_by_channel_point() {
        let mut one = pb_channel(1);
        one.channel_point = "p1:0".into();
        let mut two = pb_channel(2);
        two.channel_point = "p2:0".into();
        let mut three = pb_channel(3);
        three.channel_point = "p3:0".into();
        let mut p = parts(vec![one, two, three]);
        let fee = |chan_id, point: &str, base| pb::ChannelFeeReport {
            chan_id,
            channel_point: point.into(),
            base_fee_msat: base,
            ..Default::default()
        };
        p.fee_report = Some(pb::FeeReportResponse {
            channel_fees: vec![fee(1, "p2:0", 100), fee(0, "p1:0", 200)],
            ..Default::default()
        });
        let snap = snapshot(p);
        let bases: Vec<Option<i64>> = snap
            .channels
            .iter()
            .map(|c| c.local_policy.map(|p| p.fee_base_msat))
            .collect();
        // 1: its id wins over the entry with its channel point. 2: no entry with its id, so
        // the one with its channel point. 3: neither.
        assert_eq!(bases, vec![Some(100), Some(100), None]);
    }

    #[test]
    fn negative_edge_min_htlc_is_clamped_and_warned() {
        let mut p = parts(vec![pb_channel(41)]);
        let mut peer_policy = pb_policy(1, 1);
        peer_policy.min_htlc = -1;
        p.edges.insert(
            41,
            pb::ChannelEdge {
                channel_id: 41,
                node1_pub: OURS.into(),
                node2_pub: PEER.into(),
                node1_policy: Some(pb_policy(1, 1)),
                node2_policy: Some(peer_policy),
                ..Default::default()
            },
        );
        let snap = snapshot(p);
        assert_eq!(
            snap.channels[0].remote_policy.and_then(|p| p.min_htlc_msat),
            Some(0)
        );
        let msgs = warnings_for(&snap.warnings, 41);
        assert_eq!(msgs.len(), 1);
        assert!(
            msgs[0].contains("the peer's min_htlc is negative"),
            "{msgs:?}"
        );
    }

    #[test]
    fn one_odd_channel_never_drops_the_others() {
        let mut odd = pb_channel(2);
        odd.capacity = i64::MIN;
        odd.commitment_type = i32::MAX;
        odd.pending_htlcs[0].amount = i64::MIN;
        let snap = snapshot(parts(vec![pb_channel(1), odd, pb_channel(3)]));
        assert_eq!(snap.channels.len(), 3);
        assert!(snap.warnings.iter().all(|w| w.chan_id == Some(2)));
        assert_eq!(snap.warnings.len(), 3);
        assert_eq!(snap.channels[0], channel(&pb_channel(1), &mut Vec::new()));
    }

    /// Enough channels for many parallel conversion tasks: each channel keeps its own
    /// warnings and fee lookup (by id, or by channel point for the index built on demand).
    #[test]
    fn many_channels_convert_like_one_at_a_time() {
        let count = CHANNELS_PER_TASK as u64 * 9 + 5;
        let raw: Vec<pb::Channel> = (1..=count)
            .rev()
            .map(|id| {
                let mut ch = pb_channel(id);
                ch.channel_point = format!("p{id}:0");
                if id % 7 == 0 {
                    ch.local_balance = -1;
                }
                ch
            })
            .collect();
        let mut p = parts(raw.clone());
        p.fee_report = Some(pb::FeeReportResponse {
            channel_fees: (1..=count)
                .map(|id| pb::ChannelFeeReport {
                    // Every third entry only by channel point, as an old LND reports it.
                    chan_id: if id % 3 == 0 { 0 } else { id },
                    channel_point: format!("p{id}:0"),
                    base_fee_msat: id as i64,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        });
        let snap = snapshot(p);

        let mut expected_warnings = Vec::new();
        let mut expected: Vec<Channel> = raw
            .iter()
            .map(|ch| {
                let mut one = channel(ch, &mut expected_warnings);
                one.local_policy = Some(RoutingPolicy {
                    fee_base_msat: ch.chan_id as i64,
                    ..fee_report_policy(&pb::ChannelFeeReport::default())
                });
                one
            })
            .collect();
        expected.sort_by_key(|c| c.chan_id);
        assert_eq!(snap.channels, expected);
        assert_eq!(snap.warnings.len(), expected_warnings.len());
        assert_eq!(snap.warnings.len(), (count / 7) as usize);
        for id in (7..=count).step_by(7) {
            assert_eq!(warnings_for(&snap.warnings, id).len(), 1, "channel {id}");
        }
    }

    #[test]
    fn exposure_limit_sources_and_bad_values() {
        let map = |pairs: &[(&str, &str)]| -> HashMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };

        let mut w = Vec::new();
        assert_eq!(
            node_exposure_limit(&map(&[(DUST_THRESHOLD_KEY, "500000")]), &mut w),
            Some(NodeExposureLimit {
                sat: 500_000,
                source: ExposureLimitSource::LndDustThreshold
            })
        );
        assert!(w.is_empty());

        assert_eq!(node_exposure_limit(&map(&[("alias", "x")]), &mut w), None);
        assert!(w.is_empty());

        // An unreadable new key falls back to the old one, and says so.
        let limit = node_exposure_limit(
            &map(&[
                (MAX_FEE_EXPOSURE_KEY, "lots"),
                (DUST_THRESHOLD_KEY, " 300000 sat "),
            ]),
            &mut w,
        );
        assert_eq!(
            limit,
            Some(NodeExposureLimit {
                sat: 300_000,
                source: ExposureLimitSource::LndDustThreshold
            })
        );
        assert_eq!(w.len(), 1);
        assert!(w[0]
            .message
            .contains("`channel-max-fee-exposure` = \"lots\""));

        let mut w = Vec::new();
        for bad in ["0", "-5", "", "0.005 BTC", "1e6"] {
            assert_eq!(
                node_exposure_limit(&map(&[(MAX_FEE_EXPOSURE_KEY, bad)]), &mut w),
                None,
                "{bad:?}"
            );
        }
        assert_eq!(w.len(), 5);
    }

    #[test]
    fn pending_entry_without_channel_is_left_out_and_named() {
        let raw = pb::PendingChannelsResponse {
            waiting_close_channels: vec![
                pb::pending_channels_response::WaitingCloseChannel {
                    channel: None,
                    limbo_balance: 10,
                    ..Default::default()
                },
                pb::pending_channels_response::WaitingCloseChannel {
                    channel: Some(pb::pending_channels_response::PendingChannel {
                        channel_point: "bb:2".into(),
                        capacity: -1,
                        ..Default::default()
                    }),
                    limbo_balance: 77,
                    ..Default::default()
                },
            ],
            pending_closing_channels: vec![pb::pending_channels_response::ClosedChannel {
                channel: Some(pb::pending_channels_response::PendingChannel {
                    channel_point: "cc:0".into(),
                    ..Default::default()
                }),
                closing_txid: "dd".into(),
            }],
            ..Default::default()
        };
        let mut warnings = Vec::new();
        let out = pending_channels(&raw, &mut warnings);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].channel_point, "bb:2");
        assert_eq!(out[0].kind, PendingKind::WaitingClose);
        assert_eq!(out[0].limbo_balance_sat, 77);
        assert_eq!(out[0].capacity_sat, 0);
        assert_eq!(out[1].channel_point, "cc:0");
        assert_eq!(out[1].kind, PendingKind::WaitingClose);
        assert_eq!(warnings.len(), 2, "{warnings:#?}");
        assert!(warnings[0]
            .message
            .contains("waiting close entry has no channel record"));
        assert!(warnings[1]
            .message
            .contains("PendingChannels: channel bb:2: capacity is negative"));
    }

    #[test]
    fn wallet_and_node_info_oddities() {
        let mut w = Vec::new();
        let wallet = wallet_balance(
            &pb::WalletBalanceResponse {
                confirmed_balance: -1,
                unconfirmed_balance: 5,
                ..Default::default()
            },
            &mut w,
        );
        assert_eq!((wallet.confirmed_sat, wallet.unconfirmed_sat), (0, 5));
        assert_eq!(w.len(), 1);
        assert!(w[0]
            .message
            .starts_with("WalletBalance: confirmed_balance is negative"));

        let mut info = pb_info();
        info.chains.clear();
        let mut w = Vec::new();
        let node = node_info(&info, &mut w);
        assert_eq!(node.network, "");
        assert_eq!(w.len(), 1);
        assert_eq!(node.alias, "dustwatch-test");
        assert_eq!(node.version, "0.21.0-beta");
        assert!(node.synced_to_chain);
    }
}
