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
//!
//! Files: `channel` (ListChannels records), `pending` (PendingChannels), `node` (GetInfo,
//! WalletBalance, GetDebugInfo), `policy` (graph edges and FeeReport), `notes` (the warnings).

mod channel;
mod node;
mod notes;
mod pending;
mod policy;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use rayon::prelude::*;

use crate::lnd::pb;
use crate::model::{ChanId, Channel, NodeSnapshot, SnapshotSource, SnapshotWarning};

pub use channel::{channel, commitment_type};
pub use node::{
    node_exposure_limit, node_info, wallet_balance, DUST_THRESHOLD_KEY, MAX_FEE_EXPOSURE_KEY,
};
pub use pending::pending_channels;
pub use policy::{fee_report_policy, routing_policy};

use channel::channel_from;
use policy::{edge_policies, FeeReportIndex};

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
