//! Open channels on the wire: ListChannels (with its filters) and one `lnrpc.Channel` with its
//! HTLCs, whose payment hashes share a few buffers.

use prost::bytes::{Bytes, BytesMut};
use rayon::prelude::*;

use crate::lnd::pb;
use crate::model::{Channel, CommitmentType, Constraints, Initiator, PaymentHash};

use super::{commitment_type, sat};
use crate::sim::state::NodeState;

fn constraints(c: &Constraints) -> pb::ChannelConstraints {
    pb::ChannelConstraints {
        csv_delay: c.csv_delay,
        chan_reserve_sat: c.chan_reserve_sat,
        dust_limit_sat: c.dust_limit_sat,
        max_pending_amt_msat: c.max_pending_amt_msat,
        min_htlc_msat: c.min_htlc_msat,
        max_accepted_htlcs: c.max_accepted_htlcs,
    }
}

/// Channels one parallel task of [`list_channels`] builds at least.
pub(super) const CHANNELS_PER_TASK: usize = 64;

/// Size of a fresh payment-hash buffer: the hashes of ~100 busy channels.
pub(super) const HASH_BUFFER_BYTES: usize = 32 << 10;

/// `ch`'s pending HTLCs as the wire carries them.
///
/// Their payment hashes are written to `hashes`, a buffer shared by many channels' HTLCs (a
/// new one of [`HASH_BUFFER_BYTES`] when it is full), and each `hash_lock` is a slice of it:
/// one allocation per ~100 channels instead of one per HTLC (a busy node has 100,000s). The
/// buffers are filled from the current state on every call; nothing is kept between calls.
/// An HTLC without a hash is sent with empty bytes, as proto3 sends an unset field (the
/// simulator's HTLCs all have one).
fn htlcs(ch: &Channel, hashes: &mut BytesMut) -> Vec<pb::Htlc> {
    if ch.pending_htlcs.is_empty() {
        return Vec::new();
    }
    let needed = ch.pending_htlcs.len() * PaymentHash::LEN;
    if hashes.capacity() < needed {
        hashes.reserve(needed.max(HASH_BUFFER_BYTES));
    }
    for hash in ch.pending_htlcs.iter().filter_map(|h| h.hash_lock) {
        hashes.extend_from_slice(hash.as_bytes());
    }
    // Shares the buffer's allocation; holds exactly this channel's hashes, in order.
    let mine = hashes.split().freeze();
    let mut next = 0;
    ch.pending_htlcs
        .iter()
        .map(|h| {
            let hash_lock = match h.hash_lock {
                Some(_) => {
                    // In bounds: `mine` holds one hash per HTLC with a hash, and `next`
                    // advances by one hash per such HTLC.
                    let slice = mine.slice(next..next + PaymentHash::LEN);
                    next += PaymentHash::LEN;
                    slice
                }
                None => Bytes::new(),
            };
            pb::Htlc {
                incoming: h.incoming,
                amount: sat(h.amount_sat),
                hash_lock,
                expiration_height: h.expiration_height,
                htlc_index: h.htlc_index,
                forwarding_channel: h.forwarding_channel,
                forwarding_htlc_index: h.forwarding_htlc_index,
                locked_in: h.locked_in,
            }
        })
        .collect()
}

/// An open channel as ListChannels (and the OPEN_CHANNEL event) reports it.
pub fn channel(ch: &Channel) -> pb::Channel {
    let mut hashes = BytesMut::with_capacity(ch.pending_htlcs.len() * PaymentHash::LEN);
    channel_with(ch, true, &mut hashes)
}

/// [`channel`], with the peer's alias only when `peer_alias` (ListChannels'
/// `peer_alias_lookup`); otherwise it is left empty, as LND leaves it, and not copied.
fn channel_with(ch: &Channel, peer_alias: bool, hashes: &mut BytesMut) -> pb::Channel {
    let local = ch.local_constraints.unwrap_or_default();
    pb::Channel {
        active: ch.active,
        remote_pubkey: ch.remote_pubkey.to_string(),
        channel_point: ch.channel_point.to_string(),
        chan_id: ch.chan_id,
        capacity: sat(ch.capacity_sat),
        local_balance: sat(ch.local_balance_sat),
        remote_balance: sat(ch.remote_balance_sat),
        commit_fee: sat(ch.commit_fee_sat),
        commit_weight: sat(ch.commit_weight),
        fee_per_kw: sat(ch.fee_per_kw),
        unsettled_balance: sat(ch.unsettled_balance_sat),
        total_satoshis_sent: sat(ch.total_satoshis_sent),
        total_satoshis_received: sat(ch.total_satoshis_received),
        num_updates: ch.num_updates,
        pending_htlcs: htlcs(ch, hashes),
        csv_delay: local.csv_delay,
        private: ch.private,
        initiator: ch.initiator == Initiator::Local,
        // An offline peer does not change the channel status in LND's sense.
        chan_status_flags: "ChanStatusDefault".to_string(),
        local_chan_reserve_sat: sat(ch.local_chan_reserve_sat),
        remote_chan_reserve_sat: sat(ch.remote_chan_reserve_sat),
        static_remote_key: ch.commitment_type != CommitmentType::Legacy,
        lifetime: sat(ch.lifetime_secs),
        uptime: sat(ch.uptime_secs),
        close_address: String::new(),
        commitment_type: commitment_type(ch.commitment_type),
        push_amount_sat: ch.push_amount_sat,
        thaw_height: 0,
        local_constraints: ch.local_constraints.as_ref().map(constraints),
        remote_constraints: ch.remote_constraints.as_ref().map(constraints),
        alias_scids: Vec::new(),
        zero_conf: false,
        zero_conf_confirmed_scid: 0,
        peer_alias: if peer_alias {
            ch.peer_alias.to_string()
        } else {
            String::new()
        },
        peer_scid_alias: 0,
        memo: String::new(),
        custom_channel_data: Vec::new(),
    }
}

/// ListChannels with LND's filters applied (`peer` is the raw 33-byte pubkey).
///
/// Built afresh from the current state on every call, channels on every core (the in-process
/// simulator shares the cores with the client it answers, and this answer is its largest
/// cost). The answer is sized before it is filled (at 10,000 channels of ~500 bytes each,
/// growing it by doubling moved megabytes), and its payment hashes share a few buffers (see
/// [`htlcs`]).
pub fn list_channels(node: &NodeState, req: &pb::ListChannelsRequest) -> pb::ListChannelsResponse {
    let peer_hex = (!req.peer.is_empty()).then(|| hex::encode(&req.peer));
    let selected: Vec<&Channel> = node
        .channels
        .iter()
        .filter(|c| {
            (!req.active_only || c.active)
                && (!req.inactive_only || !c.active)
                && (!req.public_only || !c.private)
                && (!req.private_only || c.private)
                && peer_hex
                    .as_ref()
                    .is_none_or(|p| &*c.remote_pubkey == p.as_str())
        })
        .collect();
    // On every core; rayon keeps the order. Each task fills hash buffers of its own.
    let channels = selected
        .par_iter()
        .with_min_len(CHANNELS_PER_TASK)
        .map_init(BytesMut::new, |hashes, c| {
            channel_with(c, req.peer_alias_lookup, hashes)
        })
        .collect();
    pb::ListChannelsResponse { channels }
}
