//! ListChannels records → [`Channel`]: amounts, reserves, constraints, HTLCs and the
//! commitment type.

use crate::lnd::pb;
use crate::model::SnapshotWarning;
use crate::model::{Channel, CommitmentType, Constraints, Htlc, Initiator, PaymentHash};

use super::notes::Notes;

/// Converts one `lnrpc.Channel`. Policies are left `None` (see [`snapshot`](super::snapshot)).
///
/// Negative amounts and weights are clamped to 0, and an unknown commitment type becomes
/// [`CommitmentType::Unknown`]; each with a warning naming the channel and the field.
pub fn channel(raw: &pb::Channel, warnings: &mut Vec<SnapshotWarning>) -> Channel {
    channel_from(raw.clone(), warnings)
}

/// [`channel`] taking the wire record by value, so its strings move into the model.
pub(super) fn channel_from(raw: pb::Channel, warnings: &mut Vec<SnapshotWarning>) -> Channel {
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

/// The commitment type as [`Notes`] records it: unknown or unreported types are named.
impl Notes<'_, '_> {
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
