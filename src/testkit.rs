//! The shared test kit: channels, HTLCs, pending channels and snapshots whose numbers add up
//! the way LND reports them, for unit tests, `tests/` and benches alike.
//!
//! Build a channel with [`channel`], change the fields a test is about (struct update syntax
//! or assignments), then call [`settle_balances`] if balances, HTLCs or the feerate changed.
//! Not part of the API (hidden from the docs); nothing outside tests and benches calls it, so
//! the linker leaves it out of the binary.

use crate::dust::{channel_dust, commitment_dust, ChannelDust, DustParams, Side};
use crate::model::{
    Channel, CommitmentType, Constraints, ForwardingEvent, ForwardingFlow, Htlc, Initiator,
    NodeSnapshot, PaymentHash, PendingChannel, PendingKind, RoutingPolicy, SnapshotSource,
};
use crate::settings::AnalysisSettings;

/// A channel's constraints as LND reports them for `capacity_sat`: csv 144, 1% reserve, up to
/// 483 HTLCs of any size above 1 msat.
pub fn constraints(capacity_sat: u64, dust_limit_sat: u64) -> Constraints {
    Constraints {
        csv_delay: 144,
        chan_reserve_sat: capacity_sat / 100,
        dust_limit_sat,
        max_pending_amt_msat: capacity_sat.saturating_mul(1000),
        min_htlc_msat: 1,
        max_accepted_htlcs: 483,
    }
}

/// An active anchors channel we opened, at 253 sat/kw, dust limits 354 (ours) and 573 (peer's),
/// 10% of its capacity received over 30 days, with `local_sat` on our side and the rest (after
/// commit fee and anchors) on the peer's.
pub fn channel(chan_id: u64, capacity_sat: u64, local_sat: u64) -> Channel {
    let mut ch = Channel {
        chan_id,
        channel_point: format!("{:064x}:0", chan_id).into(),
        remote_pubkey: format!("02{:064x}", chan_id).into(),
        peer_alias: format!("peer-{chan_id}").into(),
        active: true,
        private: false,
        initiator: Initiator::Local,
        commitment_type: CommitmentType::Anchors,
        capacity_sat,
        local_balance_sat: local_sat,
        remote_balance_sat: 0,
        commit_fee_sat: 0,
        commit_weight: 1124,
        fee_per_kw: 253,
        unsettled_balance_sat: 0,
        total_satoshis_sent: 0,
        // Some flow, so a default channel is neither idle nor a close candidate.
        total_satoshis_received: capacity_sat / 10,
        num_updates: 10,
        lifetime_secs: 30 * 86_400,
        uptime_secs: 30 * 86_400,
        local_chan_reserve_sat: capacity_sat / 100,
        remote_chan_reserve_sat: capacity_sat / 100,
        push_amount_sat: 0,
        local_constraints: Some(constraints(capacity_sat, 354)),
        remote_constraints: Some(constraints(capacity_sat, 573)),
        pending_htlcs: Vec::new(),
        local_policy: Some(RoutingPolicy {
            fee_base_msat: 1_000,
            fee_rate_ppm: 100,
            min_htlc_msat: Some(1_000),
            max_htlc_msat: Some(capacity_sat.saturating_mul(990)),
            time_lock_delta: Some(80),
            ..RoutingPolicy::default()
        }),
        remote_policy: None,
    };
    settle_balances(&mut ch);
    ch
}

/// A locked-in HTLC whose payment hash is its index.
pub fn htlc(htlc_index: u64, incoming: bool, amount_sat: u64, expiration_height: u32) -> Htlc {
    Htlc {
        incoming,
        amount_sat,
        hash_lock: PaymentHash::from_hex(&format!("{htlc_index:064x}")),
        expiration_height,
        htlc_index,
        forwarding_channel: 0,
        forwarding_htlc_index: 0,
        locked_in: true,
    }
}

/// A pending channel of `kind` with peer and outpoint derived from `id`; nothing in limbo and
/// no maturity: set those for a closing channel.
pub fn pending_channel(
    kind: PendingKind,
    id: u64,
    capacity_sat: u64,
    local_balance_sat: u64,
) -> PendingChannel {
    PendingChannel {
        kind,
        channel_point: format!("{id:064x}:0"),
        remote_pubkey: format!("02{id:064x}"),
        capacity_sat,
        local_balance_sat,
        limbo_balance_sat: 0,
        blocks_til_maturity: None,
    }
}

/// Recomputes the peer's balance and `commit_fee` after a test changed the local balance,
/// HTLCs or feerate (saturating, so property tests may use any amounts): capacity = local + remote + Σ HTLCs + base fee + anchors, and
/// `commit_fee` = capacity − Σ outputs of our commitment (as LND reports it).
pub fn settle_balances(ch: &mut Channel) {
    let params = params(&AnalysisSettings::default());
    let anchors = if ch.commitment_type.has_anchors() {
        660
    } else {
        0
    };
    let htlcs = ch
        .pending_htlcs
        .iter()
        .fold(0u64, |sum, h| sum.saturating_add(h.amount_sat));
    ch.remote_balance_sat = 1; // provisional: the base fee does not depend on balances
    let base = commitment_dust(ch, Side::Local, ch.fee_per_kw, &params).base_fee_sat;
    ch.remote_balance_sat = ch.capacity_sat.saturating_sub(
        ch.local_balance_sat
            .saturating_add(htlcs)
            .saturating_add(base)
            .saturating_add(anchors),
    );
    ch.commit_fee_sat = commitment_dust(ch, Side::Local, ch.fee_per_kw, &params).fees_to_miners_sat;
}

/// The dust engine's parameters for `settings`, without a node limit from LND.
pub fn params(settings: &AnalysisSettings) -> DustParams {
    DustParams::from_settings(settings, None)
}

/// The dust engine's view of `ch` with default settings.
pub fn dust_of(ch: &Channel, block_height: Option<u32>) -> ChannelDust {
    channel_dust(ch, block_height, &params(&AnalysisSettings::default()))
}

/// A short channel id funded at `block` (so the channel's age is known against a height).
pub fn scid(block: u64, index: u64) -> u64 {
    (block << 40) | (index << 16)
}

/// One forward `chan_in → chan_out` of `out_sat` at `ppm`, `secs_ago` (≤ [`NOW`]) before
/// [`NOW`].
pub fn forward(
    secs_ago: i64,
    chan_in: u64,
    chan_out: u64,
    out_sat: u64,
    ppm: u64,
) -> ForwardingEvent {
    let out_msat = out_sat * 1000;
    let fee_msat = out_msat * ppm / 1_000_000;
    ForwardingEvent {
        timestamp_ns: (NOW - secs_ago).unsigned_abs() * 1_000_000_000,
        chan_id_in: chan_in,
        chan_id_out: chan_out,
        amt_in_msat: out_msat + fee_msat,
        amt_out_msat: out_msat,
        fee_msat,
    }
}

/// The snapshot time of [`snapshot`] and of [`forward`]'s events.
pub const NOW: i64 = 1_700_000_000;

/// Forwarding flow over the default window, ending at [`NOW`].
pub fn flow_of(events: &[ForwardingEvent]) -> ForwardingFlow {
    ForwardingFlow::from_events(
        events,
        NOW,
        AnalysisSettings::default().flow_window.as_secs(),
    )
}

/// A synced node at [`NOW`] holding `channels`, normalized as a producer leaves it.
pub fn snapshot(channels: Vec<Channel>, block_height: Option<u32>) -> NodeSnapshot {
    let mut snap = NodeSnapshot::empty(
        NOW,
        SnapshotSource {
            kind: "test".into(),
            detail: "unit".into(),
        },
    );
    snap.node.block_height = block_height;
    snap.node.synced_to_chain = true;
    snap.channels = channels;
    snap.normalize();
    snap
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_channels_add_up_as_lnd_reports_them() {
        let mut legacy = channel(2, 3_000_000, 1_000_000);
        legacy.commitment_type = CommitmentType::StaticRemoteKey;
        legacy.initiator = Initiator::Remote;
        legacy.fee_per_kw = 5_000;
        legacy.pending_htlcs = vec![htlc(0, false, 2_000, 1), htlc(1, true, 80_000, 1)];
        settle_balances(&mut legacy);
        let mut anchors = channel(1, 1_000_000, 400_000);
        anchors.pending_htlcs = vec![htlc(0, true, 100, 1), htlc(1, false, 50_000, 1)];
        settle_balances(&mut anchors);
        for ch in [channel(3, 500_000, 0), legacy, anchors] {
            assert_eq!(
                dust_of(&ch, None).commit_fee_mismatch,
                None,
                "channel {}",
                ch.chan_id
            );
        }
    }
}
